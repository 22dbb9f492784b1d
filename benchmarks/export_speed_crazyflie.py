"""Instructions (QEMU) and the cycle estimate per inference of the Crazyflie policies of
docs/results/crazyflie_export.md at the Crazyflie's 22 inputs and 4 motors, float32 and int8, with the current
runtime (random weights: the count does not depend on the values, but for a few instructions of tanhf).

Usage: ``python -m benchmarks.export_speed_crazyflie`` (needs the toolchain of ``benchmarks/export_speed.py``).
"""

from __future__ import annotations

import benchmarks.export_speed as es
from export.cost import inference_cost
from ghp.space.counting import macs

ARCHS = ("64", "16-32-8", "16-16-8", "32-4-32-16", "64-32-256-64")


def main() -> None:
    es.OBS, es.ACT = 22, 4  # measure() and random_policy() read these
    print("Cortex-M4F (QEMU netduinoplus2, -Os), obs 22, act 4; cycles and us are estimates (export/cost.py)")
    for a in ARCHS:
        p = es.random_policy(a)
        m = macs(p.arch, 22, 4)
        for dt in ("float32", "int8"):
            f = es.measure(p, dt)
            c = inference_cost(p.arch, 22, 4, dt, f["qemu_insn"])
            print(
                f"{a:>13} {dt:>7} MACs {m:>6} insn {f['qemu_insn']:>8.0f} per MAC {f['qemu_insn'] / m:5.2f} "
                f"cycles~ {c.cycles:>8.0f} us~ {c.us:6.1f} flash {f['flash_bytes']:.0f} B"
            )


if __name__ == "__main__":
    main()
