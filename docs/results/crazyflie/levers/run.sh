#!/usr/bin/env bash
# Issue 24: the hover trained with any combination of env options KW (e.g. "yaw_weight=0.5 position_integral=2"),
# by the protocol of ../reward/run.sh: 180k steps from scratch, critic 64,64, widths 8-64 x depths 1-3, screening
# by success, held-out confirmation (100 randomised episodes) of the top 5 and the picks. TAG names the run (its
# report is TAG.json here). TRAIN_ARGS adds train options (e.g. "--algo td3"). Resumable. Run from the repository root; GHP is the ghp CLI; RUNS is where runs go.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
STEPS=${STEPS:-180000}
KW=${KW:?set KW to the env options, e.g. KW="yaw_weight=0.5 position_integral=2"}
TAG=${TAG:?set TAG to name the run}
TRAIN_ARGS=${TRAIN_ARGS:-}
# The runs of 2026-12-07 before the heading frame became the hover default observed the world frame: their KW (in
# docs/crazyflie-results.md) carries yaw_frame=false. Since then the defaults are yaw_frame=true yaw_weight=0.
OUT=docs/results/crazyflie/levers
for SEED in ${SEEDS:-0}; do
  SUFFIX=$([ "$SEED" = 0 ] && echo "" || echo "-s$SEED")
  RUN=$RUNS/cf-$TAG-c64$SUFFIX
  if [ -f $OUT/$TAG$SUFFIX.json ]; then continue; fi
  if [ -f $RUN/config.json ]; then
    time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps $STEPS --quiet
  else
    time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs \"$KW\" --critic 64,64 --seed $SEED \
      --steps $STEPS --widths 8,16,32,64 --depths 1,2,3 --checkpoint-every 20000 --quiet --out $RUN $TRAIN_ARGS
  fi
  time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/$TAG$SUFFIX.json
  python docs/results/crazyflie/critic/confirmed.py $RUN > $OUT/$TAG$SUFFIX.confirmed.json
done
