"""``ghp report``'s library side: one evaluated run's selection table, Table II, baseline and plots, as a value.

The picks are made on the screening (every architecture, few episodes); where ``ghp evaluate --confirm`` has
measured a pick again on held-out starts, the report shows that confirmed figure, beside the screening one and the
gap, each with a 95% interval (``ghp.run.stats``). Table II and the plots use the screening (they need every
architecture).

:func:`build_report` gathers everything the command shows; the CLI only renders it (tables or ``to_dict()`` as
JSON). The metric is the mean return or, for goal tasks, the success rate (the paper reports Fetch as success).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec
from ghp.run.records import ArchRecord, Setting
from ghp.run.stats import Estimate, mean_interval, wilson_interval
from search.analysis import Evaluated, SelectionTable, TableII, select, success_view, table_ii

METRICS: tuple[str, ...] = ("return", "success")
"""What the selection, Table II and the plots score: mean return, or success rate (goal tasks)."""


@dataclass(frozen=True)
class ReportConfig:
    """What a report is computed from (the options of ``ghp report``)."""

    metric: str = "return"
    """``return`` (mean return) or ``success`` (success rate, goal-conditioned tasks)."""
    cutoffs: int = 5000
    """Table II: random parameter cutoffs."""
    low: float = 1000.0
    """Table II: lower end of the uniform cutoff distribution."""
    high: float = 1_000_000.0
    """Table II: upper end of the uniform cutoff distribution."""
    floor: float | None = None
    """Value that counts as 0% (None: 0 if every value is >= 0, else the worst architecture's)."""
    seed: int = 0
    """Seed of the cutoffs."""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}: choose one of {', '.join(METRICS)}")


@dataclass(frozen=True)
class Report:
    """Everything ``ghp report`` shows for one evaluated run."""

    run: str
    spec: EnvSpec
    space_size: int
    config: ReportConfig
    records: tuple[ArchRecord, ...] = field(repr=False)
    scored: tuple[Evaluated, ...] = field(repr=False)
    """The records with the chosen metric as their ``mean_return``."""
    selection: SelectionTable
    table_ii: TableII
    baseline: ArchRecord | None
    """The baseline run's best evaluated architecture."""
    plots: tuple[Path, ...] = ()
    confirmed: dict[str, ArchRecord] = field(default_factory=dict, repr=False)
    """Confirmations (``ghp evaluate --confirm``) of the screened model, by architecture key."""
    other_settings: tuple[Setting, ...] = ()
    """The run's other screening settings (checkpoints, env kwargs), not read: ``--checkpoint`` / ``--env-kwargs``
    choose one of them."""

    @property
    def setting(self) -> Setting:
        """The evaluation setting of the records."""
        return self.records[0].setting

    @property
    def setting_note(self) -> str:
        """One line saying which of several evaluated settings the report read and why; empty when there is one."""
        if not self.other_settings:
            return ""
        from ghp.envs import canonical_kwargs

        own = self.setting.env_kwargs == canonical_kwargs(self.spec.env_kwargs)
        why = "the run's own env kwargs" if own else "chosen by --checkpoint / --env-kwargs or the default rule"
        n = len(self.other_settings)
        kws = sorted({s.env_kwargs for s in self.other_settings} - {self.setting.env_kwargs})
        env = f", in env {' / '.join(kws)} among them" if kws else ""
        return (
            f"read {self.setting.describe()} ({why}); the run has {n} other evaluated setting{'s' * (n != 1)}{env}: "
            "choose one with --checkpoint / --env-kwargs"
        )

    @property
    def ylabel(self) -> str:
        """Axis label of the metric."""
        return "mean return" if self.config.metric == "return" else "success rate"

    def metric_of(self, r: ArchRecord) -> float | None:
        """The chosen metric of a record."""
        return r.mean_return if self.config.metric == "return" else r.success_rate

    def score_of(self, value: float) -> float:
        """``(value - floor) / (best - floor)``: the selection's score of any value (e.g. the baseline's)."""
        s = self.selection
        return (value - s.floor) / max(s.best - s.floor, 1e-12)

    @property
    def baseline_score(self) -> float | None:
        """The baseline's score on the run's scale, None without a baseline."""
        if self.baseline is None:
            return None
        value = self.metric_of(self.baseline)
        return None if value is None else self.score_of(value)

    def record(self, key: str) -> ArchRecord:
        """The record of an architecture key."""
        return next(r for r in self.records if r.arch.key == key)

    def estimate(self, r: ArchRecord) -> Estimate:
        """The metric of a record with its 95% interval: bootstrap over episodes (returns), Wilson (success)."""
        if self.config.metric == "success":
            n = len(r.returns)
            return wilson_interval(round((r.success_rate or 0.0) * n), n)
        return mean_interval(r.returns)

    def figures(self, key: str) -> PickFigures:
        """An architecture's screening figure and, when it was confirmed, its confirmed figure."""
        screening = self.estimate(self.record(key))
        conf = self.confirmed.get(key)
        return PickFigures(screening, None if conf is None else self.estimate(conf))

    @property
    def figure(self) -> str:
        """Which kind of figure the picks show: ``confirmed`` (all confirmed), ``screening`` (none) or ``mixed``."""
        got = [s.arch.key in self.confirmed for s in self.selection.rows]
        return "confirmed" if all(got) else "screening" if not any(got) else "mixed"

    def _pick(self, s: Any) -> dict[str, Any]:
        """One selection row as JSON: the figure shown (confirmed when there is one) and both figures."""
        key = s.arch.key
        shown = self.confirmed.get(key, self.record(key))
        f = self.figures(key)
        return {
            "label": s.label,
            "threshold": s.threshold,
            "score": s.score,
            "std_return": shown.std_return,
            **{k: v for k, v in shown.to_dict().items() if k != "std_return"},
            "figure": "confirmed" if f.confirmed is not None else "screening",
            "screening": f.screening.to_dict(),
            "confirmed": None if f.confirmed is None else f.confirmed.to_dict(),
            "gap": f.gap,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what ``ghp report --json`` prints)."""
        st, t2 = self.setting, self.table_ii
        return {
            "run": self.run,
            "env_id": self.spec.env_id,
            "metric": self.config.metric,
            "setting": {
                "checkpoint_step": st.checkpoint_step,
                "eval_seed": st.eval_seed,
                "episodes": st.episodes,
                "max_steps": st.max_steps,
                "env_kwargs": json.loads(st.env_kwargs),
            },
            "other_settings": [s.describe() for s in self.other_settings],
            "n_archs": len(self.records),
            "space_size": self.space_size,
            "best": self.selection.best,
            "floor": self.selection.floor,
            "floor_rule": self.selection.floor_rule,
            "figure": self.figure,
            "selection": [self._pick(s) for s in self.selection.rows],
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "baseline_score": self.baseline_score,
            "table_ii": {
                "cutoffs": t2.cutoffs,
                "used": t2.used,
                "low": t2.low,
                "high": t2.high,
                "seed": t2.seed,
                "capacity_ratio": t2.capacity_ratio,
                "size_ratio": t2.size_ratio,
                "wins": t2.wins,
                "ties": t2.ties,
                "losses": t2.losses,
            },
            "plots": [str(p) for p in self.plots],
        }


@dataclass(frozen=True)
class PickFigures:
    """A pick's figure on the screening episodes that picked it and on held-out starts (the winner's curse: the
    gap)."""

    screening: Estimate
    confirmed: Estimate | None

    @property
    def gap(self) -> float | None:
        """Confirmed minus screening (negative: the screening flattered the pick); None when not confirmed."""
        return None if self.confirmed is None else self.confirmed.value - self.screening.value


def best_record(run_dir: str | Path, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None) -> ArchRecord:
    """The best evaluated architecture (by mean return) of a run, e.g. a baseline to show beside a report.

    ``env_kwargs``: read the evaluations made with these env kwargs (on top of the run's own) only.

    Raises:
        ValueError: the run is on another environment than ``env_id``, has no results, or none with ``env_kwargs``.
    """
    from ghp.run.layout import run_facts
    from ghp.run.records import setting_filter
    from ghp.run.results import read_records

    run_id, spec, _ = run_facts(run_dir)
    if env_id is not None and spec.env_id != env_id:
        raise ValueError(f"baseline run {run_dir} is on {spec.env_id}, not {env_id}")
    recs = read_records(run_dir, run_id, where=setting_filter(spec.env_kwargs, None, env_kwargs))
    if not recs:
        raise ValueError(f"run {run_dir} has no evaluation results: run 'ghp evaluate {run_dir}' first")
    return max(recs, key=lambda r: r.mean_return)


def build_report(
    run_dir: str | Path,
    config: ReportConfig = ReportConfig(),
    baseline_dir: str | Path | None = None,
    plots_dir: str | Path | None = None,
    checkpoint: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> Report:
    """The max / 90% / 80% selection, Table II, the baseline's best and (with ``plots_dir``) the plots of a run.

    Which evaluations: by default those in the run's own env kwargs (any other only when it has none), the latest
    evaluated checkpoint's setting with the most architectures among them; ``checkpoint`` (``step_N``) and
    ``env_kwargs`` (on top of the run's own, as ``ghp evaluate --env-kwargs``) narrow the choice (the baseline's
    evaluations are read with the same ``env_kwargs``).

    Raises:
        ValueError / FileNotFoundError: not an evaluated run, no evaluation at ``checkpoint`` / ``env_kwargs``, a
            baseline on another task or without the metric, or an invalid analysis setting.
    """
    from ghp.run.layout import run_facts
    from ghp.run.records import setting_filter
    from ghp.run.results import read_confirmed, read_records, read_settings

    run_id, spec, space = run_facts(run_dir)
    records = read_records(run_dir, run_id, where=setting_filter(spec.env_kwargs, checkpoint, env_kwargs))
    if not records:
        raise ValueError(f"run {run_dir} has no evaluation results: run 'ghp evaluate {run_dir}' first")
    confirmed = read_confirmed(run_dir, run_id, records[0].setting)
    scored: Sequence[Evaluated] = records if config.metric == "return" else success_view(records)
    selection = select(scored, floor=config.floor)
    t2 = table_ii(
        scored, n_cutoffs=config.cutoffs, low=config.low, high=config.high, seed=config.seed, floor=config.floor
    )
    base = best_record(baseline_dir, spec.env_id, env_kwargs) if baseline_dir is not None else None
    if base is not None and config.metric == "success" and base.success_rate is None:
        raise ValueError(f"baseline run {baseline_dir} has no success rate")
    rep = Report(
        run=str(run_dir),
        spec=spec,
        space_size=len(space),
        config=config,
        records=tuple(records),
        scored=tuple(scored),
        selection=selection,
        table_ii=t2,
        baseline=base,
        confirmed=confirmed,
        other_settings=tuple(s for s in read_settings(run_dir, run_id) if s != records[0].setting),
    )
    if plots_dir is None:
        return rep
    return Report(**{**rep.__dict__, "plots": write_plots(rep, Path(plots_dir))})


def write_plots(rep: Report, out: Path) -> tuple[Path, ...]:
    """Return (or success) vs parameters with the Pareto front and the baseline, and vs capacity."""
    from search.plots import plot_return_vs_capacity, plot_return_vs_params

    out.mkdir(parents=True, exist_ok=True)
    title = f"{rep.spec.env_id}, {len(rep.records)} architectures, step {rep.setting.checkpoint_step}"
    name = rep.config.metric
    base_value = rep.metric_of(rep.baseline) if rep.baseline is not None else None
    base = (rep.baseline.params, base_value) if rep.baseline is not None and base_value is not None else None
    return (
        plot_return_vs_params(rep.scored, out / f"{name}_vs_params.png", title, rep.selection, base, rep.ylabel),
        plot_return_vs_capacity(rep.scored, out / f"{name}_vs_capacity.png", title, rep.ylabel),
    )


@dataclass(frozen=True)
class SeedRow:
    """One pick (max / 90% / 80%) across several runs of a task (training seeds)."""

    label: str
    values: tuple[float, ...]
    """Each run's figure of its pick (confirmed where it has one), in the runs' order."""
    params: tuple[int, ...]
    """Each run's pick's parameters."""
    figures: tuple[str, ...]
    """Each run's figure kind: ``confirmed`` or ``screening``."""
    iqm: Estimate
    """Interquartile mean over the runs with its stratified-bootstrap 95% interval (``ghp.run.stats.iqm_interval``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "label": self.label,
            "values": list(self.values),
            "params": list(self.params),
            "figures": list(self.figures),
            "iqm": self.iqm.to_dict(),
        }


def across_seeds(reports: Sequence[Report], seed: int = 0) -> list[SeedRow]:
    """Per pick, the IQM over runs of one task with a stratified-bootstrap 95% interval (Agarwal et al. 2021).

    Each run contributes its own pick's figure: the confirmed one where ``ghp evaluate --confirm`` measured it,
    else the screening one (the row says which). Never a bare mean: with fewer than 4 runs the IQM is the mean and
    the interval, wide as it is, goes with it.

    Raises:
        ValueError: no reports, runs of different tasks or metrics.
    """
    from ghp.run.stats import iqm_interval

    if not reports:
        raise ValueError("give at least one run")
    tasks = {r.spec.env_id for r in reports}
    if len(tasks) > 1 or len({r.config.metric for r in reports}) > 1:
        raise ValueError(f"runs of one task are seeds of it; these are of {', '.join(sorted(tasks))}")
    rows = []
    for i, label in enumerate(s.label for s in reports[0].selection.rows):
        values, params, kinds = [], [], []
        for rep in reports:
            pick = rep.selection.rows[i]
            f = rep.figures(pick.arch.key)
            values.append((f.confirmed or f.screening).value)
            params.append(pick.params)
            kinds.append("confirmed" if f.confirmed is not None else "screening")
        rows.append(SeedRow(label, tuple(values), tuple(params), tuple(kinds), iqm_interval(values, seed=seed)))
    return rows


@dataclass(frozen=True)
class SeedsReport:
    """Several runs of one task (training seeds): each run's report and, per pick, the IQM across them."""

    reports: tuple[Report, ...]
    """Each run's report, in the order given."""
    rows: tuple[SeedRow, ...]
    """Per pick (max / 90% / 80%), the runs' figures and their IQM."""
    run_dirs: tuple[str, ...]
    """The runs, as given."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``ghp report RUN RUN ... --json``)."""
        return {"runs": [r.to_dict() for r in self.reports], "across_seeds": [r.to_dict() for r in self.rows]}


def seeds_report(
    run_dirs: Sequence[str | Path],
    config: ReportConfig = ReportConfig(),
    checkpoint: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> SeedsReport:
    """:func:`build_report` of each run (no plots), then :func:`across_seeds` with ``config.seed``.

    Raises:
        ValueError / FileNotFoundError: as :func:`build_report` and :func:`across_seeds`.
    """
    reports = tuple(build_report(d, config, checkpoint=checkpoint, env_kwargs=env_kwargs) for d in run_dirs)
    rows = tuple(across_seeds(reports, seed=config.seed))
    return SeedsReport(reports, rows, tuple(str(d) for d in run_dirs))
