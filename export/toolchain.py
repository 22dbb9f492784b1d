"""The toolchain of the export checks: compiler flags, the Debian package of each tool, and running the tools.

Shared by the check steps (:mod:`export.check`) and the cycle estimate from QEMU's trace (:mod:`export.cycles`): the
flags of both builds, whether a tool is installed (:func:`missing_tools`), running one (:func:`run_tool`, a failure
raises :class:`CheckFailed`), the symbol scan for software double-precision routines, and the QEMU command line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

_STRICT: tuple[str, ...] = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wdouble-promotion")
"""Warnings both builds treat as errors; ``-ffp-contract=off`` on both makes host and target agree bit for bit."""
HOST_FLAGS: tuple[str, ...] = (*_STRICT, "-pedantic", "-ffp-contract=off")
"""Host compiler flags."""
CM4_FLAGS: tuple[str, ...] = (
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
    "-fno-math-errno",
    "-Os",
    *_STRICT,
    "-Wmissing-braces",
    "-ffp-contract=off",
)
"""The Crazyflie firmware's flags (REFERENCE.md), plus -ffp-contract=off so host and target agree bit for bit."""
FW_LINK: tuple[str, ...] = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs")
PACKAGES: dict[str, str] = {
    "gcc": "gcc",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "arm-none-eabi-size": "binutils-arm-none-eabi",
    "arm-none-eabi-nm": "binutils-arm-none-eabi",
    "arm-none-eabi-objdump": "binutils-arm-none-eabi",
    "newlib": "libnewlib-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
}
"""Debian package of each tool."""
QEMU_TIMEOUT_S = 60.0
"""Wall-clock limit of one QEMU run."""
TRACE_TIMEOUT_S = 120.0
"""Wall-clock limit of one traced QEMU run (:func:`call_trace`; every instruction is logged, so it runs slower)."""
SOFT_DOUBLE = re.compile(r"^(__aeabi_d\w+|__aeabi_\w+2d|__\w*df[0-9]|__float\w*df|__fix\w*df\w*|__trunc\w*df\w*)$")
"""Software double-precision helpers of libgcc (AEABI and generic names)."""


def missing_tools(*tools: str) -> list[str]:
    """The tools among ``tools`` that cannot be used, each as ``"tool (Debian package pkg)"``."""
    out = []
    for tool in tools:
        if tool == "newlib":
            gcc = shutil.which("arm-none-eabi-gcc")
            try:
                libm = run_tool([gcc, *CM4_FLAGS[:4], "-print-file-name=libm.a"]).strip() if gcc else ""
                ok = bool(libm) and Path(libm).is_file()
            except CheckFailed:
                ok = False
        else:
            ok = shutil.which(tool) is not None
        if not ok:
            out.append(f"{tool} (Debian package {PACKAGES[tool]})")
    return out


class CheckFailed(RuntimeError):
    """A tool ran and the result is wrong (distinct from a missing tool)."""


def run_tool(cmd: list[str], timeout: float = 120.0, cwd: Path | None = None) -> str:
    """``cmd``'s standard output; a tool that cannot be started, times out or fails raises :class:`CheckFailed`."""
    tool = Path(cmd[0]).name
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except OSError as e:  # vanished since missing_tools looked, or not executable
        raise CheckFailed(f"cannot run {tool}: {e.strerror or e} (Debian package {PACKAGES.get(tool, tool)})") from None
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"{tool} did not finish in {timeout:g} s") from None
    if p.returncode != 0:
        raise CheckFailed(f"{Path(cmd[0]).name} failed ({p.returncode}): {(p.stderr or p.stdout).strip()[:2000]}")
    return p.stdout


def soft_double_symbols(binary: Path, undefined_only: bool = False) -> list[str]:
    """Software double-precision routines that ``binary`` (an object or ELF) references or contains."""
    symbols = run_tool(["arm-none-eabi-nm", *(["-u"] if undefined_only else []), str(binary)]).split()
    return sorted({s for s in symbols if SOFT_DOUBLE.match(s)})


def qemu_command(fw: Path, *extra: str) -> list[str]:
    """The QEMU command line that runs ``fw`` on the emulated STM32F405 with semihosting and instruction counting."""
    return [
        "qemu-system-arm",
        "-M",
        "netduinoplus2",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting-config",
        "enable=on,target=native",
        "-icount",
        "shift=0",
        *extra,
        "-kernel",
        str(fw),
    ]
