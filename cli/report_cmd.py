"""``ghp report``: the paper's analyses of an evaluated run (max / 90% / 80% table, Table II, plots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.common import user_errors


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
@click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Learning progress over the evaluated checkpoints (ghp evaluate RUN --checkpoints all): max / 90% / 80% "
    "and their parameters against environment steps, the --baseline run's curve beside.",
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
    show_progress: bool,
    no_plots: bool,
    as_json: bool,
) -> None:
    """Report the max / 90% / 80% architectures, the Table II analysis and plots of an evaluated run.

    \b
    Examples:
      ghp report runs/pendulum
      ghp report runs/pendulum --baseline runs/pendulum-baseline --out build/report
      ghp report runs/fetchreach --progress --baseline runs/fetchreach-baseline --metric success

    max is the smallest architecture with the best mean return; 90% / 80% are the smallest reaching 90% / 80%
    of the best, measured from a floor: 0 when every return is >= 0 (the paper's rule), otherwise the worst
    architecture's return (so -1500 worst, -150 best: 90% means >= -285). Table II draws --cutoffs parameter
    cutoffs uniformly in --cutoff-range and compares the capacity-maximising and the largest architecture under
    each with the best under it. Plots: return vs parameters (log x, Pareto front) and return vs capacity.
    --metric success uses the success rate instead (goal-conditioned tasks, as the paper's Fetch results).
    --progress shows the same selection at every evaluated checkpoint instead (the paper's Figure 3).
    """
    if show_progress:
        _progress(run_dir, baseline_dir, floor, out_dir, metric, no_plots, as_json)
        return
    from ghp.results import read_records
    from ghp.run import run_facts
    from search.analysis import select, success_view, table_ii

    with user_errors():
        low, high = _range(cutoff_range)
        run_id, spec, space = run_facts(run_dir)
        records = read_records(run_dir, run_id)
        if not records:
            raise ValueError(f"run {run_dir} has no evaluation results: run 'ghp evaluate {run_dir}' first")
        scored: Any = records if metric == "return" else success_view(records)
        selection = select(scored, floor=floor)
        t2 = table_ii(scored, n_cutoffs=cutoffs, low=low, high=high, seed=seed, floor=floor)
        base = _baseline(baseline_dir, spec.env_id) if baseline_dir else None
        base_value = None if base is None else (base.mean_return if metric == "return" else base.success_rate)
        if base is not None and base_value is None:
            raise ValueError(f"baseline run {baseline_dir} has no success rate")
        ylabel = "mean return" if metric == "return" else "success rate"
        plots: list[Path] = []
        if not no_plots:
            from search.plots import plot_return_vs_capacity, plot_return_vs_params

            out = Path(out_dir) if out_dir else Path(run_dir) / "report"
            out.mkdir(parents=True, exist_ok=True)
            title = f"{spec.env_id}, {len(records)} architectures, step {records[0].setting.checkpoint_step}"
            name = "return" if metric == "return" else "success"
            plots.append(
                plot_return_vs_params(
                    scored,
                    out / f"{name}_vs_params.png",
                    title,
                    selection,
                    (base.params, base_value) if base is not None and base_value is not None else None,
                    ylabel,
                )
            )
            plots.append(plot_return_vs_capacity(scored, out / f"{name}_vs_capacity.png", title, ylabel))

    by_key = {r.arch.key: r for r in records}
    setting = records[0].setting
    if as_json:
        doc: dict[str, Any] = {
            "run": str(run_dir),
            "env_id": spec.env_id,
            "metric": metric,
            "setting": {
                "checkpoint_step": setting.checkpoint_step,
                "eval_seed": setting.eval_seed,
                "episodes": setting.episodes,
                "max_steps": setting.max_steps,
            },
            "n_archs": len(records),
            "space_size": len(space),
            "best": selection.best,
            "floor": selection.floor,
            "floor_rule": selection.floor_rule,
            "selection": [
                {
                    "label": s.label,
                    "threshold": s.threshold,
                    "score": s.score,
                    "std_return": by_key[s.arch.key].std_return,
                    **{k: v for k, v in by_key[s.arch.key].to_dict().items() if k != "std_return"},
                }
                for s in selection.rows
            ],
            "baseline": base.to_dict() if base else None,
            "table_ii": {
                "cutoffs": t2.cutoffs,
                "used": t2.used,
                "low": t2.low,
                "high": t2.high,
                "seed": t2.seed,
                "capacity_ratio": t2.capacity_ratio,
                "size_ratio": t2.size_ratio,
                "capacity_wins": t2.capacity_wins,
            },
            "plots": [str(p) for p in plots],
        }
        click.echo(json.dumps(doc))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=f"{spec.env_id}: {len(records)} of {len(space)} architectures evaluated ({setting.describe()})",
        caption=f"score = ({metric} - floor) / (best - floor), floor {selection.floor:.2f} ({selection.floor_rule})",
    )
    for col in ("", "architecture", "params", "capacity", "mean return", "score"):
        table.add_column(col, justify="left" if col in ("", "architecture") else "right")
    for s in selection.rows:
        r = by_key[s.arch.key]
        table.add_row(
            s.label,
            s.arch.key,
            str(s.params),
            str(s.capacity),
            _ret(r.mean_return, r.std_return, r.success_rate),
            f"{s.score:.3f}",
        )
    if base is not None:
        table.add_row(
            "baseline",
            base.arch.key,
            str(base.params),
            str(base.capacity),
            _ret(base.mean_return, base.std_return, base.success_rate),
            f"{((base_value or 0.0) - selection.floor) / max(selection.best - selection.floor, 1e-12):.3f}",
        )
    console.print(table)
    t = Table(title=f"Table II: {t2.used} of {t2.cutoffs} parameter cutoffs in [{t2.low:g}, {t2.high:g}] used")
    for col in ("choice under the cutoff", "mean ratio to the best"):
        t.add_column(col, justify="left" if col.startswith("choice") else "right")
    t.add_row("largest (size)", f"{t2.size_ratio:.3f}")
    t.add_row("max lossless memory dimension", f"{t2.capacity_ratio:.3f}")
    console.print(t)
    console.print(f"capacity choice >= largest choice under {100 * t2.capacity_wins:.1f}% of the cutoffs")
    for p in plots:
        console.print(f"plot: {p}")


def _ret(mean: float, std: float, success: float | None) -> str:
    s = f"{mean:.1f} ± {std:.1f}"
    return s if success is None else f"{s} (success {success:.2f})"


def _range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"--cutoff-range wants LOW,HIGH (e.g. 1000,1000000), got {text!r}") from None
    return low, high


def _baseline(path: str, env_id: str) -> Any:
    """The best evaluated architecture of the baseline run."""
    from ghp.results import read_records
    from ghp.run import run_facts

    run_id, spec, _ = run_facts(path)
    if spec.env_id != env_id:
        raise ValueError(f"baseline run {path} is on {spec.env_id}, not {env_id}")
    recs = read_records(path, run_id)
    if not recs:
        raise ValueError(f"baseline run {path} has no evaluation results: run 'ghp evaluate {path}' first")
    return max(recs, key=lambda r: r.mean_return)


def _progress(
    run_dir: str, baseline_dir: str | None, floor: float | None, out_dir: str | None, metric: str, no_plots: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """``ghp report --progress``: the selection at every evaluated checkpoint, beside the baseline's best."""
    from ghp.results import read_progress
    from ghp.run import run_facts
    from search.progress import baseline_curve, plot_progress, progress

    with user_errors():
        run_id, spec, space = run_facts(run_dir)
        prog = progress(read_progress(run_dir, run_id), metric=metric, floor=floor)
        base = None
        if baseline_dir:
            base_id, base_spec, _ = run_facts(baseline_dir)
            if base_spec.env_id != spec.env_id:
                raise ValueError(f"baseline run {baseline_dir} is on {base_spec.env_id}, not {spec.env_id}")
            base = baseline_curve(read_progress(baseline_dir, base_id), metric=metric)
            if not base:
                raise ValueError(f"baseline run {baseline_dir} has no evaluation results: run 'ghp evaluate' on it")
        plot = None
        if not no_plots:
            out = Path(out_dir) if out_dir else Path(run_dir) / "report"
            out.mkdir(parents=True, exist_ok=True)
            n = prog.points[-1].n_archs
            title = f"{spec.env_id}: {n} of {len(space)} architectures at {len(prog.points)} checkpoints"
            plot = plot_progress(prog, out / f"{metric}_progress.png", title, base)
    if as_json:
        doc = {
            "run": str(run_dir),
            "env_id": spec.env_id,
            "metric": metric,
            "floor": prog.floor,
            "floor_rule": prog.floor_rule,
            "points": [p.to_dict() for p in prog.points],
            "baseline": None if base is None else [{"step": s, "value": v, "params": n} for s, v, n in base],
            "plot": None if plot is None else str(plot),
        }
        click.echo(json.dumps(doc))
        return

    from rich.console import Console
    from rich.table import Table

    base_at = {s: v for s, v, _ in base or []}
    table = Table(
        title=f"{spec.env_id}: learning progress ({metric}), {prog.points[-1].n_archs} architectures per checkpoint",
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
    if plot is not None:
        console.print(f"plot: {plot}")
