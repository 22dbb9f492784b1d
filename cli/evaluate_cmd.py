"""``ghp evaluate``: roll out the architectures of a trained run and store the results in RUN/results.sqlite."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import progress_bar, run_argument, sigterm_as_interrupt, user_errors
from cli.errors import GHPError
from cli.options import ConfigCommand, build_config

if TYPE_CHECKING:
    from ghp.rollout.evaluate import EvalConfig


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
def evaluate(
    run_dir: str, archs: str, sample_seed: int, policy: str | None, checkpoints: str | None, **options: Any
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
    from ghp.io.lock import acquire

    lock = None
    if Path(run_dir).is_dir():
        with user_errors():  # one evaluation writes a run's results at a time (another: one line, exit 2)
            lock = acquire(run_dir, "evaluate", resource="results")
    try:
        _evaluate(run_dir, archs, sample_seed, policy, checkpoints, options)
    finally:
        if lock is not None:
            lock.release()


def _evaluate(
    run_dir: str, archs: str, sample_seed: int, policy: str | None, checkpoints: str | None, options: dict[str, Any]
) -> None:
    from ghp.rollout.backend import BackendLost, WorkerLost
    from ghp.rollout.evaluate import EvalConfig, parse_arch_selection
    from ghp.rollout.evaluate import evaluate as run_evaluation
    from ghp.run.load import load_run
    from ghp.run.results import ResultsStore

    with user_errors():
        config = build_config(EvalConfig, options)
        if config.confirm and (checkpoints is not None or policy is not None or archs != "all"):
            raise ValueError("--confirm chooses its own architectures: leave out --archs, --checkpoints and --policy")
        if checkpoints is not None:
            if policy is not None or config.checkpoint != "latest":
                raise ValueError("give --checkpoints alone: not with --checkpoint or --policy")
            from ghp.rollout.evaluate import checkpoint_names

            names = checkpoint_names(run_dir, checkpoints)
    if checkpoints is not None:
        _evaluate_checkpoints(run_dir, names, archs, sample_seed, config)
        return
    with user_errors():
        if policy is not None:
            if archs != "all" or config.checkpoint != "latest":
                raise ValueError("--policy evaluates one policy file: leave out --archs and --checkpoint")
            from ghp.policy.file import check_compatible, load_policy, results_file
            from ghp.rollout.evaluate import policy_source
            from ghp.run.layout import run_facts

            pf = load_policy(policy)
            check_compatible(pf, run_facts(run_dir)[1])
            run = policy_source(run_dir, pf.weights, int(pf.provenance.get("checkpoint_step", 0)))
            config = dataclasses.replace(config, checkpoint=pf.label)
            selected = [pf.weights.arch]
            store = ResultsStore.open(results_file(pf.path), run.run_id)
    if policy is None:
        with user_errors():
            import torch

            # This process only emits weights while the workers roll out on every core; one torch thread avoids
            # oversubscription (emitting all 4680 architectures took 2.3 s with one thread, 44 s with two, on a
            # busy 2-core machine).
            torch.set_num_threads(1)
            run = load_run(run_dir, None if config.checkpoint == "latest" else config.checkpoint)  # type: ignore[assignment]
            run.spec.make(**(config.env_kwargs or {})).close()  # bad env kwargs: one line now, not in the workers
            if not config.confirm:
                selected = parse_arch_selection(archs, run.space, sample_seed)
            # A confirmation needs a screening: no results file is an error, not a new empty file.
            store = ResultsStore.open(run.path, run.run_id, create=not config.confirm)
            if config.confirm:
                from search.confirm import plan_for

                try:
                    plan = plan_for(run, config, store)
                except BaseException:
                    store.close()
                    raise
                selected, config = plan.archs, plan.config
    progress = progress_bar("evaluate", "{task.fields[rate]}")
    console = progress.console
    where = (
        f"{config.n_workers} worker(s)"
        if config.backend == "local"
        else f"on Ray ({config.ray_address or 'a local instance'}, {config.workers or 'all'} CPU(s))"
    )
    if config.confirm:
        console.print(
            f"confirming {len(selected)} architectures of {run.path} ({run.spec.env_id}, step {run.timesteps}): the "
            f"top {len(plan.top)} by {plan.metric} of the screening ({plan.screening.describe()}) and "
            f"{len(plan.picks)} more picks of ghp report, {config.rollouts} held-out episodes each, {where}"
        )
    else:
        console.print(
            f"evaluating {len(selected)} architectures of {run.path} ({run.spec.env_id}, step {run.timesteps}), "
            f"{config.episodes} episodes each, {where}"
        )
    state: dict[str, Any] = {}

    def on_progress(done: int, total: int, steps: int) -> None:
        import time

        now = time.perf_counter()
        if "task" not in state:
            state.update(task=progress.add_task("evaluate", total=total, completed=done, rate=""), t0=now, d0=done)
            return
        dt = max(now - state["t0"], 1e-9)
        rate = f"{(done - state['d0']) / dt:.1f} archs/s, {steps / dt:,.0f} steps/s"
        progress.update(state["task"], completed=done, rate=rate)

    def saved() -> str:
        finished = len(store.finished(config.setting(run.timesteps, run.spec.env_kwargs)) & {a.key for a in selected})
        return f"{finished} of {len(selected)} architectures are saved in {store.path}"

    try:
        with sigterm_as_interrupt() as interruption:
            try:
                with progress, user_errors():
                    summary, _ = run_evaluation(run, selected, config, store, on_progress)
                    if policy is not None:
                        rec = store.records(summary.setting)[0]
            except KeyboardInterrupt:
                click.echo(
                    f"ghp: interrupted ({interruption.name}); {saved()}: run the same command again to resume",
                    err=True,
                )
                sys.exit(interruption.exit_code)
            except (BackendLost, WorkerLost) as err:
                click.echo(f"ghp: error: {err}; {saved()}: run the same command again to resume", err=True)
                sys.exit(1)
    finally:
        store.close()
    if summary.skipped:
        console.print(f"skipped {summary.skipped} architectures already evaluated with this setting")
    rate = summary.env_steps / summary.seconds if summary.seconds > 0 else 0.0
    click.echo(
        f"evaluated {summary.evaluated} architectures ({summary.env_steps} env steps) in {summary.seconds:.1f} s "
        f"({rate:,.0f} steps/s, {summary.workers} worker(s)); results: {store.path}"
    )
    if policy is not None:
        click.echo(
            f"{config.checkpoint} ({rec.arch.key}): mean return {rec.mean_return:.2f} +- {rec.std_return:.2f} over "
            f"{len(rec.returns)} episodes (seed {config.seed})"
        )
    if summary.evaluated == 0 and summary.skipped == 0:
        raise GHPError("nothing was evaluated")


def _evaluate_checkpoints(run_dir: str, names: list[str], archs: str, sample_seed: int, config: EvalConfig) -> None:
    """``--checkpoints``: every named checkpoint in turn, the same sample and starts; one bar per checkpoint."""
    import time
    from pathlib import Path

    import torch

    from ghp.rollout.evaluate import evaluate_checkpoints

    torch.set_num_threads(1)  # as above: this process only emits weights
    progress = progress_bar("{task.description}", "{task.fields[rate]}", eta=False)
    console = progress.console
    state: dict[str, Any] = {}

    def on_checkpoint(name: str, run: Any, n: int) -> None:
        state.clear()
        state["label"] = name
        if name == names[0]:
            console.print(
                f"evaluating {n} architectures of {run.path} ({run.spec.env_id}) at {len(names)} checkpoints, "
                f"{config.episodes} episodes each, {config.n_workers} worker(s)"
            )

    def on_progress(done: int, total: int, steps: int) -> None:
        now = time.perf_counter()
        if "task" not in state:
            task = progress.add_task(state["label"], total=total, completed=done, rate="")
            state.update(task=task, t0=now, d0=done)
            return
        dt = max(now - state["t0"], 1e-9)
        progress.update(state["task"], completed=done, rate=f"{(done - state['d0']) / dt:.1f} archs/s")

    results = Path(run_dir) / "results.sqlite"
    with sigterm_as_interrupt() as interruption:
        try:
            with progress, user_errors():
                summaries = evaluate_checkpoints(
                    run_dir, names, archs, config, on_progress, on_checkpoint, sample_seed=sample_seed
                )
        except KeyboardInterrupt:
            click.echo(
                f"ghp: interrupted ({interruption.name}); finished chunks are saved in {results}: "
                "run the same command again to resume",
                err=True,
            )
            sys.exit(interruption.exit_code)
    evaluated = sum(s.evaluated for s in summaries)
    skipped = sum(s.skipped for s in summaries)
    env_steps = sum(s.env_steps for s in summaries)
    seconds = sum(s.seconds for s in summaries)
    if skipped:
        console.print(f"skipped {skipped} architectures already evaluated with this setting")
    rate = env_steps / seconds if seconds > 0 else 0.0
    click.echo(
        f"evaluated {evaluated} architectures ({len(summaries)} checkpoints, {env_steps} env steps) in "
        f"{seconds:.1f} s ({rate:,.0f} steps/s); results: {results}"
    )
    if evaluated == 0 and skipped == 0:
        raise GHPError("nothing was evaluated")
