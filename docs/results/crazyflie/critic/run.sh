#!/usr/bin/env bash
# Issue 24: a smaller critic (--critic 64,64 instead of SB3's 256,256) on the randomised default hover with the
# action history K = 16; one seed, the reduced space of action_history/run.sh (widths 8,16,32,64, depths 1,2,3), so
# its 60k checkpoint compares with action_history/k16.json (same seed, same space, critic 256,256) under the same
# evaluation protocol. Trained for as long as the session allowed on the shared 2-core machine, then stopped by
# SIGTERM (ghp train saves the model and a checkpoint); the checkpoints every 20k are what is evaluated.
# Run from the repository root; GHP is the ghp CLI of this checkout. One process at a time, each niced.
# ghp report without --env-kwargs reads the most recent setting (here the nominal one), hence action_history=16.
set -euo pipefail
# yaw_frame=false (and yaw_weight=0): trained in the world frame before the heading frame became the hover default
# (2026-12-07); kept so a rerun reproduces it.
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
OUT=docs/results/crazyflie/critic
RUN=runs/cf-k16-c64
# Update speed of the two critics, interleaved in one process (so the machine's load hits both alike; run last).
nice -n 10 python $OUT/update_speed.py --history 16 --critics 256,256 64,64 > $OUT/update_speed.txt
# Training, as it ran (2026-12-06/07; load average every minute in train_load.txt, the training's own periodic
# evaluations in train_eval.jsonl): stopped by SIGTERM just after step_60000 (2031 s wall, load 8-17), the 60k
# checkpoint evaluated, then resumed and stopped again at 182,376 steps (2333 s more, load 3-11).
time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --env-kwargs \"action_history=16 yaw_weight=0 yaw_frame=false\" --critic 64,64 --seed 0 \
  --steps 250000 --widths 8,16,32,64 --depths 1,2,3 --checkpoint-every 20000 --eval-every 20000 --quiet --out $RUN
#   (SIGTERM after checkpoints/step_60000.zip appears)
# The protocol of action_history/run.sh, at the 60k checkpoint (screen 20 s, confirm 20 s wall).
time eval nice -n 10 $GHP evaluate $RUN --checkpoint step_60000 --archs all --episodes 5
time eval nice -n 10 $GHP evaluate $RUN --checkpoint step_60000 --confirm 5 --confirm-episodes 100
eval $GHP report $RUN --checkpoint step_60000 --metric success --json --no-plots > $OUT/k16-c64-60k.json
time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps 250000 --quiet
#   (SIGTERM at 00:08 UTC: saved step_182376)
for ROUND in 182k 250k; do
  time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5               # 13 s
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100     # 10 s
  # The same model on the nominal drone (no randomisation, noise or disturbance): 10 s each.
  time eval nice -n 10 $GHP evaluate $RUN --archs all --episodes 5 --env-kwargs nominal=true
  time eval nice -n 10 $GHP evaluate $RUN --confirm 5 --confirm-episodes 100 --env-kwargs nominal=true
  if [ $ROUND = 182k ]; then
    eval $GHP report $RUN --checkpoint step_182376 --env-kwargs action_history=16 --metric success --json --no-plots > $OUT/k16-c64-182k.json
    eval $GHP report $RUN --env-kwargs nominal=true --metric success --json --no-plots > $OUT/k16-c64-182k-nominal.json
    # Resumed again to the default 250k (702 s wall, load about 3): it finished.
    time eval nice -n 10 $GHP train --env ghp/CrazyflieHover-v0 --out $RUN --resume --steps 250000 --quiet
  fi
done
eval $GHP report $RUN --checkpoint step_250000 --env-kwargs nominal=true --metric success --json --no-plots > $OUT/k16-c64-last-nominal.json
eval $GHP report $RUN --checkpoint step_60000 --metric return --json --no-plots > $OUT/k16-c64-60k-return.json
eval $GHP report $RUN --checkpoint step_250000 --env-kwargs action_history=16 --metric success --json --no-plots > $OUT/k16-c64-last.json
eval $GHP report $RUN --checkpoint step_250000 --env-kwargs action_history=16 --metric return --json --no-plots > $OUT/k16-c64-last-return.json
python $OUT/confirmed.py $RUN > $OUT/confirmed.json
