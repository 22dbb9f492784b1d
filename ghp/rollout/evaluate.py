"""Roll out many architectures of a trained run at once (paper, Section IV-A: every architecture, 5 rollouts).

The engine, in the order the work flows:

1. **Emit.** Weights for the requested architectures come from the run's hypernetwork in batched calls
   (``source.emit(archs, batch_size)``), ``emit_batch`` architectures at a time.
2. **Group.** Each architecture's MLP is zero-padded to a *shape class*: every hidden width below ``pad_to`` is
   raised to ``pad_to`` (zero rows and columns, so the function is unchanged). Architectures of one class are
   stacked and run by one batched matmul per layer (``numpy.matmul`` over a ``[G, episodes, in]`` stack), so the
   many small MLPs of the space cost a handful of calls per step instead of a few per architecture; large MLPs are
   bound by their arithmetic anyway. Architectures are processed in class order so that classes fill up.
3. **Roll out.** One environment per (architecture, episode); each episode runs to its own end (terminated or
   truncated). All episodes of an architecture start together; its finished rows stay in the stack (their actions
   are ignored) so it is always computed with the same matrix shapes, and once all its episodes have ended it
   leaves the stack. A class's architectures start as environments free up, so short episodes keep them busy.
4. **Workers.** Chunks of architectures are work units of a :mod:`ghp.rollout.backend` (worker processes of this
machine,
   all cores by default) while this process emits the next ones. The workers are started (and make their
   environments) before the first chunk is emitted, that chunk is emitted alone, and chunks are sized so that each
   worker gets about four (no worker idles through a long last chunk). Each worker keeps its environments between
   chunks and runs BLAS on one thread (multi-threaded BLAS on a ``[5, 512] @ [512, 512]`` product was 25x slower on
   a busy 2-core machine). A chunk whose worker died runs again. The caller writes each finished chunk to the
   results store. A vectorised environment (``ghp.envs.vectorised``: the Crazyflie tasks) is stepped up to
   :data:`BATCH_ROWS` rows at once, with numpy bookkeeping over the rows.

Common random numbers: the reset seed of episode ``e`` derives from ``(seed, e)`` and the kind alone, so every
architecture faces the same ``episodes`` initial states and two architectures' returns differ by their policies,
not by the luck of their starts (with per-architecture starts, the top of a 4680-way ranking on Pendulum was dominated
by easy starting angles). An architecture's arithmetic depends only on itself (its shape class and the number of
episodes), so results do not depend on batching, chunking, worker count or interruptions.

Screening, then confirmation: a screening (``kind="screen"``, the default) ranks every architecture on a few
episodes; the best of hundreds of noisy means is biased upwards (the winner's curse). A confirmation
(``EvalConfig.confirm``, driven by ``search.confirm``) rolls the chosen candidates out again, through this same
engine, on many episodes whose starts come from another family of reset seeds (:func:`reset_seed`): no confirmation
start is ever a screening start, whatever the seeds, so the confirmed figure of a pick is held out from its
selection.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ghp.envs import EnvSpec, canonical_kwargs, make_env, parse_env_kwargs, vectorised
from ghp.hypernet.config import MAX_EPISODES
from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.rollout.backend import BACKENDS, Backend, SerialBackend, make_backend
from ghp.run.records import PAD_TO, ArchRecord, Setting
from ghp.run.results import KINDS
from ghp.space.arch import Arch, ArchSpace
from ghp.space.capacity import lossless_memory_dimension
from ghp.space.counting import deploy_bytes, deploy_params

if TYPE_CHECKING:
    from ghp.run.results import ResultsStore


class EvalSource(Protocol):
    """What evaluation needs from a trained run (``ghp.run.load.Run`` is one)."""

    spec: EnvSpec
    space: ArchSpace
    run_id: str
    timesteps: int

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]: ...


@dataclass(frozen=True)
class EvalConfig:
    """How to evaluate a run (``ghp evaluate``'s options are these fields: ``cli/options.py``)."""

    episodes: int = field(default=5, metadata={"min": 1})
    """Episodes per architecture (the paper uses 5 rollouts)."""
    seed: int = field(default=0, metadata={"min": 0})
    """Evaluation seed; episode e of every architecture is reset with a seed derived from (seed, e) alone."""
    workers: int = field(default=0, metadata={"min": 0})
    """Worker processes that roll out (0 = one per CPU core, or every CPU of the Ray cluster); this process emits
    weights meanwhile."""
    backend: str = field(default="local", metadata={"choices": BACKENDS})
    """Where chunks are rolled out: ``local`` (worker processes of this machine) or ``ray`` (Ray tasks; ``pip install
    "graph-hyper-policies[ray]"``)."""
    ray_address: str | None = field(default=None, metadata={"show_default": "start a local Ray instance"})
    """Ray cluster for the ray backend: ``auto`` (the one started on this machine by ``ray start``) or
    ``HOST:PORT``."""
    in_process: bool = False
    """Roll out in this process instead (tests, debugging).

    Same results, but BLAS threads are not limited to one, which on a busy machine makes the many small matmuls far
    slower."""
    envs_per_worker: int = field(default=160, metadata={"min": 1})
    """Environments a worker steps at once (rounded up to a multiple of ``episodes``)."""
    chunk_size: int = field(default=64, metadata={"min": 1})
    """Architectures per work unit; the results store commits once per finished chunk.

    Fewer when that gives every worker about four units (load balance); a vectorised environment's units hold up to
    2048 rows' worth of architectures instead (its step costs little more for many rows)."""
    emit_batch: int = field(default=512, metadata={"min": 1})
    """Architectures per call to the hypernetwork (bounds the memory held by emitted weights)."""
    pad_to: int = field(default=PAD_TO, metadata={"min": 1})
    """Hidden widths below this are zero-padded up to it, so small architectures share batched matmuls."""
    cache_bytes: int = field(default=8 << 20, metadata={"min": 1})
    """A worker starts more architectures only while the weights it steps stay under this many bytes.

    At least one group runs. Five rows per matrix make each step stream every weight once, and a working set that
    fits the CPU's cache made 5 x 512 x 512 products about 30% faster than one that does not (12 MB vs 96 MB, 32 MB
    L3)."""
    max_episode_steps: int | None = field(default=None, metadata={"min": 1, "show_default": "the environment's own"})
    """Override of the environment's episode limit."""
    env_kwargs: dict[str, Any] | None = field(
        default=None, metadata={"parse_all": lambda v: parse_env_kwargs(v) or None, "metavar": "KEY=VALUE ..."}
    )
    """Env kwargs on top of the run's own, e.g. ``--env-kwargs nominal=true`` for a randomised-trained run (results
    are stored per setting)."""
    checkpoint: str = "latest"
    """The run's model to evaluate: ``latest`` or a checkpoint such as ``step_20000`` (stored with the results)."""
    confirm: int = field(default=0, metadata={"min": 0})
    """Confirm instead of screening: roll out the top K screened architectures (by ``--confirm-by``) and every pick
    of ``ghp report`` again, on held-out starts (never a screening start), ``--confirm-episodes`` each; 0 = screen."""
    confirm_episodes: int | None = field(
        default=None, metadata={"min": 1, "show_default": "300, or 1000 when the screening has success rates"}
    )
    """Episodes per confirmed architecture: enough for a 95% interval narrower than 5% of the task's range on the
    cheap tasks (docs/evaluate.md: Pendulum's returns, FetchReach's success rate)."""
    confirm_max_params: int | None = field(default=None, metadata={"min": 1, "show_default": "no limit"})
    """With ``--confirm``: take the top K among the architectures of at most this many parameters (the budget of a
    later ``ghp export --best --max-params N``, so that it chooses among confirmed policies)."""
    confirm_by: str = field(default="auto", metadata={"choices": ("auto", "return", "success")})
    """Screening metric the top K are taken by: mean return, success rate (then return), or auto = success when the
    screening has success rates, else return."""

    def __post_init__(self) -> None:
        for name in ("episodes", "envs_per_worker", "chunk_size", "emit_batch", "pad_to", "cache_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}")
        if self.workers < 0:
            raise ValueError(f"workers must be 0 (all cores) or positive, got {self.workers}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(f"max-episode-steps must be positive, got {self.max_episode_steps}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}: give one of {', '.join(BACKENDS)}")
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError("--ray-address needs --backend ray")
        if self.confirm < 0:
            raise ValueError(f"confirm must be 0 (screen) or a number of candidates, got {self.confirm}")
        if self.confirm_episodes is not None and self.confirm_episodes < 1:
            raise ValueError(f"confirm-episodes must be a positive integer, got {self.confirm_episodes}")
        for name, value in (("--episodes", self.episodes), ("--confirm-episodes", self.confirm_episodes or 0)):
            if value > MAX_EPISODES:
                raise ValueError(f"{name} must be at most {MAX_EPISODES}, got {value}")
        if self.confirm_max_params is not None and (self.confirm_max_params < 1 or not self.confirm):
            raise ValueError("--confirm-max-params goes with --confirm K and must be a positive number of parameters")
        if self.confirm_by not in ("auto", "return", "success"):
            raise ValueError(f"unknown confirm-by {self.confirm_by!r}: give auto, return or success")

    @property
    def kind(self) -> str:
        """``confirm`` when confirming, else ``screen`` (``ghp.run.results.KINDS``)."""
        return KINDS[1] if self.confirm else KINDS[0]

    @property
    def rollouts(self) -> int:
        """Episodes per architecture of this evaluation: ``episodes``, or the confirmation's when confirming."""
        if not self.confirm:
            return self.episodes
        return self.confirm_episodes if self.confirm_episodes is not None else CONFIRM_EPISODES["return"]

    def setting(self, checkpoint_step: int, run_env_kwargs: dict[str, Any] | None = None) -> Setting:
        """The results-store setting of this evaluation of a model at ``checkpoint_step`` whose run was trained with
        ``run_env_kwargs``: everything in this config that can change a row (the others, batching and workers, are
        tested not to), and the env kwargs the episodes run with (the run's, this config's on top)."""
        kwargs = canonical_kwargs({**(run_env_kwargs or {}), **(self.env_kwargs or {})})
        return Setting(
            checkpoint_step, self.seed, self.rollouts, self.max_episode_steps or 0, self.pad_to, kwargs, self.kind
        )

    @property
    def n_workers(self) -> int:
        """Worker processes used on this machine (a Ray cluster's own CPU count is known once connected)."""
        return self.workers or (os.cpu_count() or 1)


@dataclass(frozen=True)
class EvalSummary:
    """What one call of :func:`evaluate` did."""

    requested: int
    """Architectures asked for."""
    skipped: int
    """Already in the results store under the same setting (resumed)."""
    evaluated: int
    """Evaluated by this call."""
    env_steps: int
    """Environment steps taken by this call."""
    seconds: float
    """Wall time of this call."""
    setting: Setting
    workers: int = 1
    """Units that ran at once (worker processes, or the Ray cluster's CPUs)."""


ProgressFn = Callable[[int, int, int], None]
"""``progress(archs_done, archs_total, env_steps)``, called after every finished chunk."""


def env_kwargs_of(spec: EnvSpec, config: EvalConfig) -> dict[str, Any]:
    """The env kwargs an evaluation runs with: the run's, with ``config.env_kwargs`` on top."""
    return {**spec.env_kwargs, **(config.env_kwargs or {})}


CONFIRM_EPISODES: dict[str, int] = {"return": 300, "success": 1000}
"""Default episodes per confirmed architecture, by screening metric (docs/evaluate.md derives them): 300 returns give
a 95% interval about 0.23 standard deviations of a return wide (Pendulum: under 80, 5% of its -1600..0 range, for
every per-start spread up to the 334 of the committed runs); 1000 episodes give a Wilson interval narrower than
0.05 for any success rate of 0.8 or more (the picks of a task that works)."""


def reset_seed(seed: int, episode: int, kind: str = "screen") -> int:
    """Reset seed of episode ``episode``, the same for every architecture (common random numbers).

    Screening seeds are 32-bit: ``SeedSequence([seed, episode])``'s first word. Confirmation seeds are that word of
    ``SeedSequence([seed, episode, 1])`` plus ``(episode + 1) << 32``: never below ``2**32``, so no confirmation
    start is a screening start of any seed, and the episodes of one confirmation have distinct seeds.
    """
    if kind == "screen":
        return int(np.random.SeedSequence([seed, episode]).generate_state(1, np.uint32)[0])
    if kind != "confirm":
        raise ValueError(f"unknown evaluation kind {kind!r}: give one of {', '.join(KINDS)}")
    low = int(np.random.SeedSequence([seed, episode, 1]).generate_state(1, np.uint32)[0])
    return ((episode + 1) << 32) | low


def parse_arch_selection(text: str, space: ArchSpace, seed: int = 0) -> list[Arch]:
    """``--archs``: ``all``, a count ``N`` (N architectures drawn without replacement, seeded), or a comma list.

    A list names architectures by their keys (``8-4-4-4,16-16``; a one-layer architecture is ``[64]`` or
    ``64-``); every one must be in the run's space.

    Raises:
        ValueError: malformed text, a count out of range, or an architecture outside the space.
    """
    from ghp.space.arch import parse_arch

    s = text.strip()
    if s.lower() == "all":
        return list(space.archs)
    if s.isdigit():
        n = int(s)
        if not 1 <= n <= len(space):
            raise ValueError(f"--archs {s}: give a count between 1 and {len(space)}, 'all', or architectures")
        idx = np.random.default_rng(seed).choice(len(space), size=n, replace=False)
        return [space.archs[i] for i in sorted(idx)]
    out: list[Arch] = []
    for item in s.split(","):
        item = item.strip().rstrip("-")
        if not item:
            raise ValueError(f"malformed --archs {text!r}: give all, a count, or keys like 8-4-4-4,16-16")
        try:
            arch = parse_arch(item)
        except ValueError:
            raise ValueError(f"malformed --archs {text!r}: {item!r} is not an architecture like 8-4-4-4") from None
        space.index(arch)
        if arch not in out:
            out.append(arch)
    return out


def shape_class(arch: Arch, pad_to: int) -> tuple[int, ...]:
    """Hidden widths after padding every width below ``pad_to`` up to it: architectures of a class share matmuls."""
    return tuple(max(w, pad_to) for w in arch.hidden)


def evaluate(
    source: EvalSource,
    archs: Sequence[Arch],
    config: EvalConfig,
    store: ResultsStore | None = None,
    progress: ProgressFn | None = None,
) -> tuple[EvalSummary, list[ArchRecord]]:
    """Evaluate ``archs`` of ``source`` with deterministic actions, skipping those ``store`` already holds.

    Every finished chunk is written to ``store`` (one transaction) before the next is awaited, so an interruption
    (Ctrl-C: ``KeyboardInterrupt``; a lost Ray cluster: ``ghp.rollout.backend.BackendLost``) loses only the chunks in
    flight. A chunk whose worker died is rolled out again and stored once.

    Returns:
        The summary and the records evaluated by this call (in the order they finished).

    Raises:
        ValueError: an architecture outside the run's space, or a backend that cannot start.
        ghp.rollout.backend.BackendLost: the Ray cluster was lost (finished chunks are stored).
        ghp.rollout.backend.WorkerLost: one chunk's workers kept dying.
    """
    t0 = time.perf_counter()
    spec = source.spec
    setting = config.setting(source.timesteps, spec.env_kwargs)
    index = {a: source.space.index(a) for a in archs}
    done = store.finished(setting) if store is not None else set()
    pending = [a for a in dict.fromkeys(archs) if a.key not in done]
    pending.sort(key=lambda a: (a.depth, shape_class(a, config.pad_to), a.hidden))
    n_total = len(index)
    n_done = n_total - len(pending)
    steps = 0
    out: list[ArchRecord] = []
    if progress is not None:
        progress(n_done, n_total, 0)

    # A source with its own counting (a chromatic run: distinct weights + biases, bits / 8) overrides the dense rule.
    counted = getattr(source, "counts", None)

    def finish(chunk_records: list[ArchRecord], chunk_steps: int) -> None:
        nonlocal n_done, steps
        if counted is not None:
            chunk_records = [dataclasses.replace(r, params=counted[0], bytes=counted[1]) for r in chunk_records]
        if store is not None:
            store.add(chunk_records)
        out.extend(chunk_records)
        n_done += len(chunk_records)
        steps += chunk_steps
        if progress is not None:
            progress(n_done, n_total, steps)

    task = _TaskSpec(
        spec.env_id,
        config.rollouts,
        config.seed,
        _envs(config),
        config.pad_to,
        config.max_episode_steps,
        config.cache_bytes,
        env_kwargs_of(spec, config),
        config.kind,
    )
    with _backend(config, bool(pending)) as backend:
        workers = backend.workers
        wide = max(1, BATCH_ROWS // task.episodes) if _is_vectorised(spec.env_id) else None
        size = _chunk_len(len(pending), workers, config.chunk_size, wide)
        # The workers start (and make their environments) while the first chunk is emitted.
        backend.warm(_warm_worker, (task, size))
        # Units are keyed by (weights, indices), which stay here; workers get the task and the weights. Chunks are
        # emitted lazily, while the workers roll out the ones in flight (at most two per worker).
        units = (((weights, idx), weights) for weights, idx in _chunks(source, pending, index, config, size))
        with contextlib.closing(backend.run(_rollout_chunk, task, units)) as results:
            for (weights, idx), outcomes in results:
                finish(_records(spec, weights, idx, outcomes, setting, config.checkpoint), _steps(outcomes))
    summary = EvalSummary(
        requested=n_total,
        skipped=n_total - len(pending),
        evaluated=len(out),
        env_steps=steps,
        seconds=time.perf_counter() - t0,
        setting=setting,
        workers=workers,
    )
    return summary, out


def _backend(config: EvalConfig, work: bool) -> Backend:
    if config.in_process or not work:  # nothing to do: no workers (nor a Ray instance) to start
        return SerialBackend()
    return make_backend(config.backend, config.workers, config.ray_address)


@dataclass(frozen=True)
class _TaskSpec:
    env_id: str
    episodes: int
    seed: int
    n_envs: int
    pad_to: int
    max_episode_steps: int | None
    cache_bytes: int = 8 << 20
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    kind: str = "screen"


@dataclass(frozen=True)
class _Outcome:
    returns: tuple[float, ...]
    lengths: tuple[int, ...]
    successes: tuple[bool, ...] | None


def _envs(config: EvalConfig) -> int:
    return max(1, math.ceil(config.envs_per_worker / config.rollouts)) * config.rollouts


def _chunk_len(n: int, workers: int, chunk_size: int, wide: int | None = None) -> int:
    """Architectures per chunk: ``chunk_size``, or fewer so that every worker gets about four chunks.

    Chunks are the unit of load balancing: 300 architectures in chunks of 64 on 2 workers were 5 chunks, and the
    last ran alone on one worker for a fifth of the time while the other idled. A vectorised environment steps
    ``wide`` architectures at once (:data:`BATCH_ROWS` rows): its chunks hold that many, down to two per worker.
    Results do not depend on chunking.
    """
    per = max(1, workers)
    if wide is not None:
        return max(1, min(max(chunk_size, wide), math.ceil(n / (2 * per))))
    return max(1, min(chunk_size, math.ceil(n / (4 * per))))


def _chunks(
    source: EvalSource, pending: list[Arch], index: dict[Arch, int], config: EvalConfig, size: int | None = None
) -> Iterator[tuple[list[PolicyWeights], list[int]]]:
    """Emit weights ``emit_batch`` architectures at a time and cut them into chunks of ``size``, lazily.

    The first emission is one chunk only, so the workers get work before the rest is emitted."""
    size = size or config.chunk_size
    starts = [0, *range(min(size, len(pending)), len(pending), max(config.emit_batch, size))]
    for i, end in zip(starts, [*starts[1:], len(pending)], strict=True):
        block = pending[i:end]
        if not block:
            continue
        weights = source.emit(block, batch_size=config.emit_batch)
        for j in range(0, len(block), size):
            yield weights[j : j + size], [index[a] for a in block[j : j + size]]


def _steps(outcomes: Sequence[_Outcome]) -> int:
    return sum(sum(o.lengths) for o in outcomes)


def _records(
    spec: EnvSpec,
    weights: Sequence[PolicyWeights],
    idx: Sequence[int],
    outcomes: Sequence[_Outcome],
    setting: Setting,
    checkpoint: str,
) -> list[ArchRecord]:
    recs = []
    for w, i, o in zip(weights, idx, outcomes, strict=True):
        a = w.arch
        recs.append(
            ArchRecord(
                arch=a,
                arch_index=i,
                setting=setting,
                returns=o.returns,
                lengths=o.lengths,
                success_rate=None if o.successes is None else sum(o.successes) / len(o.successes),
                params=deploy_params(a, spec.obs_dim, spec.act_dim),
                bytes=deploy_bytes(a, spec.obs_dim, spec.act_dim),
                capacity=lossless_memory_dimension(a, spec.obs_dim, spec.act_dim),
                checkpoint=checkpoint,
            )
        )
    return recs


_ENV_CACHE: dict[tuple[str, int | None, str], list[Any]] = {}
_BATCH_CACHE: dict[tuple[str, str], tuple[int, Any]] = {}


def _get_envs(env_id: str, n: int, max_episode_steps: int | None, env_kwargs: dict[str, Any]) -> list[Any]:
    """This process's environments for ``env_id``, created once and reused across chunks."""
    envs = _ENV_CACHE.setdefault((env_id, max_episode_steps, canonical_kwargs(env_kwargs)), [])
    kwargs = dict(env_kwargs) if max_episode_steps is None else {**env_kwargs, "max_episode_steps": max_episode_steps}
    while len(envs) < n:
        envs.append(make_env(env_id, **kwargs))
    return envs


BATCH_ROWS = 2048
"""Rows a worker steps at once through a vectorised environment (at least ``envs_per_worker``): its step costs
little more for 2048 drones than for 200 (Crazyflie: drone-steps/s grew about 4x from 200 to 4000 copies)."""


def _batch_rows(task: _TaskSpec, n_archs: int) -> int:
    """Rows of a vectorised environment for ``n_archs`` architectures: whole architectures, up to ``BATCH_ROWS``."""
    e = task.episodes
    return min(max(task.n_envs, BATCH_ROWS // e * e, e), n_archs * e)


def _is_vectorised(env_id: str) -> bool:
    """Whether ``env_id``'s environment class has a vectorised form (``ghp.envs.vectorised``), without making one.

    Only a class whose module this process has already imported is looked at (ghp's own environments are): importing
    an environment's module here, MuJoCo's for Hopper, cost more start-up than the answer saves. Otherwise False,
    which only sizes the chunks for single environments; the workers still step a vectorised form if there is one.
    """
    import sys

    import gymnasium as gym

    try:
        entry = gym.spec(env_id).entry_point
    except Exception:  # noqa: BLE001 - an id not registered here yet (module:Id): the workers find out
        return False
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = getattr(sys.modules.get(module), name, None)
    return callable(getattr(entry, "vectorised", None))


def _warm_worker(shared: tuple[_TaskSpec, int], _: None) -> None:
    """Make this worker's environments ahead of its first chunk (``Backend.warm``)."""
    task, n_archs = shared
    if _get_batch(task, _batch_rows(task, n_archs)) is None:
        _get_envs(task.env_id, min(task.n_envs, n_archs * task.episodes), task.max_episode_steps, task.env_kwargs)


def _get_batch(task: _TaskSpec, n: int) -> Any | None:
    """This process's vectorised environment of at least ``n`` copies (``ghp.envs.vectorised``), or None."""
    key = (task.env_id, canonical_kwargs(task.env_kwargs))
    held = _BATCH_CACHE.get(key)
    if held is not None and held[0] >= n:
        return held[1]
    batch = vectorised(_get_envs(task.env_id, 1, None, task.env_kwargs)[0], n)
    if batch is not None:
        _BATCH_CACHE[key] = (n, batch)
    return batch


class _Group:
    """Architectures of one shape class, all episodes of each, rolled out together.

    Rows are ``member * episodes + episode``. When every episode of a member has ended, the member leaves the stack
    (its outcome is recorded and its environments are freed), so short episodes do not keep paying for the policies
    of finished architectures. An architecture's arithmetic does not depend on which others share its stack.
    """

    def __init__(self, weights: list[PolicyWeights], pos: list[int], pad_to: int, episodes: int) -> None:
        self.pos = list(pos)
        self.e = episodes
        self.layers = _stack(weights, pad_to)
        self.clip: tuple[np.ndarray, np.ndarray] | None = None
        if weights[0].clip_low is not None:  # a --normalize run's observation clip, [G, 1, obs_dim] each
            lo, hi = (np.stack([getattr(w, k)[None, :] for w in weights]) for k in ("clip_low", "clip_high"))
            self.clip = (lo, hi)
        self.tanh = weights[0].activation == "tanh"
        self.low = weights[0].action_low
        self.span = weights[0].action_high - weights[0].action_low
        n = len(weights) * episodes
        self.obs = np.zeros((len(weights), episodes, weights[0].obs_dim), np.float32)
        self.last_obs: list[np.ndarray] = []
        # Plain lists: per-row bookkeeping on numpy scalars costs more than the policy of a small MLP.
        self.returns = [0.0] * n
        self.lengths = [0] * n
        self.success = [False] * n
        self.done = [False] * n
        self.envs: list[Any] = []
        self.env_ids: list[int] = []
        self.goal = False
        self.reports_success = False
        """True once an episode end carried ``info['is_success']`` (goal tasks, or any env that reports one)."""

    @property
    def nbytes(self) -> int:
        """Bytes of the stacked weights and biases."""
        return sum(wt.nbytes + b.nbytes for wt, b in self.layers)

    def actions(self) -> np.ndarray:
        """Deterministic actions for every row, the arithmetic of ``PolicyWeights.act`` on padded weights."""
        h = self.obs if self.clip is None else np.minimum(np.maximum(self.obs, self.clip[0]), self.clip[1])
        last = len(self.layers) - 1
        for j, (wt, b) in enumerate(self.layers):
            h = np.matmul(h, wt)
            h += b
            if j < last:
                # Zero padding is harmless for both activations: relu(0) = tanh(0) = 0.
                if self.tanh:
                    np.tanh(h, out=h)
                else:
                    np.maximum(h, np.float32(0), out=h)
        np.tanh(h, out=h)
        # low + (u + 1) * 0.5 * span, in place, in the same order of operations.
        h += np.float32(1)
        h *= np.float32(0.5)
        h *= self.span
        h += self.low
        return h.reshape(-1, h.shape[-1])

    def step(self) -> bool:
        """One batched policy pass, then one step of every running episode. Returns True if an episode ended."""
        acts = self.actions()
        goal = self.goal
        envs, returns, lengths, last, done = self.envs, self.returns, self.lengths, self.last_obs, self.done
        ended = False
        for r in range(len(envs)):
            if done[r]:
                continue
            obs, rew, term, trunc, info = envs[r].step(acts[r])
            returns[r] += float(rew)
            lengths[r] += 1
            if term or trunc:
                done[r] = ended = True
                self.success[r] = bool(info.get("is_success", False))
                self.reports_success = self.reports_success or "is_success" in info
            else:
                last[r] = obs_vector(obs) if goal else obs
        # One conversion for all rows (finished rows keep their last observation; their actions are ignored).
        self.obs.reshape(-1, self.obs.shape[-1])[:] = np.array(last, dtype=np.float32)
        return ended

    def retire(self, results: dict[int, _Outcome], free: list[int]) -> None:
        """Record the members whose episodes have all ended, free their environments, drop them from the stack."""
        e = self.e
        keep = [m for m in range(len(self.pos)) if not all(self.done[m * e : (m + 1) * e])]
        if len(keep) == len(self.pos):
            return
        for m in sorted(set(range(len(self.pos))) - set(keep)):
            sl = slice(m * e, (m + 1) * e)
            results[self.pos[m]] = _Outcome(
                returns=tuple(_plain(self.returns[sl])),
                lengths=tuple(_plain(self.lengths[sl])),
                successes=tuple(_plain(self.success[sl])) if self.goal or self.reports_success else None,
            )
            free.extend(_plain(self.env_ids[sl]))
        rows = [m * e + k for m in keep for k in range(e)]
        self.pos = [self.pos[m] for m in keep]
        if keep:
            sel = np.asarray(keep)
            self.layers = [(wt[sel], b[sel]) for wt, b in self.layers]
            if self.clip is not None:
                self.clip = (self.clip[0][sel], self.clip[1][sel])
            self.obs = self.obs[sel]
        for name in ("last_obs", "returns", "lengths", "success", "done", "envs", "env_ids"):
            old = getattr(self, name)
            if isinstance(old, np.ndarray):  # the vectorised path's rows
                setattr(self, name, old[np.asarray(rows, dtype=np.intp)])
            elif old:
                setattr(self, name, [old[r] for r in rows])


def _plain(values: Any) -> list[Any]:
    """Python numbers from a list or an array slice (records hold floats, ints and bools, not numpy scalars)."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _stack(weights: list[PolicyWeights], pad_to: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer: transposed weights ``[G, in, out]`` and biases ``[G, 1, out]``, zero-padded to the shape class."""
    dims = [weights[0].obs_dim, *shape_class(weights[0].arch, pad_to), weights[0].act_dim]
    out = []
    for j in range(len(dims) - 1):
        wt = np.zeros((len(weights), dims[j], dims[j + 1]), np.float32)
        b = np.zeros((len(weights), 1, dims[j + 1]), np.float32)
        for g, pw in enumerate(weights):
            w, bias = pw.layers[j]
            wt[g, : w.shape[1], : w.shape[0]] = w.T
            b[g, 0, : bias.shape[0]] = bias
        out.append((wt, b))
    return out


def _weight_bytes(w: PolicyWeights, pad_to: int) -> int:
    """Bytes one architecture takes in a stack of its shape class."""
    dims = [w.obs_dim, *shape_class(w.arch, pad_to), w.act_dim]
    return 4 * sum(i * o + o for i, o in zip(dims[:-1], dims[1:], strict=True))


def _groups(weights: Sequence[PolicyWeights], pad_to: int, max_archs: int) -> list[list[int]]:
    """Positions of ``weights`` cut into groups of one shape class, at most ``max_archs`` each."""
    by_class: dict[tuple[tuple[int, ...], str], list[int]] = {}
    for p, w in enumerate(weights):
        by_class.setdefault((shape_class(w.arch, pad_to), w.activation), []).append(p)
    groups: list[list[int]] = []
    for members in by_class.values():
        groups.extend(members[i : i + max_archs] for i in range(0, len(members), max_archs))
    return groups


def _rollout_chunk(task: _TaskSpec, weights: list[PolicyWeights]) -> list[_Outcome]:
    """Roll out every episode of every architecture of a chunk; outcomes in the chunk's order.

    An environment with a vectorised form (``ghp.envs.vectorised``) is stepped through it, all rows at once; the
    episodes and results are the same as with one environment per row.
    """
    e = task.episodes
    max_archs = max(1, task.n_envs // e)
    n_rows = min(max(task.n_envs, e), len(weights) * e)
    batch = _get_batch(task, _batch_rows(task, len(weights)))
    if batch is not None:
        return _rollout_chunk_batched(task, weights, batch, _batch_rows(task, len(weights)))
    envs = _get_envs(task.env_id, n_rows, task.max_episode_steps, task.env_kwargs)
    goal = isinstance(envs[0].observation_space, _dict_space())
    free = list(range(len(envs)))
    queue = deque(_groups(weights, task.pad_to, max_archs))
    active: list[_Group] = []
    results: dict[int, _Outcome] = {}
    while queue or active:
        while (pos := _next_group(queue, free, active, weights, task, max_archs)) is not None:
            grp = _Group([weights[p] for p in pos], pos, task.pad_to, e)
            grp.goal = goal
            rows = grp.obs.reshape(-1, grp.obs.shape[-1])
            for r in range(len(pos) * e):
                k = free.pop()
                obs, _ = envs[k].reset(seed=reset_seed(task.seed, r % e, task.kind))
                rows[r] = obs_vector(obs)
                grp.last_obs.append(rows[r].copy())
                grp.envs.append(envs[k])
                grp.env_ids.append(k)
            active.append(grp)
        for grp in active:
            if grp.step():
                grp.retire(results, free)
        active = [g for g in active if g.pos]
    return [results[p] for p in range(len(weights))]


def _next_group(
    queue: deque[list[int]],
    free: list[int],
    active: list[_Group],
    weights: list[PolicyWeights],
    task: _TaskSpec,
    max_archs: int,
) -> list[int] | None:
    """Positions of the next group to start (taken off ``queue``), or None when it has to wait.

    A class group starts when it fits, or a part of it once half a full group's environments are free, while the
    weights of what runs stay within the cache budget.
    """
    e = task.episodes
    if not queue or len(free) < e * min(len(queue[0]), max(1, max_archs // 2)):
        return None
    per_arch = _weight_bytes(weights[queue[0][0]], task.pad_to)
    room = (task.cache_bytes - sum(g.nbytes for g in active)) // per_arch
    if active and room < 1:
        return None
    head = queue.popleft()
    n = min(len(head), len(free) // e, max(1, room))
    pos, rest = head[:n], head[n:]
    if rest:
        queue.appendleft(rest)
    return pos


def _rollout_chunk_batched(task: _TaskSpec, weights: list[PolicyWeights], batch: Any, n_rows: int) -> list[_Outcome]:
    """:func:`_rollout_chunk` on a vectorised environment: rows are its copies, one ``step_batch`` per tick.

    The bookkeeping is numpy over each group's rows (a Python loop over the rows cost as much as the physics of a
    few hundred drones); returns add the same float64 rewards in the same order, so the figures are the same bits.
    """
    e = task.episodes
    max_archs = max(1, n_rows // e)
    n_all = int(batch.num_envs)
    free = list(range(n_rows))
    queue = deque(_groups(weights, task.pad_to, max_archs))
    active: list[_Group] = []
    results: dict[int, _Outcome] = {}
    acts: np.ndarray | None = None
    limit = task.max_episode_steps
    while queue or active:
        while (pos := _next_group(queue, free, active, weights, task, max_archs)) is not None:
            grp = _Group([weights[p] for p in pos], pos, task.pad_to, e)
            grp.reports_success = True
            rows = [free.pop() for _ in range(len(pos) * e)]
            obs = batch.reset_rows(rows, [reset_seed(task.seed, r % e, task.kind) for r in range(len(rows))])
            grp.obs.reshape(-1, grp.obs.shape[-1])[:] = obs
            n = len(rows)
            grp.env_ids = np.asarray(rows, dtype=np.intp)  # type: ignore[assignment]
            grp.returns = np.zeros(n, np.float64)  # type: ignore[assignment]
            grp.lengths = np.zeros(n, np.int64)  # type: ignore[assignment]
            grp.success = np.zeros(n, bool)  # type: ignore[assignment]
            grp.done = np.zeros(n, bool)  # type: ignore[assignment]
            grp.last_obs, grp.envs = [], []
            active.append(grp)
        per_group = [g.actions() for g in active]
        if acts is None:
            acts = np.zeros((n_all, per_group[0].shape[-1]), np.float32)
        for g, a in zip(active, per_group, strict=True):
            acts[g.env_ids] = a
        obs, rew, term, trunc, succ = batch.step_batch(acts)
        for g in active:
            done = np.asarray(g.done)
            live = np.flatnonzero(~done)
            k = np.asarray(g.env_ids)[live]
            returns, lengths = np.asarray(g.returns), np.asarray(g.lengths)
            returns[live] += np.asarray(rew[k], np.float64)
            lengths[live] += 1
            end = term[k] | trunc[k]
            if limit is not None:
                end |= lengths[live] >= limit
            over = live[end]
            done[over] = True
            np.asarray(g.success)[over] = succ[k[end]] & ~term[k[end]]
            flat = g.obs.reshape(-1, g.obs.shape[-1])
            flat[live[~end]] = obs[k[~end]]
            if over.size:
                g.retire(results, free)
        active = [g for g in active if g.pos]
    return [results[p] for p in range(len(weights))]


def _dict_space() -> type:
    from gymnasium import spaces

    return spaces.Dict


@dataclass(frozen=True)
class PolicySource:
    """An :class:`EvalSource` that emits one fixed policy (a tuned or compressed policy file) for its architecture."""

    spec: EnvSpec
    space: ArchSpace
    run_id: str
    timesteps: int
    weights: PolicyWeights
    path: str = ""
    """The run directory."""

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]:
        """The fixed policy, once per requested architecture (which must be its own)."""
        if any(a != self.weights.arch for a in archs):
            raise ValueError(f"this source holds only {self.weights.arch.key}")
        return [self.weights for _ in archs]


def policy_source(run_dir: str, weights: PolicyWeights, timesteps: int = 0) -> PolicySource:
    """A source for evaluating ``weights`` against the run in ``run_dir`` (its environment, space and id).

    Raises:
        ValueError: the policy's architecture is not in the run's space.
    """
    from ghp.run.layout import run_facts

    run_id, spec, space = run_facts(run_dir)
    if weights.arch not in space:
        raise ValueError(f"the policy's architecture {weights.arch.key} is not in the run's space")
    return PolicySource(spec, space, run_id, timesteps, weights, str(run_dir))


def checkpoint_names(run_dir: str | Path, text: str) -> list[str]:
    """``--checkpoints``: ``all`` (every saved checkpoint, ascending) or a comma list of names (``step_2000,...``).

    Raises:
        ValueError: an empty list, or a name the run does not have (the message lists those it has).
    """
    from ghp.run.layout import checkpoints

    saved = [name for _, name in checkpoints(run_dir)]
    if text.strip().lower() == "all":
        if not saved:
            raise ValueError(f"run {run_dir} has no checkpoints (train with --checkpoint-every N)")
        return saved
    names = [t.strip().removesuffix(".zip") for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError(f"--checkpoints {text!r}: give 'all' or names like step_2000,step_4000")
    for n in names:
        if n not in saved:
            raise ValueError(f"no checkpoint {n!r} in {run_dir}; available: {', '.join(saved) if saved else 'none'}")
    return list(dict.fromkeys(names))


def evaluate_checkpoints(
    run_dir: str | Path,
    names: Sequence[str | None],
    archs: str,
    config: EvalConfig,
    progress: ProgressFn | None = None,
    on_checkpoint: Callable[[str, Any, int], None] | None = None,
    sample_seed: int = 0,
) -> list[EvalSummary]:
    """Evaluate the same architectures, from the same starts, at each of the run's checkpoints ``names``.

    ``names`` are checkpoint names (``None``: the latest model); ``archs`` is the ``--archs`` text, resolved once
    against the run's space with ``sample_seed`` so every checkpoint gets the same sample. Results go to the run's
    store, keyed by checkpoint step (the paper's Figure 3 is drawn from them by ``ghp report --progress``);
    checkpoints already evaluated under this setting are skipped. ``on_checkpoint(name, run, n_archs)`` is called
    before each checkpoint.

    Raises:
        ValueError / FileNotFoundError: a bad selection, a missing checkpoint or a corrupt run.
    """
    import dataclasses

    from ghp.run.load import load_run
    from ghp.run.results import ResultsStore

    summaries: list[EvalSummary] = []
    store: ResultsStore | None = None
    selected: list[Arch] | None = None
    try:
        for name in names:
            run = load_run(run_dir, name)
            if selected is None:
                selected = parse_arch_selection(archs, run.space, sample_seed)
                store = ResultsStore.open(run.path, run.run_id)
            if on_checkpoint is not None:
                on_checkpoint(name or "latest", run, len(selected))
            summary, _ = evaluate(
                run, selected, dataclasses.replace(config, checkpoint=name or "latest"), store, progress
            )
            summaries.append(summary)
    finally:
        if store is not None:
            store.close()
    return summaries
