#!/usr/bin/env bash
# Issue 24 item 1: the action-history length K swept at one critic and one budget. K = 0, 1 (the default), 4, 32
# here; K = 16 is the 60k checkpoint of ../critic/run.sh (same seed, space, critic 64,64, steps and protocol).
# 60k steps (the default budget is 250k), the reduced space of ../action_history/run.sh: a measurement at equal
# cost. Seed 0 for every K; SEEDS="1" KS="1 4" adds a second seed for the two leading lengths (run directories and
# reports of seed S > 0 carry -sS). Resumable: a run cut off (SIGTERM, end of a session) continues with --resume.
# Run from the repository root; GHP is the ghp CLI of this checkout; RUNS is where the run directories go.
set -euo pipefail
# yaw_frame=false (and yaw_weight=0): trained in the world frame before the heading frame became the hover default
# (2026-12-07); kept so a rerun reproduces it.
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
OUT=docs/results/crazyflie/k_sweep
for SEED in ${SEEDS:-0}; do
  for K in ${KS:-0 1 4 32}; do
    SUFFIX=$([ "$SEED" = 0 ] && echo "" || echo "-s$SEED")
    RUN=$RUNS/cf-k$K-c64$SUFFIX
    if [ -f $RUN/model.zip ] && [ -f $OUT/k$K$SUFFIX.json ]; then continue; fi
    if [ -f $RUN/config.json ]; then
      time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps 60000 --quiet
    else
      time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs \"action_history=$K yaw_weight=0 yaw_frame=false\" --critic 64,64 \
        --seed $SEED --steps 60000 --widths 8,16,32,64 --depths 1,2,3 --checkpoint-every 20000 --quiet --out $RUN
    fi
    # Screening (84 architectures x 5 episodes, randomised airframes) and held-out confirmation of the top 5 and
    # ghp report's picks (100 episodes each on starts no screening uses).
    time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
    time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
    eval $GHP report $RUN --env-kwargs action_history=$K --metric return --json --no-plots > $OUT/k$K$SUFFIX-return.json
    eval $GHP report $RUN --env-kwargs action_history=$K --metric success --json --no-plots > $OUT/k$K$SUFFIX.json
  done
done
python docs/results/crazyflie/critic/confirmed.py $(ls -d $RUNS/cf-k*-c64* | sort -V) > $OUT/confirmed.json
