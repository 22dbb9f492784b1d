#!/usr/bin/env bash
# Issue 24: the default command's runs (cf-TAG-sSEED of ./run.sh) with the checkpoint chosen by screening, not the
# last one. Every checkpoint in CKPTS is screened on the same 300 architectures (--sample-seed 0) over 10 randomised
# episodes; the checkpoint whose architectures succeed most on average is chosen; it is screened again on 30 episodes
# (the first 10 are the same starts), and its top 10 of at most 2,000 parameters plus the report's picks are
# confirmed on 100 held-out episodes, as ./run.sh does at the last step. Reports: TAG/best-sSEED.json (the chosen
# checkpoint's report) and TAG/progress-sSEED.json (every swept checkpoint: mean success, architectures at >= 0.9).
# Resumable. Run from the repository root; GHP is the ghp CLI; RUNS is where the runs are.
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
  # Each checkpoint's 10-episode sweep (not the 30-episode screening ./run.sh made of the last one): its mean success.
  BEST=$(python - "$RUN" "$CKPTS" "$OUT/progress-s$SEED.json" <<'EOF'
import json, sys
from ghp.run.layout import read_config
from ghp.run.results import read_progress
run, names, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
want = {int(n.removeprefix("step_")) for n in names}
by_step = read_progress(run, str(read_config(run)["run_id"]), eval_seed=0, episodes=10)
rows = [{"step": step, "archs": len(recs), "episodes": 10,
         "mean_success": round(sum(r.success_rate or 0.0 for r in recs) / len(recs), 4),
         "archs_at_0.9": sum((r.success_rate or 0.0) >= 0.9 for r in recs),
         "best_success": max(r.success_rate or 0.0 for r in recs)} for step, recs in by_step.items() if step in want]
json.dump({"run": run, "checkpoints": rows}, open(out, "w"), indent=1)
print("step_%d" % max(rows, key=lambda r: (r["mean_success"], r["step"]))["step"])
EOF
)
  echo "chosen: $BEST"
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $BEST --archs 300 --sample-seed 0 --episodes 30
  time eval nice -n 10 $GHP evaluate $RUN --checkpoint $BEST --episodes 30 --confirm 10 --confirm-episodes 100 \
    --confirm-max-params 2000
  eval $GHP report $RUN --checkpoint $BEST --metric success --json --no-plots > $OUT/best-s$SEED.json
done
