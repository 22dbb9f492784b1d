"""The worker side of evaluation: a chunk of architectures rolled out on cached environments, the policies of one
shape class batched into one matrix product per step."""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghp.envs import canonical_kwargs, make_env, vectorised
from ghp.policy.stack import PolicyStack
from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.run.results import KINDS
from ghp.space.arch import Arch


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


def shape_class(arch: Arch, pad_to: int) -> tuple[int, ...]:
    """Hidden widths after padding every width below ``pad_to`` up to it: architectures of a class share matmuls."""
    return tuple(max(w, pad_to) for w in arch.hidden)


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


_ENV_CACHE: dict[tuple[str, int | None, str], list[Any]] = {}
_BATCH_CACHE: dict[tuple[str, int | None, str], tuple[int, Any]] = {}


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


def _batch_rows(task: _TaskSpec, n_archs: int, batch: Any = None) -> int:
    """Rows of a vectorised environment for ``n_archs`` architectures: whole architectures, up to ``BATCH_ROWS``, or
    up to ``n_envs`` when each row of ``batch`` is an environment of its own (``rows_are_envs``: Hopper's)."""
    e = task.episodes
    most = task.n_envs if getattr(batch, "rows_are_envs", False) else BATCH_ROWS // e * e
    return min(max(task.n_envs, most, e), n_archs * e)


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
    batch = _get_batch(task, _batch_rows(task, n_archs))
    if batch is None:
        _get_envs(task.env_id, min(task.n_envs, n_archs * task.episodes), task.max_episode_steps, task.env_kwargs)
    elif callable(getattr(batch, "prepare", None)):  # a batched form whose rows are environments: make them now
        batch.prepare(_batch_rows(task, n_archs, batch))


def _get_batch(task: _TaskSpec, n: int) -> Any | None:
    """This process's vectorised environment of at least ``n`` copies (``ghp.envs.vectorised``), or None."""
    key = (task.env_id, task.max_episode_steps, canonical_kwargs(task.env_kwargs))
    held = _BATCH_CACHE.get(key)
    if held is not None and held[0] >= n:
        return held[1]
    # Made from an environment with the evaluation's episode limit: a batched form that truncates by its wrappers'
    # limit (Pendulum's) then ends episodes where the single environments would.
    batch = vectorised(_get_envs(task.env_id, 1, task.max_episode_steps, task.env_kwargs)[0], n)
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
        self.policies = PolicyStack.of(weights, shape_class(weights[0].arch, pad_to))
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
        return self.policies.nbytes

    def actions(self) -> np.ndarray:
        """Deterministic actions for every row (``PolicyStack.actions`` on the padded weights)."""
        return self.policies.actions(self.obs)

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
            self.policies = self.policies.select(sel)
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
        return _rollout_chunk_batched(task, weights, batch, _batch_rows(task, len(weights), batch))
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

    The bookkeeping is numpy over all rows at once (:class:`_Rows`: a Python loop over the rows cost as much as the
    physics of a few hundred drones, and numpy over each group's rows, a dozen calls per group and step, a sixth of a
    Pendulum evaluation of small groups); returns add the same float64 rewards in the same order, so the figures are
    the same bits. A group hears only of its observations, and of its rows' outcomes when one of its episodes ended.
    """
    e = task.episodes
    max_archs = max(1, n_rows // e)
    book = _Rows(int(batch.num_envs))
    free = list(range(n_rows))
    queue = deque(_groups(weights, task.pad_to, max_archs))
    active: list[_Group] = []
    results: dict[int, _Outcome] = {}
    while queue or active:
        while (pos := _next_group(queue, free, active, weights, task, max_archs)) is not None:
            grp = _Group([weights[p] for p in pos], pos, task.pad_to, e)
            # Success rates are recorded when the batched form has them (the Crazyflie tasks; not Pendulum, Hopper).
            grp.reports_success = getattr(batch, "reports_success", True)
            rows = np.asarray([free.pop() for _ in range(len(pos) * e)], dtype=np.intp)
            seeds = [reset_seed(task.seed, r % e, task.kind) for r in range(len(rows))]
            book.start(grp, rows, batch.reset_rows(rows, seeds))
            active.append(grp)
        obs, rew, term, trunc, succ = batch.step_batch(book.actions(active))
        over = book.record(obs, rew, term, trunc, succ, task.max_episode_steps)
        book.observe(active)
        if over.size:
            book.retire(over, results, free)
        active = [g for g in active if g.pos]
    return [results[p] for p in range(len(weights))]


class _Rows:
    """The vectorised path's bookkeeping, numpy over every row of the batch at once: per row its return, length,
    success, whether it is done (rows that hold no running episode are), its last observation (a finished row keeps
    its own) and the group that owns it."""

    def __init__(self, n_all: int) -> None:
        self.n_all = n_all
        self.returns, self.lengths = np.zeros(n_all, np.float64), np.zeros(n_all, np.int64)
        self.success, self.done = np.zeros(n_all, bool), np.ones(n_all, bool)
        self.owner = np.full(n_all, -1, np.intp)  # row -> serial number of its group
        self.by_serial: dict[int, _Group] = {}
        self.serials = itertools.count()
        self.last: np.ndarray | None = None  # sized by the first group's observations
        self.acts: np.ndarray | None = None  # sized by the first group's actions

    def start(self, grp: _Group, rows: np.ndarray, obs: np.ndarray) -> None:
        """Give ``rows``, just reset to ``obs``, to ``grp``."""
        grp.obs.reshape(-1, grp.obs.shape[-1])[:] = obs
        if self.last is None:
            self.last = np.zeros((self.n_all, grp.obs.shape[-1]), np.float32)
        self.last[rows] = obs
        grp.env_ids = rows  # type: ignore[assignment]
        self.returns[rows], self.lengths[rows], self.success[rows], self.done[rows] = 0.0, 0, False, False
        serial = next(self.serials)
        self.owner[rows] = serial
        self.by_serial[serial] = grp
        grp.last_obs, grp.envs = [], []

    def actions(self, active: list[_Group]) -> np.ndarray:
        """Every row's action: each running group's on its rows; other rows keep whatever they held (ignored)."""
        per_group = [g.actions() for g in active]
        if self.acts is None:
            self.acts = np.zeros((self.n_all, per_group[0].shape[-1]), np.float32)
        for g, a in zip(active, per_group, strict=True):
            self.acts[g.env_ids] = a
        return self.acts

    def record(self, obs: np.ndarray, rew: Any, term: Any, trunc: Any, succ: Any, limit: int | None) -> np.ndarray:
        """One ``step_batch``'s outcome added to the running rows; returns the rows whose episode ended."""
        assert self.last is not None
        done, lengths = self.done, self.lengths
        live = np.flatnonzero(~done)
        self.returns[live] += np.asarray(rew[live], np.float64)
        lengths[live] += 1
        end = term[live] | trunc[live]
        if limit is not None:
            end |= lengths[live] >= limit
        over = live[end]
        done[over] = True
        self.success[over] = succ[over] & ~term[over]
        going = live[~end]
        self.last[going] = obs[going]
        return over

    def observe(self, active: list[_Group]) -> None:
        """Give each running group its rows' last observations (what its policies act on next)."""
        assert self.last is not None
        for g in active:
            g.obs.reshape(-1, g.obs.shape[-1])[:] = self.last[g.env_ids]

    def retire(self, over: np.ndarray, results: dict[int, _Outcome], free: list[int]) -> None:
        """Tell the groups that own the rows ``over`` their rows' outcomes and retire their finished members."""
        done, returns, lengths, success = self.done, self.returns, self.lengths, self.success
        for serial in np.unique(self.owner[over]).tolist():
            g = self.by_serial[serial]
            ids = np.asarray(g.env_ids)
            g.done, g.returns, g.lengths, g.success = done[ids], returns[ids], lengths[ids], success[ids]  # type: ignore[assignment]
            g.retire(results, free)
            if not g.pos:
                del self.by_serial[serial]


def _dict_space() -> type:
    from gymnasium import spaces

    return spaces.Dict
