#!/bin/bash
# After the eight runs: evaluate each stored policy (5 episodes), export the H41 learned policy, print the table.
cd /work/wt/chromatic
export PYTHONPATH=/work/wt/chromatic OMP_NUM_THREADS=1
G=/work/main/.venv/bin/ghp
for r in runs/chromatic/hc-*/; do
  /usr/bin/time -f "$r evaluate wall %e s" $G evaluate $r --episodes 5 --workers 1 2>&1 | tail -2
done
for d in codebook float32 int8; do
  /usr/bin/time -f "export $d wall %e s" $G export --policy runs/chromatic/hc-41-learned/policy.npz --dtype $d --name hc41 \
    --out runs/chromatic/export-41-learned-$d --check 2>&1
done
$G export --policy runs/chromatic/hc-linear-learned/policy.npz --dtype codebook --name hcl --out runs/chromatic/export-linear-learned-codebook --check 2>&1
/work/main/.venv/bin/python benchmarks/chromatic_table.py runs/chromatic/hc-linear-{learned,random,toeplitz,none} runs/chromatic/hc-41-{learned,random,toeplitz,none} --copy docs/results/chromatic
