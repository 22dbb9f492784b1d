"""``ghp tune``: fine-tune one architecture of a trained run with ES on its true return (see ghp/es/tune.py)."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.common import ProgressBar, progress_bar, run_argument, sigterm_as_interrupt, user_errors
from cli.options import ConfigCommand, build_config


@click.command(cls=ConfigCommand, config="ghp.es.tune:TuneConfig")
@run_argument
@click.option("--fresh", is_flag=True, help="Start over instead of resuming a saved ES state of the same name.")
def tune(run_dir: str, fresh: bool, **options: Any) -> None:
    """Fine-tune one architecture's emitted policy with evolution strategies on its true return.

    \b
    Examples:
      ghp tune runs/pendulum --arch 16-16 --iterations 30
      ghp tune runs/pendulum --arch 16-16 --colors 8          # codebook: 8 shared values per layer
      ghp evaluate runs/pendulum --policy runs/pendulum/tuned/16-16-es.npz
      ghp export runs/pendulum --policy runs/pendulum/tuned/16-16-es-c8-layer.npz --dtype codebook --check

    ARS V2-t: antithetic random directions, the best --top of them, steps divided by the spread of their
    returns, observation normalisation folded back into the first layer. The best policy (by its return on
    --eval-episodes fixed starts) is written to RUN/tuned/NAME.npz with its provenance. The ES state is saved
    after every iteration: run the same command again to resume after an interruption, or with a larger
    --iterations to continue.
    """
    from ghp.es.tune import TuneConfig
    from ghp.es.tune import tune as run_tune

    with user_errors():
        config = build_config(TuneConfig, options)
    bar = ProgressBar(progress_bar("tune", "return {task.fields[ret]} (best {task.fields[best]})"), _shown, "tune")

    with sigterm_as_interrupt() as interruption:
        try:
            with user_errors():
                try:
                    result = run_tune(run_dir, config, bar, fresh=fresh)
                finally:
                    bar.stop()
        except KeyboardInterrupt:
            click.echo(
                f"ghp: interrupted ({interruption.name}); the ES state of the last finished iteration (if any) is "
                f"saved under {run_dir}/tuned/: run the same command again to resume",
                err=True,
            )
            sys.exit(interruption.exit_code)
    p = result.provenance
    line = (
        f"tuned {p['arch']} on {p['env_id']}: return {p['return_before']:.1f} -> {p['return_after']:.1f} "
        f"(mean of {p['eval_episodes']} fixed starts; best at iteration {p['best_iteration']} of {p['iterations']}, "
        f"{p['env_steps']} env steps)"
    )
    if "return_quantized" in p:
        line += f"; after k-means to {p['colors']} colours, before ES: {p['return_quantized']:.1f}"
    click.echo(line)
    click.echo(f"wrote {result.path}")


def _shown(event: Any) -> dict[str, str]:
    """The bar's fields of a tune progress event: the centre's return and the best so far."""
    return {"ret": f"{event.figures['return']:.1f}", "best": f"{event.figures['best_return']:.1f}"}
