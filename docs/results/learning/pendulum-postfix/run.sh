#!/bin/bash
# Pendulum-v1 after the correctness fix: ghp vs baseline, two seeds, equal episodes (10) per policy.
set -e
G=/work/main/.venv/bin/ghp
cd /work/runs
for S in 0 1; do
  $G train --env Pendulum-v1 --steps 10000 --seed $S --eval-every 0 --out pend-ghp-s$S --force --quiet &
  $G train --env Pendulum-v1 --steps 10000 --seed $S --eval-every 0 --baseline --out pend-base-s$S --force --quiet
  wait
done
for S in 0 1; do
  $G evaluate pend-ghp-s$S --archs 300 --sample-seed 0 --episodes 10 --workers 2
  $G evaluate pend-base-s$S --episodes 10 --workers 1
  $G report pend-ghp-s$S --baseline pend-base-s$S --metric return --out pend-report-s$S > pend-report-s$S.txt
done
