"""Build a generated app into the real Crazyflie firmware and read what the build says.

``make CRAZYFLIE_BASE=FIRMWARE`` inside the app folder runs the firmware's own out-of-tree build
(``tools/make/oot.mk``: defconfig, the app's ``app-config`` merged in, the whole firmware compiled with the app,
``build/cf2.bin`` linked); the firmware compiles with ``-Wall -Werror``, the app's ``src/Kbuild`` adds
``-Wextra -Wconversion -Wdouble-promotion`` for its own file, and any warning reported in one of the app's files
fails the check even if the build went on. Flash, RAM and CCM are the lines the firmware's ``tools/make/size.py``
prints, against the chip's totals.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ghp.io.atomic import write_text

FIRMWARE_ENV = "CRAZYFLIE_FIRMWARE"
"""Environment variable naming the firmware checkout (when ``--firmware`` is not given)."""
BUILD_TIMEOUT_S = 1800.0
"""Wall-clock limit of one firmware build (a full build takes about 45 s on 2 idle cores)."""
_SIZE_LINE = re.compile(r"^(Flash|RAM|CCM)\s*\|\s*(\d+)/(\d+)\s*\((\s*\d+)%\),\s*(\d+) free")
_DIAG = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+)(?::\d+)?: (?P<kind>warning|error|fatal error): (?P<msg>.*)$")


def repo_firmware() -> Path:
    """``../shared/crazyflie-firmware`` next to this source tree (where the project's CI keeps it)."""
    return Path(__file__).resolve().parents[3] / "shared" / "crazyflie-firmware"


def is_firmware(path: Path) -> bool:
    """True when ``path`` looks like a crazyflie-firmware tree (it has ``tools/make/oot.mk``)."""
    return (path / "tools" / "make" / "oot.mk").is_file() and (path / "src" / "modules").is_dir()


def find_firmware(explicit: Path | None = None) -> tuple[Path | None, str]:
    """The firmware to build against and where it came from, or ``(None, why none was found)``.

    Order: ``explicit`` (``--firmware``; an error when it is not a firmware tree), ``$CRAZYFLIE_FIRMWARE``,
    :func:`repo_firmware`.
    """
    if explicit is not None:
        p = Path(explicit).expanduser().resolve()
        if not is_firmware(p):
            raise ValueError(f"--firmware {explicit} is not a crazyflie-firmware tree (no tools/make/oot.mk)")
        return p, "--firmware"
    env = os.environ.get(FIRMWARE_ENV)
    if env:
        p = Path(env).expanduser().resolve()
        if is_firmware(p):
            return p, f"${FIRMWARE_ENV}"
        return None, f"${FIRMWARE_ENV}={env} is not a crazyflie-firmware tree"
    p = repo_firmware()
    if is_firmware(p):
        return p, "../shared/crazyflie-firmware"
    return None, f"no firmware: give --firmware PATH or set ${FIRMWARE_ENV} (a bitcraze/crazyflie-firmware checkout)"


def missing_build_tools() -> list[str]:
    """Tools the firmware build needs that are not installed, with their Debian packages."""
    need = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "make": "make", "python3": "python3"}
    return [f"{t} (Debian package {p})" for t, p in need.items() if shutil.which(t) is None]


@dataclass
class FirmwareBuild:
    """What a firmware build produced."""

    ok: bool
    """The build succeeded, linked ``build/cf2.bin`` and reported no warning in the app's files."""
    detail: str
    """One line: figures, or why it failed."""
    memory: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``{"Flash": (used, total), "RAM": ..., "CCM": ...}`` in bytes, as the firmware's size script prints them."""
    app_warnings: list[str] = field(default_factory=list)
    """Compiler diagnostics in the app's own files."""
    binary: Path | None = None
    """``build/cf2.bin``."""
    log: str = ""
    """The build's whole output."""


def app_diagnostics(output: str, app: Path) -> list[str]:
    """Compiler warnings and errors the build reported in files inside ``app`` (kbuild prints paths relative
    to the firmware tree, or absolute for an out-of-tree app)."""
    app = app.resolve()
    found = []
    for line in output.splitlines():
        m = _DIAG.match(line.strip())
        if m is None:
            continue
        f = Path(m["file"])
        inside = f.is_absolute() and (f.resolve() == app or app in f.resolve().parents)
        if inside or f.name.startswith("ghp_controller") or "/src/ghp_controller" in m["file"]:
            found.append(line.strip())
    return found


def parse_memory(output: str) -> dict[str, tuple[int, int]]:
    """The firmware's ``Flash | used/total (..%), free free`` lines (``tools/make/size.py``)."""
    out = {}
    for line in output.splitlines():
        m = _SIZE_LINE.match(line.strip())
        if m:
            out[m[1]] = (int(m[2]), int(m[3]))
    return out


def build_app(app: Path, firmware: Path, jobs: int = 2, timeout: float = BUILD_TIMEOUT_S) -> FirmwareBuild:
    """``make CRAZYFLIE_BASE=firmware -jN`` inside ``app``; parse warnings and memory use."""
    app = Path(app).resolve()
    build = app / "build"
    build.mkdir(parents=True, exist_ok=True)
    info = build / "build_info.json"
    if not info.is_file() and not (firmware / ".git").exists():
        # The firmware's version script reads this when the tree has no .git (crazyflie-firmware.md).
        write_text(info, json.dumps({"tag": "2026.08"}) + "\n")
    cmd = ["make", f"CRAZYFLIE_BASE={firmware}", f"-j{jobs}"]
    try:
        p = subprocess.run(cmd, cwd=app, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return FirmwareBuild(False, f"the firmware build did not finish in {timeout:g} s")
    log = p.stdout + "\n" + p.stderr
    diags = app_diagnostics(log, app)
    memory = parse_memory(log)
    binary = build / "cf2.bin"
    if p.returncode != 0:
        first = diags[0] if diags else next((ln for ln in log.splitlines() if "error" in ln.lower()), log[-300:])
        return FirmwareBuild(False, f"make failed ({p.returncode}): {first.strip()}", memory, diags, None, log)
    if diags:
        return FirmwareBuild(False, f"warnings in the app's files: {diags[0]}", memory, diags, binary, log)
    if not binary.is_file() or "Flash" not in memory or "RAM" not in memory:
        return FirmwareBuild(
            False, "make succeeded but build/cf2.bin or the firmware's size report is missing", memory, diags, None, log
        )
    parts = [f"{k} {u}/{t} B ({100 * u / t:.0f}%, {(t - u) / 1024:.1f} KB free)" for k, (u, t) in memory.items()]
    return FirmwareBuild(
        True, f"built {binary} ({binary.stat().st_size} B): " + ", ".join(parts), memory, diags, binary, log
    )
