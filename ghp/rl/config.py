"""A training run's settings: TrainConfig, filled from the per-task defaults or a preset and checked (resolve),
and what --resume may change."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ghp.envs import check_env_id, episode_limit, is_goal_env_id, parse_env_kwargs, pinned_env_kwargs
from ghp.hypernet.config import ACTION_PENALTIES, DECODERS, MAX_EPISODES, RUN_MODES, HypernetConfig
from ghp.policy.normalize import parse_scales
from ghp.rl.defaults import ALGOS, ARS_DEFAULTS, DEVICES, LEGACY_CRITIC, LR_SCHEDULES, VEC_ENVS, env_defaults
from ghp.rl.presets import PRESETS, Preset
from ghp.run.load import BASELINE_ARCH
from ghp.space.arch import SAMPLINGS, Arch, ArchSpace


def parse_fixed_arch(text: str) -> tuple[int, ...]:
    """``--arch``: hidden widths like ``8-4-4-4`` (``64`` or ``64-``: one layer; ``linear``: none)."""
    from ghp.space.arch import parse_arch

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
    """``sac`` or ``ddpg`` (DDPG + HER for goal-conditioned tasks); default by family; ``td3`` (SB3's TD3: DDPG with
    twin critics, delayed actor updates and target smoothing, what RLtools' l2f trains the Crazyflie with); ``ars``:
    a linear policy (or ``arch``) trained by sb3-contrib's Augmented Random Search on normalised observations (a
    baseline)."""
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
    lr_schedule: str = field(default="constant", metadata={"choices": LR_SCHEDULES})
    """How ``lr`` and ``actor_lr`` change over ``steps``: ``constant``, or ``linear`` from their values down to 0 at
    the last step (RL Zoo's ``lin_`` learning rates). A run resumed with a new ``--steps`` follows the new end."""
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
    """DDPG and TD3: standard deviation of the Gaussian exploration noise (fraction of the action range)."""
    action_l2: float = 1.0
    """DDPG, TD3: weight of the actor's action penalty ``action_l2 * mean(x^2)`` (the HER baselines' action_l2; 0:
    none)."""
    action_penalty: str = field(default="preactivation", metadata={"choices": ACTION_PENALTIES})
    """DDPG, TD3: what the penalty squares: ``preactivation`` (the pre-tanh output) or ``action`` (the squashed action
    over its bound, as the HER baselines); docs/train.md compares them on FetchReach-v4."""
    checkpoint_every: int = 10_000
    """Save ``checkpoints/step_<N>.zip`` every this many environment steps (0: only at the end)."""
    vec_env: str = field(default="dummy", metadata={"choices": VEC_ENVS})
    """``dummy`` (one process, measured fastest here) or ``subproc``."""
    threads: int = 1
    """torch threads."""
    normalize: bool | None = None
    """Normalise observations with SB3's VecNormalize (running mean and std, then clipped); the statistics are
    saved with every checkpoint and folded into the exported policies' first layer (``ghp.policy.normalize``)."""
    normalize_reward: bool = False
    """With ``normalize``: also scale rewards by the running std of the discounted return (training only)."""
    normalize_clip: float | None = None
    """With ``normalize``: clip of the normalised observation (HER baselines: 5; SB3's default: 10)."""
    obs_scale: tuple[float, ...] | None = field(default=None, metadata={"parse": parse_scales})
    """Fixed observation scales instead of running statistics: actor and critic see ``obs * scale``, clipped at
    ``normalize_clip`` (one number for every input, or one per input: ``10,10,10,1,...``). It is ``normalize`` with
    statistics frozen at mean 0 and std ``1 / scale``, so saved, evaluated and folded into exports the same way."""
    mlp_mode: str = field(default="auto", metadata={"choices": RUN_MODES})
    """How the meta batch's MLPs run during training (:meth:`ghp.hypernet.network.GraphHypernet.run`); same results."""
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
    """Fill every ``None`` field with the environment's default (or the preset's) and check the values.

    Raises:
        ValueError: a value out of range, with what to give instead.
    """
    c = _filled(config)
    if c.out is None:
        c = dataclasses.replace(c, out=str(Path("runs") / (c.env_id.split(":")[-1] + f"-{c.algo}{_out_tag(c)}")))
    _validate(c)
    # The run records the value of every option whose default has changed (a later default never alters it).
    return dataclasses.replace(c, env_kwargs=pinned_env_kwargs(c.env_id, c.env_kwargs))


def _filled(config: TrainConfig) -> TrainConfig:
    """``config`` with every ``None`` field taken from the per-task defaults or the preset."""
    if config.preset not in PRESETS:
        raise ValueError(f"unknown preset {config.preset!r}: choose one of {', '.join(PRESETS)}")
    d = {"n_envs": 8, **env_defaults(config.env_id)}
    if config.algo == "ars":
        d |= ARS_DEFAULTS
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
    if c.obs_scale is not None:
        if config.normalize is False or c.algo == "ars":
            raise ValueError("--obs-scale is a fixed normalisation: not with --no-normalize nor --algo ars")
        c = dataclasses.replace(c, normalize=True)
    if c.arch is not None or c.baseline:
        c = dataclasses.replace(c, baseline=True, arch=tuple(c.arch if c.arch is not None else BASELINE_ARCH.hidden))
        if any(w < 1 for w in c.arch):  # type: ignore[union-attr]
            raise ValueError(f"--arch widths must be positive, got {list(c.arch)}")  # type: ignore[arg-type]
    return c


def _out_tag(c: TrainConfig) -> str:
    """What the default run directory's name says about a one-architecture run."""
    if c.baseline and c.arch != BASELINE_ARCH.hidden:
        return "-arch" + (Arch(c.arch).key if c.arch else "linear")  # type: ignore[arg-type]
    if c.baseline and c.algo != "ars":
        return "-baseline"
    return ""


def _validate(c: TrainConfig) -> None:
    """Refuse a resolved config with a value out of range, in one line that says what to give instead."""
    if not c.critic or any(w < 1 for w in c.critic):
        raise ValueError(f"--critic wants positive hidden widths like 64,64, got {list(c.critic or ())}")
    if c.algo == "ars" and is_goal_env_id(c.env_id):
        raise ValueError("--algo ars takes plain observation tasks (not goal-conditioned ones): use sac, ddpg or td3")
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
    check_bounds(c)
    ent_coef_value(c.ent_coef)
    if c.gradient_steps == 0:
        raise ValueError("--gradient-steps must be -1 (one per transition) or positive, got 0")
    if c.batch_size < c.n_envs:
        raise ValueError(f"batch size {c.batch_size} must be at least n_envs ({c.n_envs}) to split it")
    check_her_warmup(c)
    c.space  # noqa: B018  (validates widths and depths)
    c.hypernet  # noqa: B018
    check_size(c)
    check_env_id(c.env_id)


_PRESET_FIELDS = ("batch_size", "buffer_size", "her_goals", "action_noise", "action_l2", "ars_n_delta",
                  "ars_delta_std", "ars_alive_bonus", "normalize_reward", "lr_schedule")  # fmt: skip
"""Fields with a concrete default that a preset may set (only while they are left at that default)."""


def preset_of(config: TrainConfig) -> Preset | None:
    """The RL Zoo preset a ``--preset rlzoo`` run resolves from (None for the authors' preset)."""
    if config.preset != "rlzoo":
        return None
    from ghp.rl.presets import rlzoo, zoo_algo

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


def ent_coef_value(text: str | None) -> str | float:
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
