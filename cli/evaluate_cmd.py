"""``ghp evaluate``: roll out the architectures of a trained run and store the results in RUN/results.sqlite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cli.common import user_errors
from cli.errors import GHPError


@click.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--archs",
    default="all",
    show_default=True,
    help="'all', a count N (N architectures drawn with --seed), or keys like 8-4-4-4,16-16 ([64] for one layer).",
)
@click.option("--episodes", type=click.IntRange(min=1), default=5, show_default=True, help="Episodes per architecture.")
@click.option(
    "--workers", type=click.IntRange(min=0), default=0, show_default=True, help="Worker processes (0 = one per core)."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Evaluation seed.")
@click.option("--checkpoint", default=None, help="Evaluate a checkpoint (e.g. step_20000) instead of the latest model.")
@click.option(
    "--checkpoints",
    default=None,
    help="'all' or names like step_2000,step_4000: evaluate each, same architectures and starts "
    "(then ghp report RUN --progress).",
)
@click.option(
    "--envs-per-worker",
    type=click.IntRange(min=1),
    default=160,
    show_default=True,
    help="Environments each worker steps at once.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Architectures per work unit; results are committed once per finished chunk.",
)
@click.option(
    "--max-episode-steps", type=click.IntRange(min=1), default=None, help="Override the environment's episode limit."
)
def evaluate(
    run_dir: str,
    archs: str,
    episodes: int,
    workers: int,
    seed: int,
    checkpoint: str | None,
    checkpoints: str | None,
    envs_per_worker: int,
    chunk_size: int,
    max_episode_steps: int | None,
) -> None:
    """Evaluate architectures of a trained run with deterministic actions and store the results.

    \b
    Examples:
      ghp evaluate runs/pendulum                       # all architectures, 5 episodes each
      ghp evaluate runs/pendulum --archs 200 --episodes 3
      ghp evaluate runs/pendulum --archs 8-4-4-4,64-64 --checkpoint step_20000
      ghp evaluate runs/pendulum-baseline              # a --baseline run: its one 256-256 policy
      ghp evaluate runs/fetchreach --archs 100 --checkpoints all   # learning progress (ghp report --progress)

    Every episode runs to its own end; episode e of an architecture is reset with a seed derived from
    (--seed, the architecture's index in the run's space, e). Results go to RUN/results.sqlite, one
    transaction per finished chunk: an interrupted evaluation resumes where it stopped when the same
    command is run again (same --seed, --episodes and checkpoint), and nothing is counted twice.
    """
    from ghp.evaluate import EvalConfig, checkpoint_names, evaluate_checkpoints

    with user_errors():
        if checkpoint is not None and checkpoints is not None:
            raise ValueError("give either --checkpoint or --checkpoints, not both")
        config = EvalConfig(
            episodes=episodes,
            seed=seed,
            workers=workers,
            envs_per_worker=envs_per_worker,
            chunk_size=chunk_size,
            max_episode_steps=max_episode_steps,
            checkpoint=checkpoint or "latest",
        )
        import torch

        # This process only emits weights while the workers roll out on every core; one torch thread avoids
        # oversubscription (emitting all 4680 architectures took 2.3 s with one thread, 44 s with two, on a busy
        # 2-core machine).
        torch.set_num_threads(1)
        names: list[str | None] = [checkpoint] if checkpoints is None else list(checkpoint_names(run_dir, checkpoints))

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    state: dict[str, Any] = {}

    def on_checkpoint(name: str, run: Any, n: int) -> None:
        state.clear()
        state["label"] = "evaluate" if len(names) == 1 else name
        state["path"] = run.path
        if len(names) == 1 or name == names[0]:
            console.print(
                f"evaluating {n} architectures of {run.path} ({run.spec.env_id}, step {run.timesteps}), "
                f"{episodes} episodes each, {config.n_workers} worker(s)"
                + (f", at {len(names)} checkpoints" if len(names) > 1 else "")
            )

    def on_progress(done: int, total: int, steps: int) -> None:
        import time

        now = time.perf_counter()
        if "task" not in state:
            task = progress.add_task(state["label"], total=total, completed=done, rate="")
            state.update(task=task, t0=now, d0=done)
            return
        dt = max(now - state["t0"], 1e-9)
        rate = f"{(done - state['d0']) / dt:.1f} archs/s, {steps / dt:,.0f} steps/s"
        progress.update(state["task"], completed=done, rate=rate)

    try:
        with progress, user_errors():
            summaries = evaluate_checkpoints(run_dir, names, archs, config, on_progress, on_checkpoint)
    except KeyboardInterrupt:
        click.echo(
            f"ghp: interrupted; finished chunks are saved in {state.get('path', run_dir)}/results.sqlite: "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(130)
    evaluated = sum(s.evaluated for s in summaries)
    skipped = sum(s.skipped for s in summaries)
    env_steps = sum(s.env_steps for s in summaries)
    seconds = sum(s.seconds for s in summaries)
    if skipped:
        console.print(f"skipped {skipped} architectures already evaluated with this setting")
    rate = env_steps / seconds if seconds > 0 else 0.0
    where = f"{len(summaries)} checkpoints, " if len(summaries) > 1 else ""
    click.echo(
        f"evaluated {evaluated} architectures ({where}{env_steps} env steps) in {seconds:.1f} s "
        f"({rate:,.0f} steps/s); results: {Path(run_dir) / 'results.sqlite'}"
    )
    if evaluated == 0 and skipped == 0:
        raise GHPError("nothing was evaluated")
