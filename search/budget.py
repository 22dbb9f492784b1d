"""Rank the architectures of a space that fit a parameter or byte budget (paper, Section III-D).

Without a trained run, the ranking is by the lossless memory dimension (Equation 5): the paper shows that, under a
parameter cutoff, the capacity-maximising architecture does better than the naive choice of the largest one. Both
are reported: every candidate carries a ``largest`` flag for the naive baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ghp.space.arch import Arch, ArchSpace
from ghp.space.capacity import lossless_memory_dimension
from ghp.space.counting import DTYPES, deploy_bytes, deploy_params

if TYPE_CHECKING:
    from ghp.run.records import ArchRecord, SettingFilter


@dataclass(frozen=True)
class Budget:
    """A memory budget for the deployable policy; at least one of the two limits is set."""

    max_params: int | None = None
    """Largest allowed parameter count (weights + biases of the action-mean MLP)."""
    max_bytes: int | None = None
    """Largest allowed parameter storage in bytes, at ``dtype``."""
    dtype: str = "float32"
    """Storage type the byte budget and the reported bytes refer to: float32 or int8."""

    def __post_init__(self) -> None:
        if self.max_params is None and self.max_bytes is None:
            raise ValueError("give a budget: --max-params N or --max-bytes B")
        for name, v in (("max-params", self.max_params), ("max-bytes", self.max_bytes)):
            if v is not None and v < 1:
                raise ValueError(f"--{name} must be a positive integer, got {v}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}: choose one of {', '.join(DTYPES)}")

    def admits(self, params: int, nbytes: int) -> bool:
        """True if a policy with these counts fits."""
        return (self.max_params is None or params <= self.max_params) and (
            self.max_bytes is None or nbytes <= self.max_bytes
        )

    def describe(self) -> str:
        """Human-readable form, e.g. ``<= 500 params``."""
        parts = []
        if self.max_params is not None:
            parts.append(f"<= {self.max_params} params")
        if self.max_bytes is not None:
            parts.append(f"<= {self.max_bytes} bytes ({self.dtype})")
        return ", ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """One architecture that fits the budget, with its counts and, for a trained run, its measured results."""

    arch: Arch
    params: int
    bytes: int
    capacity: int
    largest: bool = False
    """True for the largest architecture under the budget: the paper's naive baseline."""
    mean_return: float | None = None
    """Mean evaluation return; None when not evaluated (or no run)."""
    std_return: float | None = None
    success_rate: float | None = None
    """Goal tasks only."""
    checkpoint_step: int | None = None
    """Environment steps of the checkpoint the measurement comes from (None: not evaluated)."""
    figure: str | None = None
    """Which measurement: ``confirmed`` (held-out starts, ``ghp evaluate --confirm``) or ``screening``; None: not
    evaluated."""
    episodes: int | None = None
    """Episodes of that measurement."""

    @property
    def checkpoint(self) -> str | None:
        """Name of that checkpoint (``step_<N>``), what ``load_run`` and ``--checkpoint`` take."""
        return None if self.checkpoint_step is None else f"step_{self.checkpoint_step}"

    def to_dict(self, measured: bool = False) -> dict[str, Any]:
        """JSON-friendly form; ``arch`` is a list of hidden widths; ``measured`` adds the evaluation fields."""
        d: dict[str, Any] = {
            "arch": self.arch.to_list(),
            "key": self.arch.key,
            "params": self.params,
            "bytes": self.bytes,
            "capacity": self.capacity,
        }
        if measured:
            d |= {"mean_return": self.mean_return, "std_return": self.std_return, "success_rate": self.success_rate}
            d["checkpoint_step"] = self.checkpoint_step
            d |= {"figure": self.figure, "episodes": self.episodes}
        return d | {"largest": self.largest}


RANK_BY: tuple[str, ...] = ("auto", "return", "success", "capacity", "size")
"""Orders :func:`rank_run` knows."""


@dataclass(frozen=True)
class Ranking(Sequence[Candidate]):
    """Ranked candidates (a sequence, best first) and how they were ranked."""

    candidates: tuple[Candidate, ...]
    order: str
    """The order used: ``return``, ``capacity`` or ``size`` (never ``auto``)."""
    budget: Budget
    space_size: int
    """Architectures in the space the candidates come from."""
    measured: bool = False
    """True when the candidates come from a trained run (they carry the evaluation fields)."""

    def __len__(self) -> int:
        return len(self.candidates)

    @overload
    def __getitem__(self, i: int) -> Candidate: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Candidate]: ...
    def __getitem__(self, i: int | slice) -> Candidate | Sequence[Candidate]:
        return self.candidates[i]

    @property
    def n_evaluated(self) -> int:
        """Candidates with a measured return."""
        return sum(c.mean_return is not None for c in self.candidates)

    @property
    def largest_rank(self) -> int:
        """0-based rank of the largest architecture under the budget."""
        return next(i for i, c in enumerate(self.candidates) if c.largest)

    def to_dicts(self, top: int = 0) -> list[dict[str, Any]]:
        """The first ``top`` rows (0: all) as JSON objects with their 1-based ``rank``."""
        shown = self.candidates if top == 0 else self.candidates[:top]
        return [{"rank": i + 1, **c.to_dict(self.measured)} for i, c in enumerate(shown)]


def candidates(
    space: ArchSpace, obs_dim: int, act_dim: int, budget: Budget, counts: tuple[int, int] | None = None
) -> list[Candidate]:
    """Every architecture of ``space`` under ``budget``, in enumeration order, the largest one flagged.

    ``counts``: ``(params, bytes)`` that replace the dense rule for every architecture (a run storing one policy
    counted its own way, e.g. a chromatic network's distinct weights + biases).

    Raises:
        ValueError: if the sizes are not positive or nothing fits (the message gives the smallest size).
    """
    if obs_dim < 1 or act_dim < 1:
        raise ValueError(f"observation and action sizes must be positive, got {obs_dim} and {act_dim}")
    fits: list[Candidate] = []
    smallest: tuple[int, int] | None = None
    for a in space:
        p = deploy_params(a, obs_dim, act_dim) if counts is None else counts[0]
        b = deploy_bytes(a, obs_dim, act_dim, budget.dtype) if counts is None else counts[1]
        smallest = (p, b) if smallest is None or p < smallest[0] else smallest
        if budget.admits(p, b):
            fits.append(Candidate(a, p, b, lossless_memory_dimension(a, obs_dim, act_dim)))
    if not fits:
        assert smallest is not None
        raise ValueError(
            f"no architecture fits {budget.describe()}: the smallest in the space needs {smallest[0]} params "
            f"({smallest[1]} bytes at {budget.dtype})"
        )
    # The naive choice: most storage under the budget, ties by capacity.
    big = max(fits, key=lambda c: (_size(budget, c), c.capacity, c.arch.hidden))
    return [replace(c, largest=c is big) for c in fits]


def _size(budget: Budget, c: Candidate) -> int:
    """What "largest" means under ``budget``: bytes for a byte-only budget, parameters otherwise."""
    return c.bytes if budget.max_params is None else c.params


def _capacity_key(c: Candidate) -> tuple[Any, ...]:
    """Highest lossless memory dimension first; ties: fewer parameters, then the canonical key."""
    return (-c.capacity, c.params, c.arch.depth, c.arch.hidden)


def rank_by_capacity(cands: list[Candidate]) -> list[Candidate]:
    """Highest lossless memory dimension first; ties: fewer parameters, then the canonical key."""
    return sorted(cands, key=_capacity_key)


def rank_space(space: ArchSpace, obs_dim: int, act_dim: int, budget: Budget) -> Ranking:
    """Every architecture of ``space`` under ``budget``, ranked by capacity (no trained run needed).

    Raises:
        ValueError: sizes not positive, or nothing fits.
    """
    cands = rank_by_capacity(candidates(space, obs_dim, act_dim, budget))
    return Ranking(tuple(cands), "capacity", budget, len(space))


def rank_run(
    run_dir: str | Path,
    budget: Budget,
    by: str = "auto",
    checkpoint: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> Ranking:
    """Rank the architectures of a trained run that fit ``budget`` (paper, Section III-D).

    ``checkpoint``: whose measurements to use: None (the latest evaluated checkpoint), ``best`` (each
    architecture's best evaluated checkpoint: ``Candidate.checkpoint`` says which), or a name (``step_20000``).
    ``env_kwargs``: use only the evaluations made with these env kwargs (on top of the run's own, as
    ``ghp evaluate --env-kwargs``).

    Measurements: an architecture's confirmed figure (``ghp evaluate --confirm``: held-out starts) where it has
    one, else its screening figure (``Candidate.figure`` says which). With ``return`` and ``success``, confirmed
    candidates come first: a screening figure is flattered by the selection that a confirmed one has survived.

    Orders: ``return`` (measured mean return, best first; ties fewer parameters; unevaluated candidates follow,
    by capacity), ``success`` (measured success rate, best first; ties the mean return, then fewer parameters; for
    runs whose episodes report ``is_success``: goal tasks, the Crazyflie), ``capacity`` (lossless memory
    dimension), ``size`` (largest first: the naive choice), ``auto``
    (``return`` when the run's results hold any candidate, else ``capacity``).

    Raises:
        ValueError: unknown order, nothing fits, ``by="return"`` without results, ``by="success"`` without success
            rates, or a results file that is not this run's.
    """
    from ghp.run.layout import run_facts
    from ghp.run.records import setting_filter

    if by not in RANK_BY:
        raise ValueError(f"unknown order {by!r}: choose one of {', '.join(RANK_BY)}")
    from ghp.run.load import stored_counts

    run_id, spec, space = run_facts(run_dir)
    cands = candidates(space, spec.obs_dim, spec.act_dim, budget, stored_counts(run_dir))
    where = setting_filter(spec.env_kwargs, None, env_kwargs)
    recs = _prefer_confirmed(run_dir, run_id, _checkpoint_records(run_dir, run_id, where, checkpoint, by))
    ranked = [_with_measurement(c, recs.get(c.arch.key)) for c in cands]
    measured = any(r.mean_return is not None for r in ranked)
    if by == "auto":
        by = "return" if measured else "capacity"
    if by == "return" and not measured:
        raise ValueError(
            f"no evaluated architecture fits {budget.describe()}: run 'ghp evaluate {run_dir}' or use --by capacity"
        )

    if by == "success" and not any(r.success_rate is not None for r in ranked):
        raise ValueError(
            f"--by success needs success rates: no evaluated architecture of {run_dir} under {budget.describe()} "
            "has one (only tasks whose episodes report is_success record them); use --by return"
        )
    ranked.sort(key=_order_key(by, budget))
    return Ranking(tuple(ranked), by, budget, len(space), measured=True)


def _checkpoint_records(
    run_dir: str | Path, run_id: str, where: SettingFilter, checkpoint: str | None, by: str
) -> dict[str, ArchRecord]:
    """The run's screening records by key for ``checkpoint`` (see :func:`rank_run`); ``best`` picks each
    architecture's best checkpoint by success rate when ranking ``by="success"``, else by mean return."""
    from ghp.run.records import best_over_checkpoints, checkpoint_step, records_by_key
    from ghp.run.results import read_progress, read_records

    if checkpoint is None:
        return records_by_key(read_records(run_dir, run_id, where=where))
    by_step = read_progress(run_dir, run_id, env_kwargs=where.env_kwargs, prefer_env_kwargs=where.prefer_env_kwargs)
    if checkpoint == "best":
        return best_over_checkpoints(by_step, metric="success" if by == "success" else "return")
    step = checkpoint_step(checkpoint)
    if step is None or step not in by_step:
        done = ", ".join(f"step_{s}" for s in by_step) or "none"
        raise ValueError(f"checkpoint {checkpoint!r} of {run_dir} was not evaluated; evaluated: {done}")
    return records_by_key(by_step[step])


def _with_measurement(c: Candidate, r: ArchRecord | None) -> Candidate:
    """``c`` with the figures of its record ``r`` (confirmed or screening), or ``c`` itself when it has none."""
    if r is None:
        return c
    return replace(
        c,
        mean_return=r.mean_return,
        std_return=r.std_return,
        success_rate=r.success_rate,
        checkpoint_step=r.setting.checkpoint_step,
        figure="confirmed" if r.setting.kind == "confirm" else "screening",
        episodes=r.setting.episodes,
    )


def _return_key(r: Candidate) -> tuple[Any, ...]:
    """``--by return``: confirmed first, best mean return, then fewer parameters; unevaluated ones by capacity."""
    if r.mean_return is None:
        return (2, *_capacity_key(r))
    return (r.figure != "confirmed", -r.mean_return, r.params, r.arch.depth, r.arch.hidden)


def _success_key(r: Candidate) -> tuple[Any, ...]:
    """``--by success``: confirmed first, best success rate, then mean return and fewer parameters."""
    if r.success_rate is None or r.mean_return is None:
        return (2, *_capacity_key(r))
    return (r.figure != "confirmed", -r.success_rate, -r.mean_return, r.params, r.arch.depth, r.arch.hidden)


def _order_key(by: str, budget: Budget) -> Callable[[Candidate], tuple[Any, ...]]:
    """The sort key of an order (``return``, ``success``, ``capacity`` or ``size``): the first ranks first."""
    if by == "return":
        return _return_key
    if by == "success":
        return _success_key
    if by == "capacity":
        return _capacity_key
    return lambda r: (-_size(budget, r), -r.capacity, r.arch.depth, r.arch.hidden)


def _prefer_confirmed(run_dir: str | Path, run_id: str, recs: dict[str, Any]) -> dict[str, Any]:
    """``recs`` (screening records by key) with each confirmed architecture's confirmation in its place: the
    confirmation of the same model (checkpoint, episode limit, padding, env kwargs) as its screening record."""
    from ghp.run.results import read_confirmed

    out = dict(recs)
    by_setting: dict[Any, dict[str, Any]] = {}
    for key, r in recs.items():
        if r.setting not in by_setting:
            by_setting[r.setting] = read_confirmed(run_dir, run_id, r.setting)
        if key in by_setting[r.setting]:
            out[key] = by_setting[r.setting][key]
    return out


@dataclass(frozen=True)
class TunedPolicy:
    """A tuned (or compressed) policy saved under ``RUN/tuned/``: listed beside a run's ranking, never inside it."""

    name: str
    path: str
    arch: Arch
    params: int
    bytes: int
    """Parameter bytes: the codebook storage for codebook policies, else at the budget's dtype."""
    storage: str
    """``codebook M=...`` or the budget's dtype."""
    method: str
    return_before: float | None
    """The emitted policy's return on the ES evaluation starts (provenance)."""
    return_after: float | None
    """The tuned policy's return on the same starts (provenance)."""
    mean_return: float | None
    """Measured by ``ghp evaluate RUN --policy FILE`` (its default setting), None before that."""
    std_return: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``tuned: true`` marks it in ``ghp search --run --json``)."""
        return {
            "tuned": True,
            "name": self.name,
            "path": self.path,
            "arch": self.arch.to_list(),
            "key": self.arch.key,
            "params": self.params,
            "bytes": self.bytes,
            "storage": self.storage,
            "method": self.method,
            "return_before": self.return_before,
            "return_after": self.return_after,
            "mean_return": self.mean_return,
            "std_return": self.std_return,
        }


def tuned_policies(run_dir: str | Path, budget: Budget) -> list[TunedPolicy]:
    """The run's tuned policies that fit ``budget``: evaluated ones by measured return first, then by name."""
    from ghp.policy.file import list_tuned, results_file
    from ghp.run.layout import run_facts
    from ghp.run.results import ResultsStore

    run_id, spec, _ = run_facts(run_dir)
    out = []
    for pf in list_tuned(run_dir):
        w = pf.weights
        if w.obs_dim != spec.obs_dim or w.act_dim != spec.act_dim:
            continue
        params = deploy_params(w.arch, w.obs_dim, w.act_dim)
        if pf.codebook is not None:
            nbytes, storage = pf.codebook.n_bytes, f"codebook M={pf.codebook.m}"
        else:
            nbytes, storage = deploy_bytes(w.arch, w.obs_dim, w.act_dim, budget.dtype), budget.dtype
        if not budget.admits(params, nbytes):
            continue
        mean = std = None
        rf = results_file(pf.path)
        if rf.is_file():
            try:
                with ResultsStore.open(rf, run_id, create=False, readonly=True) as store:
                    recs = store.records()
                if recs:
                    mean, std = recs[0].mean_return, recs[0].std_return
            except ValueError:
                pass  # a results file of another run or schema: shown as not evaluated
        prov = pf.provenance

        def num(key: str, prov: dict[str, Any] = prov) -> float | None:
            v = prov.get(key)
            return float(v) if isinstance(v, int | float) else None

        out.append(
            TunedPolicy(
                pf.name, str(pf.path), w.arch, params, nbytes, storage, str(prov.get("method", "unknown")),
                num("return_before"), num("return_after"), mean, std,
            )
        )  # fmt: skip
    out.sort(key=lambda t: (t.mean_return is None, -(t.mean_return or 0.0), t.name))
    return out


@dataclass(frozen=True)
class SearchResult:
    """``ghp search``: a ranking under a budget, where it comes from, and the run's tuned policies that fit."""

    ranking: Ranking
    where: str
    """What was ranked: ``of RUN (ENV)`` or ``(obs N, act M)``."""
    tuned: tuple[TunedPolicy, ...] = ()
    """The run's tuned policies (``RUN/tuned/``) under the budget: shown apart, never ranked."""
    run: str | None = None
    """The run ranked, if any."""

    def to_dicts(self, top: int = 0) -> list[dict[str, Any]]:
        """The first ``top`` candidates (0: all), then the tuned policies marked ``"tuned": true`` with no rank."""
        return self.ranking.to_dicts(top) + [{"rank": None, **t.to_dict()} for t in self.tuned]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: what was ranked, under which budget, and every row."""
        return {"where": self.where, "budget": self.ranking.budget.describe(), "rows": self.to_dicts()}


def search_architectures(
    budget: Budget,
    run_dir: str | Path | None = None,
    by: str = "auto",
    checkpoint: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    env_id: str | None = None,
    obs_dim: int | None = None,
    act_dim: int | None = None,
    space: ArchSpace | None = None,
) -> SearchResult:
    """Rank under ``budget`` the architectures of a trained run (:func:`rank_run`, with its tuned policies) or, without
    one, of ``space`` for an environment's sizes or given ``obs_dim`` / ``act_dim`` (:func:`rank_space`).

    Raises:
        ValueError / FileNotFoundError: neither a run nor sizes, run-only options without a run, no such run.
    """
    if run_dir is not None:
        from ghp.run.layout import run_facts

        _, spec, _ = run_facts(run_dir)
        ranking = rank_run(run_dir, budget, by=by, checkpoint=checkpoint, env_kwargs=env_kwargs)
        tuned = tuple(tuned_policies(run_dir, budget))
        return SearchResult(ranking, f"of {run_dir} ({spec.env_id})", tuned, str(run_dir))
    if checkpoint is not None or env_kwargs:
        raise ValueError("--checkpoint and --env-kwargs go with --run")
    if env_id is not None:
        from ghp.envs import env_spec

        env = env_spec(env_id)
        obs_dim, act_dim = env.obs_dim, env.act_dim
    elif obs_dim is None or act_dim is None:
        raise ValueError("give --env ENV, or both --obs-dim and --act-dim, or --run RUN")
    ranking = rank_space(space if space is not None else ArchSpace(), obs_dim, act_dim, budget)
    return SearchResult(ranking, f"(obs {obs_dim}, act {act_dim})")
