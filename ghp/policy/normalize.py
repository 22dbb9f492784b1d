"""Observation normalisation (``ghp train --normalize``): SB3's ``VecNormalize`` while training, folded in after.

Training wraps the vectorised environment in ``VecNormalize`` (running mean and variance of every observation
key; rewards too with ``--normalize-reward``). The actor then sees

    z = clip((x - mean) / std, -c, c),   std = sqrt(var + eps)

(goal-conditioned tasks: the observation and the desired goal, each with its own statistics, as in the HER
baselines, which clip at c = 5). The statistics are saved with every model file, in SB3's own format, as a sidecar
(:func:`stats_path`: ``model.zip`` -> ``model.vecnormalize.pkl``, ``checkpoints/step_N.zip`` ->
``checkpoints/step_N.vecnormalize.pkl``; ``VecNormalize.load(path, venv)`` reads it, and ghp reads it with
:func:`load_vec_normalize`, which runs no code from the file).

Afterwards they are frozen. :func:`ghp.run.load.load_run` reads the sidecar of the model it loads and every emitted
policy gets them folded into its first layer, so evaluation, search, export and ``ghp play`` see an ordinary MLP on
raw observations:

    W z + b = (W / std) x' + (b - W mean / std),   x' = clip(x, mean - c std, mean + c std)

Clipping the normalised value at +-c is clipping the raw value at ``mean -+ c std`` (``std > 0``), so the clip
becomes :attr:`ghp.policy.weights.PolicyWeights.clip_low` / ``clip_high``, applied by the C runtime (``ghp_clip``)
before
the first layer.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ghp.policy.weights import GOAL_KEYS, PolicyWeights

STATS_SUFFIX = ".vecnormalize.pkl"


def stats_path(model_file: str | Path) -> Path:
    """The statistics saved with ``model_file`` (``RUN/model.zip`` -> ``RUN/model.vecnormalize.pkl``)."""
    model_file = Path(model_file)
    return model_file.with_name(model_file.stem + STATS_SUFFIX)


@dataclass(frozen=True, eq=False)
class ObsNormalization:
    """The frozen normalisation of the actor's input: ``clip((x - mean) / std, -clip, clip)``."""

    mean: np.ndarray
    """float64 ``[obs_dim]``."""
    std: np.ndarray
    """float64 ``[obs_dim]``, ``sqrt(var + eps)`` (never 0)."""
    clip: float | None
    """Clip of the normalised observation (VecNormalize's ``clip_obs``); None: no clip (ARS, whose VecNormalize clip
    is set so high that it never acts)."""

    def __post_init__(self) -> None:
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError("normalisation mean and std must be vectors of one length")
        if not (np.all(self.std > 0) and np.all(np.isfinite(self.std)) and np.all(np.isfinite(self.mean))):
            raise ValueError("normalisation statistics must be finite with a positive std")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"normalisation clip must be positive, got {self.clip}")

    @classmethod
    def from_vec_normalize(cls, vec_normalize: Any, clip: bool = True) -> ObsNormalization:
        """The actor-input part of an SB3 ``VecNormalize``'s statistics (Dict spaces: observation ++ desired goal).

        The arrays are copied: a live ``VecNormalize`` keeps updating its own (the periodic evaluation during
        training takes a snapshot, exactly what a checkpoint saved at the same step holds).

        Args:
            vec_normalize: the live or unpickled ``VecNormalize``.
            clip: False for a normaliser whose clip never acts (ARS): the policy then carries no observation clip.
        """
        rms = vec_normalize.obs_rms
        eps = float(vec_normalize.epsilon)
        if isinstance(rms, dict):
            keys = vec_normalize.norm_obs_keys or list(rms)
            missing = [k for k in GOAL_KEYS if k not in keys]
            if missing:
                raise ValueError(f"the saved statistics do not normalise {', '.join(missing)}")
            mean = np.concatenate([np.asarray(rms[k].mean, np.float64).ravel() for k in GOAL_KEYS])
            var = np.concatenate([np.asarray(rms[k].var, np.float64).ravel() for k in GOAL_KEYS])
        else:
            mean = np.array(rms.mean, np.float64).ravel()
            var = np.array(rms.var, np.float64).ravel()
        return cls(mean, np.sqrt(var + eps), float(vec_normalize.clip_obs) if clip else None)

    @classmethod
    def from_ars_file(cls, path: str | Path) -> ObsNormalization:
        """The statistics an ARS run saves beside each model (``*.obsnorm.npz``: ``mean``, ``var``, ``epsilon``)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                mean, var, eps = (np.asarray(z[k], np.float64) for k in ("mean", "var", "epsilon"))
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"corrupt observation statistics {path}: {e}") from None
        return cls(mean.ravel(), np.sqrt(var.ravel() + float(eps)), None)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """What the trained actor sees for raw actor input ``x`` (VecNormalize's arithmetic, float32 result)."""
        z = (np.asarray(x, np.float64) - self.mean) / self.std
        if self.clip is not None:
            z = np.clip(z, -self.clip, self.clip)
        return z.astype(np.float32)

    def fold(self, weights: PolicyWeights) -> PolicyWeights:
        """The policy on raw observations equal to ``weights`` applied to :meth:`normalize` of them.

        First layer ``W / std`` column-wise and ``b - W (mean / std)`` (float64, stored float32); the clip becomes
        the observation clip ``[mean - clip * std, mean + clip * std]`` (none without a clip).
        """
        if weights.clipped:
            raise ValueError(f"policy {weights.arch.key} already carries an observation clip: fold only once")
        if weights.obs_dim != self.mean.shape[0]:
            raise ValueError(f"statistics for {self.mean.shape[0]} inputs, policy takes {weights.obs_dim}")
        folded = fold(weights, self.mean, self.std)
        if self.clip is None:
            return folded
        lo = (self.mean - self.clip * self.std).astype(np.float32)
        hi = (self.mean + self.clip * self.std).astype(np.float32)
        return dataclasses.replace(folded, clip_low=lo, clip_high=hi)


def fold(weights: PolicyWeights, mean: np.ndarray, std: np.ndarray) -> PolicyWeights:
    """The policy on raw observations equal to ``weights`` applied to ``(x - mean) / std`` (no clip of its own).

    ``W' = W / std`` column-wise and ``b' = b - W (mean / std)`` on the first layer; computed in float64, stored as
    float32 (the other layers are unchanged). An observation clip ``weights`` already carries is one of ``z = (x -
    mean) / std``, so it becomes the clip ``mean + z std`` of ``x``. The one fold of ghp: training statistics
    (:meth:`ObsNormalization.fold`), ES statistics (``ghp.es``) and codebook input normalisation all use it.
    """
    w, b = weights.layers[0]
    w64 = w.astype(np.float64)
    w_new = w64 / std[None, :]
    b_new = b.astype(np.float64) - w64 @ (mean / std)
    layers = ((w_new.astype(np.float32), b_new.astype(np.float32)), *weights.layers[1:])
    lo, hi = map_clip(weights, lambda z: mean + z * std)
    return dataclasses.replace(weights, layers=layers, clip_low=lo, clip_high=hi)


def map_clip(weights: PolicyWeights, to: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The observation clip bounds of ``weights`` through the increasing map ``to`` (None, None: no clip)."""
    if weights.clip_low is None or weights.clip_high is None:
        return None, None
    lo, hi = (to(b.astype(np.float64)).astype(np.float32) for b in (weights.clip_low, weights.clip_high))
    return lo, hi


def load_vec_normalize(path: str | Path, venv: Any = None) -> Any:
    """The ``VecNormalize`` pickled at ``path`` (SB3's format, ``VecNormalize.save``), read without running code.

    The file goes through ghp's allow-listed unpickler (:mod:`ghp.io.safepickle`), which builds only the numpy,
    gymnasium and SB3 data classes such a file is made of; ``VecNormalize.load(path, venv)`` would unpickle anything.

    Args:
        venv: the vectorised environment to attach (as ``VecNormalize.load`` does); None: none attached.

    Raises:
        ValueError: a corrupt or truncated file, or one that refers to anything else (a crafted file).
    """
    from stable_baselines3.common.vec_env import VecNormalize

    from ghp.io.safepickle import load

    try:
        norm = load(path, f"normalisation statistics {path}")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, IndexError) as e:
        raise ValueError(f"corrupt normalisation statistics {path}: {e}") from None
    if not isinstance(norm, VecNormalize):
        raise ValueError(f"corrupt normalisation statistics {path}: it holds a {type(norm).__name__}, not VecNormalize")
    if venv is not None:
        norm.set_venv(venv)
    return norm


def load_stats(model_file: str | Path) -> ObsNormalization | None:
    """The frozen statistics saved with ``model_file``, or ``None`` when the model was trained without them."""
    path = stats_path(model_file)
    if not path.is_file():
        return None
    return ObsNormalization.from_vec_normalize(load_vec_normalize(path))


def parse_scales(text: str) -> tuple[float, ...]:
    """``--obs-scale``: one positive number, or a comma list of them (one per observation entry)."""
    try:
        scales = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--obs-scale wants positive numbers like 10 or 10,10,10,1, got {text!r}") from None
    if not scales or not all(np.isfinite(v) and v > 0 for v in scales):
        raise ValueError(f"--obs-scale wants positive numbers like 10 or 10,10,10,1, got {text!r}")
    return scales


FROZEN_COUNT = 1e12
"""The sample count a scale's statistics start from: a running update (``VecNormalize.training``) then moves them by
less than 1e-6 of an observation over 10^6 steps."""


def freeze_scale(vec_normalize: Any, scale: tuple[float, ...]) -> None:
    """Make ``vec_normalize`` a fixed scale: statistics of mean 0 and std ``1 / scale`` (one number for every input,
    or one per input), no updates. Saved, evaluated and folded into exports like any ``VecNormalize``'s statistics.

    Raises:
        ValueError: a scale that is not positive, or whose length is neither 1 nor the observation's.
    """
    rms = vec_normalize.obs_rms
    if isinstance(rms, dict):
        raise ValueError("--obs-scale takes a flat observation (not a goal-conditioned task's dictionary)")
    n = int(np.asarray(rms.mean).size)
    s = np.asarray(scale, np.float64).ravel()
    if s.size not in (1, n):
        raise ValueError(f"--obs-scale takes one number or one per input ({n}), got {s.size}")
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError(f"--obs-scale values must be positive, got {list(s)}")
    eps = float(vec_normalize.epsilon)
    std = np.broadcast_to(1.0 / s, (n,))
    if np.any(std**2 <= eps):
        raise ValueError(f"--obs-scale values must be below {1 / np.sqrt(eps):g}, got {float(s.max()):g}")
    rms.mean = np.zeros(n)
    rms.var = std**2 - eps  # sqrt(var + eps) is std
    rms.count = FROZEN_COUNT
    vec_normalize.training = False
