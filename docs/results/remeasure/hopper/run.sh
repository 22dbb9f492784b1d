#!/bin/bash
# Issue 23's re-measurement of Table I, Hopper-v5 (100k steps, the budget of docs/results.md's earlier in-sample rows),
# seeds 0-2 (the 3 the issue asks for). Every run screened at every checkpoint (every 20k steps; ghp: 300 sampled
# architectures x 5 episodes), then confirmed on 100 held-out episodes (ghp: the top 10 by return and the report's
# picks). Methods: ghp, the [256,256] SAC with the authors' preset (base) and with RL Zoo's Hopper entry (zoo), the
# small 8-4-4-4 SAC, and linear ARS with RL Zoo's Hopper settings. One run at a time (--jobs 1) beside another queue;
# hours per seed on 2 cores. Resumable: rerun to continue (a finished run is skipped, an interrupted one resumes from
# its last checkpoint); the seeds finished so far are summarised with --summarise (what is committed while the later
# seeds still run). Run from the repository root with the project's environment active.
set -e
OUT=${OUT:-runs/remeasure-hopper}
python benchmarks/reproduce.py --tasks Hopper-v5 --steps 100000 --seeds 0,1,2 \
    --methods ghp,base,zoo,small,ars --archs 300 --episodes 5 --checkpoint-every 20000 --confirm 10 \
    --confirm-episodes 100 --out $OUT --jobs 1
python benchmarks/reproduce.py --out $OUT --summarise
cp $OUT/{results.json,results.csv,across_seeds.json,across_seeds.csv} docs/results/remeasure/hopper/
