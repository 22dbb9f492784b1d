"""``ghp train``: train a graph hyper policy (or the plain SB3 baseline) on one environment."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.common import sigterm_as_interrupt, user_errors
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
      ghp train --env Pendulum-v1 --arch 8-4-4-4              # one small MLP, plain SB3
      ghp train --env Pendulum-v1 --algo ars --steps 200000   # linear ARS
      ghp train --env Pendulum-v1 --out runs/pendulum --resume --steps 40000

    Ctrl-C or SIGTERM saves the model, a checkpoint and the replay buffer; --resume continues from them.
    """
    from ghp.train import train as run_train

    with user_errors():
        config = build_config(TrainConfig, options)
    ctx = click.get_current_context()
    # --resume keeps the saved run's settings except those given on this command line (ghp.train.resume_config).
    given = [
        name
        for name in ctx.params
        if name in config.to_dict() and ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]
    progress, bar = (None, None) if quiet else _progress_bar()
    with sigterm_as_interrupt() as interruption:
        try:
            with user_errors():
                try:
                    path = run_train(config, resume=resume, force=force, progress=progress, given=given, notice=_notice)
                finally:
                    if bar is not None and bar.live.is_started:
                        bar.stop()
        except KeyboardInterrupt:
            click.echo(
                f"ghp: interrupted ({interruption.name}); saved the model, a checkpoint and the replay buffer "
                "(continue with --resume)",
                err=True,
            )
            sys.exit(interruption.exit_code)
    click.echo(f"run saved in {path}")


def _notice(text: str) -> None:
    click.echo(f"ghp: {text}", err=True)


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
        ev = info.get("eval")
        if ev is not None:
            text += f", eval best {ev['best']:.1f}" + (
                f" ({ev['success']:.0%})" if ev.get("success") is not None else ""
            )
        bar.update(task, completed=info["steps"], total=info["total"], rate=f"{info['steps_per_s']:.0f}", ret=text)

    return progress, bar
