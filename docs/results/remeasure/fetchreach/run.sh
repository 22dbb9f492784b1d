#!/bin/bash
# Issue 23's re-measurement of Table I, FetchReach-v4 (12k steps), seeds 0-4 (seed 0 in one session,
# 1-2 in the next, 3-4 in a third; the script skips finished runs).
# Screening: ghp 100 sampled architectures x 5 episodes at every checkpoint; confirmation on 100 held-out episodes
# (ghp: the top 10 by success and the report's picks). Methods: ghp (DDPG + HER), the [256,256] baseline with the
# authors' preset (DDPG + HER) and with RL Zoo's (SAC + HER, [64, 64], RL Zoo's FetchReach-v1 entry), the small
# 8-4-4-4. Run from the repository root with the project's environment active.
set -e
python benchmarks/reproduce.py --tasks FetchReach-v4 --steps 12000 --seeds 0,1,2,3,4 --methods ghp,base,zoo,small \
    --archs 100 --episodes 5 --checkpoint-every 4000 --confirm 10 --confirm-episodes 100 \
    --out runs/remeasure-fetchreach --jobs 1
cp runs/remeasure-fetchreach/{results.json,results.csv,across_seeds.json,across_seeds.csv} docs/results/remeasure/fetchreach/
