"""``ghp play``: watch one policy of a run: deterministic episodes, their returns, a video or a trajectory plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import user_errors
from cli.errors import GHPError
from cli.options import ConfigCommand, build_config, echo_json, json_option

if TYPE_CHECKING:
    from ghp.rollout.play import Episode, PlayConfig
    from search.choose import ChosenPolicy


@click.command(cls=ConfigCommand, config="ghp.rollout.play:PlayConfig")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--arch", help="Architecture to run, e.g. 8-4-4-4 (hidden widths).")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run this policy file instead (.npz: ghp export --target numpy, or a tuned policy); RUN gives the task.",
)
@click.option("--checkpoint", help="Take --arch from this checkpoint of the run instead of its latest model.")
@json_option("the episodes")
def play(
    run: Path, arch: str | None, policy_file: Path | None, checkpoint: str | None, as_json: bool, **options: Any
) -> None:
    """Run one policy of a trained run deterministically and print each episode's return.

    \b
    Examples:
      ghp play runs/pendulum --arch 8-4 --episodes 3
      ghp play runs/hopper --arch 64-64 --video hopper.mp4          # MuJoCo offscreen: MUJOCO_GL=egl
      ghp play runs/cf-hover --arch 32-32 --plot hover.png          # position and attitude over time
      ghp play runs/pendulum --policy build/pend.npz --episodes 5

    Episode e starts where 'ghp evaluate --seed S' starts its episode e, so the returns match the results table.
    """
    from ghp.rollout.play import PlayConfig, RenderError
    from search.choose import PolicyChoice, play_policy

    with user_errors():
        config = build_config(PlayConfig, options)
        if (arch is None) == (policy_file is None):
            raise ValueError("choose the policy with --arch W-W-... or --policy FILE.npz (one of them)")
        if policy_file is not None and checkpoint is not None:
            raise ValueError("--checkpoint goes with --arch, not with --policy")
        choice = PolicyChoice(arch=arch, checkpoint=checkpoint, policy_file=policy_file)
    try:
        with user_errors():
            played = play_policy(run, choice, config, None if as_json else _show_episode)
    except RenderError as e:
        raise GHPError(str(e)) from None
    if as_json:
        echo_json(played)
        return
    result = played.result
    click.echo(f"mean return {result.mean_return:.2f} over {len(result.episodes)} episode(s)")
    for v in result.videos:
        click.echo(f"wrote {v}")
    if result.plot is not None:
        click.echo(f"wrote {result.plot}")


def _show_episode(e: int, ep: Episode, chosen: ChosenPolicy, config: PlayConfig) -> None:
    """One line per episode, after a header once the environment runs (so that a setup error stays the only line)."""
    if e == 0:
        kw = config.env_kwargs
        where = chosen.env_id + (f" ({' '.join(f'{k}={v}' for k, v in kw.items())})" if kw else "")
        click.echo(f"playing {chosen.label} on {where}, {config.episodes} episode(s), seed {config.seed}")
    success = "" if ep.success is None else f", success {ep.success}"
    click.echo(f"episode {e}: return {ep.ret:.2f} ({ep.length} steps{success})")
