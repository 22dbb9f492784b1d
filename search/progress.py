"""Learning progress of a run over its checkpoints (paper, Figure 3): max / 90% / 80% against environment steps.

Input: every evaluated checkpoint's records (``ghp.run.results.read_progress``, written by ``ghp evaluate RUN
--checkpoints all``), all from the same architecture sample and starts. At each checkpoint the max / 90% / 80%
architectures are chosen by the rules of :func:`search.analysis.select`, with one floor for the whole run (given,
or 0 when every value is >= 0, else the worst value at any checkpoint) so that "90%" means the same return at every
step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.analysis import Evaluated, Selection, choose_floor, select, success_view


@dataclass(frozen=True)
class ProgressPoint:
    """The selection at one checkpoint."""

    step: int
    """Environment steps of the checkpoint."""
    n_archs: int
    """Architectures evaluated at it."""
    best: float
    mean: float
    """Mean over the evaluated architectures."""
    rows: tuple[Selection, ...]
    """max, 90%, 80%."""
    frac_at: dict[str, float]
    """Fraction of the evaluated architectures reaching the max / 90% / 80% thresholds (by label); 0 while the best
    is still at the floor."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "step": self.step,
            "n_archs": self.n_archs,
            "best": self.best,
            "mean": self.mean,
            "selection": [
                {
                    "label": s.label,
                    "key": s.arch.key,
                    "params": s.params,
                    "value": s.mean_return,
                    "threshold": s.threshold,
                }
                for s in self.rows
            ],
            "frac_at": self.frac_at,
        }


@dataclass(frozen=True)
class Progress:
    """A run's learning curve."""

    points: tuple[ProgressPoint, ...]
    floor: float
    floor_rule: str
    metric: str


def scored(records: Sequence[Any], metric: str) -> Sequence[Evaluated]:
    """The records with the metric as ``mean_return`` (``return`` or ``success``)."""
    if metric not in ("return", "success"):
        raise ValueError(f"unknown metric {metric!r}: choose return or success")
    return records if metric == "return" else success_view(records)


def progress(by_step: Mapping[int, Sequence[Any]], metric: str = "return", floor: float | None = None) -> Progress:
    """The max / 90% / 80% selection at every checkpoint of ``by_step`` (step -> evaluated records).

    Raises:
        ValueError: no checkpoint evaluated, or a metric the records lack.
    """
    if not by_step:
        raise ValueError("no evaluated checkpoints: run 'ghp evaluate RUN --checkpoints all' first")
    views = {step: scored(recs, metric) for step, recs in sorted(by_step.items()) if recs}
    fl, rule = choose_floor([r.mean_return for v in views.values() for r in v], floor)
    points = []
    for step, view in views.items():
        table = select(view, floor=min(fl, max(r.mean_return for r in view)))
        # Nothing above the floor yet (e.g. success 0 everywhere): no architecture "reaches" anything.
        frac_at = {
            s.label: 0.0 if table.best <= fl else sum(r.mean_return >= s.threshold for r in view) / len(view)
            for s in table.rows
        }
        points.append(
            ProgressPoint(
                step=step,
                n_archs=len(view),
                best=table.best,
                mean=sum(r.mean_return for r in view) / len(view),
                rows=table.rows,
                frac_at=frac_at,
            )
        )
    return Progress(points=tuple(points), floor=fl, floor_rule=rule, metric=metric)


def baseline_curve(by_step: Mapping[int, Sequence[Any]], metric: str = "return") -> list[tuple[int, float, int]]:
    """``(step, best value, its parameters)`` of a baseline run at each evaluated checkpoint."""
    out = []
    for step, recs in sorted(by_step.items()):
        if recs:
            b = max(scored(recs, metric), key=lambda r: r.mean_return)
            out.append((step, b.mean_return, b.params))
    return out


def steps_to_reach(points: Sequence[tuple[int, float]], target: float) -> int | None:
    """First step whose value reaches ``target`` (None: never)."""
    return next((s for s, v in points if v >= target), None)


def plot_progress(
    prog: Progress,
    path: str | Path,
    title: str = "",
    baseline: Sequence[tuple[int, float, int]] | None = None,
) -> Path:
    """Two panels against environment steps: the max / 90% / 80% values (with the baseline's best) and their
    deployable parameter counts (log y)."""
    from search.plots import _pyplot

    plt = _pyplot()
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(7, 6.5), dpi=120, sharex=True, height_ratios=(3, 2))
    steps = [p.step for p in prog.points]
    colors = {"max": "tab:blue", "90%": "tab:orange", "80%": "tab:green"}
    labels = [s.label for s in prog.points[0].rows]
    styles = ("-", "--", ":")  # coinciding picks (the same architecture) stay visible as overlaid dashes
    for i, label in enumerate(labels):
        c, ls, lw = colors.get(label), styles[i % 3], 3.0 - 0.8 * (i % 3)
        values = [p.rows[i].mean_return for p in prog.points]
        ax.plot(steps, values, marker="o", ms=3, color=c, ls=ls, lw=lw, label=f"ghp {label}")
        axp.plot(steps, [p.rows[i].params for p in prog.points], marker="o", ms=3, color=c, ls=ls, lw=lw, label=label)
    ax.plot(steps, [p.mean for p in prog.points], ls=":", color="gray", label="ghp mean of sample")
    if baseline:
        bs = [b[0] for b in baseline]
        ax.plot(bs, [b[1] for b in baseline], marker="*", ms=6, color="black", label=f"baseline ({baseline[-1][2]} p)")
        axp.plot(bs, [b[2] for b in baseline], ls="--", color="black", label="baseline")
    ax.set_ylabel("success rate" if prog.metric == "success" else "mean return")
    ax.set_title(title or "learning progress")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    axp.set_yscale("log")
    axp.set_xlabel("environment steps")
    axp.set_ylabel("parameters")
    axp.grid(alpha=0.3)
    axp.legend(fontsize=7)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


@dataclass(frozen=True)
class ProgressReport:
    """``ghp report --progress``: a run's learning curve, its baseline's beside it, and the plot."""

    run: str
    """The run, as given."""
    env_id: str
    space_size: int
    """Architectures in the run's space."""
    progress: Progress
    baseline: list[tuple[int, float, int]] | None = None
    """The baseline run's ``(step, value, params)`` curve (:func:`baseline_curve`), if one was given."""
    plot: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        prog = self.progress
        return {
            "run": self.run,
            "env_id": self.env_id,
            "metric": prog.metric,
            "floor": prog.floor,
            "floor_rule": prog.floor_rule,
            "points": [p.to_dict() for p in prog.points],
            "baseline": None
            if self.baseline is None
            else [{"step": s, "value": v, "params": n} for s, v, n in self.baseline],
            "plot": None if self.plot is None else str(self.plot),
        }


def progress_report(
    run_dir: str | Path,
    metric: str = "return",
    floor: float | None = None,
    baseline_dir: str | Path | None = None,
    plots_dir: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> ProgressReport:
    """The selection at every evaluated checkpoint of a run (:func:`progress`), the baseline run's best beside it,
    and (with ``plots_dir``) the plot ``METRIC_progress.png`` there.

    ``env_kwargs`` chooses which evaluations to read (on top of each run's own, as ``ghp evaluate --env-kwargs``).

    Raises:
        ValueError / FileNotFoundError: no run, a baseline of another task or without results, nothing evaluated.
    """
    from ghp.run.layout import run_facts
    from ghp.run.records import ArchRecord, setting_filter
    from ghp.run.results import read_progress

    def read(path: str | Path, run_id: str, spec: Any) -> dict[int, list[ArchRecord]]:
        where = setting_filter(spec.env_kwargs, None, env_kwargs)
        return read_progress(path, run_id, env_kwargs=where.env_kwargs, prefer_env_kwargs=where.prefer_env_kwargs)

    run_id, spec, space = run_facts(run_dir)
    prog = progress(read(run_dir, run_id, spec), metric=metric, floor=floor)
    base = None
    if baseline_dir:
        base_id, base_spec, _ = run_facts(baseline_dir)
        if base_spec.env_id != spec.env_id:
            raise ValueError(f"baseline run {baseline_dir} is on {base_spec.env_id}, not {spec.env_id}")
        base = baseline_curve(read(baseline_dir, base_id, base_spec), metric=metric)
        if not base:
            raise ValueError(f"baseline run {baseline_dir} has no evaluation results: run 'ghp evaluate' on it")
    plot = None
    if plots_dir is not None:
        out = Path(plots_dir)
        out.mkdir(parents=True, exist_ok=True)
        n = prog.points[-1].n_archs
        title = f"{spec.env_id}: {n} of {len(space)} architectures at {len(prog.points)} checkpoints"
        plot = plot_progress(prog, out / f"{metric}_progress.png", title, base)
    return ProgressReport(str(run_dir), spec.env_id, len(space), prog, base, plot)
