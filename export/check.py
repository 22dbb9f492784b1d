"""Toolchain checks of an exported C policy: host gcc, arm-none-eabi-gcc for the Crazyflie, and QEMU.

What is verified (issue 5, "--check"):

1. host: ``gcc -std=c99 -Wall -Wextra -Werror -Wconversion -Wdouble-promotion -pedantic -ffp-contract=off``
   compiles the policy with a harness, which runs it on the check vectors; its actions are compared with torch
   (``<= 1e-6`` in units of the tanh output, i.e. ``1e-6 * max(1, (high - low) / 2)``, for float32; with the int8
   arithmetic's own reference for int8) and its self-test must pass with that tolerance.
2. cortex-m4: ``arm-none-eabi-gcc`` with the Crazyflie firmware's flags (and ``-ffp-contract=off``) compiles the
   policy alone: flash and RAM from ``arm-none-eabi-size``, stack from ``-fstack-usage``, and no software
   double-precision routine (``__aeabi_d*``, ``__aeabi_f2d``, ``__adddf3``, ...) may appear.
3. qemu: a firmware (vector table + linker script for flash 0x08000000 / RAM 0x20000000, package data) runs the
   harness on ``qemu-system-arm -M netduinoplus2`` (an STM32F405) with semihosting; its exit status is the
   self-test's. With ``-icount shift=0`` every instruction advances virtual time by 1 ns, so SysTick (processor
   clock) counts instructions up to a constant factor; the harness calibrates that factor on a loop of known
   length (2 instructions per iteration), times 1 and 5 calls of ``NAME_act`` minus as many empty calls, and
   reports instructions per inference, the ``tanhf`` share, and the deepest stack use of one call (painted
   stack). :func:`export.cycles.traced_call_length` cross-checks the count against QEMU's per-instruction trace.
4. cycles (``cycles=True``, :mod:`export.cycles`): QEMU counts instructions, not cycles.
   :func:`~export.cycles.traced_cycles` takes the instructions of one call from QEMU's per-instruction trace, looks
   each up in the firmware's disassembly and prices it with the Cortex-M4's documented timings
   (:func:`~export.cycles.m4_cycles`, zero wait states); ``export/cost.py`` adds the flash waits.

The compiler flags and running the tools are :mod:`export.toolchain`'s.

A missing tool is reported with the Debian package that provides it, and its steps are skipped.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .c import RUNTIME_DIR, c_float
from .cycles import traced_cycles
from .toolchain import (
    CM4_FLAGS,
    FW_LINK,
    HOST_FLAGS,
    QEMU_TIMEOUT_S,
    CheckFailed,
    missing_tools,
    qemu_command,
    run_tool,
    soft_double_symbols,
)

CHECK_TOL = 1e-6
"""Largest allowed |C - torch| per action entry for float32 exports (and |C - int8 reference| for int8)."""


@dataclass
class Step:
    """The outcome of one check step."""

    name: str
    """host, cortex-m4 or qemu."""
    status: str
    """ok, failed or skipped."""
    detail: str
    """One line: figures, or why it failed or was skipped."""


@dataclass
class CheckReport:
    """What ``--check`` verified and measured."""

    steps: list[Step] = field(default_factory=list)
    """One entry per step, in order."""
    figures: dict[str, float] = field(default_factory=dict)
    """Measured figures: host_max_err, flash_bytes, ram_bytes, stack_bytes, qemu_insn, ... (see :func:`check_c`)."""

    @property
    def ok(self) -> bool:
        """True when no step failed (skipped steps do not fail the check)."""
        return all(s.status != "failed" for s in self.steps)

    def add(self, name: str, status: str, detail: str) -> None:
        """Append a step."""
        self.steps.append(Step(name, status, detail))


def _vectors_header(obs: np.ndarray, z: np.ndarray, tol: float) -> str:
    rows = ",\n".join("    {" + ", ".join(c_float(v) for v in row) + "}" for row in obs)
    return (
        f"#define GHP_CHECK_N {len(obs)}\n#define GHP_CHECK_TOL {c_float(tol)}\n"
        f"static const float ghp_check_obs[{len(obs)}][{obs.shape[1]}] = {{\n{rows}\n}};\n"
        f"static const float ghp_check_z[{len(z)}] = {{{', '.join(c_float(v) for v in z)}}};\n"
    )


def _copy_runtime(build: Path) -> None:
    for f in sorted(RUNTIME_DIR.iterdir()):
        if f.suffix in (".c", ".h", ".ld"):
            (build / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")


def parse_outputs(
    text: str, act_dim: int, n_vectors: int | None = None
) -> tuple[np.ndarray, int, dict[str, list[int]]]:
    """Parse the harness's lines: actions (float32 from their bits), the self-test count, and timing lines.

    Raises:
        CheckFailed: a malformed line, an action row of the wrong width, or (with ``n_vectors``) not exactly one
            action row for each of the vectors ``0 .. n_vectors - 1``.
    """
    outs: dict[int, list[int]] = {}
    selftest = -1
    timing: dict[str, list[int]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "out":
                row = [int(h, 16) for h in parts[2:]]
                if len(row) != act_dim:
                    raise CheckFailed(f"the harness printed {len(row)} actions in a row, expected {act_dim}: {line!r}")
                outs[int(parts[1])] = row
            elif parts[0] == "selftest":
                selftest = int(parts[1])
            elif parts[0] in ("spin", "act", "nop", "tanhf", "copy", "stack"):
                timing[parts[0]] = [int(v) for v in parts[1:]]
        except (ValueError, IndexError):
            raise CheckFailed(f"malformed harness output line {line!r}") from None
    if n_vectors is not None and sorted(outs) != list(range(n_vectors)):
        raise CheckFailed(f"the harness printed {len(outs)} action rows for {n_vectors} test vectors")
    bits = np.array([outs[i] for i in sorted(outs)], dtype=np.uint32).reshape(-1, act_dim)
    return bits.view(np.float32), selftest, timing


def instructions(timing: dict[str, list[int]]) -> dict[str, float]:
    """Instructions per inference (and of tanhf) from the harness's SysTick readings (see the module docstring)."""
    k1, t1, k2, t2 = timing["spin"]
    per_insn = (t2 - t1) / (2.0 * (k2 - k1))  # ticks per instruction

    def per_rep(key: str) -> float:
        r1, a, r2, b = timing[key]
        # SysTick is a 24-bit counter: a wrapped reading breaks the proportionality of r1 and r2 calls.
        if b >= 0xFFFFFF or abs((b - a) / (r2 - r1) - a / r1) > 0.05 * a / r1 + 4:
            raise CheckFailed(f"inconsistent SysTick readings for {key} ({timing[key]}): the call is too long to time")
        return (b - a) / (r2 - r1) / per_insn

    return {
        "ticks_per_insn": per_insn,
        "qemu_insn": per_rep("act") - per_rep("nop"),
        "qemu_tanhf_insn": per_rep("tanhf") - per_rep("copy"),
        "qemu_stack_bytes": float(timing["stack"][0]),
    }


@dataclass(frozen=True)
class CBuild:
    """One check build of an export: what the host and the Cortex-M4 steps compile, and where."""

    out_dir: Path
    """Where the export wrote ``NAME.h`` (and ``NAME.c`` for c-source); absolute, as the cross build runs in
    ``build``."""
    build: Path
    """The build directory: the runtime and harness (package data), the check vectors, objects and ``fw.elf``."""
    name: str
    """The export's ``--name``."""
    target: str
    """``c-header`` or ``c-source``."""

    @property
    def sources(self) -> list[str]:
        """The export's own translation unit (c-source), compiled beside the harness."""
        return [str(self.out_dir / f"{self.name}.c")] if self.target == "c-source" else []

    @property
    def defines(self) -> list[str]:
        """What tells the harness which policy it runs."""
        return [f"-DGHP_NAME={self.name}", f"-DGHP_UNAME={self.name.upper()}", f'-DGHP_HEADER="{self.name}.h"']

    @property
    def includes(self) -> list[str]:
        """The export's folder and the build directory."""
        return [f"-I{self.out_dir}", f"-I{self.build}"]

    def file(self, name: str) -> str:
        """A file of the build directory, as a compiler argument."""
        return str(self.build / name)


def check_c(
    out_dir: Path,
    name: str,
    target: str,
    obs: np.ndarray,
    expected: np.ndarray,
    z0: np.ndarray,
    torch_act: np.ndarray | None = None,
    tol: float = CHECK_TOL,
    qemu: bool = True,
    build_dir: Path | None = None,
    cycles: bool = True,
) -> CheckReport:
    """Build and run the exported policy in ``out_dir`` on the host, for Cortex-M4 and in QEMU.

    Args:
        out_dir: where the export wrote ``NAME.h`` (and ``NAME.c`` for c-source).
        name: the export's ``--name``.
        target: ``c-header`` or ``c-source``.
        obs: check inputs ``[n, obs_dim]``.
        expected: what the C must compute for ``obs`` (torch for float32, the int8 reference for int8).
        z0: the output layer's pre-activations for ``obs[0]`` (inputs of the tanhf measurement).
        torch_act: torch's actions, when different from ``expected`` (int8): reported, not checked.
        tol: largest allowed ``|C - expected|`` per action entry, on the host and in the self-test.
        qemu: run the firmware in QEMU (False: compile only).
        build_dir: keep the build (harness, objects, ``fw.elf``) here instead of a temporary directory.
        cycles: after QEMU's run, estimate the cycles of one call from its instruction trace (:func:`traced_cycles`,
            about a second more for a [64, 64] policy): ``qemu_cycles`` and one ``qemu_<class>_cycles`` per class.
    """
    report = CheckReport()
    act_dim = expected.shape[1]
    with tempfile.TemporaryDirectory(prefix="ghp-check-") as tmp:
        # Resolved: the cross build runs in the build directory, where a relative -I would miss.
        b = CBuild(Path(out_dir).resolve(), Path(tmp) if build_dir is None else Path(build_dir), name, target)
        b.build.mkdir(parents=True, exist_ok=True)
        _copy_runtime(b.build)
        (b.build / "ghp_check_vectors.h").write_text(_vectors_header(obs, z0, tol), encoding="utf-8")
        host_out = _host(report, b, expected, torch_act, tol)
        fw = _cortex_m4(report, b)
        if qemu and fw is not None:
            _qemu(report, fw, act_dim, len(obs), host_out, cycles)
        elif qemu:
            miss = missing_tools("qemu-system-arm")
            why = f"missing {', '.join(miss)}" if miss else "no firmware: the cortex-m4 step did not succeed"
            report.add("qemu", "skipped", why)
    return report


def _host(
    report: CheckReport, b: CBuild, expected: np.ndarray, torch_act: np.ndarray | None, tol: float
) -> np.ndarray | None:
    """Build the harness with gcc and compare its actions with ``expected``; the actions, or None if it failed."""
    miss = missing_tools("gcc")
    if miss:
        report.add("host", "skipped", f"missing {', '.join(miss)}")
        return None
    try:
        exe = b.build / "host_check"
        harness = [b.file("ghp_check_main.c"), b.file("host_platform.c"), *b.sources]
        run_tool(["gcc", *HOST_FLAGS, *b.includes, *b.defines, *harness, "-lm", "-o", str(exe)])
        p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
        acts, selftest, _ = parse_outputs(p.stdout, expected.shape[1], len(expected) if p.returncode == 0 else None)
    except (CheckFailed, subprocess.TimeoutExpired) as e:
        report.add("host", "failed", str(e).splitlines()[0])
        return None
    err = float(np.max(np.abs(acts.astype(np.float64) - expected))) if acts.size else float("inf")
    report.figures["host_max_err"] = err
    detail = f"gcc {' '.join(HOST_FLAGS)}: max |C - expected| = {err:.3g} on {len(acts)} vectors"
    if torch_act is not None:
        terr = float(np.max(np.abs(acts.astype(np.float64) - torch_act)))
        report.figures["host_max_err_torch"] = terr
        detail += f", max |C - torch float32| = {terr:.3g}"
    detail += f" (tolerance {tol:.3g})"
    ok = p.returncode == 0 and selftest == 0 and err <= tol
    report.add("host", "ok" if ok else "failed", detail + f", self-test {'passed' if selftest == 0 else 'FAILED'}")
    return acts


def _cortex_m4(report: CheckReport, b: CBuild) -> Path | None:
    """Cross-compile the policy (sizes, stack, no soft double) and the QEMU firmware; the firmware, or None."""
    miss = missing_tools("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "newlib")
    if miss:
        report.add("cortex-m4", "skipped", f"missing {', '.join(miss)}")
        return None
    unit = _policy_unit(b)
    try:
        sizes = _policy_sizes(b, unit)
        stack = _stack_usage(b.build / "policy_selftest.su")
        fw = _firmware(b)
    except CheckFailed as e:
        report.add("cortex-m4", "failed", str(e).splitlines()[0])
        return None
    name = b.name
    (flash, ram), (flash_t, _ram_t) = sizes["deploy"], sizes["selftest"]
    # The header's static inline act may be inlined into the wrapper or stay a function of its own: count both.
    act_stack = stack.get(f"{name}_act", 0) + stack.get("ghp_unit_act", 0)
    report.figures |= {
        "flash_bytes": flash,
        "ram_bytes": ram,
        "selftest_flash_bytes": flash_t - flash,
        "stack_bytes": act_stack,
    }
    report.add(
        "cortex-m4",
        "ok",
        f"arm-none-eabi-gcc -Os: flash {flash} B, RAM {ram} B (self-test adds {flash_t - flash} B flash), "
        f"stack of {name}_act {act_stack} B static (-fstack-usage, tanhf not included), "
        "no software double routines",
    )
    return fw


def _policy_unit(b: CBuild) -> Path:
    """The policy's translation unit: ``NAME.c`` for c-source; for c-header, a unit written in the build directory
    that instantiates the header's static inline functions."""
    name, u = b.name, b.name.upper()
    if b.target == "c-source":
        return b.out_dir / f"{name}.c"
    unit = b.build / "ghp_unit.c"
    unit.write_text(
        f'#include "{name}.h"\nvoid ghp_unit_act(const float *obs, float *act);\n'
        f"void ghp_unit_act(const float *obs, float *act) {{ {name}_act(obs, act); }}\n"
        f"#ifndef {u}_NO_SELFTEST\nint ghp_unit_selftest(float tol);\n"
        f"int ghp_unit_selftest(float tol) {{ return {name}_selftest(tol); }}\n#endif\n",
        encoding="utf-8",
    )
    return unit


def _policy_sizes(b: CBuild, unit: Path) -> dict[str, tuple[int, int]]:
    """Compile ``unit`` alone for the Cortex-M4, without (``deploy``) and with (``selftest``) the self-test:
    ``variant -> (flash, RAM)`` bytes; each object's stack use goes to ``policy_<variant>.su``.

    Raises:
        CheckFailed: a build failed, or the policy calls a software double-precision routine.
    """
    sizes = {}
    for variant, extra in (("deploy", [f"-D{b.name.upper()}_NO_SELFTEST"]), ("selftest", [])):
        obj = b.build / f"policy_{variant}.o"
        run_tool(
            ["arm-none-eabi-gcc", *CM4_FLAGS, *b.includes, *extra, "-fstack-usage", "-c", str(unit), "-o", str(obj)],
            cwd=b.build,
        )
        text, data, bss = (int(v) for v in run_tool(["arm-none-eabi-size", str(obj)]).splitlines()[1].split()[:3])
        sizes[variant] = (text + data, data + bss)
        soft = soft_double_symbols(obj, undefined_only=True)
        if soft:
            raise CheckFailed(f"software double-precision routines in the policy: {', '.join(soft)}")
    return sizes


def _firmware(b: CBuild) -> Path:
    """Link the QEMU firmware (harness, startup code, policy; linker script ``cm4.ld``): ``fw.elf``.

    Raises:
        CheckFailed: the build failed, or the firmware links a software double-precision routine.
    """
    fw = b.build / "fw.elf"
    harness = [b.file("ghp_check_main.c"), b.file("cm4_startup.c"), *b.sources]
    run_tool(
        ["arm-none-eabi-gcc", *CM4_FLAGS, *b.includes, *b.defines, "-DGHP_CHECK_TARGET", *harness]
        + ["-T", b.file("cm4.ld"), *FW_LINK, "-lm", "-o", str(fw)]
    )
    soft = soft_double_symbols(fw)
    if soft:
        raise CheckFailed(f"software double-precision routines linked into the firmware: {', '.join(soft)}")
    return fw


def _stack_usage(su: Path) -> dict[str, int]:
    """``function -> bytes`` from a GCC ``.su`` file."""
    out = {}
    if su.is_file():
        for line in su.read_text().splitlines():
            where, size, _ = line.rsplit("\t", 2)
            out[where.rsplit(":", 1)[-1]] = int(size)
    return out


def _qemu(
    report: CheckReport, fw: Path, act_dim: int, n_vectors: int, host_out: np.ndarray | None, cycles: bool = True
) -> None:
    miss = missing_tools("qemu-system-arm")
    if miss:
        report.add("qemu", "skipped", f"missing {', '.join(miss)}")
        return
    cmd = qemu_command(fw)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=QEMU_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        report.add("qemu", "failed", f"qemu-system-arm did not finish in {QEMU_TIMEOUT_S:g} s")
        return
    except OSError as e:
        report.add("qemu", "failed", f"cannot run qemu-system-arm: {e.strerror or e}")
        return
    # QEMU writes semihosting output to stderr.
    try:
        acts, selftest, timing = parse_outputs(
            p.stdout + "\n" + p.stderr, act_dim, n_vectors if p.returncode == 0 else None
        )
    except CheckFailed as e:
        report.add("qemu", "failed", f"netduinoplus2 (STM32F405): {e}")
        return
    if p.returncode != 0 or selftest != 0 or not timing:
        why = {1: "the self-test failed", 3: "the firmware faulted"}.get(p.returncode, f"exit status {p.returncode}")
        report.add("qemu", "failed", f"netduinoplus2 (STM32F405): {why}; {p.stderr.strip()[:200]}")
        return
    try:
        figs = instructions(timing)
    except CheckFailed as e:
        report.add("qemu", "failed", f"self-test passed, but {e}")
        return
    report.figures |= figs
    same = ""
    if host_out is not None and host_out.shape == acts.shape:
        diff = float(np.max(np.abs(host_out.astype(np.float64) - acts)))
        nbits = int(np.sum(host_out.view(np.uint32) != acts.view(np.uint32)))
        report.figures["qemu_vs_host_max_diff"] = diff
        same = f", {nbits} of {acts.size} actions differ from the host's bits (max {diff:.3g})"
    priced = ""
    if cycles:
        try:
            c = traced_cycles(fw)
        except (CheckFailed, OSError, subprocess.TimeoutExpired) as e:
            priced = f"; no cycle estimate ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        else:
            report.figures |= {f"qemu_{k}": v for k, v in c.items() if k != "insn"}
            report.figures["qemu_traced_insn"] = c["insn"]
            priced = f", about {c['cycles']:.0f} cycles at zero wait states (the trace priced with the M4's timings)"
    report.add(
        "qemu",
        "ok",
        f"netduinoplus2 (STM32F405, Cortex-M4F): self-test passed{same}; {figs['qemu_insn']:.0f} instructions "
        f"per inference ({figs['qemu_tanhf_insn']:.0f} in tanhf){priced}, stack {figs['qemu_stack_bytes']:.0f} B "
        "measured",
    )
