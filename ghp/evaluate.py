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
4. **Workers.** Chunks of architectures go to worker processes (all cores by default) while this process emits
   the next ones; each worker keeps its environments between chunks and runs BLAS on one thread (multi-threaded
   BLAS on a ``[5, 512] @ [512, 512]`` product was 25x slower on a busy 2-core machine). The caller writes each
   finished chunk to the results store.

Common random numbers: the reset seed of episode ``e`` derives from ``(seed, e)`` alone, so every architecture
faces the same ``episodes`` initial states and two architectures' returns differ by their policies, not by the
luck of their starts (with per-architecture starts, the top of a 4680-way ranking on Pendulum was dominated by easy
starting angles). An architecture's arithmetic depends only on itself (its shape class and the number of
episodes), so results do not depend on batching, chunking, worker count or interruptions.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ghp.arch import Arch, ArchSpace
from ghp.capacity import lossless_memory_dimension
from ghp.counting import deploy_bytes, deploy_params
from ghp.envs import EnvSpec, canonical_kwargs, make_env, vectorised
from ghp.policy import PolicyWeights, obs_vector
from ghp.results import ArchRecord, Setting

if TYPE_CHECKING:
    from ghp.results import ResultsStore


class EvalSource(Protocol):
    """What evaluation needs from a trained run (``ghp.run.Run`` is one)."""

    spec: EnvSpec
    space: ArchSpace
    run_id: str
    timesteps: int

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]: ...


@dataclass(frozen=True)
class EvalConfig:
    """How to evaluate a run (``ghp evaluate``'s options mirror these fields)."""

    episodes: int = 5
    """Episodes per architecture (the paper uses 5 rollouts)."""
    seed: int = 0
    """Evaluation seed; episode e of every architecture is reset with a seed derived from (seed, e) alone."""
    workers: int = 0
    """Worker processes that roll out (0 = one per CPU core); this process emits weights meanwhile."""
    in_process: bool = False
    """Roll out in this process instead (tests, debugging): same results, but BLAS threads are not limited to one,
    which on a busy machine makes the many small matmuls far slower."""
    envs_per_worker: int = 160
    """Environments a worker steps at once (rounded up to a multiple of ``episodes``)."""
    chunk_size: int = 64
    """Architectures per work unit; the results store commits once per finished chunk."""
    emit_batch: int = 512
    """Architectures per call to the hypernetwork (bounds the memory held by emitted weights)."""
    pad_to: int = 32
    """Hidden widths below this are zero-padded up to it, so small architectures share batched matmuls."""
    cache_bytes: int = 8 << 20
    """A worker starts more architectures only while the weights it steps stay under this many bytes (at least one
    group runs): five rows per matrix make each step stream every weight once, and a working set that fits the CPU's
    cache made 5 x 512 x 512 products about 30% faster than one that does not (12 MB vs 96 MB, 32 MB L3)."""
    max_episode_steps: int | None = None
    """Override of the environment's episode limit (None = the environment's own)."""
    env_kwargs: dict[str, Any] | None = None
    """Env kwargs on top of the run's own (``--env-kwargs``; e.g. ``nominal=true`` for a randomised-trained run)."""
    checkpoint: str = "latest"
    """Label of the evaluated model, stored with the results."""

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

    @property
    def n_workers(self) -> int:
        """Worker processes actually used."""
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


ProgressFn = Callable[[int, int, int], None]
"""``progress(archs_done, archs_total, env_steps)``, called after every finished chunk."""


def env_kwargs_of(spec: EnvSpec, config: EvalConfig) -> dict[str, Any]:
    """The env kwargs an evaluation runs with: the run's, with ``config.env_kwargs`` on top."""
    return {**spec.env_kwargs, **(config.env_kwargs or {})}


def eval_setting(timesteps: int, spec: EnvSpec, config: EvalConfig) -> Setting:
    """The results-store key of evaluating a model of ``timesteps`` steps with ``config``."""
    kwargs = canonical_kwargs(env_kwargs_of(spec, config))
    return Setting(timesteps, config.seed, config.episodes, config.max_episode_steps or 0, kwargs)


def reset_seed(seed: int, episode: int) -> int:
    """Reset seed of episode ``episode``, the same for every architecture (common random numbers)."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1, np.uint32)[0])


def parse_arch_selection(text: str, space: ArchSpace, seed: int = 0) -> list[Arch]:
    """``--archs``: ``all``, a count ``N`` (N architectures drawn without replacement, seeded), or a comma list.

    A list names architectures by their keys (``8-4-4-4,16-16``; a one-layer architecture is ``[64]`` or
    ``64-``); every one must be in the run's space.

    Raises:
        ValueError: malformed text, a count out of range, or an architecture outside the space.
    """
    from ghp.arch import parse_arch

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
    (Ctrl-C: ``KeyboardInterrupt``) loses only the chunks in flight.

    Returns:
        The summary and the records evaluated by this call (in the order they finished).

    Raises:
        ValueError: an architecture outside the run's space.
    """
    t0 = time.perf_counter()
    spec = source.spec
    setting = eval_setting(source.timesteps, spec, config)
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

    def finish(chunk_records: list[ArchRecord], chunk_steps: int) -> None:
        nonlocal n_done, steps
        if store is not None:
            store.add(chunk_records)
        out.extend(chunk_records)
        n_done += len(chunk_records)
        steps += chunk_steps
        if progress is not None:
            progress(n_done, n_total, steps)

    task = _TaskSpec(
        spec.env_id,
        config.episodes,
        config.seed,
        _envs(config),
        config.pad_to,
        config.max_episode_steps,
        config.cache_bytes,
        env_kwargs_of(spec, config),
    )
    chunks = _chunks(source, pending, index, config)
    if config.in_process:
        for weights, idx in chunks:
            outcomes = _rollout_chunk(task, weights)
            finish(_records(spec, weights, idx, outcomes, setting, config.checkpoint), _steps(outcomes))
    else:
        _run_pool(task, chunks, config, spec, setting, finish)
    summary = EvalSummary(
        requested=n_total,
        skipped=n_total - len(pending),
        evaluated=len(out),
        env_steps=steps,
        seconds=time.perf_counter() - t0,
        setting=setting,
    )
    return summary, out


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


@dataclass(frozen=True)
class _Outcome:
    returns: tuple[float, ...]
    lengths: tuple[int, ...]
    successes: tuple[bool, ...] | None


def _envs(config: EvalConfig) -> int:
    return max(1, math.ceil(config.envs_per_worker / config.episodes)) * config.episodes


def _chunks(
    source: EvalSource, pending: list[Arch], index: dict[Arch, int], config: EvalConfig
) -> Iterator[tuple[list[PolicyWeights], list[int]]]:
    """Emit weights ``emit_batch`` architectures at a time and cut them into chunks, lazily."""
    for i in range(0, len(pending), config.emit_batch):
        block = pending[i : i + config.emit_batch]
        weights = source.emit(block, batch_size=config.emit_batch)
        for j in range(0, len(block), config.chunk_size):
            yield weights[j : j + config.chunk_size], [index[a] for a in block[j : j + config.chunk_size]]


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


def _run_pool(
    task: _TaskSpec,
    chunks: Iterator[tuple[list[PolicyWeights], list[int]]],
    config: EvalConfig,
    spec: EnvSpec,
    setting: Setting,
    finish: Callable[[list[ArchRecord], int], None],
) -> None:
    """Hand chunks to worker processes, at most two per worker in flight, and finish them as they complete."""
    k = config.n_workers
    # One BLAS thread per worker: the workers already use every core.
    saved = {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({v: "1" for v in saved})
    try:
        pool = mp.get_context("spawn").Pool(k, initializer=_worker_init)
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old
    try:
        inflight: deque[tuple[Any, list[PolicyWeights], list[int]]] = deque()
        exhausted = False
        while inflight or not exhausted:
            while not exhausted and len(inflight) < 2 * k:
                try:
                    weights, idx = next(chunks)
                except StopIteration:
                    exhausted = True
                    break
                inflight.append((pool.apply_async(_rollout_chunk, (task, weights)), weights, idx))
            if not inflight:
                break
            # Finish whichever chunk is ready first; poll so Ctrl-C is seen promptly.
            ready = None
            while ready is None:
                ready = next((item for item in inflight if item[0].ready()), None)
                if ready is None:
                    inflight[0][0].wait(0.05)
            inflight.remove(ready)
            outcomes = ready[0].get()
            finish(_records(spec, ready[1], ready[2], outcomes, setting, config.checkpoint), _steps(outcomes))
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def _worker_init() -> None:
    # The parent handles Ctrl-C (it terminates the pool after committing what finished).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_ENV_CACHE: dict[tuple[str, int | None, str], list[Any]] = {}
_BATCH_CACHE: dict[tuple[str, str], tuple[int, Any]] = {}


def _get_envs(env_id: str, n: int, max_episode_steps: int | None, env_kwargs: dict[str, Any]) -> list[Any]:
    """This process's environments for ``env_id``, created once and reused across chunks."""
    envs = _ENV_CACHE.setdefault((env_id, max_episode_steps, canonical_kwargs(env_kwargs)), [])
    kwargs = dict(env_kwargs) if max_episode_steps is None else {**env_kwargs, "max_episode_steps": max_episode_steps}
    while len(envs) < n:
        envs.append(make_env(env_id, **kwargs))
    return envs


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
        h = self.obs
        last = len(self.layers) - 1
        for j, (wt, b) in enumerate(self.layers):
            h = np.matmul(h, wt)
            h += b
            if j < last:
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
                returns=tuple(self.returns[sl]),
                lengths=tuple(self.lengths[sl]),
                successes=tuple(self.success[sl]) if self.goal or self.reports_success else None,
            )
            free.extend(self.env_ids[sl])
        rows = [m * e + k for m in keep for k in range(e)]
        self.pos = [self.pos[m] for m in keep]
        if keep:
            sel = np.asarray(keep)
            self.layers = [(wt[sel], b[sel]) for wt, b in self.layers]
            self.obs = self.obs[sel]
        for name in ("last_obs", "returns", "lengths", "success", "done", "envs", "env_ids"):
            old = getattr(self, name)
            setattr(self, name, [old[r] for r in rows])


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
    by_class: dict[tuple[int, ...], list[int]] = {}
    for p, w in enumerate(weights):
        by_class.setdefault(shape_class(w.arch, pad_to), []).append(p)
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
    batch = _get_batch(task, n_rows)
    if batch is not None:
        return _rollout_chunk_batched(task, weights, batch, n_rows)
    envs = _get_envs(task.env_id, n_rows, task.max_episode_steps, task.env_kwargs)
    goal = isinstance(envs[0].observation_space, _dict_space())
    free = list(range(len(envs)))
    queue = deque(_groups(weights, task.pad_to, max_archs))
    active: list[_Group] = []
    results: dict[int, _Outcome] = {}
    while queue or active:
        # Start the next class group when it fits, or a part of it once half a full group's environments are free,
        # while the weights of what runs stay within the cache budget.
        while queue and len(free) >= e * min(len(queue[0]), max(1, max_archs // 2)):
            per_arch = _weight_bytes(weights[queue[0][0]], task.pad_to)
            room = (task.cache_bytes - sum(g.nbytes for g in active)) // per_arch
            if active and room < 1:
                break
            head = queue.popleft()
            n = min(len(head), len(free) // e, max(1, room))
            pos, rest = head[:n], head[n:]
            if rest:
                queue.appendleft(rest)
            grp = _Group([weights[p] for p in pos], pos, task.pad_to, e)
            grp.goal = goal
            rows = grp.obs.reshape(-1, grp.obs.shape[-1])
            for r in range(len(pos) * e):
                k = free.pop()
                obs, _ = envs[k].reset(seed=reset_seed(task.seed, r % e))
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


def _rollout_chunk_batched(task: _TaskSpec, weights: list[PolicyWeights], batch: Any, n_rows: int) -> list[_Outcome]:
    """:func:`_rollout_chunk` on a vectorised environment: rows are its copies, one ``step_batch`` per tick."""
    e = task.episodes
    max_archs = max(1, task.n_envs // e)
    n_all = int(batch.num_envs)
    free = list(range(n_rows))
    queue = deque(_groups(weights, task.pad_to, max_archs))
    active: list[_Group] = []
    results: dict[int, _Outcome] = {}
    acts: np.ndarray | None = None
    limit = task.max_episode_steps
    while queue or active:
        while queue and len(free) >= e * min(len(queue[0]), max(1, max_archs // 2)):
            per_arch = _weight_bytes(weights[queue[0][0]], task.pad_to)
            room = (task.cache_bytes - sum(g.nbytes for g in active)) // per_arch
            if active and room < 1:
                break
            head = queue.popleft()
            n = min(len(head), len(free) // e, max(1, room))
            pos, rest = head[:n], head[n:]
            if rest:
                queue.appendleft(rest)
            grp = _Group([weights[p] for p in pos], pos, task.pad_to, e)
            grp.reports_success = True
            rows = [free.pop() for _ in range(len(pos) * e)]
            obs = batch.reset_rows(rows, [reset_seed(task.seed, r % e) for r in range(len(rows))])
            grp.obs.reshape(-1, grp.obs.shape[-1])[:] = obs
            grp.last_obs = list(np.asarray(obs, np.float32))
            grp.env_ids = rows
            grp.envs = [None] * len(rows)
            active.append(grp)
        per_group = [g.actions() for g in active]
        if acts is None:
            acts = np.zeros((n_all, per_group[0].shape[-1]), np.float32)
        for g, a in zip(active, per_group, strict=True):
            acts[g.env_ids] = a
        obs, rew, term, trunc, succ = batch.step_batch(acts)
        for g in active:
            ids = np.asarray(g.env_ids)
            live = np.flatnonzero(~np.asarray(g.done))
            ended = False
            for r in live:
                k = ids[r]
                g.returns[r] += float(rew[k])
                g.lengths[r] += 1
                if term[k] or trunc[k] or (limit is not None and g.lengths[r] >= limit):
                    g.done[r] = ended = True
                    g.success[r] = bool(succ[k]) and not term[k]
            flat = g.obs.reshape(-1, g.obs.shape[-1])
            keep = live[~np.asarray(g.done)[live]]
            flat[keep] = obs[ids[keep]]
            if ended:
                g.retire(results, free)
        active = [g for g in active if g.pos]
    return [results[p] for p in range(len(weights))]


def _dict_space() -> type:
    from gymnasium import spaces

    return spaces.Dict
