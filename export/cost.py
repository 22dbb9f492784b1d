"""What one inference of an exported policy costs on the Cortex-M4F: instructions, an estimate of cycles, microseconds.

Instructions come from QEMU when ``--check`` ran it (``export/check.py``: ``-icount`` and SysTick), else from the MAC
count with the runtime's measured figures: ``insn = INSN_PER_MAC * MACs + INSN_PER_UNIT * units + TANHF_INSN *
act_dim + CALL_INSN``, fitted to ``python benchmarks/export_speed.py`` (QEMU counts of the runtime in
``export/runtime/ghp_runtime.h``; within a few percent of QEMU from 8-4-4-4 to 256-256, see the tests). So the
figure, and a refusal built on it, does not depend on QEMU being installed.

QEMU counts instructions, not cycles. The cycle estimate prices the dense kernel's inner loop with the Cortex-M4
Technical Reference Manual's instruction timings (r0p1, section 3.3 and the FPU's table 7-1): ``LDR`` / ``LDRSB`` 2
cycles (1 when pipelined behind another load), ``VLDR`` 2, ``VFMA.F32`` / ``VMLA.F32`` 3, ``VMOV`` / ``VCVT`` /
``ADD`` / ``CMP`` 1, a taken branch 1 + refill (2 to 4); the rest of an inference (per-unit set-up, the output
``tanhf``, whose ``VDIV.F32`` takes 14) at :data:`OTHER_CPI`. Weights are streamed from flash, which runs 5 wait
states at 168 MHz (RM0090 table 10); the ART accelerator's data cache holds 8 lines of 16 bytes, so a sequential
stream misses once per 16 bytes: :data:`FLASH_WAIT_CYCLES` per line of weights.
Measure the real figure on the chip with ``DWT->CYCCNT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghp.arch import Arch
from ghp.counting import layer_shapes, macs

CLOCK_HZ = 168_000_000
"""The STM32F405's core clock on the Crazyflie 2.x (the firmware's ``SystemCoreClock``)."""

INSN_PER_MAC = {"float32": 2.875, "int8": 6.25}
"""Instructions per multiply-accumulate of the dense kernel's inner loop (QEMU, ``benchmarks/export_speed.py``)."""
INSN_PER_UNIT = {"float32": 20.0, "int8": 28.0}
"""Instructions per output unit of a layer outside the inner loop: row set-up, remainder, bias, scale, activation."""
TANHF_INSN = 75.0
"""Instructions of one newlib ``tanhf`` on the outputs (``qemu_tanhf_insn`` / act_dim)."""
CALL_INSN = 40.0
"""Instructions of the call itself."""
INSN_PER_LAYER = 60.0
"""Instructions of a layer's set-up (deep narrow policies pay it more often)."""

CYCLES_PER_MAC = {"float32": 6.4, "int8": 10.75}
"""Cycles per MAC of the inner loop from the documented timings, before flash waits. float32 (four rows, two inputs
per iteration: 23 instructions per 8 MACs): 2 + 8 ``VLDR`` at 2, 8 ``VFMA.F32`` at 3, 4 integer instructions at 1 and
the taken branch at 3: 51 cycles per 8 MACs. int8 (per 4 MACs): 4 ``LDRSB`` at 2, 4 ``VMOV`` and 4 ``VCVT`` at 1, 4
``VLDR`` at 2, 4 ``VMLA.F32`` at 3, the loop about 7: 43 cycles per 4 MACs."""
OTHER_CPI = 1.5
"""Cycles per instruction outside the inner loop (loads, branches and ``tanhf``'s divide pay more than 1)."""
FLASH_WAIT_CYCLES = 5
"""Wait states of a flash line (16 bytes) the data cache misses, at 168 MHz (RM0090)."""


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


def _units(arch: Arch, obs_dim: int, act_dim: int) -> int:
    return sum(o for _, o in layer_shapes(arch, obs_dim, act_dim))


def estimate_instructions(arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32") -> float:
    """Instructions per inference of the runtime from the architecture alone (no QEMU)."""
    if dtype not in INSN_PER_MAC:
        raise ValueError(f"no instruction figures for --dtype {dtype}: choose one of {', '.join(INSN_PER_MAC)}")
    m = macs(arch, obs_dim, act_dim)
    return (
        INSN_PER_MAC[dtype] * m
        + INSN_PER_UNIT[dtype] * _units(arch, obs_dim, act_dim)
        + TANHF_INSN * act_dim
        + (CALL_INSN)
    )


def inference_cost(
    arch: Arch, obs_dim: int, act_dim: int, dtype: str = "float32", qemu_insn: float | None = None
) -> InferenceCost:
    """The cost of one inference: QEMU's instruction count when given, else the estimate; cycles estimated."""
    m = macs(arch, obs_dim, act_dim)
    insn = estimate_instructions(arch, obs_dim, act_dim, dtype) if qemu_insn is None else float(qemu_insn)
    loop_insn = INSN_PER_MAC[dtype] * m
    weight_bytes = m * (4 if dtype == "float32" else 1)
    cycles = CYCLES_PER_MAC[dtype] * m + OTHER_CPI * max(insn - loop_insn, 0.0)
    cycles += FLASH_WAIT_CYCLES * weight_bytes / 16
    return InferenceCost(insn, cycles, m, qemu_insn is not None)


__all__ = ["CLOCK_HZ", "InferenceCost", "estimate_instructions", "inference_cost"]
