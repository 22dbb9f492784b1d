"""Saving a model while it trains: step checkpoints, ``model.zip``, the normaliser and the replay buffer.

Shared by :mod:`ghp.train` (the final and the interrupted save) and :mod:`ghp.callbacks` (``--checkpoint-every``), in
a module below both so that neither imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghp.atomic import write_bytes, write_npz
from ghp.normalize import stats_path
from ghp.replay import REPLAY_FILE, save_replay_buffer
from ghp.run import CHECKPOINT_DIR, MODEL_FILE, OBS_NORM_SUFFIX


def save(model: Any, out: Path, with_replay: bool) -> Path:
    """Write a step checkpoint, ``model.zip`` and (for ``--resume``) the replay buffer (ARS: its normaliser).

    Every file is written atomically (a temporary file renamed over the old one), so a kill mid-save leaves the
    previous file whole; the checkpoint and its statistics go first, ``model.zip`` last of the model files.
    """
    return save_all(model, out, with_replay)[0]


def save_all(model: Any, out: Path, with_replay: bool) -> tuple[Path, list[str]]:
    """:func:`save`, returning the checkpoint and what was saved, in words, for the interruption message."""
    import io
    import pickle

    ckpt_dir = out / CHECKPOINT_DIR
    ckpt_dir.mkdir(exist_ok=True)
    ckpt = ckpt_dir / f"step_{model.num_timesteps}.zip"
    buf = io.BytesIO()
    model.save(buf)  # ARS evaluates its candidates in a copy: its policy is always the mean
    saved: list[str] = []
    norm = model.get_vec_normalize_env()
    if norm is not None and type(model).__name__ == "ARS":
        rms = norm.obs_rms
        arrays = {"mean": rms.mean, "var": rms.var, "epsilon": norm.epsilon}
        write_npz(str(ckpt)[: -len(".zip")] + OBS_NORM_SUFFIX, arrays)
        write_npz(out / ("model" + OBS_NORM_SUFFIX), arrays)
        if with_replay:
            write_bytes(ckpt_dir / "vecnormalize.pkl", pickle.dumps(norm, protocol=pickle.HIGHEST_PROTOCOL))
        saved.append("the observation normaliser")
    elif norm is not None:  # --normalize: the statistics go with every model file (ghp.normalize)
        stats = pickle.dumps(norm, protocol=pickle.HIGHEST_PROTOCOL)  # what VecNormalize.save writes
        write_bytes(stats_path(ckpt), stats)
        write_bytes(stats_path(out / MODEL_FILE), stats)
        saved.append("the normalisation statistics")
    write_bytes(ckpt, buf.getvalue())
    write_bytes(out / MODEL_FILE, buf.getvalue())
    saved[:0] = [MODEL_FILE, f"checkpoint {CHECKPOINT_DIR}/{ckpt.name}"]
    if with_replay and hasattr(model, "save_replay_buffer"):
        save_replay_buffer(model.replay_buffer, ckpt_dir / REPLAY_FILE)
        saved.append("the replay buffer")
    return ckpt, saved
