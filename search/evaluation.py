"""``ghp evaluate``'s library side: what of a run to evaluate, then the engine (:func:`ghp.rollout.evaluate.evaluate`).

A run is evaluated one of four ways (:class:`EvalRequest`): its architectures (all, a seeded sample or a list), a
policy file (:func:`search.choose.choose_policy`; results beside the file), each of several checkpoints, or a
confirmation of its screening (:func:`search.confirm.plan_for`). :func:`evaluate_run` holds the run's results lock,
resolves the request, runs it and returns an :class:`RunEvaluation`; an interruption or a lost worker pool is raised
with what stays saved, so the caller can say how to resume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ghp.space.arch import Arch

if TYPE_CHECKING:
    from ghp.io.progress import ProgressFn
    from ghp.rollout.evaluate import EvalConfig, EvalSummary
    from ghp.rollout.sources import PolicySource
    from ghp.run.load import Run
    from ghp.run.results import ArchRecord, ResultsStore

    Source = Run | PolicySource
    """What is evaluated: a run's model, or a policy file against its run."""
    from search.confirm import ConfirmPlan

__all__ = ["EvalRequest", "EvaluationInterrupted", "EvaluationLost", "RunEvaluation", "evaluate_run"]


@dataclass(frozen=True)
class EvalRequest:
    """What of a run to evaluate (``ghp evaluate``'s options beside :class:`ghp.rollout.evaluate.EvalConfig`)."""

    archs: str = "all"
    """``all``, a count N (a sample drawn with ``sample_seed``) or keys like ``8-4-4-4,16-16``."""
    sample_seed: int = 0
    """Seed of the ``archs`` N sample, apart from the rollout seed."""
    policy: Path | None = None
    """A policy file to evaluate instead of the run's architectures; its results go to ``NAME.sqlite`` beside it."""
    checkpoints: str | None = None
    """``all`` or names like ``step_2000,step_4000``: evaluate each, same architectures and starts."""


class EvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, as the CLI makes it) stopped :func:`evaluate_run`; ``saved`` says what is kept."""

    def __init__(self, saved: str) -> None:
        super().__init__(saved)
        self.saved = saved


class EvaluationLost(RuntimeError):
    """The worker pool or the Ray cluster was lost; the message says what is kept."""


@dataclass
class RunEvaluation:
    """What :func:`evaluate_run` did."""

    kind: str
    """``archs``, ``policy``, ``checkpoints`` or ``confirm``."""
    results: Path
    """The results file written."""
    config: EvalConfig
    """The settings the evaluation ran under (a confirmation's or a policy file's resolved)."""
    summaries: list[EvalSummary] = field(default_factory=list)
    """One per evaluated model (one, or one per checkpoint)."""
    record: ArchRecord | None = None
    """A policy file's result."""

    @property
    def evaluated(self) -> int:
        """Architectures evaluated by this call."""
        return sum(s.evaluated for s in self.summaries)

    @property
    def skipped(self) -> int:
        """Architectures already evaluated under the same setting (resumed)."""
        return sum(s.skipped for s in self.summaries)

    @property
    def env_steps(self) -> int:
        """Environment steps taken."""
        return sum(s.env_steps for s in self.summaries)

    @property
    def seconds(self) -> float:
        """Wall time."""
        return sum(s.seconds for s in self.summaries)

    @property
    def steps_per_s(self) -> float:
        """Environment steps per second."""
        return self.env_steps / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        rec = self.record
        return {
            "kind": self.kind,
            "results": str(self.results),
            "evaluated": self.evaluated,
            "skipped": self.skipped,
            "env_steps": self.env_steps,
            "seconds": self.seconds,
            "models": [
                {
                    "setting": s.setting.describe(),
                    "requested": s.requested,
                    "evaluated": s.evaluated,
                    "skipped": s.skipped,
                    "env_steps": s.env_steps,
                    "seconds": s.seconds,
                    "workers": s.workers,
                }
                for s in self.summaries
            ],
            "policy": None
            if rec is None
            else {
                "label": self.config.checkpoint,
                "arch": rec.arch.key,
                "mean_return": rec.mean_return,
                "std_return": rec.std_return,
                "episodes": len(rec.returns),
                "seed": self.config.seed,
            },
        }


Notify = Callable[[str], None]
"""Receives one line for the user: what is about to be evaluated."""


def evaluate_run(
    run_dir: str | Path,
    request: EvalRequest,
    config: EvalConfig,
    progress: ProgressFn | None = None,
    on_start: Notify | None = None,
    on_checkpoint: Callable[[str], None] | None = None,
) -> RunEvaluation:
    """Evaluate the run in ``run_dir`` as ``request`` says, holding its results lock (one writer at a time).

    This process only emits weights while the workers roll out on every core, so it keeps one torch thread (emitting
    all 4680 architectures took 2.3 s with one thread, 44 s with two, on a busy 2-core machine).

    Args:
        progress: a ``ProgressEvent`` in architectures (figures: ``env_steps``) after every finished chunk.
        on_start: one line saying what is about to be evaluated, once it is set up.
        on_checkpoint: the checkpoint's name, before each checkpoint (``request.checkpoints``).

    Raises:
        ValueError / FileNotFoundError: a bad combination of options, no run, a bad selection, no screening to
            confirm, a policy file for another task.
        EvaluationInterrupted: Ctrl-C; finished chunks are saved and the same call resumes.
        EvaluationLost: the workers or the Ray cluster were lost; likewise.
    """
    from ghp.io.lock import acquire

    if config.confirm and (request.checkpoints is not None or request.policy is not None or request.archs != "all"):
        raise ValueError("--confirm chooses its own architectures: leave out --archs, --checkpoints and --policy")
    if request.checkpoints is not None and (request.policy is not None or config.checkpoint != "latest"):
        raise ValueError("give --checkpoints alone: not with --checkpoint or --policy")
    if request.policy is not None and (request.archs != "all" or config.checkpoint != "latest"):
        raise ValueError("--policy evaluates one policy file: leave out --archs and --checkpoint")
    lock = acquire(run_dir, "evaluate", resource="results") if Path(run_dir).is_dir() else None
    try:
        if request.checkpoints is not None:
            return _checkpoints(run_dir, request, config, progress, on_start, on_checkpoint)
        return _one_model(run_dir, request, config, progress, on_start)
    finally:
        if lock is not None:
            lock.release()


def _one_model(
    run_dir: str | Path, request: EvalRequest, config: EvalConfig, progress: ProgressFn | None, on_start: Notify | None
) -> RunEvaluation:
    """The run's architectures, a policy file, or a confirmation: one model, one results store."""
    from ghp.rollout.backend import BackendLost, WorkerLost
    from ghp.rollout.evaluate import evaluate

    source, selected, config, store, kind, intro = _plan(run_dir, request, config)
    try:
        if on_start is not None:
            on_start(intro)

        def saved() -> str:
            done = store.finished(config.setting(source.timesteps, source.spec.env_kwargs))
            return f"{len(done & {a.key for a in selected})} of {len(selected)} architectures are saved in {store.path}"

        try:
            # PolicySource is frozen, and EvalSource declares its members as plain (settable) attributes.
            summary, _ = evaluate(source, selected, config, store, progress)  # type: ignore[arg-type]
        except KeyboardInterrupt as e:
            raise EvaluationInterrupted(saved()) from e
        except (BackendLost, WorkerLost) as e:
            raise EvaluationLost(f"{e}; {saved()}") from e
        record = store.records(summary.setting)[0] if kind == "policy" else None
        return RunEvaluation(kind, store.path, config, [summary], record)
    finally:
        store.close()


def _plan(
    run_dir: str | Path, request: EvalRequest, config: EvalConfig
) -> tuple[Source, list[Arch], EvalConfig, ResultsStore, str, str]:
    """The source, the architectures, the resolved config, the open results store, the kind and the intro line."""
    import torch

    from ghp.rollout.evaluate import parse_arch_selection
    from ghp.run.results import ResultsStore

    torch.set_num_threads(1)  # see evaluate_run
    if request.policy is not None:
        from ghp.policy.file import results_file
        from ghp.rollout.sources import policy_source
        from search.choose import PolicyChoice, choose_policy

        chosen = choose_policy(run_dir, PolicyChoice(policy_file=request.policy))
        assert chosen.file is not None
        source = policy_source(str(run_dir), chosen.weights, chosen.timesteps or 0)
        config = dataclasses.replace(config, checkpoint=chosen.file.label)
        store = ResultsStore.open(results_file(chosen.file.path), source.run_id)
        return source, [chosen.arch], config, store, "policy", _intro(source, 1, config)
    from ghp.run.load import load_run

    run = load_run(run_dir, None if config.checkpoint == "latest" else config.checkpoint)
    run.spec.make(**(config.env_kwargs or {})).close()  # bad env kwargs: one line now, not in the workers
    if not config.confirm:
        selected = parse_arch_selection(request.archs, run.space, request.sample_seed)
        store = ResultsStore.open(run.path, run.run_id)
        return run, selected, config, store, "archs", _intro(run, len(selected), config)
    from search.confirm import plan_for

    # A confirmation needs a screening: no results file is an error, not a new empty file.
    store = ResultsStore.open(run.path, run.run_id, create=False)
    try:
        plan = plan_for(run, config, store)
    except BaseException:
        store.close()
        raise
    return run, list(plan.archs), plan.config, store, "confirm", _intro(run, len(plan.archs), plan.config, plan)


def _intro(source: Source, n: int, config: EvalConfig, plan: ConfirmPlan | None = None) -> str:
    where = (
        f"{config.n_workers} worker(s)"
        if config.backend == "local"
        else f"on Ray ({config.ray_address or 'a local instance'}, {config.workers or 'all'} CPU(s))"
    )
    what = f"{n} architectures of {source.path} ({source.spec.env_id}, step {source.timesteps})"
    if plan is None:
        return f"evaluating {what}, {config.episodes} episodes each, {where}"
    return (
        f"confirming {what}: the top {len(plan.top)} by {plan.metric} of the screening ({plan.screening.describe()}) "
        f"and {len(plan.picks)} more picks of ghp report, {config.rollouts} held-out episodes each, {where}"
    )


def _checkpoints(
    run_dir: str | Path,
    request: EvalRequest,
    config: EvalConfig,
    progress: ProgressFn | None,
    on_start: Notify | None,
    on_checkpoint: Callable[[str], None] | None,
) -> RunEvaluation:
    """``request.checkpoints``: every named checkpoint in turn, the same sample and starts."""
    import torch

    from ghp.rollout.sources import checkpoint_names, evaluate_checkpoints

    assert request.checkpoints is not None
    names = checkpoint_names(run_dir, request.checkpoints)
    torch.set_num_threads(1)  # see evaluate_run

    def each(name: str, run: Any, n: int) -> None:
        if name == names[0] and on_start is not None:
            on_start(
                f"evaluating {n} architectures of {run.path} ({run.spec.env_id}) at {len(names)} checkpoints, "
                f"{config.episodes} episodes each, {config.n_workers} worker(s)"
            )
        if on_checkpoint is not None:
            on_checkpoint(name)

    results = Path(run_dir) / "results.sqlite"
    try:
        summaries = evaluate_checkpoints(
            run_dir, names, request.archs, config, progress, each, sample_seed=request.sample_seed
        )
    except KeyboardInterrupt as e:
        raise EvaluationInterrupted(f"finished chunks are saved in {results}") from e
    return RunEvaluation("checkpoints", results, config, summaries)
