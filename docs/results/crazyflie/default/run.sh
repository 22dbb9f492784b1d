#!/usr/bin/env bash
# Issue 24: the default command, as a user runs it: `ghp train --env ghp/CrazyflieHover-v0` with every option at its
# default (seed SEED), timed; then 300 of the 4680 architectures screened by success (30 randomised episodes each:
# with 5 the screening ties at 1.0 and the 90% pick is a coin toss; --sample-seed 0), and the top 10 of at most 2,000
# parameters plus the report's picks confirmed on 100 held-out randomised episodes. Reports: default-sSEED.json
# (success) and confirmed.json here. Resumable (a finished seed is skipped). TRAIN_ARGS adds train options and TAG
# names such a variant (its runs cf-TAG-sSEED, its reports in OUT=docs/results/crazyflie/default/TAG). ENV trains
# another task's default command (ENV=ghp/CrazyflieGoTo-v0 TAG=gototrain OUT=docs/results/crazyflie/goto/train).
# ARCHS is the screening's --archs (300; all for a --baseline run, whose space is its one MLP). Run from the repository
# root; GHP is the ghp CLI; RUNS is where runs go.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
TAG=${TAG:-default}
TRAIN_ARGS=${TRAIN_ARGS:-}
ENV=${ENV:-ghp/CrazyflieHover-v0}
ARCHS=${ARCHS:-300}
OUT=${OUT:-docs/results/crazyflie/default$([ "$TAG" = default ] && echo "" || echo "/$TAG")}
mkdir -p $OUT
for SEED in ${SEEDS:-0}; do
  RUN=$RUNS/cf-$TAG-s$SEED
  if [ -f $OUT/default-s$SEED.json ]; then continue; fi
  if [ -f $RUN/model.zip ] && [ ! -f $RUN/.trained ]; then
    time eval nice -n 10 $GHP train --env $ENV --out $RUN --resume --quiet
  elif [ ! -f $RUN/.trained ]; then
    time eval nice -n 10 $GHP train --env $ENV --seed $SEED --quiet --out $RUN $TRAIN_ARGS
  fi
  touch $RUN/.trained
  time eval nice -n 10 $GHP evaluate $RUN --archs $ARCHS --sample-seed 0 --episodes 30
  # A single-policy run (ARCHS=all: a baseline, --arch, ARS) confirms its one policy, whatever its size.
  LIMIT=$([ "$ARCHS" = all ] && echo "" || echo "--confirm-max-params 2000")
  time eval nice -n 10 $GHP evaluate $RUN --episodes 30 --confirm 10 --confirm-episodes 100 $LIMIT
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/default-s$SEED.json
done
python docs/results/crazyflie/critic/confirmed.py $(ls -d $RUNS/cf-$TAG-s* | sort -V) > $OUT/confirmed.json
