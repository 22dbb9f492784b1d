#!/usr/bin/env bash
# Issue 24: does held-out success keep rising past 180k steps? K = 1 seed 0's 180k run (./run.sh) copied and continued
# to the default budget, 250k steps; then the same screening and confirmation. Resumable.
# Run from the repository root; GHP is the ghp CLI of this checkout; RUNS holds run.sh's run directories.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
STEPS=${STEPS:-250000}
OUT=docs/results/crazyflie/k_long
SRC=$RUNS/cf-k1-c64-180k
RUN=$RUNS/cf-k1-c64-$((STEPS / 1000))k
if [ ! -d $RUN ]; then
  cp -r $SRC $RUN.tmp
  rm -f $RUN.tmp/results.sqlite*
  mv $RUN.tmp $RUN
fi
time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps $STEPS --quiet
time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
eval $GHP report $RUN --metric return --json --no-plots > $OUT/k1-$((STEPS / 1000))k-return.json
eval $GHP report $RUN --metric success --json --no-plots > $OUT/k1-$((STEPS / 1000))k.json
python docs/results/crazyflie/critic/confirmed.py $RUN > $OUT/confirmed-$((STEPS / 1000))k.json
