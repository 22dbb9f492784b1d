#!/bin/bash
# Issue 12: the small-MLP (8-4-4-4, plain SB3) and linear-ARS columns for Pendulum-v1 (10k steps) and FetchReach-v4
# (12k steps), the protocol of the ghp and baseline runs of docs/results/learning/{pendulum-postfix,normalize-parity}.
# Run from the repository root with the project's environment active; one job at a time.
set -e
mkdir -p runs/repro && cd runs/repro
for S in 0 1; do
  for K in small ars; do
    A="--arch 8-4-4-4"; [ $K = ars ] && A="--algo ars"
    ghp train --env Pendulum-v1 --steps 10000 --seed $S --eval-every 0 $A --out pend-$K-s$S --force --quiet
    ghp evaluate pend-$K-s$S --episodes 10 --workers 1
  done
  ghp train --env FetchReach-v4 --steps 12000 --seed $S --checkpoint-every 2000 --eval-every 0 --arch 8-4-4-4 \
      --out fr-small-s$S --force --quiet
  ghp evaluate fr-small-s$S --checkpoints all --episodes 10 --workers 1
done
# ARS with ten times the steps (it is cheap per step), reported separately.
for S in 0 1; do
  ghp train --env Pendulum-v1 --steps 100000 --seed $S --eval-every 0 --algo ars --out pend-ars100k-s$S --force --quiet
  ghp evaluate pend-ars100k-s$S --episodes 10 --workers 1
done
for R in pend-small-s0 pend-small-s1 pend-ars-s0 pend-ars-s1 pend-ars100k-s0 pend-ars100k-s1; do
  ghp report $R --json --no-plots > $R.json
done
for R in fr-small-s0 fr-small-s1; do ghp report $R --progress --json --metric success --out $R > $R.json; done
