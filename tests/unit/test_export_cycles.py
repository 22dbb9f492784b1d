"""The cycle pricing of a traced instruction sequence (export/cycles.py's m4_cycles) and the cycle model of
export/cost.py, without QEMU: each documented timing on a hand-written sequence."""

import pytest

from export.cost import CYCLES_PER_MAC, FLASH_WAIT_CYCLES, estimate_cycles, inference_cost
from export.cycles import Insn, m4_cycles
from export.toolchain import CheckFailed
from ghp.space.arch import parse_arch


def run(*lines: tuple[str, str, int], taken_last: bool = False) -> tuple[dict[int, Insn], list[int]]:
    """A straight-line program at 0x1000 (the last instruction branching back to the start when ``taken_last``)."""
    code, pcs, pc = {}, [], 0x1000
    for mnemonic, operands, size in lines:
        code[pc] = Insn(mnemonic, operands, size)
        pcs.append(pc)
        pc += size
    pcs.append(0x1000 if taken_last else pc)
    code[pc] = Insn("nop", "", 2)
    return code, pcs


def test_each_class_is_priced_with_the_trm_timings():
    code, pcs = run(
        ("ldr.w", "r0, [r4], #4", 4),  # 2
        ("ldr", "r1, [r5, #4]", 2),  # 1: pipelined after an LDR
        ("sxtb16", "r7, r0", 4),  # 1
        ("smlad", "r1, r7, fp, r1", 4),  # 1
        ("smlald", "r2, r3, r0, fp", 4),  # 1
        ("ldrd", "fp, lr, [r6], #8", 4),  # 3
        ("str", "r5, [r4, #0]", 2),  # 1
        ("vldmia", "r1!, {s12-s15}", 4),  # 1 + 4
        ("vldr", "s13, [r4, #4]", 4),  # 2
        ("vfma.f32", "s4, s8, s12", 4),  # 3
        ("vmul.f32", "s12, s12, s0", 4),  # 1
        ("vmov", "r0, r1, s4, s5", 4),  # 2
        ("vdiv.f32", "s0, s1, s2", 4),  # 14
        ("adds", "r4, #4", 2),  # 1
        ("str", "r5, [r4, #0]", 2),  # 1 + 1: the base was written by the instruction before
        ("push", "{r4, r5, r6, lr}", 2),  # 1 + 4
        ("bcc.n", "1000", 2),  # not taken: 1
    )
    c = m4_cycles(pcs[:-1], code)
    assert c["insn"] == 17
    assert c["cycles"] == 2 + 1 + 1 + 1 + 1 + 3 + 1 + 5 + 2 + 3 + 1 + 2 + 14 + 1 + 2 + 5 + 1
    assert c["load_cycles"] == 2 + 1 + 3 and c["mul_cycles"] == 2 and c["fp_mac_cycles"] == 3
    assert c["fp_div_cycles"] == 14 and c["store_cycles"] == 1 + 2 and c["ldm_stm_cycles"] == 5


def test_a_taken_branch_pays_the_pipeline_refill():
    code, pcs = run(("subs", "r0, #1", 2), ("bne.n", "1000", 2), taken_last=True)
    assert m4_cycles(pcs, code)["branch_cycles"] == 3  # taken: 1 + P, P = 2
    code, pcs = run(("subs", "r0, #1", 2), ("bne.n", "1000", 2))
    assert m4_cycles(pcs[:-1], code)["branch_cycles"] == 1


def test_an_address_outside_the_disassembly_is_an_error():
    code, pcs = run(("adds", "r0, #1", 2))
    with pytest.raises(CheckFailed, match="not an instruction"):
        m4_cycles([0x2000], code)


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_traced_cycles_replace_the_estimate_and_flash_waits_are_added_to_both(dtype):
    arch = parse_arch("64-64")
    pmacs = 12 * 64 + 64 * 64 + 64 * 4
    waits = FLASH_WAIT_CYCLES * pmacs * (4 if dtype == "float32" else 1) / 16
    est = inference_cost(arch, 11, 3, dtype)
    assert not est.traced and est.cycles == pytest.approx(estimate_cycles(arch, 11, 3, dtype) + waits)
    assert est.cycles > CYCLES_PER_MAC[dtype] * pmacs  # the inner loops are a lower bound
    traced = inference_cost(arch, 11, 3, dtype, qemu_insn=9000.0, qemu_cycles=12345.0)
    assert traced.traced and traced.measured and traced.cycles == pytest.approx(12345.0 + waits)
    assert "QEMU's trace priced with the M4's timings" in traced.describe()
