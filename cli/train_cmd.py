"""``ghp train``: train a graph hyper policy (or the plain SB3 baseline) on one environment."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.common import int_list, user_errors
from cli.errors import GHPError


@click.command()
@click.option("--env", "env_id", required=True, help="Gymnasium id, e.g. Pendulum-v1, Hopper-v5, FetchReach-v4.")
@click.option(
    "--env-kwargs",
    "env_kwargs",
    multiple=True,
    metavar="KEY=VALUE ...",
    help="Keyword arguments for gym.make (repeatable, or several in one quoted string), e.g. "
    "--env-kwargs 'nominal=true start_tilt_deg=10'. Recorded in the run; evaluate/report/search/export reuse them.",
)
@click.option(
    "--algo",
    type=click.Choice(["sac", "ddpg"]),
    help="RL algorithm; default SAC, or DDPG + HER for goal-conditioned (Fetch) tasks.",
)
@click.option("--steps", type=int, help="Total environment steps (default per environment, see docs/train.md).")
@click.option("--n-envs", type=int, default=8, show_default=True, help="Parallel environments = meta batch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--out", help="Run directory (default runs/<env>-<algo>).")
@click.option("--baseline", is_flag=True, help="Train SB3's plain [256,256] actor instead (same other settings).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest save.")
@click.option("--force", is_flag=True, help="Replace an existing run in --out.")
@click.option("--widths", default="4,8,16,32,64,128,256,512", show_default=True, help="Hidden widths of the space.")
@click.option("--depths", default="1,2,3,4", show_default=True, help="Hidden-layer counts (0 = linear policy).")
@click.option(
    "--decoder",
    type=click.Choice(["factorised", "dense"]),
    default="factorised",
    show_default=True,
    help="Hypernetwork decoder: factorised (low rank, fast) or dense (the paper's map, crop-only).",
)
@click.option("--hidden", type=int, default=32, show_default=True, help="Hypernetwork embedding width.")
@click.option("--rank", type=int, default=16, show_default=True, help="Rank of the factorised decoder.")
@click.option("--learning-starts", type=int, help="Random-action steps before the first update.")
@click.option("--batch-size", type=int, default=256, show_default=True, help="Minibatch size.")
@click.option("--lr", type=float, help="Critic learning rate.")
@click.option("--actor-lr", type=float, help="Hypernetwork learning rate.")
@click.option("--gamma", type=float, help="Discount factor.")
@click.option("--tau", type=float, help="Target network update rate.")
@click.option("--ent-coef", help="SAC entropy coefficient: a number or 'auto'.")
@click.option("--resample-every", type=int, help="New architectures every N actor updates (50 SAC, 4 DDPG).")
@click.option(
    "--gradient-steps",
    type=int,
    help="Gradient updates per step of the n-envs environments (-1 = one per transition; Crazyflie default 4).",
)
@click.option(
    "--sampling",
    type=click.Choice(["uniform", "sweep", "depth"]),
    default="uniform",
    show_default=True,
    help="Architecture sampling: uniform draws, shuffled sweeps over the whole space, or uniform depth then widths.",
)
@click.option("--buffer-size", type=int, default=1_000_000, show_default=True, help="Replay buffer capacity.")
@click.option("--weight-decay", type=float, default=1e-5, show_default=True, help="Hypernetwork Adam weight decay.")
@click.option("--her-goals", type=int, default=4, show_default=True, help="DDPG + HER: relabelled goals per step.")
@click.option("--action-noise", type=float, default=0.1, show_default=True, help="DDPG: exploration noise std.")
@click.option("--action-l2", type=float, default=1.0, show_default=True, help="DDPG: pre-tanh action penalty.")
@click.option("--checkpoint-every", type=int, default=10_000, show_default=True, help="Env steps between checkpoints.")
@click.option(
    "--vec-env",
    type=click.Choice(["dummy", "subproc"]),
    default="dummy",
    show_default=True,
    help="One process (fastest measured: updates, not env steps, dominate) or one per environment.",
)
@click.option("--threads", type=int, default=1, show_default=True, help="torch threads.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(
    env_id: str,
    env_kwargs: tuple[str, ...],
    algo: str | None,
    steps: int | None,
    n_envs: int,
    seed: int,
    out: str | None,
    baseline: bool,
    resume: bool,
    force: bool,
    widths: str,
    depths: str,
    decoder: str,
    hidden: int,
    rank: int,
    learning_starts: int | None,
    batch_size: int,
    lr: float | None,
    actor_lr: float | None,
    gamma: float | None,
    tau: float | None,
    ent_coef: str | None,
    resample_every: int | None,
    gradient_steps: int | None,
    sampling: str,
    buffer_size: int,
    weight_decay: float,
    her_goals: int,
    action_noise: float,
    action_l2: float,
    checkpoint_every: int,
    vec_env: str,
    threads: int,
    quiet: bool,
) -> None:
    """Train one graph hypernetwork that emits a policy for every MLP architecture of the space.

    \b
    Examples:
      ghp train --env Pendulum-v1 --steps 20000 --out runs/pendulum
      ghp train --env FetchReach-v4 --out runs/fetchreach          # DDPG + HER
      ghp train --env Pendulum-v1 --baseline --out runs/pendulum-baseline
      ghp train --env Pendulum-v1 --out runs/pendulum --resume --steps 40000

    Ctrl-C saves a checkpoint; --resume continues from it.
    """
    from ghp.envs import parse_env_kwargs
    from ghp.train import TrainConfig
    from ghp.train import train as run_train

    with user_errors():
        config = TrainConfig(
            env_id=env_id,
            env_kwargs=parse_env_kwargs(env_kwargs),
            algo=algo,
            steps=steps,
            n_envs=n_envs,
            seed=seed,
            out=out,
            baseline=baseline,
            widths=int_list(widths, "--widths"),
            depths=int_list(depths, "--depths"),
            decoder=decoder,
            hidden=hidden,
            rank=rank,
            learning_starts=learning_starts,
            batch_size=batch_size,
            lr=lr,
            actor_lr=actor_lr,
            gamma=gamma,
            tau=tau,
            ent_coef=ent_coef,
            resample_every=resample_every,
            gradient_steps=gradient_steps,
            sampling=sampling,
            buffer_size=buffer_size,
            weight_decay=weight_decay,
            her_goals=her_goals,
            action_noise=action_noise,
            action_l2=action_l2,
            checkpoint_every=checkpoint_every,
            vec_env=vec_env,
            threads=threads,
        )
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
