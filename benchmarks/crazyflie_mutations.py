"""The software-in-the-loop check on the generated controller and on three wrong mappings of it, with figures.

    python benchmarks/crazyflie_mutations.py [--firmware PATH]

The same mutations as tests/integration/test_export_crazyflie.py (which asserts the outcome); this prints the
largest action and observation differences each one causes (random 16-16 policy, 3 short episodes).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from export.api import ExportConfig, export_policy
from export.crazyflie.firmware import find_firmware
from export.crazyflie.layout import task_layout
from export.crazyflie.sil import build_library, fly
from tests.integration.test_export_crazyflie import ENV, MUTATIONS, SHORT
from tests.unit.test_export import policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firmware", type=Path)
    args = ap.parse_args()
    firmware, where = find_firmware(args.firmware)
    if firmware is None:
        raise SystemExit(f"no firmware headers for the host build: {where}")
    w = policy("16-16", obs=22, act=4, seed=3, low=-1.0, high=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        export_policy(w, ExportConfig(out=base / "app", target="crazyflie"), ENV)
        for name in ["as generated", *sorted(MUTATIONS)]:
            d = base / name.replace(" ", "_")
            shutil.copytree(base / "app", d)
            src = d / "src" / "ghp_controller.c"
            if name in MUTATIONS:
                src.write_text(MUTATIONS[name](src.read_text()))
            lib, _ = build_library(d, firmware, "policy", d / "lib.so")
            r = fly(w, task_layout(), lib, ENV, 3, 0, SHORT)
            print(f"{name}: {'ok' if r.ok else 'FAILED'}: {r.summary()}")


if __name__ == "__main__":
    main()
