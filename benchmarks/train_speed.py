"""Time SB3 SAC updates with its usual [256, 256] actor against ghp's hypernetwork updates, in one process.

Both models share the environment, the critic, the batch size (256) and the thread count; the replay buffers are
filled with the same number of random steps; then rounds of ``--updates`` gradient steps alternate between the two
(interleaved, so machine noise hits both alike). Prints ms per update of each, the hypernetwork parameter counts, and
as the last line the ratio ghp / SB3 (target: <= 1.2).

    python benchmarks/train_speed.py                      # Hopper-v5, meta batch 8, factorised decoder
    python benchmarks/train_speed.py --env HalfCheetah-v5 --decoder dense --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def build(
    env_id: str,
    ghp: bool,
    n_envs: int,
    decoder: str,
    seed: int,
    mlp_mode: str,
    rank: int = 16,
    hidden: int = 32,
    fused_adam: bool = False,
    lean_critic: bool = False,
) -> Any:
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_util import make_vec_env

    from ghp.hypernet.network import HypernetConfig
    from ghp.hypernet.policies import GHPSACPolicy
    from ghp.space.arch import ArchSpace

    env = make_vec_env(env_id, n_envs=n_envs if ghp else 1, seed=seed)
    kwargs: dict[str, Any] = {"net_arch": {"pi": [256, 256], "qf": [256, 256]}}
    if fused_adam:  # SB3 with torch's fused Adam kernel for both its optimizers (ghp fuses its own by default)
        kwargs["optimizer_kwargs"] = {"fused": True}
    if ghp:
        kwargs |= {
            "hypernet": HypernetConfig(decoder=decoder, rank=rank, hidden=hidden).to_dict(),
            "space": ArchSpace().to_dict(),
            "meta_batch": n_envs,
            "resample_every": 50,
            "arch_seed": seed,
            "actor_lr_scale": 1e-3 / 3e-4,
            "actor_weight_decay": 1e-5,
            "mlp_mode": mlp_mode,
        }
    model = SAC(
        GHPSACPolicy if ghp else (_lean_sac_policy() if lean_critic else "MlpPolicy"),
        env,
        learning_starts=10**9,
        batch_size=256,
        ent_coef=0.2,
        policy_kwargs=kwargs,
        seed=seed,
        device="cpu",
    )
    model.learn(2_000)  # random steps only: fills the buffer, sets up the logger
    return model


def _lean_sac_policy() -> Any:
    """SB3's SAC policy with ghp's critic (``ghp.hypernet.critic``: the actor's loss skips the critic's weight
    gradients): SB3 given both of ghp's critic-side savings, so a ratio against it isolates the hypernetwork actor."""
    from stable_baselines3.sac.policies import SACPolicy

    from ghp.hypernet.critic import ActionGradCritic

    class LeanSACPolicy(SACPolicy):
        def make_critic(self, features_extractor: Any = None) -> ActionGradCritic:
            kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
            return ActionGradCritic(**kwargs).to(self.device)

    return LeanSACPolicy


def run_rate(env_id: str, baseline: bool, learn_steps: int, learning_starts: int, out: str) -> float:
    """Environment steps per second of one whole short ``ghp train`` (``baseline``: SB3's plain [256, 256] SAC actor,
    ``ghp train --baseline``), everything else the task's defaults: setup, random steps, updates, saving.

    Wall-clock seconds of the :func:`ghp.rl.train.train` call; no periodic evaluation and no replay buffer saved (both
    sides alike), so the figure is what a user's run spends per environment step on rollouts plus updates.
    """
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    steps = learning_starts + learn_steps
    cfg = TrainConfig(
        env_id=env_id, steps=steps, learning_starts=learning_starts, eval_every=0, baseline=baseline, out=out
    )
    t0 = time.perf_counter()
    train(cfg, force=True, replay_buffer=False)
    return steps / (time.perf_counter() - t0)


def time_updates(model: Any, n: int) -> float:
    t0 = time.perf_counter()
    model.train(gradient_steps=n, batch_size=256)
    return (time.perf_counter() - t0) / n * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="Hopper-v5")
    p.add_argument("--n-envs", type=int, default=8, help="meta batch")
    p.add_argument("--decoder", default="factorised", choices=["factorised", "dense"])
    p.add_argument("--mlp-mode", default="auto", choices=["auto", "factorised", "factorised-loop", "loop", "padded"])
    p.add_argument("--rank", type=int, default=16, help="factorised decoder rank")
    p.add_argument("--hidden", type=int, default=32, help="hypernetwork width")
    p.add_argument("--updates", type=int, default=50, help="gradient steps per timed round")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import torch

    from ghp.hypernet.network import GraphHypernet, HypernetConfig, count_parameters
    from ghp.space.arch import ArchSpace

    torch.set_num_threads(args.threads)
    for dec in ("factorised", "dense"):
        hn = GraphHypernet(HypernetConfig(decoder=dec), 11, 6, ArchSpace().max_width, ArchSpace().max_depth)
        print(f"hypernet parameters ({dec} decoder, Hopper sizes): {count_parameters(hn):,}")
    sb3 = build(args.env, False, args.n_envs, args.decoder, args.seed, args.mlp_mode)
    ghp = build(args.env, True, args.n_envs, args.decoder, args.seed, args.mlp_mode, args.rank, args.hidden)
    time_updates(sb3, 5)  # warm-up
    time_updates(ghp, 5)
    a, b = [], []
    for _ in range(args.rounds):
        a.append(time_updates(sb3, args.updates))
        b.append(time_updates(ghp, args.updates))
    ms_sb3, ms_ghp = statistics.median(a), statistics.median(b)
    print(f"env {args.env}, batch 256, {args.threads} torch thread(s), {args.rounds} x {args.updates} updates each")
    print(f"SB3 SAC [256,256]: {ms_sb3:.2f} ms/update ({1e3 / ms_sb3:.0f} updates/s)")
    print(f"ghp ({args.decoder}, meta batch {args.n_envs}): {ms_ghp:.2f} ms/update ({1e3 / ms_ghp:.0f} updates/s)")
    print(f"ratio ghp/SB3: {ms_ghp / ms_sb3:.2f}")


if __name__ == "__main__":
    main()
