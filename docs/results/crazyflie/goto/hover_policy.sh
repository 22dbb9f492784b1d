#!/usr/bin/env bash
# Issue 24: GoTo flown by a hover run's policies, no GoTo training. RUN is a hover run of the default command
# (./../default/run.sh); each of its 300 sampled architectures (--sample-seed 0) flies 10 GoTo episodes (targets up to
# 1 m away) of EP steps (800, goto's default, or 500, its first length) with the observed position error clipped at
# CLIP m (error_clip; 0: not clipped), then the top 10 of at most 2,000 parameters and the report's picks are
# confirmed on 100 held-out GoTo episodes. Reports: goto/hover-TAG-clipCLIP-epEP.json. Resumable (ghp evaluate skips
# what is stored). Run from the repository root.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUN=${RUN:?set RUN to a hover run}
TAG=${TAG:?set TAG to name the run in the report files}
OUT=docs/results/crazyflie/goto
EP=${EP:-800}
for CLIP in ${CLIPS:-0 0.3}; do
  KW="task=goto error_clip=$CLIP episode_steps=$EP"
  time eval nice -n 10 $GHP evaluate $RUN --archs 300 --sample-seed 0 --episodes 10 --env-kwargs \"$KW\"
  time eval nice -n 10 $GHP evaluate $RUN --episodes 10 --env-kwargs \"$KW\" --confirm 10 --confirm-episodes 100 \
    --confirm-max-params 2000
  eval $GHP report $RUN --env-kwargs \"$KW\" --metric success --json --no-plots > $OUT/hover-$TAG-clip$CLIP-ep$EP.json
done
