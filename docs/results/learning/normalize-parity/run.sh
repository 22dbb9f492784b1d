#!/bin/bash
# FetchReach-v4 parity check with --normalize (the Fetch default now): ghp vs [256,256] baseline, seeds 0 and 1.
G=/work/main/.venv/bin/ghp
export OMP_NUM_THREADS=1
for s in 0 1; do
  $G train --env FetchReach-v4 --steps 12000 --seed $s --checkpoint-every 2000 --eval-every 0 --quiet --out runs/ghp-s$s > ghp-s$s.log 2>&1 &
  $G train --env FetchReach-v4 --steps 12000 --seed $s --checkpoint-every 2000 --eval-every 0 --quiet --baseline --out runs/base-s$s > base-s$s.log 2>&1
  wait
done
for s in 0 1; do
  $G evaluate runs/ghp-s$s --checkpoints all --archs 20 --sample-seed 0 --episodes 5 --workers 1 > eval-ghp-s$s.log 2>&1
  $G evaluate runs/base-s$s --checkpoints all --episodes 10 --workers 1 > eval-base-s$s.log 2>&1
done
echo done > finished
