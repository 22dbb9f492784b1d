"""The run directory of ``ghp chromatic``: its config, resumable state, history, policy file and summary.

The files are the ones every run directory has (``config.json``, ``policy.npz``, ``summary.json``), so evaluate,
report, search and export read a chromatic run like any other, plus ``state.npz`` (everything a resume needs,
rewritten atomically after every iteration), ``history.jsonl`` (one record per finished iteration) and
``chromatic.npz`` (the colouring, the shared values, the biases and the normalisation, kept apart).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs import EnvSpec
from ghp.es.colouring import ChromaticMap, Controller, Topology, count
from ghp.es.params import ObsStats
from ghp.io.atomic import write_npz, write_text
from ghp.policy.normalize import fold
from ghp.run.load import POLICY_FILE, STORED_SUMMARY_FILE
from ghp.space.arch import ArchSpace

STATE_FILE = "state.npz"
HISTORY_FILE = "history.jsonl"
CHROMATIC_FILE = "chromatic.npz"
STATE_VERSION = 1
RESUMABLE = ("iterations", "workers", "backend", "ray_address")
"""Options a ``--resume`` may change; any other must repeat the run's."""


def prepare_run(out: Path, cfg_dict: dict[str, Any], spec: EnvSpec, hidden: tuple[int, ...], resume: bool) -> None:
    """Write ``out/config.json`` for a new run, or check that a resumed one was made with the same settings.

    Raises:
        FileExistsError: ``out`` holds a run and ``resume`` is False.
        ValueError: a resume with different settings.
    """
    from ghp.run.layout import CONFIG_FILE, STORED_POLICY_ALGO, read_config, write_config

    if (out / CONFIG_FILE).exists():
        if not resume:
            raise FileExistsError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
        old = read_config(out)
        prev = dict(old.get("chromatic", {}))
        for k in cfg_dict:
            if k not in RESUMABLE and prev.get(k, cfg_dict[k]) != cfg_dict[k]:
                raise ValueError(f"--resume with a different {k.replace('_', '-')} ({prev.get(k)} != {cfg_dict[k]})")
        run_id = str(old["run_id"])
    else:
        out.mkdir(parents=True, exist_ok=True)
        run_id = uuid.uuid4().hex[:12]
    space = ArchSpace(widths=hidden[:1] or (1,), depths=(len(hidden),))
    if hidden and len(set(hidden)) > 1:
        raise ValueError("hidden layers of different widths are not supported: give one width (e.g. 41 or 41,41)")
    sections = {
        "algo": STORED_POLICY_ALGO,
        "env": spec.to_dict(),
        "space": space.to_dict(),
        "chromatic": cfg_dict,
        "counts_rule": "params = distinct weights + biases; bits = 32 x params (+ edges x ceil(log2 M))",
    }
    write_config(out, run_id, sections, {"numpy": np.__version__})


@dataclass
class ChromaticState:
    """Everything a chromatic run needs to continue (``state.npz``)."""

    theta: np.ndarray
    """Shared values ++ biases (float64)."""
    stats: ObsStats
    rng: np.random.Generator
    """The one generator of directions and colourings (its state is saved)."""
    fixed: np.ndarray | None
    """The colouring of a random, toeplitz or unstructured partition (None: learned)."""
    controller: Controller | None
    """The colouring distribution of a learned partition."""
    iteration: int = 0
    env_steps: int = 0
    seconds: float = 0.0
    best_return: float = -math.inf
    """Best single rollout return so far (the paper's best worker)."""
    best_colouring: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    best_theta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    best_mean: float = -math.inf
    """Best mean return of one iteration's rollouts."""
    last_eval: float | None = None

    def mode_colouring(self) -> np.ndarray:
        """The colouring of the current policy: the controller's most likely one, or the fixed one."""
        if self.controller is not None:
            return self.controller.mode()
        assert self.fixed is not None
        return self.fixed

    def save(self, path: Path) -> None:
        """Write ``state.npz`` atomically."""
        arrays: dict[str, Any] = dict(
            state_version=np.int64(STATE_VERSION),
            theta=self.theta,
            obs_n=np.int64(self.stats.count),
            obs_mean=self.stats.mean,
            obs_m2=self.stats.m2,
            iteration=np.int64(self.iteration),
            env_steps=np.int64(self.env_steps),
            seconds=np.float64(self.seconds),
            rng=np.asarray(json.dumps(self.rng.bit_generator.state)),
            fixed=self.fixed if self.fixed is not None else np.zeros(0, np.int64),
            best_return=np.float64(self.best_return),
            best_colouring=self.best_colouring,
            best_theta=self.best_theta,
            best_mean=np.float64(self.best_mean),
            last_eval=np.float64(np.nan if self.last_eval is None else self.last_eval),
        )
        write_npz(path, arrays | (self.controller.state() if self.controller is not None else {}))

    def load(self, path: Path) -> None:
        """Continue from ``state.npz`` (this state is the fresh one of the same settings).

        Raises:
            ValueError: a state file of another format version.
        """
        with np.load(path) as z:
            if int(z["state_version"]) != STATE_VERSION:
                raise ValueError(f"{path} is from another ghp version; start a new run")
            self.theta = np.array(z["theta"])
            self.stats = ObsStats(int(z["obs_n"]), np.array(z["obs_mean"]), np.array(z["obs_m2"]))
            self.iteration, self.env_steps, self.seconds = int(z["iteration"]), int(z["env_steps"]), float(z["seconds"])
            self.rng.bit_generator.state = json.loads(str(z["rng"]))
            if self.fixed is not None:
                self.fixed = np.array(z["fixed"])
            if self.controller is not None:
                self.controller.load(z)
            self.best_return, self.best_mean = float(z["best_return"]), float(z["best_mean"])
            self.best_colouring, self.best_theta = np.array(z["best_colouring"]), np.array(z["best_theta"])
            self.last_eval = None if math.isnan(float(z["last_eval"])) else float(z["last_eval"])


def trim_history(out: Path, iterations: int) -> None:
    """Keep exactly the first ``iterations`` records (an interrupted iteration left its state unsaved)."""
    hist = out / HISTORY_FILE
    lines = hist.read_text().splitlines() if hist.exists() else []
    write_text(hist, "".join(line + "\n" for line in lines[:iterations]))


def append_history(out: Path, record: dict[str, Any]) -> None:
    """One finished iteration's record."""
    with (out / HISTORY_FILE).open("a") as f:
        f.write(json.dumps(record) + "\n")


@dataclass(frozen=True)
class Layout:
    """What does not change during a run: the environment, the topology and the partition."""

    spec: EnvSpec
    top: Topology
    partition: str
    colors: int
    nv: int
    """Length of the shared-value vector."""

    def chromatic_map(self, colouring: np.ndarray, dtype: Any = None) -> ChromaticMap:
        """The parameter map of ``colouring`` with the environment's action bounds (as ``dtype``: None keeps the
        spec's)."""
        low, high = np.asarray(self.spec.action_low, dtype), np.asarray(self.spec.action_high, dtype)
        return ChromaticMap(self.top, colouring, self.nv, low, high)


def _codebook(layout: Layout, colouring: np.ndarray, theta: np.ndarray, stats: ObsStats) -> Any:
    """The policy as one network-wide codebook (shared values, every edge's colour, biases, the input normalisation
    kept apart), or None when the values do not fit 8-bit indices."""
    from ghp.policy.codebook import MAX_COLORS, CodebookPolicy

    if layout.nv > MAX_COLORS:
        return None
    top = layout.top
    colors, e0 = [], 0
    for o, i in top.shapes:
        colors.append(np.asarray(colouring[e0 : e0 + o * i], np.uint8).reshape(o, i))
        e0 += o * i
    cmap = layout.chromatic_map(colouring, np.float32)
    normed = cmap.weights(theta)
    low, high = cmap.action_low, cmap.action_high
    values = (theta[: layout.nv].astype(np.float32),)
    biases = tuple(b for _, b in normed.layers)
    mean, inv_std = stats.shift.astype(np.float32), (1.0 / stats.std).astype(np.float32)
    arch, nv = top.arch, layout.nv
    return CodebookPolicy(arch, tuple(colors), values, biases, low, high, nv, "network", "tanh", mean, inv_std)


def write_policy(out: Path, layout: Layout, state: ChromaticState) -> None:
    """The run's policy file, its colouring and values, and a summary with its counts, for the current policy.

    ``policy.npz`` is a ``ghp.policy.file`` policy file: dense weights with the normalisation folded in (what
    evaluation and float32 / int8 exports use) and, when the values fit 8-bit indices, its codebook for ``ghp export
    --policy RUN/policy.npz --dtype codebook``.
    """
    from ghp.policy.file import save_policy

    colouring, theta, stats = state.mode_colouring(), state.theta, state.stats
    cb = _codebook(layout, colouring, theta, stats)
    if cb is not None:
        policy = cb.dense()
    else:
        policy = fold(layout.chromatic_map(colouring, np.float32).weights(theta), stats.shift, stats.std)
    provenance = {
        "env_id": layout.spec.env_id,
        "method": f"chromatic-es ({layout.partition})",
        "run_id": json.loads((out / "config.json").read_text())["run_id"],
        "iterations": state.iteration,
        "checkpoint_step": state.env_steps,
    }
    save_policy(out / POLICY_FILE, policy, provenance, cb)
    nv = layout.nv
    parts = {
        "dims": np.asarray(layout.top.dims, np.int64),
        "partition": np.asarray(layout.partition),
        "colors": np.int64(layout.colors),
        "colouring": np.asarray(colouring, np.int64),
        "values": theta[:nv].astype(np.float32),
        "biases": theta[nv:].astype(np.float32),
        "obs_mean": stats.shift.astype(np.float32),
        "obs_std": stats.std.astype(np.float32),
    }
    write_npz(out / CHROMATIC_FILE, parts)
    _write_summary(out, layout, state, colouring)


def _write_summary(out: Path, layout: Layout, state: ChromaticState, colouring: np.ndarray) -> None:
    c = count(layout.top, layout.partition, colouring, layout.colors)
    summary = {
        "partition": layout.partition,
        "topology": list(layout.top.dims),
        "colors": layout.colors if layout.partition in ("learned", "random") else None,
        "iterations": state.iteration,
        "env_steps": state.env_steps,
        **asdict(c),
        "best_worker_return": None if not np.isfinite(state.best_return) else state.best_return,
        "best_mean_return": None if not np.isfinite(state.best_mean) else state.best_mean,
        "last_eval_return": state.last_eval,
    }
    write_text(out / STORED_SUMMARY_FILE, json.dumps(summary, indent=2))
