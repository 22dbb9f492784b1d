"""Export one policy: C (header or source pair), ONNX or NumPy, optionally verified by the toolchain checks.

This is the library side of ``ghp export``; it takes :class:`~ghp.policy.PolicyWeights` (what ``Run.emit``
returns), so it is usable and testable without a trained run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.codebook import CodebookPolicy
from ghp.counting import deploy_bytes
from ghp.policy import PolicyWeights

from .check import CHECK_TOL
from .cwrite import write_c
from .job import EXPORT_DTYPES, TARGETS, ExportConfig, ExportJob, ExportResult
from .outdir import OutDir

__all__ = [
    "EXPORT_DTYPES",
    "ExportConfig",
    "ExportResult",
    "RunPolicy",
    "TARGETS",
    "export_policy",
    "policy_from_file",
    "policy_from_run",
]


def planned_files(config: ExportConfig) -> list[str]:
    """The files ``config``'s export writes, relative to ``config.out`` (checked before anything is written)."""
    n = config.name
    if config.target == "crazyflie":
        from .crazyflie.app import APP_FILES

        return [f"src/{n}.h", *APP_FILES]
    return {
        "c-header": [f"{n}.h"],
        "c-source": [f"{n}.h", f"{n}.c"],
        "onnx": [f"{n}.onnx"],
        "numpy": [f"{n}.npz"],
    }[config.target]


def open_out(config: ExportConfig) -> OutDir:
    """The output folder of ``config``, checked to accept every file the export will write (see export/outdir.py).

    Raises:
        ValueError: a folder with foreign files and no manifest, or a planned file ghp did not write or cannot
            replace safely.
    """
    dest = OutDir.open(config.out)
    for rel in planned_files(config):
        dest.claim(rel)
    return dest


def _refuse_non_finite(weights: PolicyWeights) -> None:
    arrays = [a for wb in weights.layers for a in wb] + [weights.action_low, weights.action_high]
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise ValueError(f"policy {weights.arch.key} has NaN or Inf weights or bounds: refusing to export it")


def export_policy(
    weights: PolicyWeights,
    config: ExportConfig,
    env_id: str | None = None,
    source: tuple[str, ...] = (),
    codebook: CodebookPolicy | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> ExportResult:
    """Write ``weights`` as ``config.target`` into ``config.out``; verify it when ``config.check``.

    Args:
        weights: the policy (e.g. ``load_run(path).emit([arch])[0]``).
        config: target, name, dtype, output directory, check.
        env_id: environment for the self-test rollouts (None: seeded random vectors).
        source: banner lines saying where the policy comes from (environment, run id, checkpoint).
        env_kwargs: ``gym.make`` keyword arguments of the run (``--env-kwargs``) for the self-test rollouts (and,
            for crazyflie, the software-in-the-loop flights).
        codebook: the policy's colouring (a ``ghp tune --colors`` policy) for ``dtype="codebook"``; without it,
            ``config.colors`` colours ``weights`` by k-means.

    Raises:
        ValueError: bad settings, e.g. ``--dtype codebook`` with neither a codebook nor ``--colors``.
    """
    _refuse_non_finite(weights)
    cb = _codebook_for(weights, config, codebook)
    if config.target == "crazyflie":
        from .crazyflie import check_crazyflie_env, check_timing, crazyflie_timing

        check_crazyflie_env(env_id)
        check_timing(crazyflie_timing(weights, config.dtype), config.allow_slow)
    dest = open_out(config)
    out = dest.root
    w = weights
    nbytes = cb.n_bytes if cb is not None else deploy_bytes(w.arch, w.obs_dim, w.act_dim, config.dtype)
    result = ExportResult([], w.arch.key, w.n_params, nbytes)
    job = ExportJob(w, config, out, env_id, source, env_kwargs, cb, dest)
    if config.target == "crazyflie":
        from .crazyflie import export_crazyflie

        return export_crazyflie(job, result)
    if config.target == "numpy":
        from .npz import write_npz

        rel = f"{config.name}.npz"
        result.files.append(write_npz(w, dest.claim(rel)))
        dest.record(rel)
        if config.check:
            result.notes.append("numpy: the .npz reloads to the same architecture and bit-identical actions")
        return result
    if config.target == "onnx":
        from .onnx import build_model, run_onnx

        model = build_model(w, config.name).SerializeToString(deterministic=True)
        path = dest.write_bytes(f"{config.name}.onnx", model)
        result.files.append(path)
        if config.check:
            from .reference import check_tolerance, torch_actions
            from .vectors import test_vectors

            obs = test_vectors(w, env_id, config.n_rollout, config.seed, env_kwargs).obs
            err = float(np.max(np.abs(run_onnx(path, obs) - torch_actions(w, obs))))
            tol = check_tolerance(w, CHECK_TOL, obs)
            result.notes.append(
                f"onnx: max |onnxruntime - torch| = {err:.3g} on {len(obs)} vectors (tolerance {tol:.3g})"
            )
            if err > tol:
                raise RuntimeError(f"the ONNX export differs from torch by {err:.3g} (> {tol:.3g})")
        return result
    return write_c(job, result)


def _codebook_for(
    weights: PolicyWeights, config: ExportConfig, codebook: CodebookPolicy | None
) -> CodebookPolicy | None:
    if config.dtype != "codebook":
        return None
    if codebook is not None:
        if config.colors is not None and config.colors != codebook.m:
            raise ValueError(
                f"the policy is already coloured with {codebook.m} colours: drop --colors {config.colors} "
                "(re-colouring a tuned codebook would undo its tuning)"
            )
        return codebook
    if config.colors is None:
        raise ValueError(
            "--dtype codebook needs a coloured policy (ghp tune --colors M, then --policy FILE) or --colors M"
        )
    from ghp.codebook import quantize

    return quantize(weights, config.colors, config.scope)


@dataclass(frozen=True)
class RunPolicy:
    """A policy chosen from a trained run, with what the export needs to know about its origin."""

    weights: PolicyWeights
    """The chosen architecture's weights (``Run.emit``)."""
    env_id: str
    """The run's environment (self-test rollouts)."""
    source: tuple[str, ...]
    """Banner lines: run id, algorithm, steps, how the architecture was chosen."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """The run's ``gym.make`` keyword arguments (``--env-kwargs``), for the self-test rollouts."""


def policy_from_run(
    run_dir: str | Path,
    arch: str | None = None,
    max_params: int | None = None,
    max_bytes: int | None = None,
    dtype: str = "float32",
    checkpoint: str | None = None,
    by: str = "auto",
) -> RunPolicy:
    """Load a run and emit one architecture: ``arch`` itself, or the best one under a budget (``--best``).

    ``--best`` takes the first of ``search.budget.rank_run`` ordered ``by`` (``auto``: by measured return when the
    run has been evaluated, else by capacity, paper Section III-D; ``success``: by success rate, then return).

    Raises:
        FileNotFoundError: no run at ``run_dir``.
        ValueError: neither or both of ``arch`` and a budget, an architecture outside the run's space, a corrupt run.
    """
    from ghp.arch import parse_arch

    path = Path(run_dir)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(f"no ghp run at {path} (expected a directory with config.json): train one first")
    budget_given = max_params is not None or max_bytes is not None
    if (arch is None) == (not budget_given):
        raise ValueError("choose the policy with --arch W-W-... or with --best --max-params N")
    from ghp.run import load_run

    if checkpoint == "best":
        return _best_checkpoint_policy(path, arch, max_params, max_bytes, dtype, by)
    run = load_run(path, checkpoint)
    if arch is not None:
        chosen = parse_arch(arch)
        how = "--arch"
        if chosen not in run.space:
            space = run.space
            raise ValueError(
                f"architecture {chosen.key} is not in the run's space (widths {list(space.widths)}, depths "
                f"{list(space.depths)}): pick one from `ghp search --run {path}`"
            )
    else:
        from search.budget import Budget, rank_run

        budget = Budget(max_params=max_params, max_bytes=max_bytes, dtype=dtype)
        ranked = rank_run(path, budget, by=by)
        if not ranked:
            raise ValueError(f"no architecture of the run fits {budget.describe()}: raise the budget")
        chosen = ranked[0].arch
        how = f"--best: first by {ranked.order} under {budget.describe()}"
        if ranked[0].figure is not None:
            how += f", {ranked[0].figure} figure over {ranked[0].episodes} episodes"
    weights = run.emit([chosen])[0]
    source = (
        f"run           {run.run_id} ({run.algo}, {run.timesteps} steps{', ' + checkpoint if checkpoint else ''})",
        f"chosen        {chosen.key} ({how})",
    )
    return RunPolicy(weights, run.spec.env_id, source, dict(run.spec.env_kwargs))


def policy_from_file(path: str | Path, run_dir: str | Path | None = None) -> tuple[RunPolicy, CodebookPolicy | None]:
    """A policy file (``ghp tune``'s ``RUN/tuned/NAME.npz``, or any ``PolicyWeights`` ``.npz``) to export.

    The environment of the self-test rollouts comes from the file's provenance, else from ``run_dir``'s config.

    Raises:
        FileNotFoundError / ValueError: no such file, not a policy file, or a policy for another environment than
            the run's.
    """
    from ghp.policyfile import check_compatible, load_policy

    pf = load_policy(path)
    prov = pf.provenance
    env_id = prov.get("env_id")
    if run_dir is not None:
        from ghp.run import run_facts

        _, spec, _ = run_facts(run_dir)
        check_compatible(pf, spec)
        env_id = spec.env_id
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
    return RunPolicy(pf.weights, str(env_id), tuple(source)), pf.codebook


def _best_checkpoint_policy(
    path: Path, arch: str | None, max_params: int | None, max_bytes: int | None, dtype: str, by: str = "auto"
) -> RunPolicy:
    """``--checkpoint best``: the best evaluated (architecture, checkpoint) pair under the budget, or ``arch`` at its
    best evaluated checkpoint (``ghp evaluate RUN --checkpoints all`` first)."""
    from ghp.arch import parse_arch
    from ghp.results import best_over_checkpoints, read_progress
    from ghp.run import load_run, run_facts

    run_id, _, space = run_facts(path)
    by_step = read_progress(path, run_id)
    if not by_step:
        raise ValueError(f"--checkpoint best needs evaluated checkpoints: run 'ghp evaluate {path} --checkpoints all'")
    metric = "success" if by == "success" else "return"  # what "best" means: --by success, else the return
    if arch is not None:
        chosen = parse_arch(arch)
        rec = best_over_checkpoints(by_step, metric).get(chosen.key)
        if rec is None:
            raise ValueError(f"architecture {chosen.key} was not evaluated at any checkpoint of {path}")
        value = rec.mean_return if metric == "return" else (rec.success_rate or 0.0)
        step, how = rec.setting.checkpoint_step, f"--arch at its best evaluated checkpoint ({metric} {value:.2f})"
    else:
        from search.budget import Budget, rank_run

        budget = Budget(max_params=max_params, max_bytes=max_bytes, dtype=dtype)
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
    return RunPolicy(weights, run.spec.env_id, source, dict(run.spec.env_kwargs))
