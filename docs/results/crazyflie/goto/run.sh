#!/usr/bin/env bash
# Issue 24 item 3: the first training of ghp/CrazyflieGoTo-v0 (reach and hold within 0.1 m of a target up to 1 m
# away, randomised airframes). The protocol of ../k_long/run.sh at its budget: 180k steps, critic 64,64, the reduced
# space (widths 8-64, depths 1-3, 84 architectures), the default action history (K = 1); then screening of all 84 x 5
# episodes, held-out confirmation of the top 5 and ghp report's picks (100 episodes each). KW adds env options and TAG
# names such a variant (e.g. KW="yaw_frame=true" TAG=goto-frame; its data TAG*.json here). Resumable.
# Run from the repository root; GHP is the ghp CLI of this checkout; RUNS is where the run directory goes.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
STEPS=${STEPS:-180000}
OUT=docs/results/crazyflie/goto
KW=${KW:-}
TAG=${TAG:-goto}
for SEED in ${SEEDS:-0}; do
  SUFFIX=$([ "$SEED" = 0 ] && echo "" || echo "-s$SEED")
  RUN=$RUNS/cf-$TAG-c64$SUFFIX
  if [ -f $OUT/$TAG$SUFFIX.json ]; then continue; fi
  if [ -f $RUN/config.json ]; then
    time eval nice -n 10 $GHP train --env ghp/CrazyflieGoTo-v0 --out $RUN --resume --steps $STEPS --quiet
  else
    time eval nice -n 10 $GHP train --env ghp/CrazyflieGoTo-v0 ${KW:+--env-kwargs \"$KW\"} --critic 64,64 --seed $SEED --steps $STEPS \
      --widths 8,16,32,64 --depths 1,2,3 --checkpoint-every 20000 --quiet --out $RUN
  fi
  time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
  eval $GHP report $RUN --metric return --json --no-plots > $OUT/$TAG$SUFFIX-return.json
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/$TAG$SUFFIX.json
done
NAME=$([ "$TAG" = goto ] && echo confirmed || echo $TAG.confirmed)
python docs/results/crazyflie/critic/confirmed.py $(ls -d $RUNS/cf-$TAG-c64* | sort -V) > $OUT/$NAME.json
