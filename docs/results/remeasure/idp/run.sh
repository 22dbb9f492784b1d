#!/bin/bash
# Issue 23's re-measurement of Table I, InvertedDoublePendulum-v5 (30k steps, the budget of docs/results.md's earlier
# in-sample row), seeds 0-4 (the 5 the issue asks for; one run of ghp takes about 20 minutes on the loaded 2-core
# machine, the five methods of a seed about an hour). Every run screened at each checkpoint (ghp: 300 sampled
# architectures x 5 episodes), then confirmed on 100 held-out episodes (ghp: the top 10 by return and the report's
# picks). Methods: ghp, the [256,256] SAC with the authors' preset (base) and with RL Zoo's (zoo), the small 8-4-4-4
# SAC, and linear ARS with RL Zoo's settings for the task. Resumable: rerun to continue; the seeds finished so far are
# summarised with --summarise (what is committed while the later seeds still run).
# Run from the repository root with the project's environment active.
set -e
python benchmarks/reproduce.py --tasks InvertedDoublePendulum-v5 --steps 30000 --seeds 0,1,2,3,4 \
    --methods ghp,base,zoo,small,ars --archs 300 --episodes 5 --checkpoint-every 10000 --confirm 10 \
    --confirm-episodes 100 --out runs/remeasure-idp --jobs 1
python benchmarks/reproduce.py --out runs/remeasure-idp --summarise
cp runs/remeasure-idp/{results.json,results.csv,across_seeds.json,across_seeds.csv} docs/results/remeasure/idp/
