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
$T --seed 0 --actor-lr 3e-4 --out hop-ghp-alr3e-4-s0 --force --quiet
