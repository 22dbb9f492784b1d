"""One writer at a time: an advisory lock file in a run directory, held while a command writes there.

``ghp train`` (fresh, ``--resume`` or ``--force``) holds ``RUN/.ghp-run.lock`` for as long as it trains, so a second
``train --resume`` of the same run stops at once with one line naming the holder instead of writing a diverging
checkpoint. Other writers take a lock of their own ``resource`` (``ghp tune`` one per tuned policy name) and so do not
wait for training, whose files they only read (every file of a run is replaced atomically, never written in place).

The lock is ``fcntl.flock`` on the file where it exists (Linux, macOS): the kernel releases it when its process
dies, however it dies, so a lock file left behind by a killed run is simply taken again. Elsewhere the file is
created exclusively and holds its owner's PID; a file whose PID is no longer running on this host is stale and is
taken over. The file records who holds it (``pid``, ``host``, ``purpose``, ``since``) for the error message.

Usage::

    with run_lock(run_dir, "train --resume"):
        ...  # write the run

    with run_lock(run_dir, "evaluate", resource="results"):   # a lock of its own: evaluations, not training
        ...
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows)
    fcntl = None  # type: ignore[assignment]

LOCK_PREFIX = ".ghp-"
LOCK_SUFFIX = ".lock"
_RESOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RunLocked(FileExistsError):
    """Another live process holds the lock (a user error: the message says who and what to do)."""


def lock_path(run_dir: str | Path, resource: str = "run") -> Path:
    """The lock file of ``resource`` in ``run_dir`` (``RUN/.ghp-run.lock`` for the run itself)."""
    if not _RESOURCE.match(resource):
        raise ValueError(f"lock resource {resource!r}: use letters, digits, '.', '-' and '_'")
    return Path(run_dir) / f"{LOCK_PREFIX}{resource}{LOCK_SUFFIX}"


def _holder(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text())
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _describe(path: Path, info: dict[str, Any]) -> str:
    who = f"process {info.get('pid', '?')} on {info.get('host', '?')}"
    what = f" ({info['purpose']})" if info.get("purpose") else ""
    since = ""
    if isinstance(info.get("since"), (int, float)):
        since = time.strftime(" since %Y-%m-%d %H:%M:%S", time.localtime(info["since"]))
    return (
        f"{path.parent} is being written by {who}{what}{since}: wait for it to finish, or stop it; if no ghp "
        f"command is running there, delete {path}"
    )


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid < 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, under another user
        return True
    return True


class RunLock:
    """A held lock; :meth:`release` (or leaving :func:`run_lock`) gives it back."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    def release(self) -> None:
        """Delete the lock file (if it is still this lock's: the directory may have been swapped) and unlock."""
        if self._fd < 0:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                self.path.unlink()
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = -1


def acquire(run_dir: str | Path, purpose: str, resource: str = "run") -> RunLock:
    """Take the lock of ``resource`` in ``run_dir`` (which must exist) for ``purpose`` (shown to a second writer).

    Raises:
        RunLocked: a live process holds it.
    """
    path = lock_path(run_dir, resource)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose, "since": time.time()}
    data = (json.dumps(info) + "\n").encode()
    if fcntl is not None:
        for _ in range(10):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RunLocked(_describe(path, _holder(path))) from None
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = -1
            if current != os.fstat(fd).st_ino:  # the holder deleted it between our open and flock: take the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            return RunLock(path, fd)
        raise RunLocked(_describe(path, _holder(path)))
    for _ in range(3):  # pragma: no cover  (no flock: exclusive create, PID liveness for stale files)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = _holder(path)
            if held.get("host") == info["host"] and not _alive(held.get("pid")):
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            raise RunLocked(_describe(path, held)) from None
        os.write(fd, data)
        return RunLock(path, fd)
    raise RunLocked(_describe(path, _holder(path)))  # pragma: no cover


@contextmanager
def run_lock(run_dir: str | Path, purpose: str, resource: str = "run") -> Iterator[RunLock]:
    """Hold the lock of ``resource`` in ``run_dir`` inside the block (:func:`acquire`, then release)."""
    lock = acquire(run_dir, purpose, resource)
    try:
        yield lock
    finally:
        lock.release()
