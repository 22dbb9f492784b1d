"""Which policy of a run: an architecture, the best under a budget, the best evaluated checkpoint, or a policy file.

The one owner of that choice: ``ghp export``, ``ghp play`` and ``ghp evaluate --policy`` all take their policy from
:func:`choose_policy`, so an architecture, a budget, a checkpoint or a file means the same thing to each. It lives in
``search/`` because ``--best`` ranks the run (:func:`search.budget.rank_run`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ghp.policy.codebook import CodebookPolicy
from ghp.policy.file import PolicyFile
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch, parse_arch

if TYPE_CHECKING:
    from export.job import ExportConfig, ExportResult
    from ghp.rollout.play import Episode, PlayConfig, PlayResult

__all__ = ["ChosenPolicy", "PlayedPolicy", "PolicyChoice", "choose_policy", "play_policy"]


@dataclass(frozen=True)
class PolicyChoice:
    """How to choose one policy of a run (``ghp export``'s, ``ghp play``'s and ``ghp evaluate``'s policy options).

    Exactly one of ``arch``, ``best`` (with a budget) and ``policy_file``; checked on construction.
    """

    arch: str | None = None
    """An architecture of the run, e.g. ``8-4-4-4``."""
    best: bool = False
    """The first of the run's ranking (:func:`search.budget.rank_run`, ordered ``by``) under the budget."""
    max_params: int | None = None
    """Parameter budget of ``best``."""
    max_bytes: int | None = None
    """Byte budget of ``best``, at ``dtype``."""
    dtype: str = "float32"
    """Storage type of ``max_bytes``."""
    by: str = "auto"
    """Order of ``best`` (``auto``: measured return once evaluated, else capacity); with ``arch`` and
    ``checkpoint="best"``: ``success`` picks the checkpoint by success rate, anything else by return."""
    checkpoint: str | None = None
    """A checkpoint of the run (``step_20000``; None: its latest model); ``best``: the best evaluated (architecture,
    checkpoint) pair (``ghp evaluate RUN --checkpoints all`` first)."""
    policy_file: Path | None = None
    """A policy file (``ghp tune``'s ``RUN/tuned/NAME.npz`` or any ``ghp export --target numpy`` file) instead."""

    def __post_init__(self) -> None:
        if self.policy_file is not None and (self.arch is not None or self.best or self.checkpoint is not None):
            raise ValueError("--policy exports that file: leave out --arch, --best and --checkpoint")
        if self.best and self.arch is not None:
            raise ValueError("give either --arch or --best, not both")
        budget = self.max_params is not None or self.max_bytes is not None
        if self.best and not budget:
            raise ValueError("--best needs a budget: --max-params N (or --max-bytes B)")
        if not self.best and budget:
            raise ValueError("--max-params / --max-bytes go with --best")
        if not self.best and self.by != "auto" and not (self.arch is not None and self.checkpoint == "best"):
            raise ValueError("--by goes with --best (or with --arch A --checkpoint best)")
        if not self.best and self.arch is None and self.policy_file is None:
            raise ValueError("choose the policy with --arch W-W-... or with --best --max-params N")


@dataclass(frozen=True)
class ChosenPolicy:
    """The chosen policy and what the commands need to know about where it comes from."""

    weights: PolicyWeights
    """Its weights (``Run.emit``, or the file's)."""
    env_id: str
    """The environment it acts in (the run's; for a file without a run, its provenance's)."""
    source: tuple[str, ...]
    """Banner lines saying where it comes from: run id, algorithm, steps, how it was chosen (an export's header)."""
    label: str
    """One phrase naming it: ``8-4 of runs/x (step 20000)`` or ``8-4 from FILE``."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """The run's ``gym.make`` keyword arguments (``ghp train --env-kwargs``)."""
    timesteps: int | None = None
    """The training step of the model it was emitted from (a file's provenance ``checkpoint_step``), if known."""
    file: PolicyFile | None = None
    """The policy file it was read from (provenance, codebook, results file), or None."""

    @property
    def arch(self) -> Arch:
        """Its architecture."""
        return self.weights.arch

    @property
    def codebook(self) -> CodebookPolicy | None:
        """The file's colouring (a ``ghp tune --colors`` policy), for ``--dtype codebook`` exports."""
        return None if self.file is None else self.file.codebook

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (not the weights)."""
        return {
            "arch": self.arch.key,
            "n_params": self.weights.n_params,
            "env_id": self.env_id,
            "env_kwargs": dict(self.env_kwargs),
            "label": self.label,
            "source": list(self.source),
            "timesteps": self.timesteps,
            "file": None if self.file is None else str(self.file.path),
        }


def choose_policy(run_dir: str | Path | None, choice: PolicyChoice) -> ChosenPolicy:
    """The policy of the run in ``run_dir`` that ``choice`` names.

    ``run_dir`` may be None only for a policy file that says its environment (its provenance).

    Raises:
        FileNotFoundError: no run at ``run_dir`` (or no such policy file).
        ValueError: an architecture outside the run's space, nothing under the budget, no evaluated checkpoints for
            ``checkpoint="best"``, a policy file for another environment, a corrupt run.
    """
    if choice.policy_file is not None:
        return _from_file(choice.policy_file, run_dir)
    if run_dir is None:
        raise ValueError("give the run to export from (ghp export RUN --arch ...) or --policy FILE")
    path = Path(run_dir)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(f"no ghp run at {path} (expected a directory with config.json): train one first")
    if choice.checkpoint == "best":
        return _best_checkpoint(path, choice)
    from ghp.run.load import load_run

    run = load_run(path, choice.checkpoint)
    if choice.arch is not None:
        chosen = parse_arch(choice.arch)
        how = "--arch"
        if chosen not in run.space:
            space = run.space
            raise ValueError(
                f"architecture {chosen.key} is not in the run's space (widths {list(space.widths)}, depths "
                f"{list(space.depths)}): pick one from `ghp search --run {path}`"
            )
    else:
        from search.budget import Budget, rank_run

        budget = Budget(max_params=choice.max_params, max_bytes=choice.max_bytes, dtype=choice.dtype)
        ranked = rank_run(path, budget, by=choice.by)
        if not ranked:
            raise ValueError(f"no architecture of the run fits {budget.describe()}: raise the budget")
        chosen = ranked[0].arch
        how = f"--best: first by {ranked.order} under {budget.describe()}"
        if ranked[0].figure is not None:
            how += f", {ranked[0].figure} figure over {ranked[0].episodes} episodes"
    weights = run.emit([chosen])[0]
    ckpt = choice.checkpoint
    source = (
        f"run           {run.run_id} ({run.algo}, {run.timesteps} steps{', ' + ckpt if ckpt else ''})",
        f"chosen        {chosen.key} ({how})",
    )
    label = f"{chosen.key} of {run_dir} (step {run.timesteps})"
    return ChosenPolicy(weights, run.spec.env_id, source, label, dict(run.spec.env_kwargs), run.timesteps)


def _from_file(path: str | Path, run_dir: str | Path | None) -> ChosenPolicy:
    """A policy file; its environment is the run's (checked against the file), else its provenance's."""
    from ghp.policy.file import check_compatible, load_policy

    pf = load_policy(path)
    prov = pf.provenance
    env_id = prov.get("env_id")
    env_kwargs: dict[str, Any] = {}
    if run_dir is not None:
        from ghp.run.layout import run_facts

        _, spec, _ = run_facts(run_dir)
        check_compatible(pf, spec)
        env_id, env_kwargs = spec.env_id, dict(spec.env_kwargs)
    if env_id is None:
        raise ValueError(f"{path} does not say its environment: give the run it belongs to (ghp export RUN --policy)")
    source = [f"policy file   {Path(path).name} ({prov.get('method', 'no provenance')})"]
    if "run_id" in prov:
        source.append(
            f"run           {prov['run_id']} ({prov.get('checkpoint', 'latest')}, "
            f"{prov.get('checkpoint_step', '?')} steps)"
        )
    if "return_before" in prov:
        source.append(
            f"tuned         return {prov['return_before']:.1f} -> {prov['return_after']:.1f} on "
            f"{prov.get('eval_episodes', '?')} fixed starts, {prov.get('iterations', '?')} ES iterations"
        )
    step = prov.get("checkpoint_step")
    return ChosenPolicy(
        pf.weights,
        str(env_id),
        tuple(source),
        f"{pf.weights.arch.key} from {path}",
        env_kwargs,
        int(step) if isinstance(step, (int, float)) else None,
        pf,
    )


def _best_checkpoint(path: Path, choice: PolicyChoice) -> ChosenPolicy:
    """``checkpoint="best"``: the best evaluated (architecture, checkpoint) pair under the budget, or ``arch`` at its
    best evaluated checkpoint (``ghp evaluate RUN --checkpoints all`` first)."""
    from ghp.run.layout import run_facts
    from ghp.run.load import load_run
    from ghp.run.records import best_over_checkpoints, setting_filter
    from ghp.run.results import read_progress

    run_id, spec, _ = run_facts(path)
    by_step = read_progress(path, run_id, prefer_env_kwargs=setting_filter(spec.env_kwargs).prefer_env_kwargs)
    if not by_step:
        raise ValueError(f"--checkpoint best needs evaluated checkpoints: run 'ghp evaluate {path} --checkpoints all'")
    metric = "success" if choice.by == "success" else "return"  # what "best" means: --by success, else the return
    if choice.arch is not None:
        chosen = parse_arch(choice.arch)
        rec = best_over_checkpoints(by_step, metric).get(chosen.key)
        if rec is None:
            raise ValueError(f"architecture {chosen.key} was not evaluated at any checkpoint of {path}")
        value = rec.mean_return if metric == "return" else (rec.success_rate or 0.0)
        step, how = rec.setting.checkpoint_step, f"--arch at its best evaluated checkpoint ({metric} {value:.2f})"
    else:
        from search.budget import Budget, rank_run

        budget = Budget(max_params=choice.max_params, max_bytes=choice.max_bytes, dtype=choice.dtype)
        ranked = [r for r in rank_run(path, budget, by=metric, checkpoint="best") if r.checkpoint_step is not None]
        if not ranked:
            raise ValueError(f"no evaluated architecture of the run fits {budget.describe()}: raise the budget")
        chosen, best_step = ranked[0].arch, ranked[0].checkpoint_step
        assert best_step is not None
        step = best_step
        how = f"--best --checkpoint best: best evaluated (architecture, checkpoint) by {metric}, {budget.describe()}"
        how += f", {ranked[0].figure} figure over {ranked[0].episodes} episodes"
    name = f"step_{step}"
    run = load_run(path, name)
    weights = run.emit([chosen])[0]
    source = (
        f"run           {run.run_id} ({run.algo}, {run.timesteps} steps, {name})",
        f"chosen        {chosen.key} ({how})",
    )
    label = f"{chosen.key} of {path} (step {run.timesteps})"
    return ChosenPolicy(weights, run.spec.env_id, source, label, dict(run.spec.env_kwargs), run.timesteps)


@dataclass(frozen=True)
class PlayedPolicy:
    """``ghp play``'s result: the chosen policy, the settings it ran under and its episodes."""

    chosen: ChosenPolicy
    config: PlayConfig
    """The settings, ``env_kwargs`` being the run's with the command's on top."""
    result: PlayResult

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "policy": self.chosen.to_dict(),
            "env_kwargs": dict(self.config.env_kwargs),
            "seed": self.config.seed,
            **self.result.to_dict(),
        }


def play_policy(
    run_dir: str | Path,
    choice: PolicyChoice,
    config: PlayConfig,
    on_episode: Callable[[int, Episode, ChosenPolicy, PlayConfig], None] | None = None,
) -> PlayedPolicy:
    """Choose a policy of the run and play it (:func:`ghp.rollout.play.play`) in the run's environment, with the run's
    environment options (as ``ghp train`` recorded them) and ``config.env_kwargs`` on top, as ``ghp evaluate`` does.

    Args:
        on_episode: called after each episode with its index, the episode, the policy and the settings.

    Raises:
        ValueError / FileNotFoundError: as :func:`choose_policy` and :func:`ghp.rollout.play.play`.
        ghp.rollout.play.RenderError: a video or plot cannot be made here.
    """
    from ghp.rollout.play import play

    chosen = choose_policy(run_dir, choice)
    config = replace(config, env_kwargs={**chosen.env_kwargs, **config.env_kwargs})

    def episode(e: int, ep: Episode) -> None:
        if on_episode is not None:
            on_episode(e, ep, chosen, config)

    return PlayedPolicy(chosen, config, play(chosen.weights, chosen.env_id, config, episode))


def export_run_policy(run_dir: str | Path | None, choice: PolicyChoice, config: ExportConfig) -> ExportResult:
    """Export the policy of a run that ``choice`` names (:func:`search.choose.choose_policy`): ``ghp export``.

    A ``--max-bytes`` budget counts bytes at the export's dtype (float32 for a codebook, whose size is only known once
    coloured). The environment is the run's, with its recorded options and ``config.env_kwargs`` on top.

    Raises:
        FileNotFoundError / ValueError: as :func:`search.choose.choose_policy` and :func:`export_policy`.
        RuntimeError: the export was written but differs from torch beyond the tolerance (onnx).
    """

    from export.api import export_policy

    budget_dtype = "float32" if config.dtype == "codebook" else config.dtype
    chosen = choose_policy(run_dir, dataclasses.replace(choice, dtype=budget_dtype))
    env_kwargs = {**chosen.env_kwargs, **config.env_kwargs}
    source = chosen.source
    if config.env_kwargs:
        given = " ".join(f"{k}={v}" for k, v in config.env_kwargs.items())
        source = (*source, f"env options   {given} (ghp export --env-kwargs, on top of the run's)")
    return export_policy(chosen.weights, config, chosen.env_id, source, chosen.codebook, env_kwargs=env_kwargs)


def policy_from_run(
    run_dir: str | Path,
    arch: str | None = None,
    max_params: int | None = None,
    max_bytes: int | None = None,
    dtype: str = "float32",
    checkpoint: str | None = None,
    by: str = "auto",
) -> ChosenPolicy:
    """``arch`` of the run, or the best under a budget: :func:`search.choose.choose_policy` with those options."""

    best = max_params is not None or max_bytes is not None
    choice = PolicyChoice(arch, best, max_params, max_bytes, dtype, by, checkpoint)
    return choose_policy(run_dir, choice)


def policy_from_file(path: str | Path, run_dir: str | Path | None = None) -> tuple[ChosenPolicy, CodebookPolicy | None]:
    """A policy file and its colouring: :func:`search.choose.choose_policy` of ``policy_file=path``."""

    chosen = choose_policy(run_dir, PolicyChoice(policy_file=Path(path)))
    return chosen, chosen.codebook
