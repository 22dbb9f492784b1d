"""The C writer of the c-header and c-source targets, and of the Crazyflie app's ``src/NAME.h``: weights, self-test
vectors and, with ``check``, the toolchain checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .c import CSpec, render
from .check import CHECK_TOL, CheckReport, check_c
from .job import ExportJob, ExportResult

if TYPE_CHECKING:
    from .reference import Int8Layer

CRAZYFLIE_FLASH = 1008 * 1024
"""Usable flash of a Crazyflie 2.x (STM32F405, REFERENCE.md), in bytes."""


def write_c(job: ExportJob, result: ExportResult, obs_box: tuple[np.ndarray, np.ndarray] | None = None) -> ExportResult:
    """Write ``job`` as C (``c-header`` / ``c-source``) with self-test vectors (clipped to ``obs_box`` if given);
    check it when ``config.check``."""
    w, config, cb = job.weights, job.config, job.codebook
    from .reference import check_tolerance, quantize_int8, torch_actions
    from .vectors import clip_vectors, test_vectors

    tv = test_vectors(w, job.env_id, config.n_rollout, config.seed, job.env_kwargs)
    if obs_box is not None:
        tv = clip_vectors(tv, *obs_box)
    torch_act = torch_actions(w, tv.obs)
    int8 = quantize_int8(w) if config.dtype == "int8" else None
    expected = _expected_actions(job, result, tv.obs, torch_act, int8)
    spec = CSpec(
        name=config.name,
        weights=cb.dense() if cb is not None else w,
        dtype=config.dtype,
        int8=int8,
        codebook=cb,
        test_obs=tv.obs,
        test_act=expected,
        test_labels=tv.labels,
        source=tuple(_source_lines(job, result)),
    )
    dest = job.writer()
    for fname, text in render(spec, config.target).items():
        result.files.append(dest.write_text(job.prefix + fname, text))
    result.n_vectors = len(tv.obs)
    tol = check_tolerance(w, CHECK_TOL, tv.obs, torch_act)
    result.selftest_tol = max(result.selftest_tol, tol)
    if result.n_bytes > CRAZYFLIE_FLASH:
        result.notes.append(
            f"the weights alone ({result.n_bytes} B) exceed the Crazyflie's ~{CRAZYFLIE_FLASH // 1024} KB of usable "
            "flash: choose a smaller architecture or --dtype int8"
        )
    if config.check:
        result.check = _check(job, tv.obs, expected, torch_act, int8, tol)
    return result


def _expected_actions(
    job: ExportJob, result: ExportResult, obs: np.ndarray, torch_act: np.ndarray, int8: tuple[Int8Layer, ...] | None
) -> np.ndarray:
    """What the C must compute for ``obs``: torch's float32 actions, or the int8 or codebook arithmetic's own
    reference, whose largest distance from torch goes to ``result`` (``int8_max_err``, ``codebook_max_err``)."""
    from .reference import forward

    if int8 is not None:
        expected = forward(job.weights, obs, int8)
        result.int8_max_err = float(np.max(np.abs(expected.astype(np.float64) - torch_act)))
    elif job.codebook is not None:
        from . import codebook as cbref

        expected = cbref.forward(job.codebook, obs)
        result.codebook_max_err = float(np.max(np.abs(expected.astype(np.float64) - torch_act)))
    else:
        expected = torch_act
    return expected


def _source_lines(job: ExportJob, result: ExportResult) -> list[str]:
    """The provenance lines of the generated file's header comment: environment, source, and the int8 or codebook
    error on the self-test vectors."""
    cb = job.codebook
    lines = [*([f"environment   {job.env_id}"] if job.env_id else []), *job.source]
    if result.int8_max_err is not None:
        err = result.int8_max_err
        lines.append(f"int8 error    {err:.3g}: the largest |int8 - float32 action| on the self-test vectors")
    if result.codebook_max_err is not None and cb is not None:
        err = result.codebook_max_err
        lines.append(
            f"codebook      {cb.m} colours per {cb.scope}, {cb.bits}-bit indices; error {err:.3g}: the largest "
            "|codebook - float32 action| on the self-test vectors"
        )
    return lines


def _check(
    job: ExportJob,
    obs: np.ndarray,
    expected: np.ndarray,
    torch_act: np.ndarray,
    int8: tuple[Int8Layer, ...] | None,
    tol: float,
) -> CheckReport:
    """The toolchain checks of the written C (:func:`~export.check.check_c`) against ``expected``; torch's actions
    are reported beside it when they differ from ``expected`` (int8, codebook)."""
    from .reference import pre_activations

    cb, config = job.codebook, job.config
    if cb is not None:
        from . import codebook as cbref

        z0 = cbref.pre_activations(cb, obs[:1])[0]
    else:
        z0 = pre_activations(job.weights, obs[:1], int8)[0]
    return check_c(
        job.out,
        config.name,
        config.target,
        obs,
        expected,
        z0,
        torch_act=torch_act if (int8 is not None or cb is not None) else None,
        tol=tol,
        qemu=config.qemu,
    )
