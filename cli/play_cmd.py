"""``ghp play``: watch one policy of a run: deterministic episodes, their returns, a video or a trajectory plot."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from cli.common import user_errors
from cli.errors import GHPError
from cli.options import ConfigCommand, build_config


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
def play(run: Path, arch: str | None, policy_file: Path | None, checkpoint: str | None, **options: Any) -> None:
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
    from ghp.rollout.play import play as run_play

    with user_errors():
        config = build_config(PlayConfig, options)
        if (arch is None) == (policy_file is None):
            raise ValueError("choose the policy with --arch W-W-... or --policy FILE.npz (one of them)")
        weights, env_id, label, run_kwargs = _policy(run, arch, policy_file, checkpoint)
        # The run's environment options (as ghp train recorded them), --env-kwargs on top: as ghp evaluate does.
        config = replace(config, env_kwargs={**run_kwargs, **config.env_kwargs})
    where = env_id + (f" ({' '.join(f'{k}={v}' for k, v in config.env_kwargs.items())})" if config.env_kwargs else "")

    def on_episode(e: int, ep: Any) -> None:
        if e == 0:  # once the environment runs, so that a setup error stays the only line
            click.echo(f"playing {label} on {where}, {config.episodes} episode(s), seed {config.seed}")
        success = "" if ep.success is None else f", success {ep.success}"
        click.echo(f"episode {e}: return {ep.ret:.2f} ({ep.length} steps{success})")

    try:
        with user_errors():
            result = run_play(weights, env_id, config, on_episode)
    except RenderError as e:
        raise GHPError(str(e)) from None
    rets = [ep.ret for ep in result.episodes]
    click.echo(f"mean return {sum(rets) / len(rets):.2f} over {len(rets)} episode(s)")
    for v in result.videos:
        click.echo(f"wrote {v}")
    if result.plot is not None:
        click.echo(f"wrote {result.plot}")


def _policy(
    run: Path, arch: str | None, policy_file: Path | None, checkpoint: str | None
) -> tuple[Any, str, str, dict[str, Any]]:
    """The policy to play, the task's id, a label for it and the run's env kwargs."""
    from ghp.policy.weights import PolicyWeights
    from ghp.run.layout import run_facts
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    if policy_file is not None:
        if checkpoint is not None:
            raise ValueError("--checkpoint goes with --arch, not with --policy")
        _, spec, _ = run_facts(run)
        try:
            weights = PolicyWeights.from_npz(policy_file)
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"cannot read policy file {policy_file}: {' '.join(str(e).split())}") from None
        return weights, spec.env_id, f"{weights.arch.key} from {policy_file}", dict(spec.env_kwargs)
    assert arch is not None
    import torch

    torch.set_num_threads(1)
    loaded = load_run(run, checkpoint)
    [weights] = loaded.emit([parse_arch(arch)])
    label = f"{weights.arch.key} of {run} (step {loaded.timesteps})"
    return weights, loaded.spec.env_id, label, dict(loaded.spec.env_kwargs)
