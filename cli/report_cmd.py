"""``ghp report``: the paper's analyses of an evaluated run (max / 90% / 80% table, Table II, plots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.common import user_errors

if TYPE_CHECKING:
    from ghp.results import ArchRecord


@click.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--baseline",
    "baseline_dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
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
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Where the plots go [default: RUN/report].",
)
@click.option(
    "--metric",
    type=click.Choice(["return", "success"]),
    default="return",
    show_default=True,
    help="What the selection, Table II and plots use: mean return, or success rate (goal tasks).",
)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
def report(
    run_dir: str,
    baseline_dir: str | None,
    cutoffs: int,
    cutoff_range: str,
    floor: float | None,
    seed: int,
    out_dir: str | None,
    metric: str,
    no_plots: bool,
    as_json: bool,
) -> None:
    """Report the max / 90% / 80% architectures, the Table II analysis and plots of an evaluated run.

    \b
    Examples:
      ghp report runs/pendulum
      ghp report runs/pendulum --baseline runs/pendulum-baseline --out build/report

    max is the smallest architecture with the best mean return; 90% / 80% are the smallest reaching 90% / 80%
    of the best, measured from a floor: 0 when every return is >= 0 (the paper's rule), otherwise the worst
    architecture's return (so -1500 worst, -150 best: 90% means >= -285). Table II draws --cutoffs parameter
    cutoffs uniformly in --cutoff-range and compares the capacity-maximising and the largest architecture under
    each with the best under it. Plots: return vs parameters (log x, Pareto front) and return vs capacity.
    --metric success uses the success rate instead (goal-conditioned tasks, as the paper's Fetch results).
    """
    from search.report import ReportConfig, build_report

    with user_errors():
        low, high = _range(cutoff_range)
        config = ReportConfig(metric=metric, cutoffs=cutoffs, low=low, high=high, floor=floor, seed=seed)
        plots_dir = None if no_plots else (Path(out_dir) if out_dir else Path(run_dir) / "report")
        rep = build_report(run_dir, config, baseline_dir=baseline_dir, plots_dir=plots_dir)
    if as_json:
        click.echo(json.dumps(rep.to_dict()))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    sel, t2 = rep.selection, rep.table_ii
    table = Table(
        title=f"{rep.spec.env_id}: {len(rep.records)} of {rep.space_size} architectures evaluated "
        f"({rep.setting.describe()})",
        caption=f"score = ({metric} - floor) / (best - floor), floor {sel.floor:.2f} ({sel.floor_rule})",
    )
    for col in ("", "architecture", "params", "capacity", "mean return", "score"):
        table.add_column(col, justify="left" if col in ("", "architecture") else "right")
    for s in sel.rows:
        r = rep.record(s.arch.key)
        table.add_row(s.label, s.arch.key, str(s.params), str(s.capacity), _ret(r), f"{s.score:.3f}")
    if rep.baseline is not None:
        b = rep.baseline
        score = rep.baseline_score
        table.add_row(
            "baseline", b.arch.key, str(b.params), str(b.capacity), _ret(b), "-" if score is None else f"{score:.3f}"
        )
    console.print(table)
    t = Table(title=f"Table II: {t2.used} of {t2.cutoffs} parameter cutoffs in [{t2.low:g}, {t2.high:g}] used")
    for col in ("choice under the cutoff", "mean ratio to the best"):
        t.add_column(col, justify="left" if col.startswith("choice") else "right")
    t.add_row("largest (size)", f"{t2.size_ratio:.3f}")
    t.add_row("max lossless memory dimension", f"{t2.capacity_ratio:.3f}")
    console.print(t)
    console.print(f"capacity choice >= largest choice under {100 * t2.capacity_wins:.1f}% of the cutoffs")
    for p in rep.plots:
        console.print(f"plot: {p}")


def _ret(r: ArchRecord) -> str:
    s = f"{r.mean_return:.1f} ± {r.std_return:.1f}"
    return s if r.success_rate is None else f"{s} (success {r.success_rate:.2f})"


def _range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"--cutoff-range wants LOW,HIGH (e.g. 1000,1000000), got {text!r}") from None
    return low, high
