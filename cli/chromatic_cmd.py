"""``ghp chromatic``: train a chromatic network (shared weights, searched partition) with ES."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from cli.common import ProgressBar, progress_bar, sigterm_as_interrupt, user_errors
from cli.options import ConfigCommand, build_config


@click.command(cls=ConfigCommand, config="ghp.es.chromatic:ChromaticConfig")
@click.option("--out", help="Run directory (default runs/chromatic-<env>-<partition>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished iteration.")
@click.option("--quiet", is_flag=True, help="No progress bar (one line per evaluation instead).")
def chromatic(out: str | None, resume: bool, quiet: bool, **options: Any) -> None:
    """Train a chromatic network: a tiny tanh policy whose edges share M weights, trained with ES.

    \b
    Examples:
      ghp chromatic --env HalfCheetah-v5 --hidden 41 --colors 17 --partition learned --out runs/hc-learned
      ghp chromatic --env HalfCheetah-v5 --hidden linear --partition toeplitz --iterations 50
      ghp chromatic --env HalfCheetah-v5 --out runs/hc-learned --resume --iterations 200
      ghp export --policy runs/hc-learned/policy.npz --dtype codebook --name hc --out build/ --check

    The result is a run directory that evaluate, report, search and export read like any other: its
    one architecture is the topology; RUN/policy.npz is a policy file (normalisation folded into the
    dense weights, and the codebook with the normalisation kept apart), RUN/summary.json has the
    parameters (distinct weights + biases) and bits as the paper counts them, RUN/history.jsonl one
    record per iteration. State is saved after every iteration: Ctrl-C or SIGTERM loses at most the
    iteration in flight, and --resume continues (a larger --iterations extends the run).
    """
    from ghp.es.chromatic import ChromaticConfig, train_chromatic

    with user_errors():
        config = build_config(ChromaticConfig, options)
    path = out or f"runs/chromatic-{config.env_id}-{config.partition}"

    bar, on_progress = _progress(quiet)
    with sigterm_as_interrupt() as interruption:
        try:
            with user_errors():
                try:
                    result = train_chromatic(config, path, resume=resume, progress=on_progress)
                finally:
                    bar.stop()
        except KeyboardInterrupt:
            click.echo(
                f"ghp: interrupted ({interruption.name}); {path} holds every finished iteration: run the same command "
                "with --resume to continue",
                err=True,
            )
            sys.exit(interruption.exit_code)
    click.echo(_summary_line(result))


def _progress(quiet: bool) -> tuple[ProgressBar, Callable[[Any], None]]:
    """The progress bar and the callback that feeds it (with --quiet: one line per evaluation instead)."""
    shown = "mean {task.fields[mean]} best {task.fields[best]} eval {task.fields[eval]}"
    bar = ProgressBar(progress_bar("chromatic", shown, disable=quiet), _shown, "es", initial={"eval": "-"})

    def on_progress(event: Any) -> None:
        p = event.figures
        if quiet and p["eval_return"] is not None:
            click.echo(
                f"iteration {event.done}: mean {p['mean_return']:.1f} best {p['best_return']:.1f} "
                f"eval {p['eval_return']:.0f}"
            )
        bar(event)

    return bar, on_progress


def _shown(event: Any) -> dict[str, str]:
    """The bar's fields of a chromatic progress event (an iteration without an evaluation keeps the last one)."""
    p = event.figures
    fields = {"mean": f"{p['mean_return']:.0f}", "best": f"{p['best_return']:.0f}"}
    if p["eval_return"] is not None:
        fields["eval"] = f"{p['eval_return']:.0f}"
    return fields


def _summary_line(result: Any) -> str:
    """The run's counts and returns in one line."""
    c, s = result.counts, result.summary

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f}"

    return (
        f"run saved in {result.path}: {s['partition']} {'-'.join(map(str, s['topology']))}, "
        f"{c.distinct_weights} distinct weights + {c.biases} biases = {c.params} params, {c.bits} bits; "
        f"worker mean {fmt(s['best_mean_return'])} (best iteration), best worker {fmt(s['best_worker_return'])}, "
        f"last eval {fmt(s['last_eval_return'])}"
    )
