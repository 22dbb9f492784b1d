#!/usr/bin/env bash
# Issue 24: a smaller critic (--critic 64,64 instead of SB3's 256,256) on the randomised default hover with the
# action history K = 16; one seed, the reduced space of action_history/run.sh (widths 8,16,32,64, depths 1,2,3), so
# its 60k checkpoint compares with action_history/k16.json (same seed, same space, critic 256,256) under the same
# evaluation protocol. Trained for as long as the session allowed on the shared 2-core machine, then stopped by
# SIGTERM (ghp train saves the model and a checkpoint); the checkpoints every 20k are what is evaluated.
# Run from the repository root; GHP is the ghp CLI of this checkout. One process at a time, each niced.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
OUT=docs/results/crazyflie/critic
RUN=runs/cf-k16-c64
# Update speed of the two critics, interleaved in one process (so the machine's load hits both alike).
nice -n 10 python $OUT/update_speed.py --history 16 --critics 256,256 64,64 > $OUT/update_speed.txt
# Training (stopped by SIGTERM after the wall time in the docs; the load average was logged every minute).
time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs action_history=16 --critic 64,64 --seed 0 \
  --steps 250000 --widths 8,16,32,64 --depths 1,2,3 --checkpoint-every 20000 --eval-every 20000 --quiet --out $RUN
# The protocol of action_history/run.sh, at the 60k checkpoint and at the last one.
for CK in step_60000 latest; do
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $CK --archs all --episodes 5
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $CK --confirm 5 --confirm-episodes 100
done
eval $GHP report $RUN --checkpoint step_60000 --metric return --json --no-plots > $OUT/k16-c64-60k-return.json
eval $GHP report $RUN --metric success --json --no-plots > $OUT/k16-c64-last.json
eval $GHP report $RUN --metric return --json --no-plots > $OUT/k16-c64-last-return.json
python $OUT/confirmed.py $RUN > $OUT/confirmed.json
