#!/bin/bash
# Issue 22's check: the README's FetchReach command with its defaults (DDPG + HER, --normalize, the periodic
# evaluation every 5000 steps), 30k steps, seed 3; then 200 sampled architectures x 10 screening episodes and a
# held-out confirmation (the top 10 by success and the report's picks, 100 episodes each, starts no screening uses).
# Run from an empty folder with the project's environment active. 2026-12-06, a shared 2-core machine: training
# 877 s, screening 217 s, confirmation 77 s (wall_times.txt).
set -e
ghp train --env FetchReach-v4 --steps 30000 --seed 3 --out fr22 --quiet
ghp evaluate fr22 --archs 200 --sample-seed 0 --episodes 10 --workers 1
ghp report fr22 --metric success --json --no-plots > screening.json
ghp evaluate fr22 --confirm 10 --confirm-episodes 100 --workers 1
ghp report fr22 --metric success --json --no-plots > confirmed.json
cp fr22/eval.jsonl .
