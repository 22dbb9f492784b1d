"""``ghp train``: train a graph hyper policy (or the plain SB3 baseline) on one environment."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.common import user_errors
from cli.errors import GHPError
from cli.options import build_config, config_options
from ghp.train import TrainConfig


@click.command()
@config_options(TrainConfig, none_default="per environment")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest save.")
@click.option("--force", is_flag=True, help="Replace an existing run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(resume: bool, force: bool, quiet: bool, **options: Any) -> None:
    """Train one graph hypernetwork that emits a policy for every MLP architecture of the space.

    \b
    Examples:
      ghp train --env Pendulum-v1 --steps 20000 --out runs/pendulum
      ghp train --env FetchReach-v4 --out runs/fetchreach          # DDPG + HER
      ghp train --env Pendulum-v1 --baseline --out runs/pendulum-baseline
      ghp train --env Pendulum-v1 --out runs/pendulum --resume --steps 40000

    Ctrl-C saves a checkpoint; --resume continues from it.
    """
    from ghp.train import train as run_train

    with user_errors():
        config = build_config(TrainConfig, options)
    progress, bar = (None, None) if quiet else _progress_bar()
    try:
        with user_errors():
            try:
                path = run_train(config, resume=resume, force=force, progress=progress)
            finally:
                if bar is not None and bar.live.is_started:
                    bar.stop()
    except KeyboardInterrupt:
        click.echo("ghp: interrupted; saved a checkpoint (continue with --resume)", err=True)
        sys.exit(130)
    except GHPError:
        raise
    click.echo(f"run saved in {path}")


def _progress_bar() -> tuple[Any, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} steps/s"),
        TextColumn("return {task.fields[ret]}"),
        TimeRemainingColumn(),
        transient=False,
    )
    task = bar.add_task("train", total=None, rate="-", ret="-")
    started = []

    def progress(info: dict[str, Any]) -> None:
        if not started:  # start only once training runs, so input errors print no bar
            bar.start()
            started.append(True)
        ret = info.get("recent_return")
        succ = info.get("success_rate")
        text = "-" if ret is None else f"{ret:.1f}"
        if succ is not None:
            text += f" (success {succ:.0%})"
        bar.update(task, completed=info["steps"], total=info["total"], rate=f"{info['steps_per_s']:.0f}", ret=text)

    return progress, bar
