#!/usr/bin/env bash
# Issue 24 item 3: the figure eight (ghp/CrazyflieTrack-v0's paths) flown by a hover run's policies, no tracking
# training. RUN is a hover run of the default command (../default/run.sh); each of its 300 sampled architectures
# (--sample-seed 0) flies 10 tracking episodes (--env-kwargs task=track: the run's own options, the heading frame among
# them, with the moving setpoint and its velocity), the top 10 of at most 2,000 parameters and the report's picks are
# confirmed on 100 held-out tracking episodes (report: hover-TAG.json), and the 90% pick flies 100 more held-out
# episodes through benchmarks/crazyflie_track.py (RMS position error with its bootstrap interval), the first 20 also
# with the exported C in the loop (hover-TAG/track_ARCH.json). Resumable (ghp evaluate skips what is stored).
# Run from the repository root.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUN=${RUN:?set RUN to a hover run}
TAG=${TAG:?set TAG to name the run in the report files}
OUT=docs/results/crazyflie/track
time eval nice -n 10 $GHP evaluate $RUN --archs 300 --sample-seed 0 --episodes 10 --env-kwargs task=track
time eval nice -n 10 $GHP evaluate $RUN --episodes 10 --env-kwargs task=track --confirm 10 --confirm-episodes 100 \
  --confirm-max-params 2000
eval $GHP report $RUN --env-kwargs task=track --metric success --json --no-plots > $OUT/hover-$TAG.json
ARCH=$(python -c "import json,sys; print(next(p['key'] for p in json.load(open(sys.argv[1]))['selection'] if p['label'] == '90%'))" $OUT/hover-$TAG.json)
time nice -n 10 python benchmarks/crazyflie_track.py $RUN --arch $ARCH --episodes 100 --env-kwargs task=track --sil \
  --sil-episodes 20 --out $OUT/hover-$TAG
