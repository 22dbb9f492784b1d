"""What evaluation rolls out besides a run's latest model: a policy file as a one-architecture source, and each of
a run's checkpoints in turn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec
from ghp.io.progress import ProgressFn
from ghp.policy.weights import PolicyWeights
from ghp.rollout.evaluate import EvalConfig, EvalSummary, evaluate, parse_arch_selection
from ghp.space.arch import Arch, ArchSpace


@dataclass(frozen=True)
class PolicySource:
    """An :class:`EvalSource` that emits one fixed policy (a tuned or compressed policy file) for its architecture."""

    spec: EnvSpec
    space: ArchSpace
    run_id: str
    timesteps: int
    weights: PolicyWeights
    path: str = ""
    """The run directory."""

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]:
        """The fixed policy, once per requested architecture (which must be its own)."""
        if any(a != self.weights.arch for a in archs):
            raise ValueError(f"this source holds only {self.weights.arch.key}")
        return [self.weights for _ in archs]


def policy_source(run_dir: str, weights: PolicyWeights, timesteps: int = 0) -> PolicySource:
    """A source for evaluating ``weights`` against the run in ``run_dir`` (its environment, space and id).

    Raises:
        ValueError: the policy's architecture is not in the run's space.
    """
    from ghp.run.layout import run_facts

    run_id, spec, space = run_facts(run_dir)
    if weights.arch not in space:
        raise ValueError(f"the policy's architecture {weights.arch.key} is not in the run's space")
    return PolicySource(spec, space, run_id, timesteps, weights, str(run_dir))


def checkpoint_names(run_dir: str | Path, text: str) -> list[str]:
    """``--checkpoints``: ``all`` (every saved checkpoint, ascending) or a comma list of names (``step_2000,...``).

    Raises:
        ValueError: an empty list, or a name the run does not have (the message lists those it has).
    """
    from ghp.run.layout import checkpoints

    saved = [name for _, name in checkpoints(run_dir)]
    if text.strip().lower() == "all":
        if not saved:
            raise ValueError(f"run {run_dir} has no checkpoints (train with --checkpoint-every N)")
        return saved
    names = [t.strip().removesuffix(".zip") for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError(f"--checkpoints {text!r}: give 'all' or names like step_2000,step_4000")
    for n in names:
        if n not in saved:
            raise ValueError(f"no checkpoint {n!r} in {run_dir}; available: {', '.join(saved) if saved else 'none'}")
    return list(dict.fromkeys(names))


def evaluate_checkpoints(
    run_dir: str | Path,
    names: Sequence[str | None],
    archs: str,
    config: EvalConfig,
    progress: ProgressFn | None = None,
    on_checkpoint: Callable[[str, Any, int], None] | None = None,
    sample_seed: int = 0,
) -> list[EvalSummary]:
    """Evaluate the same architectures, from the same starts, at each of the run's checkpoints ``names``.

    ``names`` are checkpoint names (``None``: the latest model); ``archs`` is the ``--archs`` text, resolved once
    against the run's space with ``sample_seed`` so every checkpoint gets the same sample. Results go to the run's
    store, keyed by checkpoint step (the paper's Figure 3 is drawn from them by ``ghp report --progress``);
    checkpoints already evaluated under this setting are skipped. ``on_checkpoint(name, run, n_archs)`` is called
    before each checkpoint.

    Raises:
        ValueError / FileNotFoundError: a bad selection, a missing checkpoint or a corrupt run.
    """
    import dataclasses

    from ghp.run.load import load_run
    from ghp.run.results import ResultsStore

    summaries: list[EvalSummary] = []
    store: ResultsStore | None = None
    selected: list[Arch] | None = None
    try:
        for name in names:
            run = load_run(run_dir, name)
            if selected is None:
                selected = parse_arch_selection(archs, run.space, sample_seed)
                store = ResultsStore.open(run.path, run.run_id)
            if on_checkpoint is not None:
                on_checkpoint(name or "latest", run, len(selected))
            summary, _ = evaluate(
                run, selected, dataclasses.replace(config, checkpoint=name or "latest"), store, progress
            )
            summaries.append(summary)
    finally:
        if store is not None:
            store.close()
    return summaries
