"""Screening, then confirmation: which architectures a run's screening sends to held-out starts, and running that.

A screening measures every architecture on a few episodes (the paper: 5) and picks among hundreds of noisy means,
so the picked figure is biased upwards (the winner's curse). :func:`candidates` takes the top K architectures by
the screening metric plus every architecture ``ghp report`` would pick (max / 90% / 80%, under both metrics when
the screening has success rates, default floor); :func:`confirm_run` rolls them out again with the evaluation
engine (``ghp.rollout.evaluate.evaluate``) on many episodes from the confirmation family of starts, disjoint from every
screening start (``ghp.rollout.engine.reset_seed``). Rows are stored beside the screening's, kind ``confirm``; an
interrupted confirmation resumes like an evaluation (the candidates depend on the screening rows only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ghp.io.progress import ProgressFn
from ghp.rollout.evaluate import CONFIRM_EPISODES, EvalConfig, EvalSource, EvalSummary, evaluate
from ghp.run.records import ArchRecord, Setting
from ghp.run.results import ResultsStore
from ghp.space.arch import Arch
from search.analysis import select, success_view


@dataclass(frozen=True)
class ConfirmPlan:
    """What a confirmation rolls out: the screening it confirms, its candidates and the resolved config."""

    screening: Setting
    """The screening setting the candidates were taken from."""
    metric: str
    """Screening metric of the top K: ``return`` or ``success``."""
    top: tuple[Arch, ...]
    """The top K by ``metric`` (best first)."""
    picks: tuple[Arch, ...]
    """The architectures ``ghp report`` picks (max / 90% / 80%) that are not already in ``top``."""
    config: EvalConfig
    """The confirmation's config, its episodes resolved."""

    @property
    def archs(self) -> list[Arch]:
        """Every candidate, top K first."""
        return [*self.top, *self.picks]


def screening_metric(records: Sequence[ArchRecord], by: str = "auto") -> str:
    """``return`` or ``success``: ``by``, or for ``auto`` success when every screened record has a success rate.

    Raises:
        ValueError: ``by`` is ``success`` but the screening has no success rates.
    """
    has_success = bool(records) and all(r.success_rate is not None for r in records)
    if by == "success" and not has_success:
        raise ValueError("--confirm-by success needs success rates: this run's episodes do not report is_success")
    if by == "auto":
        return "success" if has_success else "return"
    return by


def candidates(records: Sequence[ArchRecord], k: int, metric: str = "return") -> tuple[list[Arch], list[Arch]]:
    """The top ``k`` screened architectures by ``metric`` and the report's picks not among them.

    Top: by mean return (ties fewer parameters), or by success rate (ties mean return, then fewer parameters).
    Picks: max / 90% / 80% of ``search.analysis.select`` with the default floor, by return and, when the records
    have success rates, by success rate too (so the picks of ``ghp report`` under either ``--metric`` are confirmed).

    Raises:
        ValueError: no records or ``k`` < 1.
    """
    if not records:
        raise ValueError("nothing screened yet: run 'ghp evaluate RUN' before 'ghp evaluate RUN --confirm K'")
    if k < 1:
        raise ValueError(f"--confirm wants a number of candidates >= 1, got {k}")

    def key(r: ArchRecord) -> tuple[Any, ...]:
        lead = (-(r.success_rate or 0.0),) if metric == "success" else ()
        return (*lead, -r.mean_return, r.params, r.arch.depth, r.arch.hidden)

    top = [r.arch for r in sorted(records, key=key)[:k]]
    return top, [a for a in report_picks(records) if a not in top]


def report_picks(records: Sequence[ArchRecord]) -> list[Arch]:
    """The max / 90% / 80% picks of ``ghp report`` (default floor), by return and, with success rates, by success."""
    views: list[Sequence[Any]] = [records]
    if all(r.success_rate is not None for r in records):
        views.append(success_view(records))
    picks: list[Arch] = []
    for view in views:
        for row in select(view).rows:
            if row.arch not in picks:
                picks.append(row.arch)
    return picks


def plan(records: Sequence[ArchRecord], config: EvalConfig) -> ConfirmPlan:
    """The candidates of ``config.confirm`` from a screening's ``records``, and the config with its episodes.

    Raises:
        ValueError: no records, ``config.confirm`` < 1, or ``--confirm-by success`` without success rates.
    """
    metric = screening_metric(records, config.confirm_by)
    top, picks = candidates(records, config.confirm, metric)
    if config.confirm_max_params is not None:
        # The top K under the budget instead; the report's picks (of the whole screening) are confirmed as ever.
        fits = [r for r in records if r.params <= config.confirm_max_params]
        if not fits:
            raise ValueError(f"no screened architecture has at most {config.confirm_max_params} parameters")
        top, _ = candidates(fits, config.confirm, metric)
        picks = [a for a in report_picks(records) if a not in top]
    episodes = config.confirm_episodes if config.confirm_episodes is not None else CONFIRM_EPISODES[metric]
    resolved = dataclasses.replace(config, confirm_episodes=episodes)
    return ConfirmPlan(records[0].setting, metric, tuple(top), tuple(picks), resolved)


def screening_records(store: ResultsStore, model: Setting) -> list[ArchRecord]:
    """The screening of the model ``model`` describes (checkpoint, limit, padding, env kwargs) with the most
    architectures (ties: the most episodes, then the most recent); empty when there is none.
    """
    # settings() lists one checkpoint's settings by architectures, then episodes, then recency, most first.
    found = [s for s, _ in store.settings("screen") if s.same_model(model)]
    return store.records(found[0]) if found else []


def plan_for(source: EvalSource, config: EvalConfig, store: ResultsStore) -> ConfirmPlan:
    """The confirmation plan of ``source``'s model from its screening in ``store``.

    The screening read is the one of the same checkpoint, episode limit, padding and env kwargs as ``config`` with
    the most architectures (any seed and episode count).

    Raises:
        ValueError: nothing screened for this model, or an invalid plan (see :func:`plan`).
    """
    model = config.setting(source.timesteps, source.spec.env_kwargs)
    records = screening_records(store, model)
    if not records:
        raise ValueError(
            f"no screening of this model ({model.describe()}) in {store.path}: run 'ghp evaluate' with the same "
            "--checkpoint, --max-episode-steps and --env-kwargs first"
        )
    return plan(records, config)


def confirm_run(
    source: EvalSource, config: EvalConfig, store: ResultsStore, progress: ProgressFn | None = None
) -> tuple[ConfirmPlan, EvalSummary]:
    """Confirm the screening of ``source``'s model in ``store``: :func:`plan_for`, then the evaluation engine.

    Raises:
        ValueError: see :func:`plan_for`.
    """
    p = plan_for(source, config, store)
    summary, _ = evaluate(source, p.archs, p.config, store, progress)
    return p, summary
