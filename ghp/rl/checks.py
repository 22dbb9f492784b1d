"""Bounds a training run must stay within: sizes, seeds, memory, the HER warm-up (each refused with one line)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ghp.envs import episode_limit, is_goal_env_id
from ghp.hypernet.config import MAX_EPISODES

if TYPE_CHECKING:  # the checks read a config; the config module calls them (no import at run time)
    from ghp.rl.config import TrainConfig

MAX_SEED = 2**32 - 1
"""Largest seed: numpy's ``np.random.seed``, which SB3 seeds with it, takes ``0 .. 2**32 - 1``."""
MAX_WIDTH = 8192
"""Widest hidden layer of the space or of ``--arch``."""
MAX_DEPTH = 16
"""Deepest architecture of the space or of ``--arch``."""
MAX_ARCHS = 200_000
"""Most architectures in a space (the default space has 4680; evaluation enumerates them all)."""
MAX_MEMORY_GB = 16.0
"""Largest :func:`memory_estimate` a run may need before anything is allocated."""
_INT_LIMITS: dict[str, int] = {
    "steps": 10**10,
    "n_envs": 1024,
    "batch_size": 2**20,
    "buffer_size": 10**9,
    "hidden": 1024,
    "rank": 1024,
    "threads": 1024,
    "her_goals": 64,
    "eval_archs": 1024,
    "ars_n_delta": 4096,
    "gradient_steps": 10**4,
    "resample_every": 10**9,
    "learning_starts": 10**10,
    "checkpoint_every": 10**10,
    "eval_every": 10**10,
}
"""Upper bounds of the integer settings (lower bounds: :func:`resolve`); far above any run that fits a machine."""


def check_bounds(c: TrainConfig) -> None:
    """Ranges of the numeric settings: each value a real number of the right type, inside its range."""
    for name, value in (("seed", c.seed), *((k, getattr(c, k)) for k in _INT_LIMITS)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{option_name(name)} must be a whole number, got {value!r}")
    if not 0 <= c.seed <= MAX_SEED:
        raise ValueError(f"--seed must be between 0 and {MAX_SEED} (2**32 - 1), got {c.seed}")
    for name, limit in _INT_LIMITS.items():
        if getattr(c, name) > limit:
            raise ValueError(f"{option_name(name)} must be at most {limit}, got {getattr(c, name)}")
    if c.eval_episodes > MAX_EPISODES:
        raise ValueError(f"--eval-episodes must be at most {MAX_EPISODES}, got {c.eval_episodes}")
    # (low, high, low_open): a value must lie in (low, high] when low_open, else in [low, high].
    floats: list[tuple[str, Any, float, float, bool]] = [
        ("lr", c.lr, 0.0, math.inf, True),
        ("actor_lr", c.actor_lr, 0.0, math.inf, True),
        ("gamma", c.gamma, 0.0, 1.0, True),
        ("tau", c.tau, 0.0, 1.0, True),
        ("weight_decay", c.weight_decay, 0.0, math.inf, False),
        ("action_noise", c.action_noise, 0.0, math.inf, False),
        ("action_l2", c.action_l2, 0.0, math.inf, False),
        ("ars_delta_std", c.ars_delta_std, 0.0, math.inf, True),
        ("normalize_clip", c.normalize_clip, 0.0, math.inf, True),
    ]
    for name, value, low, high, low_open in floats:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{option_name(name)} must be a finite number, got {value!r}")
        if (value <= low if low_open else value < low) or value > high:
            if math.isfinite(high):
                where = f"in {'(' if low_open else '['}{low:g}, {high:g}]"
            else:
                where = "positive" if low_open else "zero or more"
            raise ValueError(f"{option_name(name)} must be {where}, got {value!r}")
    if not isinstance(c.env_kwargs, dict):
        raise ValueError(f"--env-kwargs must be a mapping of KEY: VALUE, got {c.env_kwargs!r}")


def check_size(c: TrainConfig) -> None:
    """Widths, depths, the architecture count and the memory estimate, before anything is allocated."""
    widths = c.arch if c.baseline and c.arch is not None else c.widths
    depths = (len(c.arch),) if c.baseline and c.arch is not None else c.depths
    if widths and max(widths) > MAX_WIDTH:
        raise ValueError(f"hidden widths must be at most {MAX_WIDTH}, got {max(widths)}")
    if max(depths) > MAX_DEPTH:
        raise ValueError(f"depths must be at most {MAX_DEPTH}, got {max(depths)}")
    n = 1 if c.baseline else sum(len(c.widths) ** d for d in set(c.depths))
    if n > MAX_ARCHS:
        raise ValueError(
            f"--widths {','.join(map(str, c.widths))} with --depths {','.join(map(str, c.depths))} make {n} "
            f"architectures, more than {MAX_ARCHS}: give fewer widths or smaller depths"
        )
    check_memory(c, 1, 1)


def check_memory(c: TrainConfig, obs_dim: int, act_dim: int) -> None:
    """Refuse a run whose :func:`memory_estimate` is over :data:`MAX_MEMORY_GB` (one line saying what to shrink)."""
    gb = memory_estimate(c, obs_dim, act_dim) / 1e9
    if gb > MAX_MEMORY_GB:
        raise ValueError(
            f"this run would need about {gb:.1f} GB (hypernetwork, meta batch of {c.n_envs} policies, replay buffer), "
            f"more than {MAX_MEMORY_GB:g} GB: give smaller --widths, --hidden, --n-envs, --batch-size or --buffer-size"
        )


def memory_estimate(c: TrainConfig, obs_dim: int, act_dim: int) -> int:
    """A rough upper estimate in bytes of what training ``c`` allocates, from the settings alone (no environment).

    float32 parameters with their gradient and two Adam moments (x 4): the hypernetwork (its decoder grows with
    the widest layer: ``max_width^2 * hidden`` dense, ``2 * max_width * rank`` factorised), or the baseline's actor;
    the meta batch's emitted weights and activations; the replay buffer (two observations, an action, reward, done
    per transition), for an environment with ``obs_dim`` inputs and ``act_dim`` actions.
    """
    widths = c.arch if c.baseline and c.arch is not None else c.widths
    depth = len(c.arch) if c.baseline and c.arch is not None else max(c.depths)
    w = max(widths, default=1)
    big_in, big_out = max(w, obs_dim), max(w, act_dim)
    if c.baseline:
        hyper = 0
    elif c.decoder == "dense":
        hyper = big_out * big_in * (c.hidden + 1)
    else:
        hyper = (big_out + big_in) * c.rank
    largest = obs_dim * w + max(depth - 1, 0) * w * w + w * act_dim
    per_batch = (c.n_envs or 1) * largest * 3 + c.batch_size * w * max(depth, 1) * 4
    buffer = min(c.buffer_size, c.steps or c.buffer_size) * (2 * obs_dim + act_dim + 2)
    return 4 * (4 * (hyper + largest) + per_batch + buffer)


def check_her_warmup(c: TrainConfig) -> None:
    """HER samples only from finished episodes: SB3 raises on the first update if none has ended by then."""
    if c.algo == "ars" or not is_goal_env_id(c.env_id) or c.steps is None or c.learning_starts is None:
        return
    limit = episode_limit(c.env_id)
    if limit is None or c.steps <= c.learning_starts:
        return
    need = (c.n_envs or 1) * limit  # every environment has finished its first episode by then
    if c.learning_starts < need:
        raise ValueError(
            f"--learning-starts must be at least {need} for {c.env_id} with {c.n_envs} environments (HER needs a "
            f"finished {limit}-step episode before its first update), got {c.learning_starts}"
        )


def option_name(field_name: str) -> str:
    """The command-line spelling of a :class:`TrainConfig` field (``env_id`` -> ``--env``)."""
    return "--env" if field_name == "env_id" else "--" + field_name.replace("_", "-")
