"""``ghp search``: rank architectures under a parameter or byte budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.common import (
    Exclusive,
    directory_option,
    int_list,
    parse_env_kwargs_option,
    rank_order_option,
    results_filter_options,
    user_errors,
)
from cli.options import echo_json, json_option

if TYPE_CHECKING:
    from search.budget import Ranking, TunedPolicy


@click.command()
@click.option(
    "--env",
    "env_id",
    cls=Exclusive,
    excludes=("obs_dim", "act_dim", "run"),
    help="Read the sizes from this gymnasium environment (e.g. Hopper-v5).",
)
@click.option(
    "--obs-dim",
    type=click.IntRange(min=1),
    cls=Exclusive,
    excludes=("run",),
    help="Policy input size (observation [+ desired goal]).",
)
@click.option("--act-dim", type=click.IntRange(min=1), cls=Exclusive, excludes=("run",), help="Action size.")
@click.option("--max-params", type=click.IntRange(min=1), help="Parameter budget of the deployable policy.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Byte budget of the parameters, at --dtype.")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "int8"]),
    default="float32",
    show_default=True,
    help="Storage type for --max-bytes and the bytes column (int8: 1 B/weight + float scale and bias per row).",
)
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, help="Rows to show; 0 = all.")
@click.option("--widths", default="4,8,16,32,64,128,256,512", show_default=True, help="Hidden widths of the space.")
@click.option("--depths", default="1,2,3,4", show_default=True, help="Hidden-layer counts (0 = linear policy).")
@directory_option(
    "--run", help="Rank a trained run's architectures (its sizes and space; measured returns once evaluated)."
)
@rank_order_option("Order with --run")
@click.option(
    "--checkpoint",
    default=None,
    help="With --run: whose results to rank by: a checkpoint name (step_20000) or 'best' (each architecture at its "
    "best evaluated checkpoint; ghp evaluate RUN --checkpoints all); default the latest evaluated.",
)
@results_filter_options
@json_option("the ranking", "a table")
def search(
    env_id: str | None,
    obs_dim: int | None,
    act_dim: int | None,
    max_params: int | None,
    max_bytes: int | None,
    dtype: str,
    top: int,
    widths: str,
    depths: str,
    run: str | None,
    by: str,
    checkpoint: str | None,
    env_kwargs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Rank the architectures that fit a memory budget by lossless memory dimension.

    \b
    Examples:
      ghp search --obs-dim 11 --act-dim 3 --max-params 500
      ghp search --env Hopper-v5 --max-bytes 2048 --dtype int8 --top 0 --json
      ghp search --run runs/pendulum --max-params 500          # by measured return once evaluated
      ghp search --run runs/fetchreach --max-params 500 --checkpoint best
      ghp search --run runs/cf --max-params 2000 --by success   # success rate first, then return
      ghp search --run runs/cf --max-params 2000 --env-kwargs nominal=false   # that evaluation's results

    The largest architecture under the budget (the paper's naive choice) is marked. With --run the sizes and
    the space come from the run, and the ranking uses its evaluation results (RUN/results.sqlite) when they
    hold any architecture under the budget.
    """
    from ghp.space.arch import ArchSpace
    from search.budget import Budget, search_architectures

    with user_errors():
        budget = Budget(max_params=max_params, max_bytes=max_bytes, dtype=dtype)
        space = None if run else ArchSpace(widths=int_list(widths, "--widths"), depths=int_list(depths, "--depths"))
        found = search_architectures(
            budget, run, by, checkpoint, parse_env_kwargs_option(env_kwargs), env_id, obs_dim, act_dim, space
        )
    if as_json:
        # Tuned policies (RUN/tuned/) follow the ranking, marked "tuned": true, with no rank of their own.
        echo_json(found.to_dicts(top))
        return
    _render(found.ranking, top, found.where)
    if found.tuned:
        _render_tuned(run or "", list(found.tuned))


def _render(ranking: Ranking, top: int, where: str) -> None:
    """The ranking as a rich table, with the largest architecture's rank when it is not shown."""
    from rich.console import Console
    from rich.table import Table

    budget = ranking.budget
    goal = any(r.success_rate is not None for r in ranking)
    caption = f"ranked by {ranking.order}"
    caption += f"; {ranking.n_evaluated} evaluated" if ranking.measured else ""
    n_confirmed = sum(c.figure == "confirmed" for c in ranking)
    if ranking.measured and ranking.order in ("return", "success"):
        caption += (
            f"; {n_confirmed} confirmed on held-out starts, ranked first" if n_confirmed else
            "; screening figures only (ghp evaluate RUN --confirm K measures the best on held-out starts)"
        )  # fmt: skip
    table = Table(
        title=f"{len(ranking)} of {ranking.space_size} architectures {where} fit {budget.describe()}",
        caption=caption + "; * = largest under the budget (naive choice)",
    )
    checkpoints = ranking.measured and any(r.checkpoint_step is not None for r in ranking)
    measured = ["mean return", *(["success"] if goal else []), "figure"] if ranking.measured else []
    measured += ["checkpoint"] if checkpoints else []
    for col in ("rank", "architecture", *measured, "params", f"bytes ({budget.dtype})", "capacity"):
        table.add_column(col, justify="left" if col == "architecture" else "right")
    shown = ranking if top == 0 else ranking[:top]
    for i, r in enumerate(shown):
        cells = []
        if ranking.measured:
            cells.append("-" if r.mean_return is None else f"{r.mean_return:.1f} ± {r.std_return or 0.0:.1f}")
            if goal:
                cells.append("-" if r.success_rate is None else f"{r.success_rate:.2f}")
            cells.append("-" if r.figure is None else f"{r.figure} ({r.episodes})")
            if checkpoints:
                cells.append(r.checkpoint or "-")
        table.add_row(
            str(i + 1), r.arch.key + (" *" if r.largest else ""), *cells, str(r.params), str(r.bytes), str(r.capacity)
        )
    console = Console()
    console.print(table)
    big = ranking.largest_rank
    if big >= len(shown):
        c = ranking[big]
        console.print(
            f"largest under the budget: {c.arch.key} ({c.params} params, capacity {c.capacity}, rank {big + 1})"
        )


def _render_tuned(run_dir: str, tuned: list[TunedPolicy]) -> None:
    """The run's tuned policies, marked and apart from the hypernetwork's ranking."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{len(tuned)} tuned policies in {run_dir}/tuned/ (not part of the ranking above)",
        caption="return before -> after: ES evaluation starts (provenance); evaluated: ghp evaluate RUN --policy FILE",
    )
    for col in ("tuned policy", "architecture", "before -> after", "evaluated", "params", "bytes", "storage"):
        table.add_column(col, justify="left" if col in ("tuned policy", "architecture", "storage") else "right")
    for t in tuned:
        ba = "-" if t.return_before is None else f"{t.return_before:.1f} -> {t.return_after:.1f}"
        ev = "-" if t.mean_return is None else f"{t.mean_return:.1f} ± {t.std_return or 0.0:.1f}"
        table.add_row(
            escape(f"[tuned] {t.name}"), t.arch.key, ba, ev, str(t.params), str(t.bytes), t.storage
        )  # fmt: skip
    Console().print(table)
