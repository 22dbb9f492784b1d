"""One export under way: its settings (:class:`ExportConfig`), its result (:class:`ExportResult`) and the job every
writer takes (:class:`ExportJob`).

A module below both :mod:`export.api` (which dispatches on the target) and :mod:`export.crazyflie` (whose app embeds a
c-header export), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghp.envs import parse_env_kwargs
from ghp.policy.codebook import CodebookPolicy
from ghp.policy.weights import PolicyWeights
from ghp.space.counting import DTYPES

from .c import check_name
from .check import CheckReport
from .outdir import OutDir

TARGETS: tuple[str, ...] = ("c-header", "c-source", "onnx", "numpy", "crazyflie")
EXPORT_DTYPES: tuple[str, ...] = (*DTYPES, "codebook")
"""Storage types of an export: ``ghp.space.counting``'s, plus codebook (C targets)."""
C_TARGETS: tuple[str, ...] = ("c-header", "c-source", "crazyflie")


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
    env_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={"parse_all": parse_env_kwargs, "metavar": "KEY=VALUE ...", "show_default": "none"},
    )
    """Environment options on top of the run's (the syntax of ghp train --env-kwargs) for the self-test rollouts and,
    with --target crazyflie, the app and its check, e.g. task=goto: a hover policy built to fly GoTo setpoints (the
    GoTo task's error clip in the app, its episodes in the check)."""
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
    obs_dim: int = 0
    """Policy input size."""
    act_dim: int = 0
    """Action size."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (``ghp export --json``)."""
        check = None
        if self.check is not None:
            steps = [{"name": s.name, "status": s.status, "detail": s.detail} for s in self.check.steps]
            check = {"ok": self.check.ok, "steps": steps, "figures": dict(self.check.figures)}
        return {
            "files": [str(f) for f in self.files],
            "arch": self.arch,
            "n_params": self.n_params,
            "n_bytes": self.n_bytes,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "n_vectors": self.n_vectors,
            "selftest_tol": self.selftest_tol,
            "int8_max_err": self.int8_max_err,
            "codebook_max_err": self.codebook_max_err,
            "check": check,
            "notes": list(self.notes),
        }


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
