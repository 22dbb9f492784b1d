"""``ghp evaluate``: roll out the architectures of a trained run and store the results in RUN/results.sqlite."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import ProgressBar, progress_bar, run_argument, sigterm_as_interrupt, user_errors
from cli.errors import GHPError
from cli.options import ConfigCommand, build_config, echo_json, json_option

if TYPE_CHECKING:
    from search.evaluation import RunEvaluation


@click.command(cls=ConfigCommand, config="ghp.rollout.evaluate:EvalConfig")
@run_argument
@click.option(
    "--archs",
    default="all",
    show_default=True,
    help="'all', a count N (N architectures drawn with --sample-seed), or keys like 8-4-4-4,16-16 ([64]: one layer).",
)
@click.option(
    "--sample-seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the --archs N draw, apart from --seed: one sample can be evaluated under several rollout seeds.",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Evaluate this policy file (e.g. RUN/tuned/NAME.npz from 'ghp tune') instead of the run's architectures; "
    "its results go to NAME.sqlite beside it.",
)
@click.option(
    "--checkpoints",
    default=None,
    help="'all' or names like step_2000,step_4000: evaluate each, same architectures and starts "
    "(then ghp report RUN --progress).",
)
@json_option("the evaluation's summary")
def evaluate(
    run_dir: str,
    archs: str,
    sample_seed: int,
    policy: str | None,
    checkpoints: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Evaluate architectures of a trained run with deterministic actions and store the results.

    \b
    Examples:
      ghp evaluate runs/pendulum                       # all architectures, 5 episodes each
      ghp evaluate runs/pendulum --archs 200 --episodes 3
      ghp evaluate runs/pendulum --archs 8-4-4-4,64-64 --checkpoint step_20000
      ghp evaluate runs/pendulum-baseline              # a --baseline run: its one 256-256 policy
      ghp evaluate runs/pendulum --policy runs/pendulum/tuned/16-16-es.npz   # a tuned policy
      ghp evaluate runs/pendulum --backend ray --ray-address auto   # on a running Ray cluster
      ghp evaluate runs/fetchreach --archs 30 --checkpoints all   # learning progress (ghp report --progress)
      ghp evaluate runs/pendulum --confirm 10          # then: the top 10 and the report's picks, held-out starts

    Every episode runs to its own end; episode e of every architecture is reset with a seed derived from
    (--seed, e) alone, so all architectures start from the same states. Results go to RUN/results.sqlite, one
    transaction per finished chunk: an interrupted evaluation resumes where it stopped when the same
    command is run again (same --seed, --episodes and checkpoint), and nothing is counted twice.
    The stored rows do not depend on --backend or --workers. A chunk whose worker dies is rolled out
    again; if the Ray cluster is lost, finished chunks stay saved and the same command resumes.

    --confirm K follows a screening: it rolls out the top K screened architectures (--confirm-by) and every
    max / 90% / 80% pick of ghp report again, --confirm-episodes each, from starts no screening ever uses. The
    confirmed figures are stored beside the screening's; ghp report, ghp search --run and ghp export --best use them.
    """
    from ghp.rollout.evaluate import EvalConfig
    from search.evaluation import EvalRequest, EvaluationInterrupted, EvaluationLost, evaluate_run

    with user_errors():
        config = build_config(EvalConfig, options)
    request = EvalRequest(archs, sample_seed, None if policy is None else Path(policy), checkpoints)
    bar = _Bar(checkpoints is not None)
    with sigterm_as_interrupt() as interruption:
        try:
            with bar.progress, user_errors():
                done = evaluate_run(run_dir, request, config, bar.feed, bar.console.print, bar.next_checkpoint)
        except EvaluationInterrupted as e:
            click.echo(
                f"ghp: interrupted ({interruption.name}); {e.saved}: run the same command again to resume", err=True
            )
            sys.exit(interruption.exit_code)
        except EvaluationLost as e:
            click.echo(f"ghp: error: {e}: run the same command again to resume", err=True)
            sys.exit(1)
    _render(done, bar.console, as_json)


def _render(done: RunEvaluation, console: Any, as_json: bool) -> None:
    """The summary line (and a policy file's result); nothing evaluated at all is an error (exit 2)."""
    if as_json:
        echo_json(done)
    else:
        if done.skipped:
            console.print(f"skipped {done.skipped} architectures already evaluated with this setting")
        if done.kind == "checkpoints":
            how = f"{len(done.summaries)} checkpoints, {done.env_steps} env steps) in {done.seconds:.1f} s "
            how += f"({done.steps_per_s:,.0f} steps/s"
        else:
            how = f"{done.env_steps} env steps) in {done.seconds:.1f} s ({done.steps_per_s:,.0f} steps/s, "
            how += f"{done.summaries[0].workers} worker(s)"
        click.echo(f"evaluated {done.evaluated} architectures ({how}); results: {done.results}")
        rec, config = done.record, done.config
        if rec is not None:
            click.echo(
                f"{config.checkpoint} ({rec.arch.key}): mean return {rec.mean_return:.2f} +- {rec.std_return:.2f} "
                f"over {len(rec.returns)} episodes (seed {config.seed})"
            )
    if done.evaluated == 0 and done.skipped == 0:
        raise GHPError("nothing was evaluated")


class _Bar:
    """The progress bar: one task, or one per checkpoint (labelled with its name)."""

    def __init__(self, per_checkpoint: bool) -> None:
        title = "{task.description}" if per_checkpoint else "evaluate"
        self.progress = progress_bar(title, "{task.fields[rate]}", eta=not per_checkpoint)
        self.feed = ProgressBar(self.progress, self._rate, "evaluate")
        self.console = self.progress.console
        self.per_checkpoint = per_checkpoint
        self.state: dict[str, Any] = {}

    def next_checkpoint(self, name: str) -> None:
        self.state.clear()
        self.feed.next_task(name)

    def _rate(self, event: Any) -> dict[str, str]:
        """The rate field since the task's first event (architectures, and steps for one model)."""
        now = time.perf_counter()
        if not self.state:
            self.state.update(t0=now, d0=event.done)
            return {"rate": ""}
        dt = max(now - self.state["t0"], 1e-9)
        rate = f"{(event.done - self.state['d0']) / dt:.1f} archs/s"
        if not self.per_checkpoint:
            rate += f", {event.figures['env_steps'] / dt:,.0f} steps/s"
        return {"rate": rate}
