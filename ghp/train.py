"""Train a graph hyper policy inside Stable-Baselines3's own loop (paper, Section III-C).

SAC for locomotion and Pendulum, DDPG + HER for goal-conditioned Fetch tasks. ``n_envs`` parallel environments;
environment ``i`` acts with architecture ``i`` of the meta batch; one gradient update per environment transition.

Baselines, runs that evaluate / report / search / export read like any other (a one-architecture space):
``baseline=True`` trains SB3's plain ``[256, 256]`` actor with the same hyperparameters instead; ``arch=(8, 4, 4, 4)``
trains that one small MLP with plain SB3 (the paper's "Off-Policy RL" column); ``algo="ars"`` trains a linear policy
(or ``arch``) with sb3-contrib's Augmented Random Search on normalised observations, the normalisation saved beside
every checkpoint and folded into the exported weights.

Fields left ``None`` in :class:`TrainConfig` take per-environment defaults (:data:`ENV_DEFAULTS`, the authors'
settings where they exist, REFERENCE.md); :func:`resolve` fills them and the resolved config is what ``config.json``
records.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import uuid
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ghp.arch import SAMPLINGS, Arch, ArchSpace
from ghp.atomic import write_bytes, write_npz, write_text
from ghp.config import ACTION_PENALTIES, DECODERS, MAX_EPISODES, RUN_MODES, HypernetConfig
from ghp.envs import EnvSpec, check_env_id, env_spec, episode_limit, is_goal_env_id, make_env, parse_env_kwargs
from ghp.lock import run_lock
from ghp.normalize import load_vec_normalize, stats_path
from ghp.presets import PRESETS, Preset
from ghp.replay import REPLAY_FILE, load_replay_buffer, save_replay_buffer
from ghp.run import (
    BASELINE_ARCH,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    FORMAT_VERSION,
    MODEL_FILE,
    OBS_NORM_SUFFIX,
    is_ghp_run,
    load_model,
    read_config,
    remove_train_files,
)

ALGOS: tuple[str, ...] = ("sac", "ddpg", "ars")
_ARS_CLIP_OBS = 1e8
"""VecNormalize's observation clip for ARS, high enough never to act, so that folding the normalisation into the
first layer is exact."""
VEC_ENVS: tuple[str, ...] = ("dummy", "subproc")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")

# Per-family defaults. SAC locomotion follows the authors (fixed alpha 0.2, critic lr 3e-4, hypernetwork lr 1e-3,
# 10k random steps); the small tasks use what learns reliably within minutes on 2 cores (docs/train.md).
LEGACY_CRITIC = (256, 256)
"""The critic every run had before ``--critic`` (SB3's default); a saved config without the key was trained with it."""
_SAC_LOCOMOTION: dict[str, Any] = dict(
    algo="sac",
    steps=1_000_000,
    learning_starts=10_000,
    lr=3e-4,
    actor_lr=1e-3,
    gamma=0.99,
    tau=0.005,
    ent_coef="0.2",
    critic=LEGACY_CRITIC,
    resample_every=50,
    normalize=False,
    normalize_clip=10.0,
)
_DDPG_HER: dict[str, Any] = dict(
    algo="ddpg",
    steps=100_000,
    learning_starts=1_000,
    lr=1e-3,
    actor_lr=1e-3,
    gamma=0.98,
    tau=0.05,
    ent_coef="auto",
    critic=LEGACY_CRITIC,
    resample_every=4,
    # Measured on FetchReach-v4, seed 0 (docs/results/normalize.md): at the 10k checkpoint all 100 sampled
    # architectures succeed with normalisation, 2.6% on average without (both 100% at 15k).
    normalize=True,
    normalize_clip=5.0,
)
_ARS: dict[str, Any] = dict(lr=0.02, learning_starts=0, actor_lr=0.02, resample_every=1, n_envs=1)
"""ARS (RL Zoo's small-task settings): step size 0.02; no random steps, no hypernetwork."""
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "Pendulum-v1": {
        **_SAC_LOCOMOTION,
        "steps": 10_000,
        "learning_starts": 1_000,
        "lr": 1e-3,
        "actor_lr": 1e-3,
        "ent_coef": "auto",
    },
    "InvertedPendulum-v5": {**_SAC_LOCOMOTION, "steps": 30_000, "learning_starts": 1_000, "ent_coef": "auto"},
}
# Crazyflie (docs/crazyflie.md): SAC with a learned entropy coefficient (the reward is about 1 per step, so the
# authors' fixed 0.2 would weigh exploration as much as flying), 2k random steps, fast critic and hypernetwork, and
# one update per two transitions, which on 2 shared cores buys twice the experience per wall-clock minute. 250k steps:
# on the nominal drone policies fly whole episodes from about 60k steps and first hold the 0.1 m box after about 100k
# (measured; GoTo's 500k is twice that, not measured). Critic 64,64 (l2f's size) instead of 256,256: each update
# about a third cheaper, and on the randomised hover with action_history=16 (seed 0, 60k steps, widths 8..64 x depths
# 1..3) the confirmed best mean return 259 against 197 and the screening median 201 against 106
# (docs/results/crazyflie/critic; one seed, no success yet with either).
_CRAZYFLIE: dict[str, Any] = {
    **_SAC_LOCOMOTION,
    "critic": (64, 64),
    "steps": 250_000,
    "learning_starts": 2_000,
    "lr": 1e-3,
    "actor_lr": 1e-3,
    "ent_coef": "auto",
    "gradient_steps": 4,
}
ENV_DEFAULTS["ghp/CrazyflieHover-v0"] = _CRAZYFLIE
ENV_DEFAULTS["ghp/CrazyflieGoTo-v0"] = {**_CRAZYFLIE, "steps": 500_000}


def env_defaults(env_id: str) -> dict[str, Any]:
    """Defaults of the family ``env_id`` belongs to (Fetch: DDPG + HER; otherwise SAC)."""
    if env_id in ENV_DEFAULTS:
        return {"gradient_steps": -1, **ENV_DEFAULTS[env_id]}
    return {"gradient_steps": -1, **(_DDPG_HER if is_goal_env_id(env_id) else _SAC_LOCOMOTION)}


def parse_fixed_arch(text: str) -> tuple[int, ...]:
    """``--arch``: hidden widths like ``8-4-4-4`` (``64`` or ``64-``: one layer; ``linear``: none)."""
    from ghp.arch import parse_arch

    t = text.strip()
    if t.lower() in ("linear", "()", ""):
        return ()
    try:
        return parse_arch(t.rstrip("-")).hidden
    except ValueError:
        raise ValueError(f"--arch wants hidden widths like 8-4-4-4 (or 'linear'), got {text!r}") from None


def parse_parts(text: str) -> tuple[str, ...]:
    """``--freeze``: comma-separated hypernetwork parts (checked by :class:`HypernetConfig`)."""
    return tuple(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; ``None`` means the environment's default (:func:`resolve`)."""

    env_id: str = field(default="Pendulum-v1", metadata={"flag": "--env", "required": True})
    """Gymnasium id, e.g. ``Pendulum-v1``, ``Hopper-v5``, ``FetchReach-v4``, ``ghp/CrazyflieHover-v0`` (continuous
    actions)."""
    env_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={"parse_all": parse_env_kwargs, "metavar": "KEY=VALUE ...", "show_default": "none"},
    )
    """Keyword arguments for ``gym.make``, e.g. ``--env-kwargs 'nominal=true start_tilt_deg=10'`` (repeatable);
    recorded in the run and used by every stage that rebuilds the environment (evaluate, export)."""
    algo: str | None = field(default=None, metadata={"choices": ALGOS})
    """``sac`` or ``ddpg`` (DDPG + HER for goal-conditioned tasks); default by family; ``ars``: a linear policy (or
    ``arch``) trained by sb3-contrib's Augmented Random Search on normalised observations (a baseline)."""
    steps: int | None = None
    """Total environment steps (all environments together)."""
    n_envs: int | None = field(default=None, metadata={"show_default": "8; ARS and --preset rlzoo: 1"})
    """Parallel environments = meta batch: environment ``i`` acts with architecture ``i``. ARS runs one (it counts
    every environment step it takes, and uses each)."""
    preset: str = field(default="authors", metadata={"choices": PRESETS})
    """Settings every option left at its default takes: ``authors`` (the paper's, per family: docs/train.md) or
    ``rlzoo`` (RL Zoo's tuned file for the task from the installed ``rl_zoo3``, SB3's defaults where it has none:
    the baseline as SB3 users run it). Options given explicitly always win."""
    seed: int = 0
    """Seed of SB3, the environments and the architecture sampler."""
    out: str | None = field(default=None, metadata={"show_default": "runs/<env>-<algo>[-baseline]"})
    """Run directory."""
    baseline: bool = False
    """Train SB3's plain ``[256, 256]`` actor instead of the hypernetwork (same other hyperparameters)."""
    arch: tuple[int, ...] | None = field(default=None, metadata={"parse": parse_fixed_arch, "join": "-"})
    """Train this one architecture (hidden widths) with plain SB3 instead of the hypernetwork (implies a baseline
    run; ``--baseline`` is ``(256, 256)``, ``--algo ars`` defaults to ``()``, the linear policy)."""
    ars_n_delta: int = 8
    """ARS: random directions per update (each evaluated with + and -)."""
    ars_delta_std: float = 0.05
    """ARS: standard deviation of the parameter perturbations."""
    ars_n_top: int | None = None
    """ARS: best directions used per update (None: all of ``ars_n_delta``)."""
    ars_alive_bonus: float = 0.0
    """ARS: constant added to every step's reward during training, to cancel an alive bonus (RL Zoo: -1 on Hopper)."""
    widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)
    """Hidden widths of the architecture space."""
    depths: tuple[int, ...] = (1, 2, 3, 4)
    """Hidden-layer counts of the space (0 adds the linear policy)."""
    decoder: str = field(default="factorised", metadata={"choices": DECODERS})
    """Hypernetwork decoder: ``factorised`` or ``dense`` (the paper's map, crop-only)."""
    hidden: int = 32
    """Hypernetwork embedding width."""
    rank: int = 16
    """Rank of the factorised decoder."""
    freeze: tuple[str, ...] = field(default=(), metadata={"parse": parse_parts, "show_default": "none"})
    """Hypernetwork parts kept at their initialisation (``encoder``, ``message``, ``update``, ``decoder``, ``bias``):
    left out of the optimizer and of the backward pass (Snowflake trains only the GNN's update function)."""
    critic: tuple[int, ...] | None = None
    """Hidden widths of each of SAC's two Q-networks (DDPG's one), e.g. ``64,64``: a smaller critic makes every
    update cheaper, so more updates fit a wall-clock budget."""
    learning_starts: int | None = None
    """Random-action environment steps before the first update."""
    batch_size: int = 256
    """Minibatch size, split evenly across the meta batch for the actor."""
    buffer_size: int = 1_000_000
    """Replay buffer capacity (capped at ``steps``)."""
    lr: float | None = None
    """Critic (and entropy coefficient) learning rate."""
    actor_lr: float | None = None
    """Hypernetwork learning rate (authors: 1e-3)."""
    weight_decay: float = 1e-5
    """Hypernetwork Adam weight decay (authors: 1e-5)."""
    gamma: float | None = None
    """Discount factor."""
    tau: float | None = None
    """Target network update rate."""
    ent_coef: str | None = None
    """SAC entropy coefficient: a number (authors: 0.2), ``auto`` (learned, starting at 1) or ``auto_X`` (learned,
    starting at X)."""
    resample_every: int | None = None
    """New architectures every this many actor updates (authors: 50 SAC, 4 DDPG + HER)."""
    gradient_steps: int | None = None
    """Gradient updates after each step of the ``n_envs`` environments; -1 (default for most tasks) = one per
    transition, i.e. ``n_envs``."""
    sampling: str = field(default="uniform", metadata={"choices": SAMPLINGS})
    """``uniform``, ``sweep`` (shuffled passes over the whole space) or ``depth`` (uniform depth, then widths)."""
    her_goals: int = 4
    """HER: relabelled goals per transition (``future`` strategy)."""
    action_noise: float = 0.1
    """DDPG: standard deviation of the Gaussian exploration noise (fraction of the action range)."""
    action_l2: float = 1.0
    """DDPG: weight of the actor's action penalty ``action_l2 * mean(x^2)`` (the HER baselines' action_l2; 0: none)."""
    action_penalty: str = field(default="preactivation", metadata={"choices": ACTION_PENALTIES})
    """DDPG: what the penalty squares: ``preactivation`` (the pre-tanh output) or ``action`` (the squashed action
    over its bound, as the HER baselines); docs/train.md compares them on FetchReach-v4."""
    checkpoint_every: int = 10_000
    """Save ``checkpoints/step_<N>.zip`` every this many environment steps (0: only at the end)."""
    vec_env: str = field(default="dummy", metadata={"choices": VEC_ENVS})
    """``dummy`` (one process, measured fastest here) or ``subproc``."""
    threads: int = 1
    """torch threads."""
    normalize: bool | None = None
    """Normalise observations with SB3's VecNormalize (running mean and std, then clipped); the statistics are
    saved with every checkpoint and folded into the exported policies' first layer (``ghp.normalize``)."""
    normalize_reward: bool = False
    """With ``normalize``: also scale rewards by the running std of the discounted return (training only)."""
    normalize_clip: float | None = None
    """With ``normalize``: clip of the normalised observation (HER baselines: 5; SB3's default: 10)."""
    mlp_mode: str = field(default="auto", metadata={"choices": RUN_MODES})
    """How the meta batch's MLPs run during training (:meth:`ghp.hypernet.GraphHypernet.run`); same results."""
    device: str = field(default="auto", metadata={"choices": DEVICES})
    """Torch device of training: ``auto`` (CUDA when available), ``cpu`` or ``cuda``; evaluation and export always
    emit on the CPU."""
    eval_every: int = 5000
    """Deterministic evaluation of ``eval_archs`` fixed architectures every this many environment steps, logged to
    TensorBoard (``eval/*``), ``RUN/eval.jsonl`` and the progress callback (0 disables)."""
    eval_archs: int = 4
    """Architectures of that evaluation: evenly spread over the space sorted by parameter count (both ends in)."""
    eval_episodes: int = 2
    """Episodes per architecture of that evaluation (fixed starts: the same at every evaluation)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        d = asdict(self)
        d["widths"], d["depths"], d["freeze"] = list(self.widths), list(self.depths), list(self.freeze)
        d["arch"] = None if self.arch is None else list(self.arch)
        d["critic"] = None if self.critic is None else list(self.critic)
        d["env_kwargs"] = dict(self.env_kwargs)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys are refused)."""
        d = dict(d)
        d["widths"], d["depths"] = tuple(d["widths"]), tuple(d["depths"])
        d["freeze"] = tuple(d.get("freeze", ()))
        d["arch"] = None if d.get("arch") is None else tuple(d["arch"])
        # A run saved before the option recorded no critic: it was trained with SB3's [256, 256], the only one then
        # (so resuming it keeps what its model.zip holds, whatever the environment's default is now).
        d["critic"] = tuple(d["critic"]) if d.get("critic") is not None else LEGACY_CRITIC
        return cls(**d)

    @property
    def space(self) -> ArchSpace:
        """The architecture space (a baseline run's is its single architecture, ``[256, 256]`` by default)."""
        if self.baseline:
            return ArchSpace.single(Arch(self.arch) if self.arch is not None else BASELINE_ARCH)
        return ArchSpace(widths=self.widths, depths=self.depths)

    @property
    def hypernet(self) -> HypernetConfig:
        """The hypernetwork's configuration."""
        return HypernetConfig(hidden=self.hidden, decoder=self.decoder, rank=self.rank, freeze=self.freeze)


def resolve(config: TrainConfig) -> TrainConfig:
    """Fill every ``None`` field with the environment's default and check the values.

    Raises:
        ValueError: a value out of range, with what to give instead.
    """
    if config.preset not in PRESETS:
        raise ValueError(f"unknown preset {config.preset!r}: choose one of {', '.join(PRESETS)}")
    d = {"n_envs": 8, **env_defaults(config.env_id)}
    if config.algo == "ars":
        d |= _ARS
    preset_arch: tuple[int, ...] | None = None
    if config.preset == "rlzoo":
        d, preset_arch = _with_rlzoo(config, d)
    updates = {k: v for k, v in d.items() if hasattr(config, k) and getattr(config, k) is None}
    updates |= {k: d[k] for k in _PRESET_FIELDS if k in d}  # only a preset sets these (explicit values kept)
    c = dataclasses.replace(config, **updates)
    if preset_arch is not None and c.arch is None and (c.baseline or c.algo == "ars"):
        c = dataclasses.replace(c, arch=preset_arch)
    if c.algo == "ars" and c.arch is None:
        c = dataclasses.replace(c, arch=())
    if c.arch is not None or c.baseline:
        c = dataclasses.replace(c, baseline=True, arch=tuple(c.arch if c.arch is not None else BASELINE_ARCH.hidden))
        if any(w < 1 for w in c.arch):  # type: ignore[union-attr]
            raise ValueError(f"--arch widths must be positive, got {list(c.arch)}")  # type: ignore[arg-type]
    if c.out is None:
        tag = ""
        if c.baseline and c.arch != BASELINE_ARCH.hidden:
            tag = "-arch" + (Arch(c.arch).key if c.arch else "linear")  # type: ignore[arg-type]
        elif c.baseline and c.algo != "ars":
            tag = "-baseline"
        c = dataclasses.replace(c, out=str(Path("runs") / (c.env_id.split(":")[-1] + f"-{c.algo}{tag}")))
    if not c.critic or any(w < 1 for w in c.critic):
        raise ValueError(f"--critic wants positive hidden widths like 64,64, got {list(c.critic or ())}")
    if c.algo == "ars" and is_goal_env_id(c.env_id):
        raise ValueError("--algo ars takes plain observation tasks (not goal-conditioned ones): use sac or ddpg")
    if c.algo not in ALGOS:
        raise ValueError(f"unknown algo {c.algo!r}: choose one of {', '.join(ALGOS)}")
    if c.n_envs is None or c.n_envs < 1:
        raise ValueError(f"--n-envs must be at least 1, got {c.n_envs}")
    if c.algo == "ars" and c.n_envs != 1:
        # sb3-contrib's ARS steps every environment but keeps one episode per candidate, and counts them all.
        raise ValueError(f"--algo ars runs one environment (it would count {c.n_envs}x the steps it learns from)")
    if c.ars_n_top is not None and not 1 <= c.ars_n_top <= c.ars_n_delta:
        raise ValueError(f"--ars-n-top must be between 1 and --ars-n-delta ({c.ars_n_delta}), got {c.ars_n_top}")
    if c.steps is None or c.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {c.steps}")
    if c.decoder not in DECODERS:
        raise ValueError(f"unknown decoder {c.decoder!r}: choose one of {', '.join(DECODERS)}")
    if c.device not in DEVICES:
        raise ValueError(f"unknown device {c.device!r}: choose one of {', '.join(DEVICES)}")
    if c.vec_env not in VEC_ENVS:
        raise ValueError(f"unknown vec env {c.vec_env!r}: choose one of {', '.join(VEC_ENVS)}")
    for name, value, low in (
        ("--threads", c.threads, 1),
        ("--resample-every", c.resample_every, 1),
        ("--gradient-steps", c.gradient_steps, -1),
        ("--learning-starts", c.learning_starts, 0),
        ("--checkpoint-every", c.checkpoint_every, 0),
        ("--buffer-size", c.buffer_size, 1),
        ("--hidden", c.hidden, 1),
        ("--rank", c.rank, 1),
        ("--her-goals", c.her_goals, 1),
        ("--eval-every", c.eval_every, 0),
        ("--eval-archs", c.eval_archs, 1),
        ("--eval-episodes", c.eval_episodes, 1),
        ("--ars-n-delta", c.ars_n_delta, 1),
    ):
        if value is None or value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")
    if c.normalize_clip is None or not c.normalize_clip > 0:
        raise ValueError(f"--normalize-clip must be positive, got {c.normalize_clip}")
    _check_bounds(c)
    _ent_coef(c.ent_coef)
    if c.gradient_steps == 0:
        raise ValueError("--gradient-steps must be -1 (one per transition) or positive, got 0")
    if c.batch_size < c.n_envs:
        raise ValueError(f"batch size {c.batch_size} must be at least n_envs ({c.n_envs}) to split it")
    _check_her_warmup(c)
    c.space  # noqa: B018  (validates widths and depths)
    c.hypernet  # noqa: B018
    _check_size(c)
    check_env_id(c.env_id)
    return c


_PRESET_FIELDS = ("batch_size", "buffer_size", "her_goals", "action_noise", "action_l2", "ars_n_delta",
                  "ars_delta_std", "ars_alive_bonus", "normalize_reward")  # fmt: skip
"""Fields with a concrete default that a preset may set (only while they are left at that default)."""


def preset_of(config: TrainConfig) -> Preset | None:
    """The RL Zoo preset a ``--preset rlzoo`` run resolves from (None for the authors' preset)."""
    if config.preset != "rlzoo":
        return None
    from ghp.presets import rlzoo, zoo_algo

    goal = is_goal_env_id(config.env_id)
    algo = config.algo or zoo_algo(config.env_id, goal) or env_defaults(config.env_id)["algo"]
    return rlzoo(config.env_id, algo)


def _with_rlzoo(config: TrainConfig, d: dict[str, Any]) -> tuple[dict[str, Any], tuple[int, ...] | None]:
    """The family defaults ``d`` overlaid with RL Zoo's preset, and the preset's actor widths (baselines)."""
    preset = preset_of(config)
    assert preset is not None
    z = dict(preset.settings)
    arch = z.pop("arch", None)
    z.setdefault("algo", preset.algo)
    z["actor_lr"] = z.get("lr", d.get("lr"))  # SB3 trains actor and critic at one learning rate
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for k in _PRESET_FIELDS:
        if k in z and getattr(config, k) != defaults[k]:
            z.pop(k)  # given explicitly: the user's value wins
    if z.get("algo") == "ars":
        z |= {"learning_starts": 0, "resample_every": 1}
    return d | z, arch


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


def _check_bounds(c: TrainConfig) -> None:
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


def _check_size(c: TrainConfig) -> None:
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


def _check_her_warmup(c: TrainConfig) -> None:
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


def _ent_coef(text: str | None) -> str | float:
    """SB3's ``ent_coef`` from ours: ``auto``, ``auto_X`` or a number."""
    t = "auto" if text is None else str(text)
    try:
        if t == "auto":
            return t
        if t.startswith("auto_"):
            if float(t[5:]) > 0:
                return t
        elif float(t) >= 0:
            return float(t)
    except ValueError:
        pass
    raise ValueError(
        f"--ent-coef {text!r}: give a non-negative number, 'auto' or 'auto_X' (learned, starting at X > 0)"
    )


ProgressFn = Callable[[dict[str, Any]], None]
"""Called about twice a second with ``steps``, ``total``, ``steps_per_s``, ``recent_return``, ``success_rate``, and
``eval`` (the latest periodic evaluation, :func:`periodic_eval`'s dict, or None before the first) and
``eval_return`` (the latest mean reward of a user callback that evaluates, SB3's ``EvalCallback``, else None)."""

EVAL_LOG = "eval.jsonl"
"""One JSON line per periodic evaluation (:attr:`TrainConfig.eval_every`)."""


def eval_archs(space: ArchSpace, n: int, obs_dim: int, act_dim: int) -> list[Arch]:
    """The periodic evaluation's fixed architectures: ``n`` evenly spaced in the space sorted by parameter count."""
    import numpy as np

    from ghp.counting import deploy_params

    ordered = sorted(space.archs, key=lambda a: (deploy_params(a, obs_dim, act_dim), a.depth, a.hidden))
    idx = np.unique(np.linspace(0, len(ordered) - 1, min(n, len(ordered))).round().astype(int))
    return [ordered[i] for i in idx]


def periodic_eval(source: Any, archs: list[Arch], episodes: int, seed: int) -> dict[str, Any]:
    """Roll out ``archs`` of ``source`` (an :class:`ghp.evaluate.EvalSource`) deterministically, in this process.

    Returns ``step``, ``mean`` and ``best`` return, ``success`` (mean success rate, goal tasks; else None) and
    ``archs`` (key -> mean return).
    """
    from ghp.evaluate import EvalConfig, evaluate

    _, recs = evaluate(source, archs, EvalConfig(episodes=episodes, seed=seed, in_process=True, envs_per_worker=1))
    rets = {r.arch.key: r.mean_return for r in recs}
    succ = [r.success_rate for r in recs if r.success_rate is not None]
    return {
        "step": int(source.timesteps),
        "mean": sum(rets.values()) / len(rets),
        "best": max(rets.values()),
        "success": sum(succ) / len(succ) if succ else None,
        "archs": rets,
        "success_by_arch": {r.arch.key: r.success_rate for r in recs} if succ else None,
    }


NoticeFn = Callable[[str], None]
"""Receives one-line notices for the user (what a resume changed, a missing replay buffer)."""

RESUME_APPLIED: tuple[str, ...] = (
    "steps",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "gamma",
    "tau",
    "checkpoint_every",
    "vec_env",
    "threads",
    "device",
)
"""Settings ``--resume`` applies when they differ from the saved run's; any other difference is refused."""


def option_name(field_name: str) -> str:
    """The command-line spelling of a :class:`TrainConfig` field (``env_id`` -> ``--env``)."""
    return "--env" if field_name == "env_id" else "--" + field_name.replace("_", "-")


def resume_config(saved: TrainConfig, config: TrainConfig, given: Collection[str] | None = None) -> TrainConfig:
    """The configuration a resumed run continues with: the saved one, plus the given settings that can change.

    Args:
        saved: the run's resolved configuration (``config.json``).
        config: what was asked for now.
        given: names of the fields the user set; ``None`` takes every field that differs from its default.

    Raises:
        ValueError: a given setting differs from the saved run's and cannot change in the middle of a run (one
            line naming each such option, with both values).
    """
    if given is None:
        default = TrainConfig()
        given = [f.name for f in fields(TrainConfig) if getattr(config, f.name) != getattr(default, f.name)]
    changes = {
        k: getattr(config, k)
        for k in given
        if k != "out" and getattr(config, k) is not None and getattr(config, k) != getattr(saved, k)
    }
    refused = [k for k in changes if k not in RESUME_APPLIED]
    if refused:
        diffs = ", ".join(f"{option_name(k)} (saved {getattr(saved, k)!r}, given {changes[k]!r})" for k in refused)
        raise ValueError(
            f"--resume continues the saved run, and these settings cannot change in the middle of it: {diffs}; "
            "drop them, or start a new run (another --out, or --force)"
        )
    return dataclasses.replace(saved, **changes)


def _check_out(out: Path, resume: bool, force: bool) -> bool:
    """Validate the output directory; returns True when an existing run is to be resumed."""
    existing = (out / CONFIG_FILE).exists() or (out / MODEL_FILE).exists()
    if resume and force:
        raise ValueError("give either --resume or --force, not both")
    if resume:
        if not (out / MODEL_FILE).is_file():
            raise FileNotFoundError(f"nothing to resume in {out}: no {MODEL_FILE}")
        return True
    if existing and not force:
        raise FileExistsError(f"{out} already holds a run: use --resume to continue it or --force to replace it")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if force and out.is_dir() and any(out.iterdir()) and not is_ghp_run(out):
        raise FileExistsError(
            f"--force replaces only a ghp run, and {out} holds other files (no {CONFIG_FILE} with a ghp "
            "format_version): choose another --out"
        )
    probe_dir = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not probe_dir.is_dir():
        raise ValueError(f"cannot create the run directory {out}: {probe_dir} is not a directory")
    import os

    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to {out}: {probe_dir} is not writable")
    return False


def _make_vec_env(c: TrainConfig, stats: Path | None = None) -> Any:
    """The training environments; with ``normalize``, inside a ``VecNormalize`` (restored from ``stats`` if given)."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    env_id, kwargs = c.env_id, dict(c.env_kwargs)

    def factory() -> Any:
        return Monitor(make_env(env_id, **kwargs))

    assert c.n_envs is not None  # resolved
    fns = [factory for _ in range(c.n_envs)]
    venv = SubprocVecEnv(fns) if c.vec_env == "subproc" and c.n_envs > 1 else DummyVecEnv(fns)
    if c.algo == "ars":
        # ARS's observation normalisation (Mania et al., V2), no reward normalisation.
        return VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=_ARS_CLIP_OBS)
    if not c.normalize:
        return venv
    if stats is not None:
        env = load_vec_normalize(stats, venv)  # not VecNormalize.load: that unpickles anything
        env.training, env.norm_reward = True, c.normalize_reward
        return env
    # Monitor sits inside, so the progress bar and TensorBoard report raw returns.
    assert c.normalize_clip is not None and c.gamma is not None  # resolved
    return VecNormalize(venv, norm_obs=True, norm_reward=c.normalize_reward, clip_obs=c.normalize_clip, gamma=c.gamma)


def _build_model(c: TrainConfig, spec: EnvSpec, env: Any, tb: Path) -> Any:
    import numpy as np
    from stable_baselines3 import DDPG, SAC
    from stable_baselines3.common.noise import NormalActionNoise

    from ghp.policies import GHPSACPolicy, GHPTD3Policy

    assert c.lr is not None and c.actor_lr is not None and c.steps is not None
    if c.algo == "ars":
        from sb3_contrib import ARS

        # MlpPolicy with no hidden layer is linear + tanh, scaled to the action bounds: exactly ghp's deployed
        # form (ARSLinearPolicy clips instead and does not save its bias / squash flags).
        return ARS(
            "MlpPolicy",
            env,
            n_delta=c.ars_n_delta,
            n_top=c.ars_n_top,
            delta_std=c.ars_delta_std,
            alive_bonus_offset=c.ars_alive_bonus,
            learning_rate=c.lr,
            policy_kwargs={"net_arch": list(c.arch or ())},
            tensorboard_log=str(tb),
            seed=c.seed,
            device="cpu",
            verbose=0,
        )
    common: dict[str, Any] = dict(
        env=env,
        learning_rate=c.lr,
        buffer_size=buffer_capacity(c),
        learning_starts=c.learning_starts,
        batch_size=c.batch_size,
        tau=c.tau,
        gamma=c.gamma,
        train_freq=1,
        gradient_steps=c.gradient_steps,
        tensorboard_log=str(tb),
        seed=c.seed,
        device=c.device,
        verbose=0,
        policy_kwargs=_policy_kwargs(c, spec),
        **_her_kwargs(c, spec),
    )
    policy: Any = "MultiInputPolicy" if spec.goal_conditioned else "MlpPolicy"
    if c.algo == "sac":
        return SAC(policy if c.baseline else GHPSACPolicy, ent_coef=_ent_coef(c.ent_coef), **common)
    noise = (
        NormalActionNoise(np.zeros(spec.act_dim), c.action_noise * np.ones(spec.act_dim)) if c.action_noise else None
    )
    return DDPG(policy if c.baseline else GHPTD3Policy, action_noise=noise, **common)


def _policy_kwargs(c: TrainConfig, spec: EnvSpec) -> dict[str, Any]:
    """SB3's ``policy_kwargs``: the critic (and a baseline's actor) sizes, the goal extractor, ghp's policy config."""
    from ghp.policies import GoalExtractor

    pi = list(c.arch) if c.arch is not None else list(BASELINE_ARCH.hidden)
    assert c.critic is not None  # resolved
    kwargs: dict[str, Any] = {"net_arch": {"pi": pi, "qf": list(c.critic)}}
    if spec.goal_conditioned:
        kwargs["features_extractor_class"] = GoalExtractor  # the actor sees observation ++ desired goal
    if not c.baseline:
        kwargs["ghp"] = _policy_config(c).to_dict()
    return kwargs


def _her_kwargs(c: TrainConfig, spec: EnvSpec) -> dict[str, Any]:
    """The HER replay buffer for goal-conditioned tasks (``future`` goals, as the paper's DDPG + HER); else none."""
    if not spec.goal_conditioned:
        return {}
    from stable_baselines3 import HerReplayBuffer

    return {
        "replay_buffer_class": HerReplayBuffer,
        "replay_buffer_kwargs": {"n_sampled_goal": c.her_goals, "goal_selection_strategy": "future"},
    }


def _policy_config(c: TrainConfig) -> Any:
    """The ghp policy's settings (``policy_kwargs["ghp"]``) from a resolved training config."""
    from ghp.policies import GHPPolicyConfig

    assert c.lr is not None and c.actor_lr is not None and c.resample_every is not None and c.n_envs is not None
    return GHPPolicyConfig(
        hypernet=c.hypernet,
        space=c.space,
        meta_batch=c.n_envs,
        resample_every=c.resample_every,
        sampling=c.sampling,
        arch_seed=c.seed,
        actor_lr_scale=c.actor_lr / c.lr,
        actor_weight_decay=c.weight_decay,
        mlp_mode=c.mlp_mode,
        action_l2=c.action_l2 if c.algo == "ddpg" else 0.0,
        action_penalty=c.action_penalty,
    )


def _write_config(out: Path, c: TrainConfig, spec: EnvSpec, run_id: str) -> None:
    import stable_baselines3
    import torch

    import ghp

    cfg = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "versions": {"ghp": ghp.__version__, "sb3": stable_baselines3.__version__, "torch": torch.__version__},
        "algo": c.algo,
        "baseline": c.baseline,
        "train": c.to_dict(),
        "env": spec.to_dict(),
        "space": c.space.to_dict(),
        "hypernet": None if c.baseline else c.hypernet.to_dict(),
        "meta_batch": c.n_envs,
    }
    preset = preset_of(c)
    cfg["preset"] = {"name": c.preset, "source": "ghp's per-family defaults" if preset is None else preset.source}
    write_text(out / CONFIG_FILE, json.dumps(cfg, indent=2) + "\n")


def _save(model: Any, out: Path, with_replay: bool) -> Path:
    """Write a step checkpoint, ``model.zip`` and (for ``--resume``) the replay buffer (ARS: its normaliser).

    Every file is written atomically (a temporary file renamed over the old one), so a kill mid-save leaves the
    previous file whole; the checkpoint and its statistics go first, ``model.zip`` last of the model files.
    """
    return _save_all(model, out, with_replay)[0]


def _save_all(model: Any, out: Path, with_replay: bool) -> tuple[Path, list[str]]:
    """:func:`_save`, returning the checkpoint and what was saved, in words, for the interruption message."""
    import io
    import pickle

    ckpt_dir = out / CHECKPOINT_DIR
    ckpt_dir.mkdir(exist_ok=True)
    ckpt = ckpt_dir / f"step_{model.num_timesteps}.zip"
    buf = io.BytesIO()
    model.save(buf)  # ARS evaluates its candidates in a copy: its policy is always the mean
    saved: list[str] = []
    norm = model.get_vec_normalize_env()
    if norm is not None and type(model).__name__ == "ARS":
        rms = norm.obs_rms
        arrays = {"mean": rms.mean, "var": rms.var, "epsilon": norm.epsilon}
        write_npz(str(ckpt)[: -len(".zip")] + OBS_NORM_SUFFIX, arrays)
        write_npz(out / ("model" + OBS_NORM_SUFFIX), arrays)
        if with_replay:
            write_bytes(ckpt_dir / "vecnormalize.pkl", pickle.dumps(norm, protocol=pickle.HIGHEST_PROTOCOL))
        saved.append("the observation normaliser")
    elif norm is not None:  # --normalize: the statistics go with every model file (ghp.normalize)
        stats = pickle.dumps(norm, protocol=pickle.HIGHEST_PROTOCOL)  # what VecNormalize.save writes
        write_bytes(stats_path(ckpt), stats)
        write_bytes(stats_path(out / MODEL_FILE), stats)
        saved.append("the normalisation statistics")
    write_bytes(ckpt, buf.getvalue())
    write_bytes(out / MODEL_FILE, buf.getvalue())
    saved[:0] = [MODEL_FILE, f"checkpoint {CHECKPOINT_DIR}/{ckpt.name}"]
    if with_replay and hasattr(model, "save_replay_buffer"):
        save_replay_buffer(model.replay_buffer, ckpt_dir / REPLAY_FILE)
        saved.append("the replay buffer")
    return ckpt, saved


def _callback(
    out: Path,
    c: TrainConfig,
    spec: EnvSpec,
    run_id: str,
    total: int,
    progress: ProgressFn | None,
    others: list[Any] | None = None,
) -> Any:
    from ghp.callbacks import TrainingCallback

    archs = eval_archs(c.space, c.eval_archs, spec.obs_dim, spec.act_dim)
    evaluators = [cb for cb in _flatten(others or []) if hasattr(cb, "last_mean_reward")]
    return TrainingCallback(out, c, spec, run_id, total, progress, archs, evaluators)


def _flatten(callbacks: list[Any]) -> list[Any]:
    """Every callback, those inside SB3 ``CallbackList`` s and ``EvalCallback`` children included."""
    out = []
    for cb in callbacks:
        out.append(cb)
        out += _flatten(list(getattr(cb, "callbacks", []) or []))
    return out


def _latest_eval(evaluators: list[Any]) -> float | None:
    """The latest deterministic evaluation's mean return (SB3's ``EvalCallback.last_mean_reward`` convention)."""
    for cb in evaluators:
        value = float(cb.last_mean_reward)
        if math.isfinite(value):  # -inf until the first evaluation
            return value
    return None


def _user_callbacks(callback: Any) -> list[Any]:
    """``callback`` (None, an SB3 callback, a list of them, or a function ``(locals, globals) -> bool``) as a list."""
    if callback is None:
        return []
    items = list(callback) if isinstance(callback, (list, tuple)) else [callback]
    from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback

    out = []
    for cb in items:
        if isinstance(cb, BaseCallback):
            out.append(cb)
        elif callable(cb):
            out.append(ConvertCallback(cb))
        else:
            raise ValueError(f"callback must be an SB3 BaseCallback, a list of them or a function, not {cb!r}")
    return out


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, as the CLI makes it) stopped :func:`train`; ``saved`` says what was saved on the way out."""

    def __init__(self, out: Path, saved: list[str]) -> None:
        super().__init__()
        self.out, self.saved = out, saved


def train(
    config: TrainConfig,
    resume: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
    given: Collection[str] | None = None,
    notice: NoticeFn | None = None,
    callback: Any = None,
    replay_buffer: bool = True,
) -> Path:
    """Train (or, with ``resume``, continue) a run; returns its directory.

    Every setting is checked before any file is touched. The run directory is locked while training
    (:mod:`ghp.lock`: a second writer stops with one line). With ``force``, the new run is trained in a temporary
    directory beside the old one and swapped in when it is saved (the old run stays whole if training fails);
    only files ``ghp train`` writes are deleted, anything else of the old directory is kept aside (a notice says
    where).

    A ``KeyboardInterrupt`` (Ctrl-C; the CLI turns SIGTERM into one too) saves ``model.zip``, a checkpoint and the
    replay buffer once training has started, then is re-raised as :class:`TrainingInterrupted`, which says what was
    saved (nothing when it came before training started).

    Args:
        given: with ``resume``, the fields the user set (:func:`resume_config`); ``None``: those off their default.
        notice: receives one-line notices (settings a resume changed, a resume without a replay buffer).
        callback: SB3 callbacks (one ``BaseCallback``, a list of them, or a function ``(locals, globals) -> bool``,
            as ``model.learn`` takes), called after ghp's own (checkpoints, progress) at every step; one returning
            False stops training, which is then saved like a finished run. A callback with SB3's ``EvalCallback``
            attribute ``last_mean_reward`` has its latest value reported to ``progress`` as ``eval_return``.
        replay_buffer: with ``resume``, False leaves the saved replay buffer unread (a truncated one, after a kill
            mid-save): the run resumes with an empty buffer refilled by ``learning_starts`` random-action steps.

    Raises:
        ValueError / FileNotFoundError / FileExistsError / PermissionError: bad input, with what to do instead
        (nothing is written before the input has been checked); :class:`ghp.lock.RunLocked` (a FileExistsError):
        another process is writing the run.
    """
    c = resolve(config)
    user = _user_callbacks(callback)
    out = Path(c.out)  # type: ignore[arg-type]
    resuming = _check_out(out, resume, force)
    if resuming:
        try:
            saved = resolve(TrainConfig.from_dict(read_config(out)["train"]))
        except (KeyError, TypeError) as e:
            raise ValueError(f"corrupt run config in {out}: {e}") from None
        c = resolve(dataclasses.replace(resume_config(saved, config, given), out=str(out)))
        changed = [k for k in RESUME_APPLIED if getattr(c, k) != getattr(saved, k)]
        if changed and notice is not None:
            notice(
                "resuming with "
                + ", ".join(f"{option_name(k)} {getattr(c, k)} (was {getattr(saved, k)})" for k in changed)
            )
    spec = env_spec(c.env_id, c.env_kwargs)
    check_memory(c, spec.obs_dim, spec.act_dim)
    assert c.steps is not None
    # ARS keeps its own normaliser (``*.obsnorm.npz`` and ``checkpoints/vecnormalize.pkl``), whatever --normalize says.
    stats = stats_path(out / MODEL_FILE) if resuming and c.normalize and c.algo != "ars" else None
    if stats is not None and not stats.is_file():
        raise FileNotFoundError(f"cannot resume {out}: it was trained with --normalize but {stats} is missing")
    # Everything is checked: from here on files are written.
    replacing = not resuming and force and out.is_dir() and any(out.iterdir())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"cannot create the run directory {out}: {e.strerror}") from None
    purpose = "train --resume" if resuming else "train --force" if replacing else "train"
    with run_lock(out, purpose):
        work = out.parent / f".{out.name}.ghp-new-{uuid.uuid4().hex[:8]}" if replacing else out
        if replacing:
            work.mkdir()
        try:
            _train_in(work, c, spec, resuming, replay_buffer, progress, notice, user, stats)
        except BaseException as e:
            if replacing:
                if isinstance(e, TrainingInterrupted) and e.saved:
                    _replace_run(work, out, notice)  # the new run is saved: it replaces the old one as planned
                    raise TrainingInterrupted(out, e.saved) from None
                shutil.rmtree(work, ignore_errors=True)  # only ghp wrote there; the old run is untouched
            raise
        if replacing:
            _replace_run(work, out, notice)
    return out


def _train_in(
    work: Path,
    c: TrainConfig,
    spec: EnvSpec,
    resuming: bool,
    replay_buffer: bool,
    progress: ProgressFn | None,
    notice: NoticeFn | None,
    user: list[Any],
    stats: Path | None,
) -> Path:
    """Build (or load) the model in ``work``, train it and save it; an interruption saves and says what."""
    import torch

    assert c.steps is not None
    model = None
    env = None
    try:
        torch.set_num_threads(c.threads)
        env = _make_vec_env(c, stats)
        if resuming:
            model = _load_for_resume(c, work, env, notice, replay_buffer)
            run_id = str(read_config(work)["run_id"])
        else:
            model = _build_model(c, spec, env, work / "tb")
            run_id = uuid.uuid4().hex
        _write_config(work, c, spec, run_id)
        remaining = c.steps - model.num_timesteps
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=[_callback(work, c, spec, run_id, c.steps, progress, user), *user],
                reset_num_timesteps=not resuming,
                tb_log_name="run",
            )
        _save_all(model, work, with_replay=True)
    except KeyboardInterrupt as e:
        if isinstance(e, TrainingInterrupted):
            raise
        saved: list[str] = []
        if model is not None and (work / CONFIG_FILE).is_file():
            saved = _save_all(model, work, with_replay=True)[1]
        raise TrainingInterrupted(work, saved) from None
    finally:
        if env is not None:
            try:
                env.close()
            except (EOFError, BrokenPipeError, ConnectionError):  # subprocess environments already gone (SIGTERM)
                pass
    return work


def _replace_run(new: Path, old: Path, notice: NoticeFn | None) -> None:
    """Swap the run trained in ``new`` into ``old``'s place by renames, then delete what ``ghp train`` wrote in the
    old run; anything else there (results, tuned policies, files of the user) is kept aside, and a notice says
    where."""
    import os

    try:
        old_id = str(read_config(old).get("run_id") or "")
    except (OSError, ValueError):
        old_id = ""
    aside = old.parent / f".{old.name}.ghp-old-{uuid.uuid4().hex[:8]}"
    os.rename(old, aside)
    os.rename(new, old)
    left = remove_train_files(aside)
    if not left:
        aside.rmdir()
        return
    kept = old.parent / f"{old.name}.replaced-{(old_id or uuid.uuid4().hex)[:8]}"
    os.rename(aside, kept)
    if notice is not None:
        notice(
            f"--force replaced the run in {old}; {len(left)} other file(s) of the old run ({', '.join(left[:3])}"
            f"{', ...' if len(left) > 3 else ''}) are kept in {kept}"
        )


def buffer_capacity(c: TrainConfig) -> int:
    """Replay buffer capacity: ``buffer_size``, capped at the run's total steps (a larger one is never filled)."""
    assert c.steps is not None
    return max(1, min(c.buffer_size, c.steps))


def _load_for_resume(c: TrainConfig, out: Path, env: Any, notice: NoticeFn | None, replay_buffer: bool = True) -> Any:
    from ghp.replay import resize_replay_buffer

    cfg = read_config(out)
    if c.algo == "ars":
        import torch

        stats = out / CHECKPOINT_DIR / "vecnormalize.pkl"
        if stats.is_file():
            env = load_vec_normalize(stats, env.venv)
        ars: Any = load_model(out / MODEL_FILE, cfg, env=env, device="cpu", tensorboard_log=str(out / "tb"))
        ars.weights = torch.nn.utils.parameters_to_vector(ars.policy.parameters()).detach()  # not restored by load
        return ars
    capacity = buffer_capacity(c)
    # Settings that may change on resume (RESUME_APPLIED) replace the saved ones before the model is set up.
    custom = {
        "buffer_size": capacity,
        "learning_starts": c.learning_starts,
        "batch_size": c.batch_size,
        "gamma": c.gamma,
        "tau": c.tau,
    }
    model = load_model(out / MODEL_FILE, cfg, custom, env=env, device=c.device, tensorboard_log=str(out / "tb"))
    replay = out / CHECKPOINT_DIR / REPLAY_FILE
    if replay.is_file() and replay_buffer:
        load_replay_buffer(model, replay, c.learning_starts or 0)
        buf: Any = model.replay_buffer
        old, slots = buf.buffer_size, max(capacity // buf.n_envs, 1)  # SB3 counts slots of n_envs transitions
        if old != slots:
            resize_replay_buffer(buf, slots)
            if notice is not None:
                notice(
                    f"replay buffer capacity {old * buf.n_envs} -> {slots * buf.n_envs} transitions "
                    "(from --steps / --buffer-size)"
                )
    else:
        # Refill before the next update, as a fresh run warms up: SB3 would otherwise sample an empty buffer
        # (HER refuses to before an episode has ended). The refill steps act randomly, as SB3's warm-up does.
        refill = c.learning_starts or 0  # resolved from the per-environment defaults by now
        model.learning_starts = model.num_timesteps + refill
        if notice is not None:
            why = (
                "--no-replay-buffer: leaving the saved replay buffer unread"
                if replay.is_file()
                else f"no replay buffer in {replay.parent} (the run was killed before it could save one)"
            )
            notice(
                f"{why}: resuming with an empty replay buffer, refilled with {refill} random-action steps "
                "(--learning-starts) before updates resume"
            )
    return model
