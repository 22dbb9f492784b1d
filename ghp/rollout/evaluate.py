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
   results store. An environment with a batched form (``ghp.envs.vectorised``: the Crazyflie tasks, and
   ``ghp.envs.batched``'s bit-exact forms of Pendulum-v1 and Hopper-v5) is stepped up to :data:`BATCH_ROWS` rows
   at once (Hopper: ``envs_per_worker``), with numpy bookkeeping over the rows. A sparse selection from a run that
   emits in blocks (a sample of the space) runs in block order, each chunk emitted as it is needed
   (:mod:`ghp.rollout.schedule`).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ghp.envs import EnvSpec, canonical_kwargs, parse_env_kwargs
from ghp.hypernet.config import MAX_EPISODES
from ghp.io.progress import ProgressEvent, ProgressFn
from ghp.policy.weights import PolicyWeights
from ghp.rollout.backend import BACKENDS, Backend, SerialBackend, make_backend
from ghp.rollout.engine import (
    BATCH_ROWS,
    _is_vectorised,
    _Outcome,
    _rollout_chunk,
    _TaskSpec,
    _warm_worker,
)
from ghp.rollout.schedule import chunk_len, chunks, run_order
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


def env_kwargs_of(spec: EnvSpec, config: EvalConfig) -> dict[str, Any]:
    """The env kwargs an evaluation runs with: the run's, with ``config.env_kwargs`` on top."""
    return {**spec.env_kwargs, **(config.env_kwargs or {})}


CONFIRM_EPISODES: dict[str, int] = {"return": 300, "success": 1000}
"""Default episodes per confirmed architecture, by screening metric (docs/evaluate.md derives them): 300 returns give
a 95% interval about 0.23 standard deviations of a return wide (Pendulum: under 80, 5% of its -1600..0 range, for
every per-start spread up to the 334 of the committed runs); 1000 episodes give a Wilson interval narrower than
0.05 for any success rate of 0.8 or more (the picks of a task that works)."""


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
    pending, block = run_order(archs, index, config.pad_to, config.chunk_size, setting, store, _emit_block(source))
    n_total = len(index)
    n_done = n_total - len(pending)
    steps = 0
    out: list[ArchRecord] = []
    if progress is not None:
        progress(ProgressEvent(n_done, n_total, "archs", {"env_steps": 0}))

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
            progress(ProgressEvent(n_done, n_total, "archs", {"env_steps": steps}))

    task = _task_spec(spec, config)
    with _backend(config, bool(pending)) as backend:
        workers = backend.workers
        wide = max(1, BATCH_ROWS // task.episodes) if _is_vectorised(spec.env_id) else None
        size = chunk_len(len(pending), workers, config.chunk_size, wide)
        # The workers start (and make their environments) while the first chunk is emitted.
        backend.warm(_warm_worker, (task, size))
        # Units are keyed by (weights, indices), which stay here; workers get the task and the weights. Chunks are
        # emitted lazily, while the workers roll out the ones in flight (at most two per worker).
        units = (((w, idx), w) for w, idx in chunks(source.emit, pending, index, config.emit_batch, size, block))
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


def _emit_block(source: EvalSource) -> int | None:
    """The source's emission block (``Run.emit_block``), or None when it emits architectures one by one."""
    block = getattr(source, "emit_block", None)
    return block if isinstance(block, int) and block > 0 else None


def _task_spec(spec: EnvSpec, config: EvalConfig) -> _TaskSpec:
    """What every worker needs to roll out a chunk of this evaluation (the weights travel with each chunk)."""
    return _TaskSpec(
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


def _backend(config: EvalConfig, work: bool) -> Backend:
    if config.in_process or not work:  # nothing to do: no workers (nor a Ray instance) to start
        return SerialBackend()
    return make_backend(config.backend, config.workers, config.ray_address)


def _envs(config: EvalConfig) -> int:
    return max(1, math.ceil(config.envs_per_worker / config.rollouts)) * config.rollouts


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
