"""``ghp chromatic``: train a chromatic network (shared weights, searched partition) with ES."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from cli.common import int_list, user_errors

PARTITION_CHOICES = ["learned", "random", "toeplitz", "none"]


def _hidden(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "linear", "none"):
        return ()
    return int_list(text, "--hidden")


@click.command()
@click.option(
    "--env", "env_id", required=True, help="Gymnasium id with Box observations and actions, e.g. HalfCheetah-v5."
)
@click.option(
    "--hidden", default="41", show_default=True, help="Hidden widths (tanh), e.g. 41 or 41,41; 'linear' for none."
)
@click.option(
    "--colors", type=int, default=17, show_default=True, help="M, colours (shared weights): learned / random."
)
@click.option(
    "--partition",
    type=click.Choice(PARTITION_CHOICES),
    default="learned",
    show_default=True,
    help="learned (controller), random (one fixed colouring), toeplitz (diagonals), none (every weight trained).",
)
@click.option("--iterations", type=int, default=100, show_default=True, help="ES iterations (raise it with --resume).")
@click.option("--directions", type=int, default=8, show_default=True, help="Antithetic direction pairs per iteration.")
@click.option("--top", type=int, default=0, show_default=True, help="Directions used per update (best first); 0 = all.")
@click.option("--sigma", type=float, default=0.1, show_default=True, help="ES perturbation scale.")
@click.option("--lr", type=float, default=0.01, show_default=True, help="ES step size.")
@click.option("--init-std", type=float, default=0.1, show_default=True, help="Std of the initial shared values.")
@click.option("--controller-lr", type=float, default=0.02, show_default=True, help="Controller Adam step (learned).")
@click.option("--entropy", type=float, default=0.01, show_default=True, help="Controller entropy bonus (learned).")
@click.option(
    "--baseline-decay", type=float, default=0.9, show_default=True, help="Controller baseline moving average."
)
@click.option(
    "--eval-every", type=int, default=5, show_default=True, help="Roll out the current policy every N iterations."
)
@click.option("--workers", type=int, default=1, show_default=True, help="Rollout worker processes (1 = in process).")
@click.option("--max-episode-steps", type=int, help="Override the environment's episode limit.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--out", help="Run directory (default runs/chromatic-<env>-<partition>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished iteration.")
@click.option("--quiet", is_flag=True, help="No progress bar (one line per evaluation instead).")
def chromatic(
    env_id: str,
    hidden: str,
    colors: int,
    partition: str,
    iterations: int,
    directions: int,
    top: int,
    sigma: float,
    lr: float,
    init_std: float,
    controller_lr: float,
    entropy: float,
    baseline_decay: float,
    eval_every: int,
    workers: int,
    max_episode_steps: int | None,
    seed: int,
    out: str | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Train a chromatic network: a tiny tanh policy whose edges share M weights, trained with ES.

    \b
    Examples:
      ghp chromatic --env HalfCheetah-v5 --hidden 41 --colors 17 --partition learned --out runs/hc-learned
      ghp chromatic --env HalfCheetah-v5 --hidden linear --partition toeplitz --iterations 50
      ghp chromatic --env HalfCheetah-v5 --out runs/hc-learned --resume --iterations 200

    The result is a run directory: evaluate, report, search and export read it like any other
    (its one architecture is the topology; its policy is stored in RUN/policy.npz with the
    observation normalisation folded in, the colouring and shared values in RUN/chromatic.npz,
    parameters and bits in RUN/summary.json). State is saved after every iteration: Ctrl-C or
    SIGTERM loses at most the iteration in flight, and --resume continues.
    """
    from ghp.chromatic import ChromaticConfig, Progress, train_chromatic

    with user_errors():
        config = ChromaticConfig(
            env_id=env_id,
            hidden=_hidden(hidden),
            colors=colors,
            partition=partition,
            iterations=iterations,
            directions=directions,
            top=top,
            sigma=sigma,
            lr=lr,
            init_std=init_std,
            controller_lr=controller_lr,
            entropy=entropy,
            baseline_decay=baseline_decay,
            eval_every=eval_every,
            workers=workers,
            max_episode_steps=max_episode_steps,
            seed=seed,
        )
    path = out or f"runs/chromatic-{env_id}-{partition}"

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    bar = Bar(
        TextColumn("[bold]chromatic"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mean {task.fields[mean]} best {task.fields[best]} eval {task.fields[eval]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )
    state: dict[str, Any] = {}

    def on_progress(p: Progress) -> None:
        ev = "-" if p.eval_return is None else f"{p.eval_return:.0f}"
        if "task" not in state:
            state["task"] = bar.add_task("es", total=iterations, completed=p.iteration, mean="-", best="-", eval="-")
        fields = {"mean": f"{p.mean_return:.0f}", "best": f"{p.best_return:.0f}"}
        if p.eval_return is not None:
            fields["eval"] = ev
            if quiet:
                click.echo(f"iteration {p.iteration}: mean {p.mean_return:.1f} best {p.best_return:.1f} eval {ev}")
        bar.update(state["task"], completed=p.iteration, **fields)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        with bar, user_errors():
            result = train_chromatic(config, path, resume=resume, progress=on_progress)
    except KeyboardInterrupt:
        click.echo(f"ghp: interrupted; {path} holds every finished iteration (continue with --resume)", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, old)
    c, s = result.counts, result.summary
    click.echo(
        f"run saved in {result.path}: {s['partition']} {'-'.join(map(str, s['topology']))}, "
        f"{c.distinct_weights} distinct weights + {c.biases} biases = {c.params} params, {c.bits} bits; "
        f"worker mean {s['best_mean_return']:.1f} (best iteration), best worker {s['best_worker_return']:.1f}, "
        f"last eval {s['last_eval_return']:.1f}"
    )
