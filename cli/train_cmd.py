"""``ghp train``: train a graph hyper policy (or the plain SB3 baseline) on one environment."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import ProgressBar, sigterm_as_interrupt, user_errors
from cli.options import ConfigCommand, build_config

if TYPE_CHECKING:
    from ghp.rl.config import TrainConfig


@click.command(cls=ConfigCommand, config="ghp.rl.config:TrainConfig", none_default="per environment")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest save.")
@click.option("--force", is_flag=True, help="Replace an existing run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML (or JSON) file of settings named as TrainConfig's fields (the options without --, _ for -); "
    "options given here override it. A run's config.json replays that run (give a new --out).",
)
@click.option("--print-config", is_flag=True, help="Print the resolved settings as YAML (a --config file) and exit.")
@click.option(
    "--no-replay-buffer",
    "no_replay_buffer",
    is_flag=True,
    help="With --resume: leave the saved replay buffer unread (a truncated one, after a kill mid-save) and refill "
    "an empty buffer with --learning-starts random-action steps.",
)
@click.option(
    "--env-module",
    "env_modules",
    multiple=True,
    metavar="MODULE",
    help="Allow --env MODULE:Id to import MODULE (repeatable). Only ghp's, gymnasium's and gymnasium-robotics' "
    "modules are imported otherwise; for evaluate, play and export of such a run set GHP_ENV_MODULES=MODULE.",
)
def train(
    resume: bool,
    force: bool,
    quiet: bool,
    config_file: Path | None,
    print_config: bool,
    no_replay_buffer: bool,
    env_modules: tuple[str, ...],
    **options: Any,
) -> None:
    """Train one graph hypernetwork that emits a policy for every MLP architecture of the space.

    \b
    Examples:
      ghp train --env Pendulum-v1 --steps 20000 --out runs/pendulum
      ghp train --env FetchReach-v4 --out runs/fetchreach          # DDPG + HER
      ghp train --env Pendulum-v1 --baseline --out runs/pendulum-baseline
      ghp train --env Pendulum-v1 --arch 8-4-4-4              # one small MLP, plain SB3
      ghp train --env Pendulum-v1 --algo ars --steps 200000   # linear ARS
      ghp train --env Pendulum-v1 --out runs/pendulum --resume --steps 40000
      ghp train --config pendulum.yml --steps 2000                 # the file's settings, --steps overridden
      ghp train --config runs/pendulum/config.json --out runs/again  # replay a run
      ghp train --env Hopper-v5 --print-config > hopper.yml        # every setting, resolved

    Every setting is checked before a file is written. --force trains the new run beside the old one and swaps
    it in when saved, deleting only what ghp train wrote there. A run has one writer at a time (a lock file).
    Ctrl-C or SIGTERM saves the model, a checkpoint and the replay buffer once training has started (the message
    says what was saved); --resume continues from them.
    """
    from ghp.envs import allow_env_modules
    from ghp.hypernet.config import read_config_file
    from ghp.rl.config import TrainConfig

    with user_errors():
        allow_env_modules(env_modules)
        base = None if config_file is None else read_config_file(config_file, TrainConfig)
        config = build_config(TrainConfig, options, base, source=str(config_file))
        if no_replay_buffer and not resume:
            raise ValueError("--no-replay-buffer goes with --resume (a new run starts with an empty buffer anyway)")
        if force and config_file is not None:
            _refuse_force_onto_source(config_file, config)
        if print_config:
            from ghp.rl.config import resolve

            click.echo(_yaml_text(resolve(config).to_dict()))
            return
    path = _train(config, resume, force, quiet, _given(config.to_dict(), base), not no_replay_buffer)
    click.echo(f"run saved in {path}")


def _train(config: TrainConfig, resume: bool, force: bool, quiet: bool, given: list[str], replay_buffer: bool) -> Path:
    """:func:`ghp.rl.train.train` under a progress bar; Ctrl-C or SIGTERM: say what was saved and exit 130 / 143."""
    from ghp.rl.train import train as run_train

    bar = None if quiet else _progress_bar()
    with sigterm_as_interrupt() as interruption:
        try:
            with user_errors():
                try:
                    return run_train(
                        config, resume=resume, force=force, progress=bar, given=given, notice=_notice,
                        replay_buffer=replay_buffer,
                    )  # fmt: skip
                finally:
                    if bar is not None:
                        bar.stop()
        except KeyboardInterrupt as e:
            click.echo(f"ghp: interrupted ({interruption.name}); {_saved_text(e)}", err=True)
            sys.exit(interruption.exit_code)


def _yaml_text(settings: dict[str, Any]) -> str:
    """Settings as a YAML ``--config`` file."""
    import yaml

    return str(yaml.safe_dump(settings, sort_keys=False, default_flow_style=None)).rstrip()


def _given(fields: dict[str, Any], base: dict[str, Any] | None) -> list[str]:
    """The settings given on this command line or in a --config file: --resume keeps the saved run's others
    (ghp.rl.train.resume_config)."""
    ctx = click.get_current_context()
    return [
        name
        for name in ctx.params
        if name in fields
        and (ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE or name in (base or {}))
    ]


def _saved_text(e: KeyboardInterrupt) -> str:
    """What the interrupted run saved, as ``ghp.rl.train.TrainingInterrupted`` reports it."""
    saved = list(getattr(e, "saved", None) or [])
    out = getattr(e, "out", None)
    if not saved:
        return "nothing was saved (training had not started)"
    listed = saved[0] if len(saved) == 1 else ", ".join(saved[:-1]) + " and " + saved[-1]
    where = f" in {out}" if out is not None else ""
    return f"saved {listed}{where} (continue with --resume)"


def _refuse_force_onto_source(config_file: Path, config: Any) -> None:
    """``--config RUN/config.json --force`` would replace RUN, the run the settings come from: refuse it."""
    from ghp.rl.config import resolve
    from ghp.run.layout import CONFIG_FILE

    if config_file.name != CONFIG_FILE:
        return
    out = Path(resolve(config).out)
    if out.resolve() == config_file.parent.resolve():
        raise ValueError(
            f"--force would replace {out}, the run --config {config_file} comes from: give a new --out to replay it"
        )


def _notice(text: str) -> None:
    click.echo(f"ghp: {text}", err=True)


def _progress_bar() -> ProgressBar:
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
    return ProgressBar(bar, _shown, "train")


def _shown(event: Any) -> dict[str, str]:
    """The bar's fields of a training progress event: steps/s, and the recent return with the latest evaluation."""
    info = event.figures
    ret = info.get("recent_return")
    succ = info.get("success_rate")
    text = "-" if ret is None else f"{ret:.1f}"
    if succ is not None:
        text += f" (success {succ:.0%})"
    ev = info.get("eval")
    if ev is not None:
        text += f", eval best {ev['best']:.1f}" + (f" ({ev['success']:.0%})" if ev.get("success") is not None else "")
    elif info.get("eval_return") is not None:  # a user callback's evaluation (library use)
        text += f", eval {info['eval_return']:.1f}"
    return {"rate": f"{info['steps_per_s']:.0f}", "ret": text}
