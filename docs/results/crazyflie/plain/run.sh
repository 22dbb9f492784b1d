#!/usr/bin/env bash
# Issue 24: one small MLP trained with plain SB3 SAC (no hypernetwork) on the hover, by the protocol of
# ../reward/run.sh (K = 1, critic 64,64, 180k steps from scratch, the same env options), confirmed on 100 held-out
# randomised episodes. It separates what the task and SAC allow a small policy from what the hypernetwork's shared
# weights allow: if a plain 32-32 holds the box no better, the offset is not the hypernetwork's. ARCH: the MLP's
# hidden widths (default 32-32); KW: env options (default yaw_weight=0, the reward it was trained with); TAG names the run. Resumable. Run from the repository
# root; GHP is the ghp CLI; RUNS is where runs go.
set -euo pipefail
# yaw_frame=false (and yaw_weight=0): trained in the world frame before the heading frame became the hover default
# (2026-12-07); kept so a rerun reproduces it.
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
STEPS=${STEPS:-180000}
ARCH=${ARCH:-32-32}
KW=${KW:-yaw_weight=0 yaw_frame=false}
TAG=${TAG:-mlp$ARCH}
OUT=docs/results/crazyflie/plain
for SEED in ${SEEDS:-0}; do
  SUFFIX=$([ "$SEED" = 0 ] && echo "" || echo "-s$SEED")
  RUN=$RUNS/cf-$TAG-c64$SUFFIX
  if [ -f $OUT/$TAG$SUFFIX.json ]; then continue; fi
  if [ -f $RUN/config.json ]; then
    time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps $STEPS --quiet
  else
    time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 ${KW:+--env-kwargs \"$KW\"} --arch $ARCH \
      --critic 64,64 --seed $SEED --steps $STEPS --checkpoint-every 20000 --quiet --out $RUN
  fi
  time eval nice -n 10 $GHP evaluate $RUN --episodes 5
  time eval nice -n 10 $GHP evaluate $RUN --confirm 1 --confirm-episodes 100
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/$TAG$SUFFIX.json
done
python docs/results/crazyflie/critic/confirmed.py $(ls -d $RUNS/cf-mlp*-c64* | sort -V) > $OUT/confirmed.json
