#!/usr/bin/env bash
# A first, one-seed, reduced-budget training run of the tracking task (issue 24 item 3). Not a claim: one seed, a
# fraction of the default 500k steps, a reduced architecture space (widths 8,16,32,64, depths 1,2,3: 84 architectures).
# Run from the repository root; GHP is the ghp CLI of this checkout. Niced: another training shared the 2 cores.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
OUT=docs/results/crazyflie/track
RUN=runs/track-s0
# The PD reference on the same task (no training): committed as pd_reference.txt.
python benchmarks/crazyflie_pd.py --env ghp/CrazyflieTrack-v0 --episodes 20
# Measured 2026-12-06 on the shared 2-core machine beside another training: train about 2580 s (config.json 23:14 to
# model.zip 23:57), screen 14 s, crazyflie_track.py with SIL 58 s. The max pick by return was 64-32-64, the 90% 32-8-8.
time eval nice -n 15 $GHP train --env ghp/CrazyflieTrack-v0 --critic 256,256 --steps 60000 --seed 0 --widths 8,16,32,64 --depths 1,2,3 \
  --out $RUN
# Screening: all 84 architectures x 5 episodes (the run's own, randomised, task).
time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
eval $GHP report $RUN --metric return --json --no-plots > $OUT/report-return.json
eval $GHP report $RUN --metric success --json --no-plots > $OUT/report-success.json
# Held-out tracking figures of the screening's best architecture by return (ARCH: report-return.json's max pick),
# 100 episodes on seeds from 2**62, and the generated C in the loop on the first 20 of them.
ARCH=${ARCH:?set ARCH to the max pick of report-return.json}
time nice -n 10 python benchmarks/crazyflie_track.py $RUN --arch $ARCH --episodes 100 --sil --sil-episodes 20 --out $OUT
# The 90% pick (32-8-8), without the SIL.
nice -n 10 python benchmarks/crazyflie_track.py $RUN --arch 32-8-8 --episodes 100 --out $OUT
