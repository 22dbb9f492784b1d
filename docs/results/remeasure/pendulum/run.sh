#!/bin/bash
# Issue 23's re-measurement of Table I, Pendulum-v1 (10k steps, the task's default budget), seeds 0-4 (0-2 in one
# session, 3-4 resumed in the next: the script skips finished runs). Every run screened at each checkpoint (ghp:
# 300 sampled architectures x 5 episodes; single policies: their one architecture), then confirmed on 100 held-out
# episodes (ghp: the top 10 by return and the report's picks); across seeds: IQM with a stratified-bootstrap 95%
# interval. Methods: ghp, the [256,256] SAC with the authors' preset (base) and with RL Zoo's (zoo), the small
# 8-4-4-4 SAC, and linear ARS with RL Zoo's Pendulum ARS settings (one environment, every step counted).
# Run from the repository root with the project's environment active; the runs go to runs/remeasure-pendulum.
set -e
python benchmarks/reproduce.py --tasks Pendulum-v1 --steps 10000 --seeds 0,1,2,3,4 --methods ghp,base,zoo,small,ars \
    --archs 300 --episodes 5 --checkpoint-every 5000 --confirm 10 --confirm-episodes 100 \
    --out runs/remeasure-pendulum --jobs 1
cp runs/remeasure-pendulum/{results.json,results.csv,across_seeds.json,across_seeds.csv} docs/results/remeasure/pendulum/
