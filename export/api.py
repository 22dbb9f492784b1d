"""Export one policy: C (header or source pair), ONNX or NumPy, optionally verified by the toolchain checks.

This is the library side of ``ghp export``; it takes :class:`~ghp.policy.weights.PolicyWeights` (what ``Run.emit``
returns), so it is usable and testable without a trained run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.policy.codebook import CodebookPolicy
from ghp.policy.weights import PolicyWeights
from ghp.space.counting import DTYPES, deploy_bytes

from .c import CSpec, check_name, render
from .check import CHECK_TOL, CheckReport, check_c
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

TARGETS: tuple[str, ...] = ("c-header", "c-source", "onnx", "numpy", "crazyflie")
EXPORT_DTYPES: tuple[str, ...] = (*DTYPES, "codebook")
"""Storage types of an export: ``ghp.space.counting``'s, plus codebook (C targets)."""
C_TARGETS: tuple[str, ...] = ("c-header", "c-source", "crazyflie")
CRAZYFLIE_FLASH = 1008 * 1024
"""Usable flash of a Crazyflie 2.x (STM32F405, REFERENCE.md), in bytes."""


@dataclass(frozen=True)
class ExportConfig:
    """How to export a policy (``ghp export``'s options are these fields: ``cli/options.py``)."""

    out: Path = Path("ghp-export")
    """Folder to write into: created if missing (default ./ghp-export); an existing one must be empty or hold a
    previous export's .ghp-export.json manifest; only files ghp wrote there are ever replaced (docs/export.md)."""
    name: str = "policy"
    """C identifier: prefix of every generated symbol and the files' base name."""
    target: str = field(default="c-header", metadata={"choices": TARGETS})
    """c-header (one NAME.h), c-source (NAME.c + NAME.h), onnx (NAME.onnx), numpy (NAME.npz), or crazyflie (an
    out-of-tree controller app for the Crazyflie firmware around src/NAME.h; Crazyflie runs only)."""
    dtype: str = field(default="float32", metadata={"choices": EXPORT_DTYPES})
    """float32, int8 (C targets: int8 weights, one float scale per output row, float biases/activations), or
    codebook (c-header, c-source: packed colour indices, float colour values and biases; export/codebook.py)."""
    colors: int | None = None
    """codebook: colour an uncoloured policy with this many shared values (k-means; no ES: see ghp tune --colors)."""
    scope: str = field(default="layer", metadata={"choices": ("layer", "network")})
    """codebook with colors: one codebook per layer or one for the whole network."""
    check: bool = False
    """Verify what was written: host gcc + torch, arm-none-eabi-gcc, QEMU (C); onnxruntime (onnx); reload (numpy)."""
    n_rollout: int = field(default=12, metadata={"flag": "--rollouts", "min": 1})
    """Self-test vectors taken from rollouts of the policy (edge cases are added to these)."""
    seed: int = 0
    """Seed of the rollouts (or of the random vectors when no environment is known)."""
    qemu: bool = True
    """With check: also run the self-test on the emulated STM32F405."""
    firmware: Path | None = None
    """crazyflie + check: the crazyflie-firmware checkout to build the app into (else $CRAZYFLIE_FIRMWARE, else
    ../shared/crazyflie-firmware next to the source tree; the build and SIL steps are skipped when none is found)."""
    sil_episodes: int = field(default=10, metadata={"min": 1})
    """crazyflie + check: software-in-the-loop episodes flown by the generated C (and by torch, same seeds)."""
    jobs: int = field(default=2, metadata={"min": 1})
    """crazyflie + check: parallel jobs of the firmware build (make -jN)."""
    allow_slow: bool = False
    """crazyflie: export a policy whose inference takes more than half of the 1 ms stabilizer call it runs in (its
    cost is estimated from the MAC count, and counted by QEMU with --check); refused without this flag."""

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown target {self.target!r}: choose one of {', '.join(TARGETS)}")
        if self.dtype not in EXPORT_DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}: choose one of {', '.join(EXPORT_DTYPES)}")
        if self.dtype in ("int8", "codebook") and self.target not in C_TARGETS:
            raise ValueError(f"--dtype {self.dtype} applies to the C targets only (c-header, c-source, crazyflie)")
        if self.dtype == "codebook" and self.target == "crazyflie":
            raise ValueError("--target crazyflie takes --dtype float32 or int8")
        if self.colors is not None and self.dtype != "codebook":
            raise ValueError("--colors goes with --dtype codebook")
        if self.colors is not None and self.colors < 2:
            raise ValueError(f"--colors must be at least 2, got {self.colors}")
        check_name(self.name)
        if self.n_rollout < 1:
            raise ValueError("n_rollout must be at least 1")
        if self.sil_episodes < 1 or self.jobs < 1:
            raise ValueError("sil_episodes and jobs must be at least 1")
        if self.firmware is not None and self.target != "crazyflie":
            raise ValueError("--firmware goes with --target crazyflie")
        if self.allow_slow and self.target != "crazyflie":
            raise ValueError("--allow-slow goes with --target crazyflie")


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    files: list[Path]
    """Files written, in order."""
    arch: str
    """Architecture key."""
    n_params: int
    """Deployable parameters."""
    n_bytes: int
    """Parameter bytes at the export's dtype (ghp.space.counting rule)."""
    n_vectors: int = 0
    """Self-test vectors embedded (C targets)."""
    selftest_tol: float = 1e-5
    """Tolerance to give the embedded self-test on the device: at least 1e-5, and at least the check's tolerance
    (float32 round-off of this policy on its test vectors, :func:`export.reference.check_tolerance`)."""
    int8_max_err: float | None = None
    """int8: largest |int8 action - float32 torch action| over the test vectors."""
    codebook_max_err: float | None = None
    """codebook: largest |codebook action - float32 torch action of the exported (uncoloured) policy|."""
    check: CheckReport | None = None
    """Toolchain check results (``check=True``)."""
    notes: list[str] = field(default_factory=list)
    """Extra one-line facts for the user."""


@dataclass(frozen=True, eq=False)
class ExportJob:
    """One export under way: the policy, the settings, where the policy comes from and where the files go (what the
    C writers, ``export/crazyflie`` among them, share)."""

    weights: PolicyWeights
    config: ExportConfig
    out: Path
    """The folder this job's files go into (the output folder, or a folder inside it)."""
    env_id: str | None = None
    """Environment of the self-test rollouts (None: seeded random vectors)."""
    source: tuple[str, ...] = ()
    """Banner lines saying where the policy comes from."""
    env_kwargs: dict[str, Any] | None = None
    """The run's ``gym.make`` keyword arguments."""
    codebook: CodebookPolicy | None = None
    """The colouring for ``dtype="codebook"``."""
    dest: OutDir | None = None
    """The output folder every file is written through (None: open ``out`` as one)."""
    prefix: str = ""
    """Where ``out`` is inside ``dest`` (``"src/"`` for a Crazyflie app's header), as a relative POSIX prefix."""

    def writer(self) -> OutDir:
        """The output folder to write through."""
        return self.dest if self.dest is not None else OutDir.open(self.out)


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
    return _export_c(job, result)


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


def _export_c(
    job: ExportJob, result: ExportResult, obs_box: tuple[np.ndarray, np.ndarray] | None = None
) -> ExportResult:
    """Write ``job`` as C (``c-header`` / ``c-source``) with self-test vectors (clipped to ``obs_box`` if given);
    check it when ``config.check``."""
    w, config, env_id, out, cb = job.weights, job.config, job.env_id, job.out, job.codebook
    from .reference import check_tolerance, forward, pre_activations, quantize_int8, torch_actions
    from .vectors import clip_vectors, test_vectors

    tv = test_vectors(w, env_id, config.n_rollout, config.seed, job.env_kwargs)
    if obs_box is not None:
        tv = clip_vectors(tv, *obs_box)
    torch_act = torch_actions(w, tv.obs)
    int8 = quantize_int8(w) if config.dtype == "int8" else None
    if int8 is not None:
        expected = forward(w, tv.obs, int8)
        result.int8_max_err = float(np.max(np.abs(expected.astype(np.float64) - torch_act)))
    elif cb is not None:
        from . import codebook as cbref

        expected = cbref.forward(cb, tv.obs)
        result.codebook_max_err = float(np.max(np.abs(expected.astype(np.float64) - torch_act)))
    else:
        expected = torch_act
    lines = [*([f"environment   {env_id}"] if env_id else []), *job.source]
    if result.int8_max_err is not None:
        err = result.int8_max_err
        lines.append(f"int8 error    {err:.3g}: the largest |int8 - float32 action| on the self-test vectors")
    if result.codebook_max_err is not None and cb is not None:
        err = result.codebook_max_err
        lines.append(
            f"codebook      {cb.m} colours per {cb.scope}, {cb.bits}-bit indices; error {err:.3g}: the largest "
            "|codebook - float32 action| on the self-test vectors"
        )
    spec = CSpec(
        name=config.name,
        weights=cb.dense() if cb is not None else w,
        dtype=config.dtype,
        int8=int8,
        codebook=cb,
        test_obs=tv.obs,
        test_act=expected,
        test_labels=tv.labels,
        source=tuple(lines),
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
        if cb is not None:
            from . import codebook as cbref

            z0 = cbref.pre_activations(cb, tv.obs[:1])[0]
        else:
            z0 = pre_activations(w, tv.obs[:1], int8)[0]
        result.check = check_c(
            out,
            config.name,
            config.target,
            tv.obs,
            expected,
            z0,
            torch_act=torch_act if (int8 is not None or cb is not None) else None,
            tol=tol,
            qemu=config.qemu,
        )
    return result


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
    from ghp.space.arch import parse_arch

    path = Path(run_dir)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(f"no ghp run at {path} (expected a directory with config.json): train one first")
    budget_given = max_params is not None or max_bytes is not None
    if (arch is None) == (not budget_given):
        raise ValueError("choose the policy with --arch W-W-... or with --best --max-params N")
    from ghp.run.load import load_run

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
    from ghp.policy.file import check_compatible, load_policy

    pf = load_policy(path)
    prov = pf.provenance
    env_id = prov.get("env_id")
    if run_dir is not None:
        from ghp.run.layout import run_facts

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
    from ghp.run.layout import run_facts
    from ghp.run.load import load_run
    from ghp.run.records import best_over_checkpoints
    from ghp.run.results import read_progress
    from ghp.space.arch import parse_arch

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
