#!/bin/bash
# Launch (or resume) the eight HalfCheetah chromatic runs, niced, each checkpointing every iteration.
cd /work/wt/chromatic
export PYTHONPATH=/work/wt/chromatic OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
ITERS=${ITERS:-300}
for topo in linear 41; do
  for part in learned random toeplitz none; do
    out=runs/chromatic/hc-$topo-$part
    extra=""; [ -f $out/config.json ] && extra="--resume"
    nohup nice -n 5 /work/main/.venv/bin/ghp chromatic --env HalfCheetah-v5 --hidden $topo --colors 17 \
      --partition $part --iterations $ITERS --directions 8 --eval-every 5 --seed 0 --out $out --quiet $extra \
      >> runs/chromatic/hc-$topo-$part.log 2>&1 &
    echo $! > runs/chromatic/hc-$topo-$part.pid
  done
done
