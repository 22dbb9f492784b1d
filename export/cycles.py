"""Cycles of one call on the Cortex-M4F, from QEMU's per-instruction trace (the ``cycles`` step of ``--check``).

QEMU counts instructions, not cycles. :func:`traced_cycles` takes the instructions of one call from QEMU's
per-instruction trace (:func:`call_trace`), looks each up in the firmware's disassembly (:func:`disassembly`) and
prices it with the Cortex-M4's documented timings (:func:`m4_cycles`, zero wait states); ``export/cost.py`` adds the
flash waits. :func:`traced_call_length` is the same trace's instruction count, a cross-check of the SysTick method.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .toolchain import QEMU_TIMEOUT_S, TRACE_TIMEOUT_S, CheckFailed, missing_tools, qemu_command, run_tool


def call_trace(fw: Path, symbol: str = "ghp_act_wrapped", caller: str = "ghp_time_calls") -> list[int]:
    """The addresses of the instructions of the first call of ``symbol`` from ``caller``, in execution order.

    QEMU translates one instruction per block and logs every executed block with its address and symbol
    (``-d exec,nochain``); the call runs from the first line in ``symbol`` to the next line back in ``caller``. The
    log is read through a pipe and QEMU stopped once the call has returned, so the rest of the run is not traced.
    """
    miss = missing_tools("qemu-system-arm")
    if miss:
        raise CheckFailed(f"missing {', '.join(miss)}")
    # QEMU >= 8.1 spells one instruction per block "-accel tcg,one-insn-per-tb=on"; older ones "-singlestep".
    for flag in (["-accel", "tcg,one-insn-per-tb=on"], ["-singlestep"]):
        cmd = qemu_command(fw, *flag, "-d", "exec,nochain", "-D", "/dev/stdout")
        pcs: list[int] = []
        inside = False
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
        except OSError as e:
            raise CheckFailed(f"cannot run qemu-system-arm: {e.strerror or e}") from None
        deadline = time.monotonic() + TRACE_TIMEOUT_S
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if not line.startswith("Trace"):
                    continue
                if time.monotonic() > deadline:
                    raise CheckFailed(f"the QEMU trace did not reach the end of the call in {TRACE_TIMEOUT_S:g} s")
                sym = line.rsplit("]", 1)[-1].strip()
                if not inside and sym == symbol:
                    inside = True
                if inside:
                    if sym == caller:
                        return pcs
                    pcs.append(int(line.split("[", 1)[1].split("/", 2)[1], 16))
        finally:
            proc.kill()
            proc.wait(timeout=QEMU_TIMEOUT_S)
    raise CheckFailed(f"no call of {symbol} from {caller} in the QEMU trace")


def traced_call_length(fw: Path, symbol: str = "ghp_act_wrapped", caller: str = "ghp_time_calls") -> int:
    """Instructions of the first call of ``symbol`` from ``caller``, counted from QEMU's per-instruction trace
    (:func:`call_trace`): an independent check of the SysTick method."""
    return len(call_trace(fw, symbol, caller))


@dataclass(frozen=True)
class Insn:
    """One instruction of the firmware's disassembly."""

    mnemonic: str
    """As ``objdump`` writes it, with its condition and width suffixes (``ldr.w``, ``bcc.n``, ``vldmia``)."""
    operands: str
    """The operand text (comment dropped)."""
    size: int
    """Bytes: 2 or 4."""


def disassembly(binary: Path) -> dict[int, Insn]:
    """``address -> instruction`` of every instruction of ``binary`` (``arm-none-eabi-objdump -d``)."""
    miss = missing_tools("arm-none-eabi-objdump")
    if miss:
        raise CheckFailed(f"missing {', '.join(miss)}")
    out = {}
    for line in run_tool(["arm-none-eabi-objdump", "-d", str(binary)]).splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().endswith(":"):
            continue
        try:
            addr = int(parts[0].strip()[:-1], 16)
        except ValueError:
            continue
        raw = parts[1].split()
        if not all(len(h) == 4 for h in raw):  # a data word (.word) is written as one 8-digit group
            continue
        operands = parts[3].split(";")[0].split("@")[0].strip() if len(parts) > 3 else ""
        out[addr] = Insn(parts[2].strip(), operands, 2 * len(raw))
    return out


M4_TAKEN_BRANCH_REFILL = 2
"""Cycles of the pipeline refill ``P`` after a taken branch: 1 to 3 by the TRM, depending on the target's alignment
and width; 2 is the usual case."""
M4_DIV_CYCLES = 12
"""``SDIV`` / ``UDIV``: 2 to 12 cycles by the operands (early termination); the worst case is taken."""
_FP_MAC = re.compile(r"^v(n?ml[as]|f[n]?m[as])")
_COND = (
    "eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al",
)  # fmt: skip
_NO_DEST = frozenset({"cmp", "cmn", "tst", "teq", "it", "ite", "itt", "itee", "itet", "itte", "ittt", "nop"})


def _base(mnemonic: str) -> str:
    """The operation of a mnemonic: width suffix and condition dropped (``ldr.w`` -> ``ldr``, ``bcc.n`` -> ``b``,
    ``movcc`` -> ``mov``, ``vldrgt`` -> ``vldr``); the ``s`` of a flag-setting form is kept (``subs``)."""
    m = mnemonic.split(".", 1)[0]
    for c in _COND:
        if m.endswith(c) and len(m) > len(c) and m[: -len(c)] in _KNOWN_STEMS:
            return m[: -len(c)]
    return m


_KNOWN_STEMS = frozenset(
    """b bl bx blx mov movs mvn add adds sub subs ldr ldrb ldrh ldrsb ldrsh ldrd str strb strh strd ldm ldmia stm
    stmia stmdb vldr vstr vldm vldmia vstm vstmia vmov vadd vsub vmul vdiv vneg vabs vcmp vcmpe vcvt vfma vfms vfnma
    vfnms vmla vmls orr and eor bic lsl lsr asr rsb rsbs cmp cmn""".split()
)


def _regs_written_by(insn: Insn) -> str:
    """The register a data-processing instruction writes (its first operand), or "" for anything else."""
    op = _base(insn.mnemonic)
    if op in _NO_DEST or op.startswith(("b", "ld", "st", "v", "push", "pop", "it", "cb")):
        return ""
    return insn.operands.split(",", 1)[0].strip()


def _address_base(insn: Insn) -> str:
    """The base register of a load or store (``[r4, #4]`` -> ``r4``), or ""."""
    if "[" not in insn.operands:
        return ""
    return insn.operands.split("[", 1)[1].split("]", 1)[0].split(",", 1)[0].strip()


def _reg_count(operands: str) -> int:
    """Registers in a register list (``{r4-r7, lr}`` -> 5, ``{s8-s11}`` -> 4, ``{d8}`` -> 2 single words)."""
    body = operands[operands.index("{") + 1 : operands.index("}")] if "{" in operands else ""
    n = 0
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        width = 2 if item.startswith("d") else 1
        if "-" in item:
            lo, hi = item.split("-")
            n += width * (int(hi.strip()[1:]) - int(lo.strip()[1:]) + 1)
        else:
            n += width
    return n


def m4_cycles(pcs: list[int], code: dict[int, Insn]) -> dict[str, float]:
    """Cycles of an executed instruction sequence on a Cortex-M4F with zero wait states, by instruction class.

    Each instruction is priced with the Cortex-M4 Technical Reference Manual's timings (r0p1, table 3-1 and section
    3.3.2 for the core, table 7-1 for the FPU): data processing, ``IT``, extends, ``MUL`` / ``MLA`` / long multiplies
    and the DSP multiplies (``SMLAD``, ``SMLALD``, ...) 1; ``LDR`` 2, and 1 when it follows a single ``LDR`` (the two
    pipeline), ``STR`` 1 (its data phase overlaps the next instruction); ``LDRD`` / ``STRD`` 3; ``LDM`` / ``STM`` /
    ``PUSH`` / ``POP`` / ``VLDM`` / ``VSTM`` / ``VPUSH`` / ``VPOP`` 1 + N (N the 32-bit registers moved);
    ``VLDR`` / ``VSTR`` 2; ``VMOV`` of two core registers 2, other ``VMOV`` 1; ``VADD`` / ``VSUB`` / ``VMUL`` /
    ``VCVT`` / ``VCMP`` / ``VNEG`` / ``VABS`` / ``VMRS`` 1; ``VFMA`` / ``VFMS`` / ``VMLA`` / ``VMLS`` (and negated
    forms) 3; ``VDIV`` / ``VSQRT`` 14; ``SDIV`` / ``UDIV`` :data:`M4_DIV_CYCLES`; a taken branch (the next address
    is not the following instruction; also ``POP {pc}``, ``BX``) 1 + :data:`M4_TAKEN_BRANCH_REFILL`, one not taken
    1; and one more cycle for a load or store whose base register the previous data-processing instruction wrote
    (the address phase waits for it). An instruction an ``IT`` block skips is priced as executed (at most one cycle
    too many each). Flash wait states are not included.

    Returns:
        ``{"cycles": total, "insn": instructions, "<class>_insn": ..., "<class>_cycles": ...}`` for the classes
        load, store, ldm_stm, alu, mul, branch, fp_load_store, fp_arith, fp_mac, fp_div, int_div.
    """
    out: dict[str, float] = {"cycles": 0.0, "insn": float(len(pcs))}
    prev: Insn | None = None
    for k, pc in enumerate(pcs):
        insn = code.get(pc)
        if insn is None:
            raise CheckFailed(f"the traced address {pc:#x} is not an instruction of the firmware's disassembly")
        op = _base(insn.mnemonic)
        taken = k + 1 < len(pcs) and pcs[k + 1] != pc + insn.size
        if op in ("b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh") or (
            op in ("pop", "ldm", "ldmia") and "pc" in insn.operands
        ):
            cls = "branch"
            cyc = 1 + (M4_TAKEN_BRANCH_REFILL if taken else 0)
            if op in ("pop", "ldm", "ldmia"):
                cyc += _reg_count(insn.operands)
            elif op in ("tbb", "tbh"):
                cyc += 1
        elif op in ("ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex"):
            cls, cyc = "load", 2
            if prev is not None and _base(prev.mnemonic) in ("ldr", "ldrb", "ldrh", "ldrsb", "ldrsh"):
                cyc = 1
        elif op in ("str", "strb", "strh", "strex"):
            cls, cyc = "store", 1
        elif op in ("ldrd", "strd"):
            cls, cyc = ("load" if op == "ldrd" else "store"), 3
        elif op in ("ldm", "ldmia", "ldmdb", "stm", "stmia", "stmdb", "push", "pop"):
            cls, cyc = "ldm_stm", 1 + _reg_count(insn.operands)
        elif op in ("vldm", "vldmia", "vldmdb", "vstm", "vstmia", "vstmdb", "vpush", "vpop"):
            cls, cyc = "fp_load_store", 1 + _reg_count(insn.operands)
        elif op in ("vldr", "vstr"):
            cls, cyc = "fp_load_store", 2 if insn.operands.startswith("s") else 3
        elif op in ("vdiv", "vsqrt"):
            cls, cyc = "fp_div", 14
        elif _FP_MAC.match(op):
            cls, cyc = "fp_mac", 3
        elif op == "vmov" and insn.operands.count(",") == 3:
            cls, cyc = "fp_arith", 2
        elif op.startswith("v"):
            cls, cyc = "fp_arith", 1
        elif op in ("sdiv", "udiv"):
            cls, cyc = "int_div", M4_DIV_CYCLES
        elif "mul" in op or "mla" in op or "mls" in op or op.startswith(("smla", "smul", "smua", "smus", "smml")):
            cls, cyc = "mul", 1
        else:
            cls, cyc = "alu", 1
            if "pc" == _regs_written_by(insn):
                cyc += M4_TAKEN_BRANCH_REFILL
        if cls in ("load", "store", "fp_load_store") and prev is not None:
            base = _address_base(insn)
            if base and base == _regs_written_by(prev):
                cyc += 1
        out["cycles"] += cyc
        out[f"{cls}_insn"] = out.get(f"{cls}_insn", 0.0) + 1
        out[f"{cls}_cycles"] = out.get(f"{cls}_cycles", 0.0) + cyc
        prev = insn
    return out


def traced_cycles(fw: Path, symbol: str = "ghp_act_wrapped", caller: str = "ghp_time_calls") -> dict[str, float]:
    """:func:`m4_cycles` of the first call of ``symbol`` from ``caller`` (:func:`call_trace`, :func:`disassembly`)."""
    return m4_cycles(call_trace(fw, symbol, caller), disassembly(fw))
