"""Policy files with provenance: the ``PolicyWeights`` hand-off (``.npz``) plus where the policy comes from.

A tuned (or compressed) policy is saved under ``RUN/tuned/NAME.npz``. The file is an ordinary
``PolicyWeights.to_npz`` file (``PolicyWeights.from_npz`` reads it), with two optional additions:

- ``provenance``: a JSON object (run id, environment, architecture, checkpoint, method, iterations, returns before
  and after, ...), so a tuned policy can be told apart from the hypernetwork's and traced back to its run;
- a codebook (``ghp.policy.codebook.codebook_arrays``): colour indices and values, for ``--dtype codebook`` exports.

Evaluations of a tuned policy live beside it, in ``RUN/tuned/NAME.sqlite`` (the results schema of
``ghp.run.results``), never in the run's own ``results.sqlite``: the hypernetwork's ranking stays the hypernetwork's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs import EnvSpec
from ghp.policy.codebook import CodebookPolicy, codebook_arrays, codebook_from_arrays
from ghp.policy.weights import PolicyWeights

TUNED_DIR = "tuned"
"""Subdirectory of a run holding its tuned policies."""


@dataclass(frozen=True, eq=False)
class PolicyFile:
    """A loaded policy file."""

    path: Path
    weights: PolicyWeights
    provenance: dict[str, Any] = field(default_factory=dict)
    """Empty for a plain ``PolicyWeights.to_npz`` file."""
    codebook: CodebookPolicy | None = None

    @property
    def name(self) -> str:
        """File name without ``.npz``."""
        return self.path.stem

    @property
    def label(self) -> str:
        """How results and listings name it: ``tuned:NAME``."""
        return f"tuned:{self.name}"


def save_policy(
    path: str | Path, weights: PolicyWeights, provenance: dict[str, Any], codebook: CodebookPolicy | None = None
) -> Path:
    """Write a policy file (:meth:`PolicyWeights.to_npz`, plus provenance and codebook)."""
    extra: dict[str, Any] = {"provenance": np.asarray(json.dumps(provenance, sort_keys=True))}
    if codebook is not None:
        extra |= codebook_arrays(codebook)
    return weights.to_npz(path, extra)


def load_policy(path: str | Path) -> PolicyFile:
    """Read a policy file (a tuned one, or any ``PolicyWeights.to_npz`` file).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a policy file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no policy file {path}: give a .npz written by 'ghp tune' or 'ghp export --target numpy'"
        )
    try:
        weights = PolicyWeights.from_npz(path)
        with np.load(path, allow_pickle=False) as z:
            prov = json.loads(str(z["provenance"])) if "provenance" in z.files else {}
            cb = codebook_from_arrays(z, weights)
    except (OSError, KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a ghp policy file ({' '.join(str(e).split())})") from None
    return PolicyFile(path, weights, prov if isinstance(prov, dict) else {}, cb)


def check_compatible(pf: PolicyFile, spec: EnvSpec) -> None:
    """Refuse a policy that cannot act in ``spec``'s environment (another environment or other dimensions).

    Raises:
        ValueError: one line saying what does not match.
    """
    env = pf.provenance.get("env_id")
    if env is not None and env != spec.env_id:
        raise ValueError(f"policy file {pf.path} is for {env}, not for this run's {spec.env_id}")
    if pf.weights.obs_dim != spec.obs_dim or pf.weights.act_dim != spec.act_dim:
        raise ValueError(
            f"policy file {pf.path} maps {pf.weights.obs_dim} inputs to {pf.weights.act_dim} actions; "
            f"{spec.env_id} needs {spec.obs_dim} -> {spec.act_dim}"
        )


def tuned_dir(run_dir: str | Path) -> Path:
    """``RUN/tuned``."""
    return Path(run_dir) / TUNED_DIR


def results_file(pf_path: str | Path) -> Path:
    """Where evaluations of a policy file go: beside it, ``NAME.sqlite``."""
    p = Path(pf_path)
    return p.with_suffix(".sqlite")


def list_tuned(run_dir: str | Path) -> list[PolicyFile]:
    """The policy files under ``RUN/tuned/`` (unreadable files are skipped), by name."""
    d = tuned_dir(run_dir)
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob("*.npz")):
        if p.name.endswith((".state.npz", ".tmp.npz")):
            continue
        try:
            out.append(load_policy(p))
        except (ValueError, FileNotFoundError):
            continue
    return out
