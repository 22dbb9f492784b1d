"""Where a ghp SAC update's time goes: the training loop's update against SB3's, and the hypernetwork actor's parts.

CPU time of this process (``time.process_time``, 1 torch thread), so other processes on a shared machine inflate the
figures less than wall time; absolute times still move with the load (memory bandwidth, a shared core's sibling).
The update times are medians of interleaved rounds of 50 updates (as ``train_speed.py``); the actor's parts are
timed in isolation, best of 5 x 20 calls, averaged over 3 meta batches:

- GNN: encode nodes and both gated passes, forward and backward;
- decode: the cores and biases from the node embeddings, forward and backward (beyond the GNN's);
- MLPs: the meta batch's MLPs on 256 observations with gradients (forward and backward, emission fixed), and on the
  256 next observations without (SAC's target);
- the rest of the actor (SB3's squashed Gaussian, log-probability, Python): the whole actor's forward and backward
  minus the parts above; the rest of the update (critic, optimizers, replay sampling) is the update minus the actor.

    python -m benchmarks.train_profile
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from benchmarks.train_speed import build
from ghp.space.arch import ArchSpace, sample_uniform


def _update_ms(model, n: int) -> float:
    t0 = time.process_time()
    model.train(gradient_steps=n, batch_size=256)
    return (time.process_time() - t0) / n * 1e3


def _best_ms(f, n: int = 20, r: int = 5) -> float:
    best = float("inf")
    for _ in range(r):
        t0 = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t0) / n)
    return best * 1e3


def main() -> None:
    torch.set_num_threads(1)
    ghp = build("Hopper-v5", True, 8, "factorised", 0, "auto")
    sb3 = build("Hopper-v5", False, 8, "factorised", 0, "auto")
    _update_ms(ghp, 5), _update_ms(sb3, 5)
    a, b = [], []
    for _ in range(6):
        a.append(_update_ms(sb3, 50))
        b.append(_update_ms(ghp, 50))
    t_sb3, t_ghp = statistics.median(a), statistics.median(b)
    actor, sb3_actor = ghp.policy.actor, sb3.actor
    hn = actor.hypernet
    obs, next_obs = torch.randn(256, 11), torch.randn(256, 11)

    def whole(act, invalidate: bool):
        def f() -> None:
            x, log_prob = act.action_log_prob(obs)
            with torch.no_grad():
                act.action_log_prob(next_obs)
            (x.sum() + log_prob.sum()).backward()
            if invalidate:
                act.invalidate()

        return f

    parts = []
    for seed in range(3):
        actor.set_archs(sample_uniform(ArchSpace(), 8, np.random.default_rng(seed)))
        archs = actor.archs

        def gnn(archs=archs) -> None:
            e, _ = hn.embed(archs)
            e.sum().backward()

        def emit(archs=archs) -> None:
            em = hn.emit(archs)
            (em.cores.sum() + em.biases.sum()).backward()

        fixed = hn.emit(archs)
        fixed.cores = fixed.cores.detach().requires_grad_()
        fixed.biases = fixed.biases.detach().requires_grad_()
        actor._cache = None
        actor.emission = lambda fixed=fixed: fixed  # the MLPs alone: a fixed emission, through the actor's own path

        def mlp_grad() -> None:
            actor.mlp_out(obs).sum().backward()

        def mlp_target() -> None:
            with torch.no_grad():
                actor.mlp_out(next_obs)

        mlp = [_best_ms(mlp_grad), _best_ms(mlp_target)]
        del actor.emission
        parts.append(
            [_best_ms(whole(actor, True)), _best_ms(gnn), _best_ms(emit), *mlp, _best_ms(whole(sb3_actor, False))]
        )
    whole_ms, gnn_ms, emit_ms, mlp_ms, target_ms, sb3_ms = np.mean(parts, 0)
    print(f"update, CPU ms: SB3 SAC [256,256] {t_sb3:.2f}, ghp {t_ghp:.2f}, ratio {t_ghp / t_sb3:.3f}")
    print(
        f"ghp actor forward + backward: {whole_ms:.2f} ms ({100 * whole_ms / t_ghp:.0f}% of the update); "
        f"SB3's actor: {sb3_ms:.2f} ms"
    )
    rows = (
        ("GNN (encode, 2 gated passes) f+b", gnn_ms),
        ("decode (cores, biases) f+b", emit_ms - gnn_ms),
        ("MLPs on obs f+b", mlp_ms),
        ("MLPs on next obs, no grad", target_ms),
        ("rest of the actor", whole_ms - emit_ms - mlp_ms - target_ms),
        ("critic, optimizers, replay", t_ghp - whole_ms),
    )
    for name, ms in rows:
        print(f"  {name:34s} {ms:6.2f} ms {100 * ms / t_ghp:5.1f}%")
    print(f"  (SB3: critic, optimizers, replay {t_sb3 - sb3_ms:.2f} ms)")


if __name__ == "__main__":
    main()
