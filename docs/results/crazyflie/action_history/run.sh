#!/usr/bin/env bash
# A first, one-seed, reduced-budget measurement of the action-history observation (issue 24 item 1):
# K = 0 (no action in the observation) against K = 16 (the last 16 actions), on the randomised default task.
# Not a claim: one seed, 60k steps (the default budget is 250k), a reduced architecture space.
# Run from the repository root; GHP is the ghp CLI of this checkout. Each stage is niced; one training at a time.
# Measured 2026-12-06 on the shared 2-core machine (wall times depend on its other jobs, so they do not compare):
# K=0 train 1358 s, screen 9 s, confirm 8 s; K=16 train 586 s, screen 7 s, confirm 6 s.
set -euo pipefail
# yaw_frame=false (and yaw_weight=0): trained in the world frame before the heading frame became the hover default
# (2026-12-07); kept so a rerun reproduces it.
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
OUT=docs/results/crazyflie/action_history
for K in 0 16; do
  RUN=runs/cf-history-k$K
  # Training (wall time printed by `time`).
  time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs \"action_history=$K yaw_weight=0 yaw_frame=false\" --critic 256,256 --seed 0 \
    --steps 60000 --widths 8,16,32,64 --depths 1,2,3 --out $RUN
  # Screening: all 84 architectures of the space x 5 episodes, randomised airframes (the run's own env kwargs).
  time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5
  # Held-out confirmation: the top 5 of the screening (by success, ties by return; here every success is 0) and
  # ghp report's picks, 100 episodes each on starts no screening uses.
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/k$K.json
  # Every success is 0 at this budget: the return report says more (same evaluations, picks by mean return).
  eval $GHP report $RUN --metric return --json --no-plots > $OUT/k$K-return.json
done
# Every confirmed architecture of both runs, 100 held-out episodes each.
python $OUT/confirmed.py > $OUT/confirmed.json
