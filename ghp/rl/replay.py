"""Change the capacity of a loaded Stable-Baselines3 replay buffer (``ghp train --resume`` with more steps).

SB3 pickles a replay buffer with its arrays at their original capacity, and ``load_replay_buffer`` puts it back as
it was: a run resumed to more total steps would keep the first run's capacity. :func:`resize_replay_buffer` lays the
stored transitions out again, oldest first, in arrays of the new capacity (keeping the newest ones when it shrinks),
and remaps ``HerReplayBuffer``'s episode bookkeeping (episode starts are buffer positions) to the new positions.

Saving and loading (:func:`save_replay_buffer`, :func:`load_replay_buffer`) keep SB3's file format but write
atomically and read through ghp's allow-listed unpickler: a crafted buffer file cannot run code, and a truncated one
is reported in one line with the way to resume without it.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _chronological(buf: Any) -> np.ndarray:
    """Buffer positions holding transitions, oldest first."""
    if buf.full:
        return np.concatenate([np.arange(buf.pos, buf.buffer_size), np.arange(buf.pos)])
    return np.arange(buf.pos)


def _relaid(arr: np.ndarray, order: np.ndarray, capacity: int) -> np.ndarray:
    new = np.zeros((capacity, *arr.shape[1:]), dtype=arr.dtype)
    if arr.dtype == object:  # HER's per-transition info dicts
        new[...] = [[{} for _ in range(arr.shape[1])] for _ in range(capacity)] if arr.ndim == 2 else {}
    new[: len(order)] = arr[order]
    return new


def resize_replay_buffer(buf: Any, capacity: int) -> None:
    """Give ``buf`` (an SB3 ``ReplayBuffer``, ``DictReplayBuffer`` or ``HerReplayBuffer``) ``capacity`` slots in place.

    Every array indexed by buffer position is rebuilt with the stored transitions at ``0..n-1``, oldest first; a
    smaller capacity keeps the newest ``capacity`` transitions. For HER, episode starts are mapped to the new
    positions, and episodes whose start was dropped are marked invalid (length 0), as SB3 does for overwritten ones.
    """
    if capacity < 1:
        raise ValueError(f"replay buffer capacity must be at least 1, got {capacity}")
    old = int(buf.buffer_size)
    order = _chronological(buf)[-capacity:]
    n = len(order)
    position = np.full(old, -1, dtype=np.int64)  # old position -> new position, -1 where dropped
    position[order] = np.arange(n)
    for name, value in list(vars(buf).items()):
        if name in ("ep_start", "_current_ep_start"):
            continue
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == old:
            setattr(buf, name, _relaid(value, order, capacity))
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, np.ndarray) and v.shape[:1] == (old,) for v in value.values())
        ):
            setattr(buf, name, {k: _relaid(v, order, capacity) for k, v in value.items()})
    if hasattr(buf, "ep_start"):
        starts = position[buf.ep_start[order]]
        lengths = buf.ep_length  # already relaid above
        lost = starts < 0
        lengths[:n][lost] = 0
        new_starts = np.zeros((capacity, *buf.ep_start.shape[1:]), dtype=buf.ep_start.dtype)
        new_starts[:n] = np.where(lost, 0, starts)
        buf.ep_start = new_starts
        # An episode not begun yet starts at the write position; an ongoing one at its first stored transition.
        cur = position[buf._current_ep_start]
        fresh = (buf._current_ep_start == buf.pos) | (cur < 0)
        buf._current_ep_start = np.where(fresh, n % capacity, cur).astype(buf._current_ep_start.dtype)
    buf.buffer_size = capacity
    buf.pos = n % capacity
    buf.full = n == capacity


REPLAY_FILE = "replay_buffer.pkl"
"""The replay buffer ``ghp train`` saves in ``RUN/checkpoints/`` for ``--resume`` (SB3's pickle of it)."""


def save_replay_buffer(buf: Any, path: str | Path) -> Path:
    """Pickle ``buf`` to ``path`` as SB3's ``save_replay_buffer`` does, atomically: it is streamed to a temporary
    file in the same folder, flushed to disk and renamed over ``path``, so a kill mid-write leaves the previous
    buffer whole (a buffer can be gigabytes: it is never held twice in memory)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(buf, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_replay_buffer(model: Any, path: str | Path, refill: int) -> None:
    """SB3's ``model.load_replay_buffer(path)``, reading the file without running code (:mod:`ghp.io.safepickle`).

    The steps after unpickling are SB3's own (2.x): old buffers get timeouts, a HER buffer its environment and its
    last, unfinished trajectory truncated, and the buffer the model's device.

    Args:
        refill: the random-action steps a resume without the buffer would take (named in the error).

    Raises:
        ValueError: a truncated or corrupt file (with how to resume without it), or one that refers to anything but
            the replay-buffer classes (a crafted file).
    """
    from stable_baselines3.common.buffers import ReplayBuffer
    from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

    from ghp.io.safepickle import RefusedPickle, load

    try:
        buf = load(path, f"replay buffer {path}")
    except RefusedPickle:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as e:
        raise ValueError(
            f"the replay buffer {path} is truncated or corrupt ({' '.join(str(e).split())}; a kill while it was "
            f"saved?): resume without it with --no-replay-buffer (an empty buffer, refilled with {refill} "
            "random-action steps), or delete the file"
        ) from None
    if not isinstance(buf, ReplayBuffer):
        raise ValueError(f"the replay buffer {path} holds a {type(buf).__name__}, not an SB3 replay buffer")
    if not hasattr(buf, "handle_timeout_termination"):  # SB3 < 2.1 buffers, as SB3 loads them
        buf.handle_timeout_termination = False
        buf.timeouts = np.zeros_like(buf.dones)
    model.replay_buffer = buf
    if isinstance(buf, HerReplayBuffer):
        buf.set_env(model.env)
        buf.truncate_last_trajectory()
    buf.device = model.device
