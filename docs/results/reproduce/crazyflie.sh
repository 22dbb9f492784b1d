#!/bin/bash
# Issue 12: the small-SAC and linear-ARS columns of the Crazyflie hover row (nominal drone, 125k steps, seed 0), the
# protocol of docs/crazyflie-results.md's "Default reward" runs (the baseline there: 20 episodes). Run from the repository
# root with the project's environment active.
set -e
mkdir -p runs/cf && cd runs/cf
T="ghp train --env ghp/CrazyflieHover-v0 --env-kwargs nominal=true --env-kwargs yaw_frame=false --critic 256,256 --steps 125000 --seed 0 --checkpoint-every 25000"
$T --eval-every 25000 --eval-episodes 5 --arch 8-4-4-4 --out cf-small-s0 --force --quiet
$T --eval-every 0 --algo ars --out cf-ars-s0 --force --quiet
for R in cf-small-s0 cf-ars-s0; do
  ghp evaluate $R --episodes 20 --workers 1
  ghp report $R --json --no-plots --metric success > $R.json
done
