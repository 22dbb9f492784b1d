"""Median |pre-tanh output| of 20 sampled architectures (sample seed 0) on 200 FetchReach-v4 observations."""

import sys

import numpy as np
import torch

from ghp.envs import make_env
from ghp.policy.weights import obs_vector
from ghp.rollout.evaluate import parse_arch_selection
from ghp.run.load import load_run

torch.set_num_threads(1)
env = make_env("FetchReach-v4")
obs = []
o, _ = env.reset(seed=0)
rng = np.random.default_rng(0)
for t in range(200):
    obs.append(obs_vector(o))
    o, *_ = env.step(rng.uniform(-1, 1, 4))
    if t % 50 == 49:
        o, _ = env.reset(seed=t)
x = np.stack(obs).astype(np.float32)
for f in ("preactivation", "action"):
    for ck in sys.argv[1:]:
        run = load_run(f"runs/fetch-{f}", ck)
        archs = parse_arch_selection("20", run.space, 0)
        zs = []
        for w in run.emit(archs):
            h = x
            for j, (W, b) in enumerate(w.layers):
                h = h @ W.T + b
                if j < len(w.layers) - 1:
                    h = np.maximum(h, 0)
            zs.append(np.abs(h))
        z = np.concatenate([q.ravel() for q in zs])
        sat = float(np.mean(z > 3.0))
        print(
            f"{f} {ck}: median |z| {np.median(z):.2f}, 90th pct {np.percentile(z, 90):.2f}, "
            f"|z|>3 (tanh>0.995) {sat:.0%}"
        )
