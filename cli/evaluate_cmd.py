"""``ghp evaluate``: roll out the architectures of a trained run and store the results in RUN/results.sqlite."""

from __future__ import annotations

import sys
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
@click.option(
    "--env-kwargs",
    "env_kwargs",
    multiple=True,
    metavar="KEY=VALUE ...",
    help="gym.make keyword arguments on top of the run's own, e.g. 'nominal=true' (results are stored per setting).",
)
def evaluate(
    run_dir: str,
    archs: str,
    episodes: int,
    workers: int,
    seed: int,
    checkpoint: str | None,
    envs_per_worker: int,
    chunk_size: int,
    max_episode_steps: int | None,
    env_kwargs: tuple[str, ...],
) -> None:
    """Evaluate architectures of a trained run with deterministic actions and store the results.

    \b
    Examples:
      ghp evaluate runs/pendulum                       # all architectures, 5 episodes each
      ghp evaluate runs/pendulum --archs 200 --episodes 3
      ghp evaluate runs/pendulum --archs 8-4-4-4,64-64 --checkpoint step_20000
      ghp evaluate runs/pendulum-baseline              # a --baseline run: its one 256-256 policy

    Every episode runs to its own end; episode e of an architecture is reset with a seed derived from
    (--seed, the architecture's index in the run's space, e). Results go to RUN/results.sqlite, one
    transaction per finished chunk: an interrupted evaluation resumes where it stopped when the same
    command is run again (same --seed, --episodes and checkpoint), and nothing is counted twice.
    """
    from ghp.envs import parse_env_kwargs
    from ghp.evaluate import EvalConfig, eval_setting, parse_arch_selection
    from ghp.evaluate import evaluate as run_evaluation
    from ghp.results import ResultsStore
    from ghp.run import load_run

    with user_errors():
        config = EvalConfig(
            env_kwargs=parse_env_kwargs(env_kwargs) or None,
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
        run = load_run(run_dir, checkpoint)
        run.spec.make(**(config.env_kwargs or {})).close()  # bad env kwargs: one line now, not in the workers
        selected = parse_arch_selection(archs, run.space, seed)
        store = ResultsStore.open(run.path, run.run_id)

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
    console.print(
        f"evaluating {len(selected)} architectures of {run.path} ({run.spec.env_id}, step {run.timesteps}), "
        f"{episodes} episodes each, {config.n_workers} worker(s)"
    )
    progress = Progress(
        TextColumn("[bold]evaluate"),
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

    def on_progress(done: int, total: int, steps: int) -> None:
        import time

        now = time.perf_counter()
        if "task" not in state:
            state.update(task=progress.add_task("evaluate", total=total, completed=done, rate=""), t0=now, d0=done)
            return
        dt = max(now - state["t0"], 1e-9)
        rate = f"{(done - state['d0']) / dt:.1f} archs/s, {steps / dt:,.0f} steps/s"
        progress.update(state["task"], completed=done, rate=rate)

    try:
        with progress, user_errors():
            summary, _ = run_evaluation(run, selected, config, store, on_progress)
    except KeyboardInterrupt:
        setting = eval_setting(run.timesteps, run.spec, config)
        finished = len(store.finished(setting) & {a.key for a in selected})
        click.echo(
            f"ghp: interrupted; {finished} of {len(selected)} architectures are saved in {store.path}: "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(130)
    finally:
        store.close()
    if summary.skipped:
        console.print(f"skipped {summary.skipped} architectures already evaluated with this setting")
    rate = summary.env_steps / summary.seconds if summary.seconds > 0 else 0.0
    click.echo(
        f"evaluated {summary.evaluated} architectures ({summary.env_steps} env steps) in {summary.seconds:.1f} s "
        f"({rate:,.0f} steps/s); results: {store.path}"
    )
    if summary.evaluated == 0 and summary.skipped == 0:
        raise GHPError("nothing was evaluated")
