"""What one inference of an exported policy costs on the Cortex-M4F: instructions, cycles, microseconds.

Instructions come from QEMU when ``--check`` ran it (``export/check.py``: ``-icount`` and SysTick), and so do the
cycles at zero wait states (``export/cycles.py``'s ``traced_cycles``: every instruction of the traced call priced with
the Cortex-M4 Technical Reference Manual's timings, r0p1 table 3-1, section 3.3.2 and the FPU's table 7-1: ``LDR`` 2
or 1 pipelined, ``STR`` 1, ``LDRD`` 3, ``VLDR`` 2, ``VLDM`` 1 + N, ``VFMA.F32`` 3, ``VDIV.F32`` 14, ``SXTB16`` /
``SMLAD`` / ``SMLALD`` / ALU 1, a taken branch 1 + 2). Without QEMU both come from the architecture (the runtime
``export/runtime/ghp_runtime.h`` pads every layer to multiples of four rows and four inputs, so the padded sizes are
what it executes)::

    insn   = INSN_PER_MAC * padded MACs + INSN_PER_UNIT * padded units + INSN_PER_INPUT * padded inputs
             + INSN_PER_LAYER * layers + TANHF_INSN * act_dim + CALL_INSN
    cycles = the same with CYCLES_PER_MAC, CYCLES_PER_UNIT, ... (zero wait states)

The per-MAC terms are the inner loops' own figures (float32 40 instructions and 95 cycles per 16 MACs, int8 32 and 46
per 32); the other terms are a least-squares fit (weighted by 1 / count, i.e. on relative error) to QEMU's counts and
traced cycles of 13 exports (``linear``, 8-4-4-4, 16-16, 32-32, 64-64, 128-128, 256-256, 32-16, 5-7, 16-16-16 at 11
inputs and 3 actions, 32-4-32-16 and 64-64 at 22 / 4, 100-50 at 17 / 6; ``python -m benchmarks.export_speed --fit
--dtype D``), rounded: within 2 % of every count and 1 % of every cycle figure (the tests check 15 %). As the fit's
action sizes are only 3, 4 and 6, the split between the per-action ``tanhf``, the per-unit and the per-call terms is
loosely determined; their sum is what fits. So the figures, and a refusal built on them, do not depend on QEMU being
installed.

Weights are streamed from flash, which runs 5 wait states at 168 MHz (RM0090 table 10); the ART accelerator's data
cache holds 8 lines of 16 bytes, so a sequential stream misses once per 16 bytes: :data:`FLASH_WAIT_CYCLES` per line
of (padded) weights are added to either cycle figure (the instructions and the rest of the data are taken to hit the
ART's caches). Measure the real figure on the chip with ``DWT->CYCCNT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghp.space.arch import Arch
from ghp.space.counting import layer_shapes, macs

CLOCK_HZ = 168_000_000
"""The STM32F405's core clock on the Crazyflie 2.x (the firmware's ``SystemCoreClock``)."""

INSN_PER_MAC = {"float32": 2.5, "int8": 1.0}
"""Instructions per (padded) multiply-accumulate of the dense kernels' inner loops: float32 four rows by four inputs
(16 VLDR of weights, 4 of inputs, 16 VFMA, 4 loop: 40 per 16 MACs), int8 four rows by eight inputs (2 LDRD of int16
activation pairs, 4 LDRD of packed weights, 8 SXTB16, 8 SMLAD, 8 SMLALD, 2 loop: 32 per 32 MACs)."""
INSN_PER_UNIT = {"float32": 6.2, "int8": 13.5}
"""Instructions per (padded) output unit: bias, activation and store (int8: also the row block's set-up, the 64-bit
subtract-and-shift of every second row, the conversion, scale and the running maximum, four units per iteration)."""
INSN_PER_INPUT = {"float32": 4.1, "int8": 5.4}
"""Instructions per (padded) layer input: float32 the row block's pointer arithmetic and the observation's copy into a
padded buffer; int8 the quantisation to int16 (four values per 13 instructions) and the observation's maximum."""
INSN_PER_LAYER = {"float32": 25.4, "int8": 107.0}
"""Instructions per layer: the call and its set-up (int8: the divisions of the activation scale)."""
TANHF_INSN = {"float32": 87.0, "int8": 106.0}
"""Instructions per action: newlib's ``tanhf`` (about 72, ``qemu_tanhf_insn`` / act_dim) and what the fit adds."""
CALL_INSN = {"float32": 35.0, "int8": 12.5}
"""Instructions of the call itself and the output's unscaling."""

CYCLES_PER_MAC = {"float32": 95 / 16, "int8": 46 / 32}
"""Cycles per (padded) MAC of the inner loops from the documented timings, at zero wait states. float32 (per 16 MACs):
20 ``VLDR`` at 2, 16 ``VFMA.F32`` at 3, 3 integer instructions at 1, the taken branch at 3 and one cycle for a load
whose base register the instruction before wrote: 95 cycles. int8 (per 32 MACs): 6 ``LDRD`` at 3, 8 ``SXTB16``,
8 ``SMLAD`` and 8 ``SMLALD`` at 1, ``CMP`` 1 and the taken branch 3: 46 cycles."""
CYCLES_PER_UNIT = {"float32": 6.5, "int8": 22.1}
"""Cycles per (padded) output unit (fitted, as :data:`INSN_PER_UNIT`)."""
CYCLES_PER_INPUT = {"float32": 6.2, "int8": 11.6}
"""Cycles per (padded) layer input (fitted)."""
CYCLES_PER_LAYER = {"float32": 45.5, "int8": 203.0}
"""Cycles per layer (fitted; int8 has two ``VDIV.F32`` of 14 cycles per layer)."""
TANHF_CYCLES = {"float32": 180.0, "int8": 199.0}
"""Cycles per action (fitted; ``tanhf`` has a ``VDIV.F32``)."""
CALL_CYCLES = {"float32": 69.0, "int8": 14.4}
"""Cycles of the call itself and the output's unscaling (fitted)."""
FLASH_WAIT_CYCLES = 5
"""Wait states of a flash line (16 bytes) the data cache misses, at 168 MHz (RM0090)."""


def _pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def padded_sizes(arch: Arch, obs_dim: int, act_dim: int) -> tuple[int, int, int, int]:
    """What the runtime executes: padded MACs, padded units, padded inputs, layers."""
    shapes = layer_shapes(arch, obs_dim, act_dim)
    return (
        sum(_pad4(o) * _pad4(i) for i, o in shapes),
        sum(_pad4(o) for _, o in shapes),
        sum(_pad4(i) for i, _ in shapes),
        len(shapes),
    )


@dataclass(frozen=True)
class InferenceCost:
    """One inference on the Cortex-M4F."""

    instructions: float
    """Instructions per inference (QEMU's count, or the estimate from the MAC count)."""
    cycles: float
    """Cycles: QEMU's traced instructions priced with the documented timings (or the estimate from the MAC count),
    plus the flash wait states of the weights."""
    macs: int
    """Multiply-accumulates of the policy."""
    measured: bool
    """True when ``instructions`` is QEMU's count."""
    traced: bool = False
    """True when ``cycles`` is priced from QEMU's instruction trace."""

    @property
    def us(self) -> float:
        """Estimated microseconds at :data:`CLOCK_HZ`."""
        return self.cycles / CLOCK_HZ * 1e6

    def describe(self) -> str:
        """One line: instructions (how they were obtained), cycles, microseconds."""
        how = "counted by QEMU" if self.measured else f"estimated from {self.macs} MACs"
        priced = "QEMU's trace priced with the M4's timings" if self.traced else "estimated"
        return (
            f"{self.instructions:,.0f} instructions per inference ({how}), about {self.cycles:,.0f} cycles "
            f"({priced}, flash waits included) = {self.us:,.0f} us at {CLOCK_HZ / 1e6:.0f} MHz"
        )


def _check_dtype(dtype: str) -> None:
    if dtype not in INSN_PER_MAC:
        raise ValueError(f"no instruction figures for --dtype {dtype}: choose one of {', '.join(INSN_PER_MAC)}")


def estimate_instructions(arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32") -> float:
    """Instructions per inference of the runtime from the architecture alone (no QEMU)."""
    _check_dtype(dtype)
    pmacs, units, inputs, layers = padded_sizes(arch, obs_dim, act_dim)
    return (
        INSN_PER_MAC[dtype] * pmacs
        + INSN_PER_UNIT[dtype] * units
        + INSN_PER_INPUT[dtype] * inputs
        + INSN_PER_LAYER[dtype] * layers
        + TANHF_INSN[dtype] * act_dim
        + CALL_INSN[dtype]
    )


def estimate_cycles(arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32") -> float:
    """Cycles per inference at zero wait states from the architecture alone (no QEMU)."""
    _check_dtype(dtype)
    pmacs, units, inputs, layers = padded_sizes(arch, obs_dim, act_dim)
    return (
        CYCLES_PER_MAC[dtype] * pmacs
        + CYCLES_PER_UNIT[dtype] * units
        + CYCLES_PER_INPUT[dtype] * inputs
        + CYCLES_PER_LAYER[dtype] * layers
        + TANHF_CYCLES[dtype] * act_dim
        + CALL_CYCLES[dtype]
    )


def flash_wait_cycles(arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32") -> float:
    """Flash wait states of one pass over the (padded) weights: one data-cache miss per 16-byte line."""
    pmacs = padded_sizes(arch, obs_dim, act_dim)[0]
    return FLASH_WAIT_CYCLES * pmacs * (4 if dtype == "float32" else 1) / 16


def inference_cost(
    arch: Arch,
    obs_dim: int,
    act_dim: int,
    dtype: str = "float32",
    qemu_insn: float | None = None,
    qemu_cycles: float | None = None,
) -> InferenceCost:
    """The cost of one inference: QEMU's instruction count and traced cycles when given, else the estimates; the
    flash wait states of the weights added to the cycles."""
    _check_dtype(dtype)
    insn = estimate_instructions(arch, obs_dim, act_dim, dtype) if qemu_insn is None else float(qemu_insn)
    cycles = estimate_cycles(arch, obs_dim, act_dim, dtype) if qemu_cycles is None else float(qemu_cycles)
    cycles += flash_wait_cycles(arch, obs_dim, act_dim, dtype)
    return InferenceCost(insn, cycles, macs(arch, obs_dim, act_dim), qemu_insn is not None, qemu_cycles is not None)


__all__ = ["CLOCK_HZ", "InferenceCost", "estimate_cycles", "estimate_instructions", "inference_cost"]
