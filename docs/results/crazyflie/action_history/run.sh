#!/usr/bin/env bash
# A first, one-seed, reduced-budget measurement of the action-history observation (issue 24 item 1):
# K = 0 (no action in the observation) against K = 16 (the last 16 actions), on the randomised default task.
# Not a claim: one seed, 60k steps (the default budget is 250k), a reduced architecture space.
# Run from the repository root; GHP is the ghp CLI of this checkout. Each stage is niced and runs one at a time.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
OUT=docs/results/crazyflie/action_history
for K in 0 16; do
  RUN=runs/cf-history-k$K
  # Training (wall time printed by `time`).
  time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs action_history=$K --seed 0 \
    --steps 60000 --widths 8,16,32,64 --depths 1,2,3 --out $RUN
  # Screening: 100 sampled architectures x 5 episodes, randomised airframes (the run's own env kwargs).
  time eval nice -n 10 $GHP evaluate $RUN --archs 100 --sample-seed 0 --episodes 5
  # Held-out confirmation of the 5 best: 100 episodes on other starts.
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100
  eval $GHP report $RUN --metric success --json --no-plots > $OUT/k$K.json
done
