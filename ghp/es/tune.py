"""Fine-tune one architecture's emitted policy with ES on its true return (``ghp tune``).

The hypernetwork emits a good starting point for an architecture, but that policy was never trained alone on its own
return. ES (``ghp.es.ars``: ARS V2-t on the loop of ``ghp.es.engine``) is cheap exactly when a policy has few
parameters, so it refines the emitted weights directly on the episode return, in worker processes:

- dense (default): every weight and bias is a parameter; observation normalisation statistics are seeded from
  rollouts of the emitted policy and the start is :func:`ghp.es.params.unfold` of it, so iteration 0 acts exactly
  like the emitted policy; the result is folded back (``W / sd``, ``b - W mu / sd``) into a plain policy.
- codebook (``colors=M``): the weights are coloured by 1-D k-means (``ghp.policy.codebook.quantize``) and ES trains the
  colour values and the biases with the colouring fixed. Observation normalisation is off: folded into the first
  layer it would give each input column its own scale and break the sharing.

The best centre (by the mean return on the ES's fixed evaluation starts) is saved as ``RUN/tuned/NAME.npz`` with
its provenance (``ghp.policy.file``); the ES state is saved each iteration in ``RUN/tuned/NAME.state.npz``, so an
interrupted tune resumes where it stopped when run again (and ``iterations`` can be raised to continue).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

import ghp
from ghp.es.ars import ESConfig, ESState, eval_seeds, run_es
from ghp.es.engine import Rollouts
from ghp.es.params import CodebookMap, DenseMap, ObsStats, ParamMap, unfold
from ghp.es.rollout import RolloutPool
from ghp.io.lock import run_lock
from ghp.io.progress import ProgressEvent, ProgressFn
from ghp.policy.codebook import SCOPES, CodebookPolicy, quantize
from ghp.policy.file import save_policy, tuned_dir
from ghp.policy.weights import PolicyWeights
from ghp.rollout.backend import BACKENDS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
OBS_NORM: tuple[str, ...] = ("auto", "on", "off")
"""Values of ``TuneConfig.obs_norm``."""


@dataclass(frozen=True)
class TuneConfig:
    """How to fine-tune (``ghp tune``'s options mirror these fields)."""

    arch: str = field(default="", metadata={"required": True})
    """Architecture to tune, e.g. 8-4-4-4 (hidden widths; [64] for one layer); it must be in the run's space."""
    checkpoint: str | None = None
    """Start from this checkpoint's hypernetwork (e.g. step_20000) instead of the latest model."""
    iterations: int = field(default=30, metadata={"min": 1})
    """ES iterations; raise it and run again to continue a finished tune."""
    directions: int = field(default=8, metadata={"min": 1})
    """Random directions per iteration (ARS N), each tried with +sigma and -sigma."""
    top: int = field(default=4, metadata={"min": 1})
    """Best directions kept for the update (ARS b)."""
    sigma: float = 0.03
    """Exploration noise on the parameters (ARS nu)."""
    lr: float = 0.02
    """Step size (ARS alpha), divided by the standard deviation of the kept returns."""
    episodes: int = field(default=1, metadata={"min": 1})
    """Episodes per perturbed policy."""
    eval_episodes: int = field(default=5, metadata={"min": 1})
    """Episodes of the current policy per iteration (fixed starts): the reported return and the best-iterate pick."""
    obs_norm: str = field(default="auto", metadata={"choices": OBS_NORM})
    """Observation normalisation (ARS V2), folded into the first layer on save; auto: on for dense tuning, off for
    codebook tuning (where folding would break the weight sharing)."""
    colors: int | None = None
    """Codebook tuning: colour the weights with this many shared values and tune the values and biases."""
    scope: str = field(default="layer", metadata={"choices": SCOPES})
    """Codebook scope: one codebook per layer, or one for the whole network."""
    workers: int = field(default=2, metadata={"min": 0})
    """Worker processes for the rollouts (0: this process; with the ray backend, 0: every CPU of the cluster)."""
    backend: str = field(default="local", metadata={"choices": BACKENDS})
    """Where rollouts run: ``local`` (this machine) or ``ray`` (Ray tasks; ``pip install
    "graph-hyper-policies[ray]"``)."""
    ray_address: str | None = field(default=None, metadata={"show_default": "start a local Ray instance"})
    """Ray cluster for the ray backend: ``auto`` (the one started on this machine by ``ray start``) or
    ``HOST:PORT``."""
    seed: int = field(default=0, metadata={"min": 0})
    """Seed of the ES directions and of every reset."""
    max_episode_steps: int | None = field(default=None, metadata={"min": 1})
    """Override of the environment's episode limit."""
    name: str | None = None
    """File name under RUN/tuned/ (default ARCH-es, or ARCH-es-cM-SCOPE for codebooks)."""

    def __post_init__(self) -> None:
        if self.colors is not None and self.colors < 2:
            raise ValueError(f"--colors must be at least 2, got {self.colors}")
        if self.obs_norm not in OBS_NORM:
            raise ValueError(f"unknown --obs-norm {self.obs_norm!r}: choose one of {', '.join(OBS_NORM)}")
        if self.colors is not None and self.obs_norm == "on":
            raise ValueError(
                "--obs-norm does not go with --colors: folding the normalisation into the first layer would break "
                "the weight sharing"
            )
        if self.scope not in SCOPES:
            raise ValueError(f"unknown --scope {self.scope!r}: choose one of {', '.join(SCOPES)}")
        if self.workers < 0:
            raise ValueError(f"--workers must be 0 (this process) or positive, got {self.workers}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown --backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError("--ray-address needs --backend ray")
        if self.name is not None and not _NAME.match(self.name):
            raise ValueError(f"--name {self.name!r}: use letters, digits, '.', '-' and '_' (no path)")
        self.es_config()  # validates the ES settings

    @property
    def use_obs_norm(self) -> bool:
        """Whether the ES normalises observations."""
        return self.colors is None if self.obs_norm == "auto" else self.obs_norm == "on"

    def es_config(self) -> ESConfig:
        """The engine's settings: the fields of the same name, and ``obs_norm`` resolved (:attr:`use_obs_norm`)."""
        same = {f.name: getattr(self, f.name) for f in fields(ESConfig) if f.name != "obs_norm"}
        return ESConfig(**same, obs_norm=self.use_obs_norm)

    def default_name(self, arch_key: str) -> str:
        """``ARCH-es`` or ``ARCH-es-cM-SCOPE``."""
        if self.name:
            return self.name
        return f"{arch_key}-es" if self.colors is None else f"{arch_key}-es-c{self.colors}-{self.scope}"


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` wrote and measured."""

    path: Path
    """The tuned policy file."""
    provenance: dict[str, Any]
    state: ESState
    codebook: CodebookPolicy | None


def tune(
    run_dir: str | Path, config: TuneConfig, progress: ProgressFn | None = None, fresh: bool = False
) -> TuneResult:
    """Fine-tune ``config.arch`` of the run in ``run_dir`` with ES and save the best policy under ``RUN/tuned/``.

    A saved ES state of the same name is resumed (``fresh``: discarded instead).

    Raises:
        FileNotFoundError: no run (or checkpoint) there.
        ValueError: an architecture outside the run's space, bad colour counts, a saved state from other settings.
    """
    from ghp.policy.codebook import n_weights
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    if not config.arch:
        raise ValueError("choose the architecture to tune with --arch W-W-... (see 'ghp search --run RUN')")
    try:
        arch = parse_arch(config.arch.strip().rstrip("-"))
    except ValueError:
        raise ValueError(f"--arch {config.arch!r} is not an architecture like 8-4-4-4") from None
    run = load_run(run_dir, config.checkpoint)
    if arch not in run.space:
        raise ValueError(
            f"architecture {arch.key} is not in the run's space (widths {list(run.space.widths)}, depths "
            f"{list(run.space.depths)}): pick one from 'ghp search --run {run_dir}'"
        )
    policy0 = run.emit([arch])[0]
    if config.colors is not None and config.colors > n_weights(policy0):
        raise ValueError(
            f"--colors {config.colors} is more than the {n_weights(policy0)} weights of {arch.key}: "
            f"choose at most {n_weights(policy0)}"
        )
    out = tuned_dir(run.path)
    out.mkdir(parents=True, exist_ok=True)
    name = config.default_name(arch.key)
    # One writer per tuned policy (tunes of other names, and training, go on beside it).
    with run_lock(out, f"tune --name {name}", resource=f"tune-{name}"):
        return _tune_locked(run, arch, policy0, config, out, name, fresh, progress)


@dataclass(frozen=True, eq=False)
class _Start:
    """Where a tune starts: the map searched, its starting vector and statistics, and the returns before ES."""

    pmap: ParamMap
    theta0: np.ndarray
    stats: ObsStats
    """Statistics of the emitted policy's own rollouts on the evaluation starts."""
    return_before: float
    """The emitted policy's mean return on the evaluation starts."""
    extra: dict[str, Any]
    """``return_quantized`` (codebook tuning): after k-means, before ES."""


def _start(policy0: PolicyWeights, config: TuneConfig, rollouts: Rollouts) -> _Start:
    """Roll out the emitted policy on the evaluation starts, then build the map and the starting vector."""
    seeds = eval_seeds(config.seed, config.eval_episodes)
    dense0 = DenseMap.like(policy0)
    before = rollouts.rows(dense0, np.repeat(dense0.flatten(policy0)[None, :], len(seeds), axis=0), seeds, None, True)
    stats = ObsStats.empty(policy0.obs_dim).merge_all(before.stats)
    return_before = float(before.returns.mean())
    if config.colors is None:
        theta0 = dense0.flatten(unfold(policy0, stats) if config.use_obs_norm else policy0)
        return _Start(dense0, theta0, stats, return_before, {})
    cmap = CodebookMap(quantize(policy0, config.colors, config.scope))
    theta0 = cmap.flatten(cmap.template)
    quantized = rollouts.rows(cmap, np.repeat(theta0[None, :], len(seeds), axis=0), seeds, None).returns.mean()
    return _Start(cmap, theta0, stats, return_before, {"return_quantized": float(quantized)})


def _first_report(progress: ProgressFn, state_path: Path, total: int, start: _Start) -> None:
    """The progress before the first iteration: a saved state's, or the starting policy's return."""
    saved = ESState.load(state_path) if state_path.is_file() else None
    done = saved.iteration if saved is not None else 0
    cur = start.extra.get("return_quantized", start.return_before)
    if saved is not None and saved.history:
        cur = saved.history[-1]["return"]
    best = saved.best_return if saved is not None else cur
    progress(ProgressEvent(min(done, total), total, "iterations", {"return": cur, "best_return": best}))


def _tune_locked(
    run: Any,
    arch: Any,
    policy0: PolicyWeights,
    config: TuneConfig,
    out: Path,
    name: str,
    fresh: bool,
    progress: ProgressFn | None,
) -> TuneResult:
    """:func:`tune` once the lock of ``RUN/tuned/NAME`` is held."""
    es_cfg = config.es_config()
    env_kwargs = dict(run.config.get("train", {}).get("env_kwargs") or {})
    state_path = out / f"{name}.state.npz"
    if fresh and state_path.exists():
        state_path.unlink()
    kw = dict(env_kwargs)
    if config.max_episode_steps is not None:
        kw["max_episode_steps"] = config.max_episode_steps
    with RolloutPool(config.workers, config.backend, config.ray_address) as pool:
        start = _start(policy0, config, Rollouts(run.spec.env_id, pool, kw))
        if progress is not None:
            _first_report(progress, state_path, config.iterations, start)
        stats = start.stats if es_cfg.obs_norm else None
        state = run_es(start.pmap, start.theta0, run.spec.env_id, es_cfg, pool, stats, env_kwargs, state_path, progress)
    cb = start.pmap.codebook(state.best_theta) if isinstance(start.pmap, CodebookMap) else None
    provenance = _provenance(run, arch, config, state, start, cb)
    path = save_policy(out / f"{name}.npz", state.best_policy(start.pmap), provenance, cb)
    return TuneResult(path, provenance, state, cb)


def _provenance(
    run: Any, arch: Any, config: TuneConfig, state: ESState, start: _Start, cb: CodebookPolicy | None
) -> dict[str, Any]:
    """What the tuned policy file records about where it came from and what ES did."""
    es_cfg = state.config
    provenance: dict[str, Any] = {
        "kind": "tuned",
        "ghp": ghp.__version__,
        "run_id": run.run_id,
        "run": str(run.path),
        "env_id": run.spec.env_id,
        "arch": arch.key,
        "checkpoint": config.checkpoint or "latest",
        "checkpoint_step": run.timesteps,
        "method": "es-ars-v2t" + ("-codebook" if cb is not None else ""),
        "iterations": state.iteration,
        "best_iteration": state.best_iteration,
        "return_before": start.return_before,
        "return_after": state.best_return,
        "eval_seed": config.seed,
        "eval_episodes": config.eval_episodes,
        "env_steps": state.env_steps,
        "es": asdict(es_cfg),
        "obs_norm": {"mean": state.best_mean.tolist(), "std": state.best_std.tolist()} if es_cfg.obs_norm else None,
        **start.extra,
    }
    if cb is not None:
        provenance |= {"colors": cb.m, "scope": cb.scope, "codebook_bytes": cb.n_bytes}
    return provenance
