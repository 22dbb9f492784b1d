"""Atomic, byte-stable file writes: the one way ghp writes a file that a reader (or an interrupted run) may see.

Every write goes to a temporary file in the destination's directory, is flushed to disk and then renamed over the
destination (``os.replace``, atomic on POSIX and Windows), so a reader sees the old file or the new one, never half
of one, and a kill mid-write leaves the old file intact. Renaming replaces a symlink at the destination instead of
writing through it, so a write never lands outside the folder it was aimed at.

``.npz`` files are written member by member with a fixed zip timestamp (``numpy.savez`` stamps each member with the
current time), so writing the same arrays twice gives the same bytes.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The zip format's earliest date: a constant timestamp for every ``.npz`` member."""


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def npz_bytes(arrays: Mapping[str, Any]) -> bytes:
    """The bytes of an uncompressed ``.npz`` holding ``arrays`` in the given order (no pickles, fixed timestamps)."""
    buf = io.BytesIO()
    zf = zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED)
    # No ``with``: an interruption (Ctrl-C, SIGTERM) inside ``writestr`` leaves a member open, and closing the archive
    # then raises a ValueError that would replace the KeyboardInterrupt. The archive is in memory: on any exception it
    # is dropped unclosed and the exception goes on as it was.
    for key, value in arrays.items():
        member = io.BytesIO()
        np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)  # keeps 0-d arrays 0-d
        info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
        info.external_attr = 0o644 << 16
        zf.writestr(info, member.getvalue())
    zf.close()
    return buf.getvalue()


def write_npz(path: str | Path, arrays: Mapping[str, Any]) -> Path:
    """Write ``arrays`` as a ``.npz`` at ``path``, atomically and byte-stable (``numpy.load`` reads it)."""
    return write_bytes(path, npz_bytes(arrays))
