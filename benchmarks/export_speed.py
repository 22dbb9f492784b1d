"""Instructions per inference of exported policies on the emulated Cortex-M4 (STM32F405), against their MACs.

For a few architectures at Hopper's sizes (11 inputs, 3 actions), the exported header is built with the
Crazyflie's flags and run on ``qemu-system-arm -M netduinoplus2``; instructions are counted with
``-icount shift=0`` and SysTick (``export/check.py``; validated against QEMU's per-instruction trace in the tests).
The hidden activation's cost is measured by exporting the same weights without it (a variant built here: the
generated dense calls get ``GHP_ACT_NONE``, and the reference chains the layers as one-layer policies, with nothing
between them), and tanhf's by timing it alone on the output pre-activations.

Beside each count, the cycles of one call: QEMU counts no cycles, so ``export/cycles.py`` (``traced_cycles``) prices
every instruction of the traced call with the Cortex-M4's documented timings (zero wait states), and
``export/cost.py`` adds 5 flash wait states per 16-byte line of weights at 168 MHz.

Usage: ``python -m benchmarks.export_speed [--dtype float32|int8]``; the last line is the instructions per MAC of
a [64, 64] policy. ``--fit`` measures the 13 exports ``export/cost.py``'s constants are fitted to and prints the
least-squares fit of instructions and of cycles (weighted by 1 / count, i.e. on relative error).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from export.c import CSpec, render
from export.check import check_c
from export.cost import CYCLES_PER_MAC, INSN_PER_MAC, inference_cost, padded_sizes
from export.reference import Int8Layer, forward, pre_activations, quantize_int8
from export.toolchain import missing_tools
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import parse_arch
from ghp.space.counting import deploy_bytes, layer_shapes, macs

OBS, ACT = 11, 3
_ACT_CODE = {"relu": "GHP_ACT_RELU", "tanh": "GHP_ACT_TANH"}
"""The runtime's code of each hidden activation, as the generated dense calls pass it (``export/runtime``)."""
ARCHS = ("linear", "8-4-4-4", "16-16", "32-32", "64-64", "128-128", "256-256")
FIT_EXPORTS: tuple[tuple[str, int, int], ...] = (
    *((a, OBS, ACT) for a in (*ARCHS, "32-16", "5-7", "16-16-16")),
    ("32-4-32-16", 22, 4),
    ("64-64", 22, 4),
    ("100-50", 17, 6),
)
"""The exports ``export/cost.py`` is fitted to: architecture, observation and action sizes."""
FIT_TERMS = ("MAC", "UNIT", "INPUT", "LAYER", "TANHF", "CALL")
"""``export/cost.py``'s model: padded MACs, padded units, padded inputs, layers, output tanhf calls, one."""


def random_policy(arch: str, seed: int = 0, obs: int = OBS, act: int = ACT) -> PolicyWeights:
    """PyTorch-style init (uniform +-1/sqrt(fan_in)); the instruction count does not depend on the values."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, o in layer_shapes(parse_arch(arch), obs, act):
        k = 1 / np.sqrt(i)
        layers.append((rng.uniform(-k, k, (o, i)), rng.uniform(-k, k, o)))
    return PolicyWeights.from_arrays(arch, layers, -np.ones(act), np.ones(act))


def without_hidden_activation(
    p: PolicyWeights, obs: np.ndarray, int8: tuple[Int8Layer, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Actions and output pre-activations of ``p`` with its hidden activation dropped, in the C runtime's order.

    Each layer is a one-layer policy of its own (``export.reference`` computes its dense output exactly as the runtime
    does); chaining them with nothing between is the network without the hidden activation.
    """
    h = obs
    for j, (w, b) in enumerate(p.layers):
        last = j == len(p.layers) - 1
        low, high = (p.action_low, p.action_high) if last else (-np.ones(len(b)), np.ones(len(b)))
        layer = PolicyWeights.from_arrays("linear", [(w, b)], low, high)
        q = None if int8 is None else (int8[j],)
        if last:
            return forward(layer, h, q), pre_activations(layer, h, q)
        h = pre_activations(layer, h, q)
    raise ValueError("a policy has at least one layer")


def measure(p: PolicyWeights, dtype: str, hidden_activation: bool = True) -> dict[str, float]:
    """Build, run and time one export (``hidden_activation=False``: the variant without it); the check's figures."""
    obs = (np.random.default_rng(1).standard_normal((4, p.obs_dim))).astype(np.float32)
    int8 = quantize_int8(p) if dtype == "int8" else None
    if hidden_activation:
        expected, z = forward(p, obs, int8), pre_activations(p, obs, int8)
    else:
        expected, z = without_hidden_activation(p, obs, int8)
    files = render(CSpec("bench", p, dtype, int8, obs, expected), "c-header")
    if not hidden_activation:
        files = {name: drop_hidden_activation(text, p) for name, text in files.items()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        report = check_c(Path(tmp), "bench", "c-header", obs, expected, z[0], tol=1e-5, cycles=hidden_activation)
    if not report.ok or "qemu_insn" not in report.figures:
        sys.exit(f"check failed for {p.arch.key}: {report.steps}")
    return report.figures


def drop_hidden_activation(text: str, p: PolicyWeights) -> str:
    """The generated C with every hidden dense call's activation replaced by ``GHP_ACT_NONE``."""
    call = f"{_ACT_CODE[p.activation]});"
    if text.count(call) != p.arch.depth:
        sys.exit(f"expected {p.arch.depth} hidden dense calls ending in {call!r} in the generated C")
    return text.replace(call, "GHP_ACT_NONE);")


def fit(dtype: str) -> None:
    """Measure :data:`FIT_EXPORTS` and print the weighted least-squares constants of ``export/cost.py``."""
    rows, insn, cyc = [], [], []
    for key, obs, act in FIT_EXPORTS:
        p = random_policy(key, obs=obs, act=act)
        f = measure(p, dtype)
        pmacs, units, inputs, layers = padded_sizes(p.arch, obs, act)
        rows.append([pmacs, units, inputs, layers, act, 1.0])
        insn.append(f["qemu_insn"])
        cyc.append(f["qemu_cycles"])
        print(f"{key:>12} {obs:>3} {act:>2} insn {f['qemu_insn']:>8.0f} cycles {f['qemu_cycles']:>8.0f}", flush=True)
    a = np.array(rows)
    # The MAC term is the inner loop's own figure (cost.py), not fitted: the others are fitted to what is left.
    for what, y, per_mac in (
        ("instructions", np.array(insn), INSN_PER_MAC[dtype]),
        ("cycles (zero wait states)", np.array(cyc), CYCLES_PER_MAC[dtype]),
    ):
        rest = np.linalg.lstsq(a[:, 1:] / y[:, None], 1 - per_mac * a[:, 0] / y, rcond=None)[0]
        coef = np.concatenate([[per_mac], rest])
        worst = float(np.max(np.abs(a @ coef - y) / y))
        terms = ", ".join(f"{name} {c:.3f}" for name, c in zip(FIT_TERMS, coef, strict=True))
        print(f"{dtype} {what}: {terms}; worst relative error {100 * worst:.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float32", "int8"], default="float32")
    parser.add_argument("--fit", action="store_true", help="fit export/cost.py's constants (13 exports)")
    args = parser.parse_args()
    missing = missing_tools("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "newlib", "qemu-system-arm")
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run `make toolchain`")
    if args.fit:
        fit(args.dtype)
        return
    print(f"Cortex-M4F (QEMU netduinoplus2, -Os, {args.dtype}), obs {OBS}, act {ACT}")
    print(
        f"{'arch':>10} {'params':>7} {'bytes':>7} {'MACs':>7} {'flash':>7} {'insn':>8} {'insn/MAC':>8} {'tanhf':>6} "
        f"{'cycles':>8} {'cyc/MAC':>7} {'us@168':>7}"
    )
    per_mac = {}
    relu_rows = []
    for key in ARCHS:
        p = random_policy(key)
        arch = p.arch
        f = measure(p, args.dtype)
        m = macs(arch, OBS, ACT)
        per_mac[key] = f["qemu_insn"] / m
        cost = inference_cost(arch, OBS, ACT, args.dtype, f["qemu_insn"], f.get("qemu_cycles"))
        print(
            f"{key:>10} {p.n_params:>7} {deploy_bytes(arch, OBS, ACT, args.dtype):>7} {m:>7} "
            f"{f['flash_bytes']:>7.0f} {f['qemu_insn']:>8.0f} {per_mac[key]:>8.2f} {f['qemu_tanhf_insn']:>6.0f} "
            f"{cost.cycles:>8.0f} {cost.cycles / m:>7.2f} {cost.us:>7.1f}"
        )
        if arch.depth:
            plain = measure(p, args.dtype, hidden_activation=False)
            relu_rows.append((key, f["qemu_insn"], f["qemu_insn"] - plain["qemu_insn"], sum(arch.hidden)))
        if key == "64-64":
            tanh64 = f["qemu_tanhf_insn"]
            insn64 = f["qemu_insn"]
    print("hidden activation (ReLU, in the dense kernel's output step) vs the same export without it:")
    for key, total, extra, units in relu_rows:
        print(
            f"  {key:>8}: +{extra:.0f} instructions for {units} hidden units ({extra / units:.1f} per unit, "
            f"{100 * extra / total:.1f}% of the inference)"
        )
    print(
        f"output tanhf: {tanh64 / ACT:.0f} instructions per call, {ACT} calls = {100 * tanh64 / insn64:.1f}% of a "
        "[64, 64] inference (it is applied to the outputs only; a tanh hidden activation would cost this per unit)"
    )
    print(f"instructions per MAC for a [64, 64] policy: {per_mac['64-64']:.2f}")


if __name__ == "__main__":
    main()
