#!/bin/bash
# Issue 12: InvertedDoublePendulum-v5, 30k steps (ghp's MuJoCo defaults: 10k random steps first), seed 0: ghp, the
# [256,256] baseline, the small 8-4-4-4 SAC and linear ARS. Run from the repository root, environment active.
set -e
mkdir -p runs/idp && cd runs/idp
T="ghp train --env InvertedDoublePendulum-v5 --steps 30000 --seed 0 --checkpoint-every 10000"
$T --eval-every 10000 --out idp-ghp-s0 --force --quiet
$T --eval-every 10000 --baseline --out idp-base-s0 --force --quiet
$T --eval-every 10000 --arch 8-4-4-4 --out idp-small-s0 --force --quiet
$T --eval-every 0 --algo ars --out idp-ars-s0 --force --quiet
ghp evaluate idp-ghp-s0 --archs 300 --sample-seed 0 --episodes 5 --workers 1
for R in idp-base-s0 idp-small-s0 idp-ars-s0; do ghp evaluate $R --episodes 10 --workers 1; done
ghp report idp-ghp-s0 --baseline idp-base-s0 --json --out idp-ghp-s0-report > idp-ghp-s0-report.json
for R in idp-base-s0 idp-small-s0 idp-ars-s0; do ghp report $R --json --no-plots > $R.json; done
