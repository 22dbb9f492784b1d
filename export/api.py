"""Export one policy: C (header or source pair), ONNX or NumPy, optionally verified by the toolchain checks.

This is the library side of ``ghp export``; it takes :class:`~ghp.policy.weights.PolicyWeights` (what ``Run.emit``
returns), so it is usable and testable without a trained run.
"""

from __future__ import annotations

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
    pass

__all__ = [
    "EXPORT_DTYPES",
    "ExportConfig",
    "ExportResult",
    "TARGETS",
    "export_policy",
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
