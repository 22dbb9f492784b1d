"""Export one policy: C (header or source pair), ONNX or NumPy, optionally verified by the toolchain checks.

This is the library side of ``ghp export``; it takes :class:`~ghp.policy.weights.PolicyWeights` (what ``Run.emit``
returns), so it is usable and testable without a trained run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ghp.policy.codebook import CodebookPolicy
from ghp.policy.weights import PolicyWeights
from ghp.space.counting import deploy_bytes

from .check import CHECK_TOL
from .cwrite import write_c
from .job import EXPORT_DTYPES, TARGETS, ExportConfig, ExportJob, ExportResult
from .outdir import OutDir

if TYPE_CHECKING:
    from search.choose import ChosenPolicy, PolicyChoice

__all__ = [
    "EXPORT_DTYPES",
    "ExportConfig",
    "ExportResult",
    "export_run_policy",
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
    result = ExportResult([], w.arch.key, w.n_params, nbytes, obs_dim=w.obs_dim, act_dim=w.act_dim)
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
    from ghp.policy.codebook import quantize

    return quantize(weights, config.colors, config.scope)


def export_run_policy(run_dir: str | Path | None, choice: PolicyChoice, config: ExportConfig) -> ExportResult:
    """Export the policy of a run that ``choice`` names (:func:`search.choose.choose_policy`): ``ghp export``.

    A ``--max-bytes`` budget counts bytes at the export's dtype (float32 for a codebook, whose size is only known once
    coloured).

    Raises:
        FileNotFoundError / ValueError: as :func:`search.choose.choose_policy` and :func:`export_policy`.
        RuntimeError: the export was written but differs from torch beyond the tolerance (onnx).
    """
    from search.choose import choose_policy

    budget_dtype = "float32" if config.dtype == "codebook" else config.dtype
    chosen = choose_policy(run_dir, dataclasses.replace(choice, dtype=budget_dtype))
    return export_policy(
        chosen.weights, config, chosen.env_id, chosen.source, chosen.codebook, env_kwargs=chosen.env_kwargs
    )


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
    from search.choose import PolicyChoice, choose_policy

    best = max_params is not None or max_bytes is not None
    choice = PolicyChoice(arch, best, max_params, max_bytes, dtype, by, checkpoint)
    return choose_policy(run_dir, choice)


def policy_from_file(path: str | Path, run_dir: str | Path | None = None) -> tuple[ChosenPolicy, CodebookPolicy | None]:
    """A policy file and its colouring: :func:`search.choose.choose_policy` of ``policy_file=path``."""
    from search.choose import PolicyChoice, choose_policy

    chosen = choose_policy(run_dir, PolicyChoice(policy_file=Path(path)))
    return chosen, chosen.codebook
