"""``ghp report``: the paper's analyses of an evaluated run (max / 90% / 80% table, Table II, plots)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.common import DIRECTORY, directory_option, parse_env_kwargs_option, results_filter_options, user_errors
from cli.options import echo_json, json_option

if TYPE_CHECKING:
    from ghp.run.stats import Estimate
    from search.progress import ProgressReport
    from search.report import Report, SeedsReport


@click.command()
@click.argument("run_dirs", metavar="RUN...", nargs=-1, required=True, type=DIRECTORY)
@directory_option(
    "--baseline",
    "baseline_dir",
    help="An evaluated baseline run (ghp train --baseline, then ghp evaluate) to show beside the table.",
)
@click.option(
    "--cutoffs", type=click.IntRange(min=1), default=5000, show_default=True, help="Table II: random parameter cutoffs."
)
@click.option(
    "--cutoff-range",
    default="1000,1000000",
    show_default=True,
    help="Table II: LOW,HIGH of the uniform cutoff distribution.",
)
@click.option(
    "--floor",
    type=float,
    default=None,
    help="Return that counts as 0% (default: 0 if every return is >= 0, else the worst architecture's).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the cutoffs.")
@directory_option("--out", "out_dir", help="Where the plots go [default: RUN/report].")
@click.option(
    "--metric",
    type=click.Choice(["return", "success"]),
    default="return",
    show_default=True,
    help="What the selection, Table II and plots use: mean return, or success rate (goal tasks).",
)
@click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Learning progress over the evaluated checkpoints (ghp evaluate RUN --checkpoints all): max / 90% / 80% "
    "and their parameters against environment steps, the --baseline run's curve beside.",
)
@click.option(
    "--checkpoint",
    default=None,
    help="Report this checkpoint's evaluation (step_20000) instead of the latest evaluated one.",
)
@results_filter_options
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@json_option("the report", "tables")
def report(
    run_dirs: tuple[str, ...],
    baseline_dir: str | None,
    cutoffs: int,
    cutoff_range: str,
    floor: float | None,
    seed: int,
    out_dir: str | None,
    metric: str,
    show_progress: bool,
    checkpoint: str | None,
    env_kwargs: tuple[str, ...],
    no_plots: bool,
    as_json: bool,
) -> None:
    """Report the max / 90% / 80% architectures, the Table II analysis and plots of an evaluated run.

    \b
    Examples:
      ghp report runs/pendulum
      ghp report runs/pendulum --baseline runs/pendulum-baseline --out build/report
      ghp report runs/fetchreach --progress --baseline runs/fetchreach-baseline --metric success
      ghp report runs/cf --metric success --env-kwargs nominal=false   # the evaluation on randomised airframes
      ghp report runs/pendulum-s0 runs/pendulum-s1 runs/pendulum-s2   # seeds: IQM per pick, 95% interval

    max is the smallest architecture with the best mean return; 90% / 80% are the smallest reaching 90% / 80%
    of the best, measured from a floor: 0 when every return is >= 0 (the paper's rule), otherwise the worst
    architecture's return (so -1500 worst, -150 best: 90% means >= -285). Table II draws --cutoffs parameter
    cutoffs uniformly in --cutoff-range and compares the capacity-maximising and the largest architecture under
    each with the best under it. Plots: return vs parameters (log x, Pareto front) and return vs capacity.
    --metric success uses the success rate instead (goal-conditioned tasks, as the paper's Fetch results).
    --progress shows the same selection at every evaluated checkpoint instead (the paper's Figure 3).
    A run evaluated several ways (checkpoints, --env-kwargs) is reported in its own env kwargs (the setting it was
    trained in) at its latest evaluated checkpoint, in the setting with the most architectures, and a line says
    which; --checkpoint and --env-kwargs choose another.
    Picks are made on the screening; each shows its screening figure and, after ghp evaluate RUN --confirm K, its
    figure on held-out starts and the gap, with 95% intervals (bootstrap over episodes; Wilson for success rates).
    Several runs of one task (training seeds): each run's picks, then per pick the interquartile mean across the
    runs with a stratified-bootstrap 95% interval (Agarwal et al. 2021).
    """
    from search.progress import progress_report
    from search.report import ReportConfig, build_report, seeds_report

    with user_errors():
        if len(run_dirs) > 1 and (show_progress or baseline_dir is not None):
            raise ValueError("--progress and --baseline go with one run: report several runs without them")
        if show_progress and checkpoint is not None:
            raise ValueError("--progress shows every checkpoint: leave out --checkpoint")
        kw = parse_env_kwargs_option(env_kwargs)
        low, high = _range(cutoff_range)
        config = ReportConfig(metric=metric, cutoffs=cutoffs, low=low, high=high, floor=floor, seed=seed)
        plots = None if no_plots else (Path(out_dir) if out_dir else Path(run_dirs[0]) / "report")
        if len(run_dirs) > 1:
            result: Report | SeedsReport | ProgressReport = seeds_report(
                run_dirs, config, checkpoint=checkpoint, env_kwargs=kw
            )
        elif show_progress:
            result = progress_report(run_dirs[0], metric, floor, baseline_dir, plots, kw)
        else:
            result = build_report(run_dirs[0], config, baseline_dir, plots, checkpoint, kw)
    _render(result, metric, as_json)


def _render(result: Report | SeedsReport | ProgressReport, metric: str, as_json: bool) -> None:
    """Tables (or ``--json``) of whichever report was built."""
    from search.progress import ProgressReport
    from search.report import SeedsReport

    if as_json:
        echo_json(result)
    elif isinstance(result, SeedsReport):
        _render_seeds(result, metric)
    elif isinstance(result, ProgressReport):
        _render_progress(result)
    else:
        _render_report(result, metric)


def _render_report(rep: Report, metric: str) -> None:
    """The selection table (screening, confirmed, gap, score), Table II and the plots' paths."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    sel, t2 = rep.selection, rep.table_ii
    what = "success rate" if metric == "success" else "mean return"
    how = "Wilson" if metric == "success" else "bootstrap over episodes"
    table = Table(
        title=f"{rep.spec.env_id}: {len(rep.records)} of {rep.space_size} architectures screened "
        f"({rep.setting.describe()}); picks show {rep.figure} figures",
        caption=f"picked on the screening; {what} [95% interval, {how}] (episodes); gap = confirmed - screening "
        f"(ghp evaluate RUN --confirm K); score = ({metric} - floor) / (best - floor) on the screening, floor "
        f"{sel.floor:.2f} ({sel.floor_rule})",
    )
    for col in ("", "architecture", "params", "capacity", "screening", "confirmed", "gap", "score"):
        table.add_column(col, justify="left" if col in ("", "architecture") else "right")
    digits = 2 if metric == "success" else 1
    for s in sel.rows:
        f = rep.figures(s.arch.key)
        conf = "-" if f.confirmed is None else _est(f.confirmed, digits)
        gap = "-" if f.gap is None else f"{f.gap:+.{digits}f}"
        row = (s.label, s.arch.key, str(s.params), str(s.capacity), _est(f.screening, digits), conf, gap)
        table.add_row(*row, f"{s.score:.3f}")
    if rep.baseline is not None:
        b = rep.baseline
        score = rep.baseline_score
        table.add_row(
            "baseline", b.arch.key, str(b.params), str(b.capacity), _est(rep.estimate(b), digits), "-", "-",
            "-" if score is None else f"{score:.3f}",
        )  # fmt: skip
    if rep.setting_note:
        console.print(rep.setting_note, markup=False, highlight=False, soft_wrap=True)
    console.print(table)
    if len(rep.records) < 2:  # one policy (a baseline, --arch, ARS): no choice under a cutoff to compare
        console.print("Table II: needs several architectures; this run has one")
    else:
        t = Table(title=f"Table II: {t2.used} of {t2.cutoffs} parameter cutoffs in [{t2.low:g}, {t2.high:g}] used")
        for col in ("choice under the cutoff", "mean ratio to the best"):
            t.add_column(col, justify="left" if col.startswith("choice") else "right")
        t.add_row("largest (size)", f"{t2.size_ratio:.3f}")
        t.add_row("max lossless memory dimension", f"{t2.capacity_ratio:.3f}")
        console.print(t)
        console.print(
            f"capacity choice vs largest choice: {t2.wins} wins, {t2.ties} ties, {t2.losses} losses of {t2.used} "
            "cutoffs"
        )
    for p in rep.plots:
        console.print(f"plot: {p}")


def _render_seeds(seeds: SeedsReport, metric: str) -> None:
    """Several runs of one task: each run's picks, and per pick the IQM across runs with its 95% interval."""
    from rich.console import Console
    from rich.table import Table

    reports, rows = seeds.reports, seeds.rows
    digits = 2 if metric == "success" else 1
    table = Table(
        title=f"{reports[0].spec.env_id}: max / 90% / 80% over {len(reports)} runs (seeds)",
        caption=f"each run: its pick (parameters) {metric}, confirmed (c) or screening (s); IQM = interquartile mean "
        "across the runs [95% stratified-bootstrap interval]",
    )
    for col in ("", *seeds.run_dirs, "IQM"):
        table.add_column(col, justify="left" if col == "" else "right")
    for i, r in enumerate(rows):
        runs = [
            f"{rep.selection.rows[i].arch.key} ({p}) {v:.{digits}f} {k[0]}"
            for rep, v, p, k in zip(reports, r.values, r.params, r.figures, strict=True)
        ]
        table.add_row(r.label, *runs, _est(r.iqm, digits))
    Console().print(table)


def _est(e: Estimate, digits: int) -> str:
    return f"{e.value:.{digits}f} [{e.low:.{digits}f}, {e.high:.{digits}f}] ({e.n})"


def _range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"--cutoff-range wants LOW,HIGH (e.g. 1000,1000000), got {text!r}") from None
    return low, high


def _render_progress(rep: ProgressReport) -> None:
    """``ghp report --progress``: the selection at every evaluated checkpoint, beside the baseline's best."""
    from rich.console import Console
    from rich.table import Table

    prog, base = rep.progress, rep.baseline
    base_at = {s: v for s, v, _ in base or []}
    table = Table(
        title=f"{rep.env_id}: learning progress ({prog.metric}), {prog.points[-1].n_archs} architectures per "
        "checkpoint",
        caption=f"architecture (parameters) value; 90% / 80% of the best above floor {prog.floor:.2f} "
        f"({prog.floor_rule}); share = architectures reaching the 90% threshold",
    )
    cols = ["step", "max", "90%", "80%", "mean", "share >= 90%", *(["baseline"] if base else [])]
    for col in cols:
        table.add_column(col, justify="right")
    for p in prog.points:
        cells = [f"{r.arch.key} ({r.params}) {r.mean_return:.2f}" for r in p.rows]
        b = base_at.get(p.step)
        extra = [("-" if b is None else f"{b:.2f}")] if base else []
        table.add_row(str(p.step), *cells, f"{p.mean:.2f}", f"{p.frac_at.get('90%', 0.0):.2f}", *extra)
    console = Console()
    console.print(table)
    if base:
        missing = sorted(set(base_at) - {p.step for p in prog.points})
        if missing:
            console.print(f"baseline checkpoints without a ghp checkpoint at the same step: {missing}")
    if rep.plot is not None:
        console.print(f"plot: {rep.plot}")
