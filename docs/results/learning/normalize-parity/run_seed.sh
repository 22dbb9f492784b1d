#!/bin/bash
# Issue 11: FetchReach-v4 with --normalize (Fetch default), one seed (bash run_seed.sh 2; bash run_seed.sh 3), same protocol as docs/results/learning/normalize-parity/run.sh
G=/work/main/.venv/bin/ghp
export OMP_NUM_THREADS=1
cd /work/runs
s=${1:?seed}
$G train --env FetchReach-v4 --steps 12000 --seed $s --checkpoint-every 2000 --eval-every 0 --quiet --out fr-ghp-s$s > fr-ghp-s$s.log 2>&1 &
$G train --env FetchReach-v4 --steps 12000 --seed $s --checkpoint-every 2000 --eval-every 0 --quiet --baseline --out fr-base-s$s > fr-base-s$s.log 2>&1
wait
$G evaluate fr-ghp-s$s --checkpoints all --archs 20 --sample-seed 0 --episodes 5 --workers 1 > fr-eval-ghp-s$s.log 2>&1
$G evaluate fr-base-s$s --checkpoints all --episodes 10 --workers 1 > fr-eval-base-s$s.log 2>&1
$G report fr-ghp-s$s --progress --baseline fr-base-s$s --metric success --json --out fr-prog-s$s > fr-prog-s$s.json 2>&1 || $G report fr-ghp-s$s --progress --baseline fr-base-s$s --metric success --out fr-prog-s$s > fr-prog-s$s.txt 2>&1
echo done > fr-s$s-finished
