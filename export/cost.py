"""What one inference of an exported policy costs on the Cortex-M4F: instructions, an estimate of cycles, microseconds.

Instructions come from QEMU when ``--check`` ran it (``export/check.py``: ``-icount`` and SysTick), else from the
architecture with the runtime's measured figures (``export/runtime/ghp_runtime.h`` pads every layer to multiples of
four rows and four inputs, so the padded sizes are what it executes)::

    insn = INSN_PER_MAC * padded MACs + INSN_PER_UNIT * padded units + INSN_PER_INPUT * padded inputs
           + INSN_PER_LAYER * layers + TANHF_INSN * act_dim + CALL_INSN

The constants are a least-squares fit (weighted by 1 / count, i.e. on relative error) to QEMU's counts of 13 exports
(``linear``, 8-4-4-4, 16-16, 32-32, 64-64, 128-128, 256-256, 32-16, 5-7, 16-16-16 at 11 inputs and 3 actions,
32-4-32-16 and 64-64 at 22 / 4, 100-50 at 17 / 6), rounded; the fit is within 1 % of every count (the tests check
15 %). The per-MAC figures are the inner loops' instruction counts exactly (float32 40 per 16 MACs, int8 36 per 32).
So the figure, and a refusal built on it, does not depend on QEMU being installed.

QEMU counts instructions, not cycles. The cycle estimate prices the dense kernels' inner loops with the Cortex-M4
Technical Reference Manual's instruction timings (r0p1, section 3.3 and the FPU's table 7-1): ``LDR`` 2 cycles,
``LDRD`` 3, ``VLDR`` 2, ``VFMA.F32`` 3, ``SXTB16`` / ``SMLAD`` / ``SMLALD`` 1, ``ADD`` / ``CMP`` 1, a taken branch
1 + refill (2); the rest of an inference (quantisation, per-unit outputs, the output ``tanhf``, whose ``VDIV.F32``
takes 14) at :data:`OTHER_CPI`. Weights are streamed from flash, which runs 5 wait states at 168 MHz (RM0090 table 10);
the ART accelerator's data cache holds 8 lines of 16 bytes, so a sequential stream misses once per 16 bytes:
:data:`FLASH_WAIT_CYCLES` per line of (padded) weights. Measure the real figure on the chip with ``DWT->CYCCNT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghp.space.arch import Arch
from ghp.space.counting import layer_shapes, macs

CLOCK_HZ = 168_000_000
"""The STM32F405's core clock on the Crazyflie 2.x (the firmware's ``SystemCoreClock``)."""

INSN_PER_MAC = {"float32": 2.5, "int8": 1.125}
"""Instructions per (padded) multiply-accumulate of the dense kernels' inner loops: float32 four rows by four inputs
(16 VLDR of weights, 4 of inputs, 16 VFMA, 4 loop: 40 per 16 MACs), int8 four rows by eight inputs (2 LDRD of int16
activation pairs, 8 LDR of packed weights, 8 SXTB16, 8 SMLAD, 8 SMLALD, 2 loop: 36 per 32 MACs)."""
INSN_PER_UNIT = {"float32": 5.3, "int8": 21.3}
"""Instructions per (padded) output unit: bias, activation and store (int8: also the row's set-up, the 64-bit
subtract-and-shift of every second row, the conversion, scale and the running maximum)."""
INSN_PER_INPUT = {"float32": 5.0, "int8": 8.3}
"""Instructions per (padded) layer input: float32 the row block's pointer arithmetic and the observation's copy into a
padded buffer; int8 the quantisation to int16 (one fused multiply-add and a pack per value)."""
INSN_PER_LAYER = {"float32": 25.0, "int8": 100.0}
"""Instructions per layer: the call and its set-up (int8: the division of the activation scale)."""
TANHF_INSN = 75.0
"""Instructions of one newlib ``tanhf`` on the outputs (``qemu_tanhf_insn`` / act_dim)."""
CALL_INSN = {"float32": 62.0, "int8": 64.0}
"""Instructions of the call itself and the output's unscaling."""

CYCLES_PER_MAC = {"float32": 5.8, "int8": 1.6}
"""Cycles per (padded) MAC of the inner loops from the documented timings, before flash waits. float32 (per 16 MACs):
20 ``VLDR`` at 2, 16 ``VFMA.F32`` at 3, 3 integer instructions at 1 and the taken branch at 3: 93 cycles. int8 (per
32 MACs): 2 ``LDRD`` at 3, 8 ``LDR`` at 2, 8 ``SXTB16``, 8 ``SMLAD`` and 8 ``SMLALD`` at 1, ``CMP`` 1 and the
taken branch 3: 50 cycles."""
OTHER_CPI = 1.5
"""Cycles per instruction outside the inner loop (loads, branches and ``tanhf``'s divide pay more than 1)."""
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
    """Estimated cycles (documented instruction timings and flash wait states)."""
    macs: int
    """Multiply-accumulates of the policy."""
    measured: bool
    """True when ``instructions`` is QEMU's count."""

    @property
    def us(self) -> float:
        """Estimated microseconds at :data:`CLOCK_HZ`."""
        return self.cycles / CLOCK_HZ * 1e6

    def describe(self) -> str:
        """One line: instructions (how they were obtained), cycles, microseconds."""
        how = "counted by QEMU" if self.measured else f"estimated from {self.macs} MACs"
        return (
            f"{self.instructions:,.0f} instructions per inference ({how}), about {self.cycles:,.0f} cycles = "
            f"{self.us:,.0f} us at {CLOCK_HZ / 1e6:.0f} MHz"
        )


def estimate_instructions(arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32") -> float:
    """Instructions per inference of the runtime from the architecture alone (no QEMU)."""
    if dtype not in INSN_PER_MAC:
        raise ValueError(f"no instruction figures for --dtype {dtype}: choose one of {', '.join(INSN_PER_MAC)}")
    pmacs, units, inputs, layers = padded_sizes(arch, obs_dim, act_dim)
    return (
        INSN_PER_MAC[dtype] * pmacs
        + INSN_PER_UNIT[dtype] * units
        + INSN_PER_INPUT[dtype] * inputs
        + INSN_PER_LAYER[dtype] * layers
        + TANHF_INSN * act_dim
        + CALL_INSN[dtype]
    )


def inference_cost(
    arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32", qemu_insn: float | None = None
) -> InferenceCost:
    """The cost of one inference: QEMU's instruction count when given, else the estimate; cycles estimated."""
    m = macs(arch, obs_dim, act_dim)
    pmacs = padded_sizes(arch, obs_dim, act_dim)[0]
    insn = estimate_instructions(arch, obs_dim, act_dim, dtype) if qemu_insn is None else float(qemu_insn)
    loop_insn = INSN_PER_MAC[dtype] * pmacs
    weight_bytes = pmacs * (4 if dtype == "float32" else 1)
    cycles = CYCLES_PER_MAC[dtype] * pmacs + OTHER_CPI * max(insn - loop_insn, 0.0)
    cycles += FLASH_WAIT_CYCLES * weight_bytes / 16
    return InferenceCost(insn, cycles, m, qemu_insn is not None)


__all__ = ["CLOCK_HZ", "InferenceCost", "estimate_instructions", "inference_cost"]
