#!/usr/bin/env bash
# Issue 24: how much of a hover run's failures is late settling? The default command's runs screened and confirmed
# as run.sh does but in 8 s episodes (--env-kwargs episode_steps=800; the success window stays the last 2 s), 300
# architectures x 10 episodes, the top 10 of at most 2,000 parameters and the picks confirmed on 100 held-out
# episodes. Report: OUT/hover800-sSEED.json. RUNS holds the runs cf-TAG-sSEED of run.sh. Run from the repository root.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
TAG=${TAG:-ckpt}
OUT=${OUT:-docs/results/crazyflie/default/$TAG}
for SEED in ${SEEDS:-0 1 2}; do
  RUN=$RUNS/cf-$TAG-s$SEED
  time eval nice -n 10 $GHP evaluate $RUN --archs 300 --sample-seed 0 --episodes 10 --env-kwargs episode_steps=800
  time eval nice -n 10 $GHP evaluate $RUN --episodes 10 --env-kwargs episode_steps=800 --confirm 10 \
    --confirm-episodes 100 --confirm-max-params 2000
  eval $GHP report $RUN --env-kwargs episode_steps=800 --metric success --json --no-plots > $OUT/hover800-s$SEED.json
done
