#!/bin/bash
# Issues 11 and 12: Hopper-v5, 100k steps, the authors' locomotion settings (ghp defaults), ghp against the [256,256]
# baseline, seeds 0 and 1, plus the --actor-lr 3e-4 lever (seed 0). Two jobs at a time on 2 cores.
# Run from the repository root with the project's environment active.
set -e
mkdir -p runs/hop && cd runs/hop
T="ghp train --env Hopper-v5 --steps 100000 --checkpoint-every 10000 --eval-every 10000 --eval-archs 4 --eval-episodes 2"
for S in 0 1; do
  $T --seed $S --out hop-ghp-s$S --force --quiet &
  $T --seed $S --baseline --out hop-base-s$S --force --quiet
  wait
done
for S in 0 1; do $T --seed $S --actor-lr 3e-4 --out hop-ghp-alr3e-4-s$S --force --quiet; done
# The small-SAC and linear-ARS columns.
for S in 0 1; do
  $T --seed $S --arch 8-4-4-4 --out hop-small-s$S --force --quiet
  ghp train --env Hopper-v5 --steps 100000 --seed $S --checkpoint-every 10000 --eval-every 0 --algo ars --out hop-ars-s$S --force --quiet
done
# Every checkpoint, common starts: ghp 300 sampled architectures x 5 episodes, the baselines 10 episodes.
for R in hop-ghp-s0 hop-ghp-s1 hop-ghp-alr3e-4-s0 hop-ghp-alr3e-4-s1; do
  ghp evaluate $R --checkpoints all --archs 300 --sample-seed 0 --episodes 5 --workers 1
done
for S in 0 1; do
  ghp evaluate hop-base-s$S --checkpoints all --episodes 10 --workers 1
  ghp report hop-ghp-s$S --baseline hop-base-s$S --json --out hop-ghp-s$S-report > hop-ghp-s$S-report.json
  ghp report hop-ghp-s$S --progress --baseline hop-base-s$S --json --out hop-ghp-s$S-report > hop-ghp-s$S-progress.json
done
for S in 0 1; do
  ghp report hop-ghp-alr3e-4-s$S --progress --baseline hop-base-s$S --json --out hop-ghp-alr3e-4-s$S-report \
      > hop-ghp-alr3e-4-s$S-progress.json
done
for R in hop-small-s0 hop-ars-s0 hop-small-s1 hop-ars-s1; do ghp evaluate $R --episodes 10 --workers 1; ghp report $R --json --no-plots > $R.json; done
