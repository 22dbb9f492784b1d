"""The output folder of an export: the one place ``ghp export`` writes files, and what makes it safe to.

An export writes only into a folder it created, an empty one, or one that holds its manifest
(:data:`MANIFEST`, a small JSON listing every file ghp wrote there with the SHA-256 of the bytes it wrote). Inside
that folder it

- refuses to replace a file the manifest does not list (a user's ``Makefile``, ``README.md``, ...), or one that
  changed since ghp wrote it;
- never writes through a symlink: a destination or a folder on the way to it that is a symlink is refused, and every
  write is a temporary file renamed over the destination (:mod:`ghp.io.atomic`), so a reader never sees half a file;
- records each file in the manifest as soon as it is written, so an interrupted export still owns what it wrote and
  re-exporting into the same folder replaces exactly those files.

Refusals are one-line ``ValueError``s (``ghp export`` turns them into exit status 2).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

import ghp
from ghp.io.atomic import write_bytes

MANIFEST = ".ghp-export.json"
"""The manifest's file name, in the output folder."""
MANIFEST_FORMAT = 1
"""Format version of the manifest."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OutDir:
    """An export's output folder (see the module docstring); :meth:`open` it, then write through it."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        """The folder, as the user named it (paths of the written files start with it)."""
        self.files = files
        """``{relative POSIX path: SHA-256 of the bytes ghp wrote}``: the manifest's content."""

    @classmethod
    def open(cls, path: str | Path) -> OutDir:
        """The folder ``path``, created if missing; refused when it holds files but no manifest.

        Raises:
            ValueError: not a folder, not writable, a broken manifest, or foreign files and no manifest.
        """
        root = Path(path)
        if root.is_symlink() and not root.exists():
            raise ValueError(f"--out {root} is a broken symlink: choose another --out")
        if root.exists() and not root.is_dir():
            raise ValueError(f"output directory {root} is a file: choose another --out")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"cannot create output directory {root}: {e.strerror or e}") from e
        manifest = root / MANIFEST
        if manifest.is_symlink() or (manifest.exists() and not manifest.is_file()):
            raise ValueError(f"{manifest} is not a regular file: ghp does not trust it; choose another --out")
        if manifest.is_file():
            files = cls._read_manifest(manifest)
        else:
            try:
                foreign = sorted(p.name for p in root.iterdir())
            except OSError as e:
                raise ValueError(f"cannot read output directory {root}: {e.strerror or e}") from e
            if foreign:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise ValueError(
                    f"--out {root} already holds files ghp did not write ({shown}) and no {MANIFEST}: "
                    "choose a new or empty folder"
                )
            files = {}
        out = cls(root, files)
        try:
            out._save()
        except OSError as e:
            why = e.strerror or e
            raise ValueError(f"output directory {root} is not writable ({why}): choose another --out") from e
        return out

    @staticmethod
    def _read_manifest(manifest: Path) -> dict[str, str]:
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            files = data["files"]
            if data.get("format") != MANIFEST_FORMAT or not isinstance(files, dict):
                raise ValueError("unknown format")
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
                raise ValueError("entries are not strings")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{manifest} is not a ghp export manifest ({e}): choose another --out") from e
        return {k: v for k, v in files.items() if _safe_rel(k) is not None}

    def _save(self) -> None:
        data = {"format": MANIFEST_FORMAT, "written_by": f"ghp {ghp.__version__} export", "files": self.files}
        write_bytes(self.root / MANIFEST, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))

    def claim(self, rel: str) -> Path:
        """The path of ``rel`` (a POSIX path inside the folder), once it is safe to replace; its folders created.

        Raises:
            ValueError: ``rel`` leaves the folder, a folder on the way is a symlink or a file, or the destination is
                a symlink, not a regular file, a file ghp did not write, or one changed since ghp wrote it.
        """
        parts = _safe_rel(rel)
        if parts is None or rel == MANIFEST:
            raise ValueError(f"{rel!r} is not a file name inside the output folder")
        folder = self.root
        for part in parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                raise ValueError(f"{folder} is a symlink: ghp writes only inside --out {self.root}, never through one")
            if folder.exists() and not folder.is_dir():
                raise ValueError(f"{folder} is a file, not a folder: move it away or choose another --out")
            folder.mkdir(exist_ok=True)
        path = folder / parts[-1]
        if path.is_symlink():
            raise ValueError(f"{path} is a symlink: ghp does not write through it; remove it or choose another --out")
        if path.exists():
            if not path.is_file():
                raise ValueError(f"{path} is not a regular file: move it away or choose another --out")
            recorded = self.files.get(rel)
            if recorded is None:
                raise ValueError(f"{path} was not written by ghp: refusing to overwrite it; choose another --out")
            if _sha256(path.read_bytes()) != recorded:
                raise ValueError(f"{path} changed since ghp wrote it: refusing to overwrite it; move it away first")
        return path

    def write_bytes(self, rel: str, data: bytes) -> Path:
        """Write ``data`` to ``rel`` atomically (after :meth:`claim`) and record it in the manifest."""
        path = write_bytes(self.claim(rel), data)
        self.record(rel)
        return path

    def write_text(self, rel: str, text: str) -> Path:
        """Write ``text`` (UTF-8, ``\\n`` line ends) to ``rel``; see :meth:`write_bytes`."""
        return self.write_bytes(rel, text.encode("utf-8"))

    def record(self, rel: str) -> None:
        """Record ``rel`` as ghp's, with the hash of its bytes now (for writers that take a claimed path)."""
        self.files[rel] = _sha256((self.root / rel).read_bytes())
        self._save()


def _safe_rel(rel: str) -> tuple[str, ...] | None:
    """The parts of ``rel`` when it is a relative path that stays inside its folder, else None."""
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts) or "\\" in rel:
        return None
    return p.parts


__all__ = ["MANIFEST", "OutDir"]
