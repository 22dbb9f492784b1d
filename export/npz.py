"""``--target numpy``: the policy as a ``.npz`` that ``PolicyWeights.from_npz`` reads (``W0, b0, ...``, bounds, arch).

Written member by member with a fixed zip timestamp, so re-exporting gives a byte-identical file (``numpy.savez``
stamps each member with the current time).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from ghp.policy import FORMAT_VERSION, PolicyWeights

_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The zip format's earliest date: a constant timestamp for every member."""


def npz_arrays(weights: PolicyWeights) -> dict[str, np.ndarray]:
    """The arrays of ``PolicyWeights.to_npz``, in a fixed order."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.asarray(FORMAT_VERSION, np.int64),
        "arch": np.asarray(weights.arch.hidden, np.int64),
        "action_low": weights.action_low,
        "action_high": weights.action_high,
    }
    for j, (w, b) in enumerate(weights.layers):
        arrays[f"W{j}"] = w
        arrays[f"b{j}"] = b
    if weights.clip_low is not None and weights.clip_high is not None:
        arrays["clip_low"], arrays["clip_high"] = weights.clip_low, weights.clip_high
    return arrays


def write_npz(weights: PolicyWeights, path: Path) -> Path:
    """Write ``path`` (``NAME.npz``) and read it back to confirm it reproduces the policy's actions exactly."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in npz_arrays(weights).items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    back = PolicyWeights.from_npz(path)
    probe = np.linspace(-2, 2, 3 * weights.obs_dim, dtype=np.float32).reshape(3, weights.obs_dim)
    probe = np.concatenate([probe, probe * np.float32(1000)])  # beyond any observation clip
    if back.arch != weights.arch or not np.array_equal(back.act(probe), weights.act(probe)):
        raise RuntimeError(f"{path} does not reproduce the policy")
    return path
