#!/usr/bin/env bash
# Issue 24: the default command's runs (cf-TAG-sSEED of ./run.sh) with the checkpoint chosen by screening, not the
# last one. Every checkpoint in CKPTS is screened on the same 300 architectures (--sample-seed 0) over 10 randomised
# episodes; the checkpoint whose architectures succeed most on average is chosen; it is screened again on 30 episodes
# (the first 10 are the same starts), and its top 10 of at most 2,000 parameters plus the report's picks are
# confirmed on 100 held-out episodes, as ./run.sh does at the last step. Reports: TAG/best-sSEED.json (the chosen
# checkpoint's report) and TAG/progress-sSEED.json (every screened checkpoint). Resumable. Run from the repository
# root; GHP is the ghp CLI; RUNS is where the runs are.
set -euo pipefail
GHP=${GHP:-"python -c 'from cli.main import main; main()'"}
RUNS=${RUNS:-runs}
TAG=${TAG:-default}
CKPTS=${CKPTS:-step_100000,step_130000,step_160000,step_190000,step_220000,step_250000}
OUT=docs/results/crazyflie/default/$TAG
mkdir -p $OUT
for SEED in ${SEEDS:-0}; do
  RUN=$RUNS/cf-$TAG-s$SEED
  if [ -f $OUT/best-s$SEED.json ]; then continue; fi
  time eval nice -n 10 $GHP evaluate $RUN --checkpoints $CKPTS --archs 300 --sample-seed 0 --episodes 10
  eval $GHP report $RUN --progress --metric success --json --no-plots > $OUT/progress-s$SEED.json
  BEST=$(python -c "
import json, sys
points = json.load(open('$OUT/progress-s$SEED.json'))['points']
want = {int(c.removeprefix('step_')) for c in '$CKPTS'.split(',')}
print('step_%d' % max((p for p in points if p['step'] in want), key=lambda p: (p['mean'], p['step']))['step'])")
  echo "chosen: $BEST"
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $BEST --archs 300 --sample-seed 0 --episodes 30
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $BEST --episodes 30 --confirm 10 --confirm-episodes 100 \
    --confirm-max-params 2000
  eval $GHP report $RUN --checkpoint $BEST --metric success --json --no-plots > $OUT/best-s$SEED.json
done
