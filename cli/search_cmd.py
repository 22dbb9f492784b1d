"""``ghp search``: rank architectures under a parameter or byte budget."""

from __future__ import annotations

import json

import click

from cli.common import int_list, user_errors


@click.command()
@click.option("--env", "env_id", help="Read the sizes from this gymnasium environment (e.g. Hopper-v5).")
@click.option("--obs-dim", type=click.IntRange(min=1), help="Policy input size (observation [+ desired goal]).")
@click.option("--act-dim", type=click.IntRange(min=1), help="Action size.")
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
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Rank a trained run's architectures (its sizes and space; measured returns once evaluated).",
)
@click.option(
    "--by",
    type=click.Choice(["auto", "return", "capacity", "size"]),
    default="auto",
    show_default=True,
    help="Order with --run: measured return, capacity, size; auto = return when results exist, else capacity.",
)
@click.option(
    "--checkpoint",
    default=None,
    help="With --run: whose results to rank by: a checkpoint name (step_20000) or 'best' (each architecture at its "
    "best evaluated checkpoint; ghp evaluate RUN --checkpoints all); default the latest evaluated.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
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
    run_dir: str | None,
    by: str,
    checkpoint: str | None,
    as_json: bool,
) -> None:
    """Rank the architectures that fit a memory budget by lossless memory dimension.

    \b
    Examples:
      ghp search --obs-dim 11 --act-dim 3 --max-params 500
      ghp search --env Hopper-v5 --max-bytes 2048 --dtype int8 --top 0 --json
      ghp search --run runs/pendulum --max-params 500          # by measured return once evaluated
      ghp search --run runs/fetchreach --max-params 500 --checkpoint best

    The largest architecture under the budget (the paper's naive choice) is marked. With --run the sizes and
    the space come from the run, and the ranking uses its evaluation results (RUN/results.sqlite) when they
    hold any architecture under the budget.
    """
    from ghp.arch import ArchSpace
    from search.budget import Budget, candidates, rank_by_capacity

    if run_dir is not None:
        _search_run(run_dir, max_params, max_bytes, dtype, top, by, as_json, env_id, obs_dim, act_dim, checkpoint)
        return
    with user_errors():
        if checkpoint is not None:
            raise ValueError("--checkpoint goes with --run")
        if env_id is not None:
            if obs_dim is not None or act_dim is not None:
                raise ValueError("give either --env or --obs-dim/--act-dim, not both")
            from ghp.envs import env_spec

            spec = env_spec(env_id)
            obs_dim, act_dim = spec.obs_dim, spec.act_dim
        elif obs_dim is None or act_dim is None:
            raise ValueError("give --env ENV, or both --obs-dim and --act-dim")
        space = ArchSpace(widths=int_list(widths, "--widths"), depths=int_list(depths, "--depths"))
        budget = Budget(max_params=max_params, max_bytes=max_bytes, dtype=dtype)
        ranked = rank_by_capacity(candidates(space, obs_dim, act_dim, budget))

    shown = ranked if top == 0 else ranked[:top]
    if as_json:
        rows = [{"rank": i + 1, **c.to_dict()} for i, c in enumerate(shown)]
        click.echo(json.dumps(rows))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(ranked)} of {len(space)} architectures fit {budget.describe()} (obs {obs_dim}, act {act_dim})",
        caption="ranked by lossless memory dimension; * = largest under the budget (naive choice)",
    )
    for col in ("rank", "architecture", "params", f"bytes ({dtype})", "capacity"):
        table.add_column(col, justify="left" if col == "architecture" else "right")
    for i, c in enumerate(shown):
        table.add_row(
            str(i + 1), c.arch.key + (" *" if c.largest else ""), str(c.params), str(c.bytes), str(c.capacity)
        )
    console = Console()
    console.print(table)
    big_rank = next(i for i, c in enumerate(ranked) if c.largest)
    if big_rank >= len(shown):
        big = ranked[big_rank]
        console.print(
            f"largest under the budget: {big.arch.key} ({big.params} params, capacity {big.capacity}, "
            f"rank {big_rank + 1})"
        )


def _search_run(
    run_dir: str,
    max_params: int | None,
    max_bytes: int | None,
    dtype: str,
    top: int,
    by: str,
    as_json: bool,
    env_id: str | None,
    obs_dim: int | None,
    act_dim: int | None,
    checkpoint: str | None = None,
) -> None:
    """``ghp search --run``: rank a trained run's candidates (by measured return when it has results)."""
    from ghp.run import run_facts
    from search.budget import Budget, rank_run

    with user_errors():
        if env_id is not None or obs_dim is not None or act_dim is not None:
            raise ValueError("--run takes the sizes from the run: drop --env / --obs-dim / --act-dim")
        budget = Budget(max_params=max_params, max_bytes=max_bytes, dtype=dtype)
        _, spec, space = run_facts(run_dir)
        ranked = rank_run(run_dir, budget, by=by, checkpoint=checkpoint)
    measured = any(r.mean_return is not None for r in ranked)
    order = by if by != "auto" else ("return" if measured else "capacity")
    shown = ranked if top == 0 else ranked[:top]
    if as_json:
        click.echo(json.dumps([{"rank": i + 1, **r.to_dict()} for i, r in enumerate(shown)]))
        return

    from rich.console import Console
    from rich.table import Table

    goal = any(r.success_rate is not None for r in ranked)
    n_eval = sum(r.mean_return is not None for r in ranked)
    table = Table(
        title=f"{len(ranked)} of {len(space)} architectures of {run_dir} ({spec.env_id}) fit {budget.describe()}",
        caption=f"ranked by {order}; {n_eval} evaluated; * = largest under the budget (naive choice)",
    )
    ck = ["checkpoint"] if checkpoint is not None else []
    cols = ["rank", "architecture", "mean return", *(["success"] if goal else []), *ck, "params", f"bytes ({dtype})"]
    for col in [*cols, "capacity"]:
        table.add_column(col, justify="left" if col == "architecture" else "right")
    for i, r in enumerate(shown):
        ret = "-" if r.mean_return is None else f"{r.mean_return:.1f} ± {r.std_return or 0.0:.1f}"
        succ = ["-" if r.success_rate is None else f"{r.success_rate:.2f}"] if goal else []
        succ += [r.checkpoint or "-"] if checkpoint is not None else []
        table.add_row(
            str(i + 1), r.arch.key + (" *" if r.largest else ""), ret, *succ, str(r.params), str(r.bytes),
            str(r.capacity),
        )  # fmt: skip
    Console().print(table)
