"""Return, flash and instructions per inference of a run's policies as float32, int8 and codebooks, before and after ES.

For each architecture given, from a trained run that already holds ``ghp tune`` outputs under ``RUN/tuned/``
(``ARCH-es.npz`` and ``ARCH-es-cM-layer.npz`` for each M):

- before ES: the hypernetwork's emitted policy as float32, as int8 (per-row quantisation, the ``--dtype int8``
  export), and k-means coloured with M colours per layer (``ghp export --dtype codebook --colors M``);
- after ES: the dense tuned policy as float32 and int8, and the codebook-tuned policy for each M.

Returns are measured like ``ghp evaluate RUN --policy FILE --episodes E --seed S`` (the evaluation engine on a
fixed policy; the reset seeds differ from the ES's own evaluation starts, so they are held out from the tuning).
Flash (``.text + .data`` of the policy compiled alone, self-test vectors left out) and instructions per inference
(QEMU, ``-icount``) come from ``ghp export --check`` of the *after* policy of each format: a format's before and
after policies have the same shapes and colourings, so the same code size and instruction count.

A second table compares per-layer and per-network codebooks (k-means only, no ES) for the first architecture.

Usage::

    python benchmarks/tune_tradeoff.py --run runs/pendulum --archs 4-64,8-4-4-8,4-4-16 --out docs/results/x.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def evaluate_weights(run_dir: str, weights: Any, episodes: int, seed: int) -> tuple[float, float]:
    """Mean and std of the return of ``weights`` (the arithmetic of ``ghp evaluate --policy``)."""
    from ghp.rollout.evaluate import EvalConfig, evaluate
    from ghp.rollout.sources import policy_source

    src = policy_source(run_dir, weights)
    _, recs = evaluate(src, [weights.arch], EvalConfig(episodes=episodes, seed=seed, in_process=True))
    return recs[0].mean_return, recs[0].std_return


def int8_weights(w: Any) -> Any:
    """The policy the int8 export computes (up to summation order): ``scale * q`` per row."""
    from export.reference import quantize_int8
    from ghp.policy.weights import PolicyWeights

    layers = tuple((lay.q.astype(np.float32) * lay.scale[:, None], lay.b) for lay in quantize_int8(w))
    return PolicyWeights(w.arch, layers, w.action_low, w.action_high)


def measure_export(w: Any, env_id: str, dtype: str, codebook: Any = None) -> dict[str, float]:
    """Parameter bytes, flash bytes and instructions per inference of one export with ``--check``."""
    from export.api import ExportConfig, export_policy

    with tempfile.TemporaryDirectory() as tmp:
        res = export_policy(w, ExportConfig(out=Path(tmp), dtype=dtype, check=True), env_id, codebook=codebook)
    assert res.check is not None and res.check.ok, res.check
    f = res.check.figures
    return {"param_bytes": res.n_bytes, "flash_bytes": f["flash_bytes"], "insn": f.get("qemu_insn", float("nan"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--archs", required=True, help="comma-separated architecture keys")
    ap.add_argument("--colors", default="4,8,16,32")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the measurements as JSON here")
    args = ap.parse_args()

    from ghp.policy.codebook import quantize
    from ghp.policy.file import load_policy, tuned_dir
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch, parse_ints

    run = load_run(args.run)
    env_id = run.spec.env_id
    colors = parse_ints(args.colors)
    rows: list[dict[str, Any]] = []
    scope_rows: list[dict[str, Any]] = []
    for i, key in enumerate(args.archs.split(",")):
        arch = parse_arch(key)
        emitted = run.emit([arch])[0]
        dense = load_policy(tuned_dir(args.run) / f"{key}-es.npz")

        def ret(w: Any) -> str:
            m, s = evaluate_weights(args.run, w, args.episodes, args.seed)
            return f"{m:.1f} ± {s:.1f}"

        variants: list[tuple[str, Any, Any, str, Any, Any]] = [
            ("float32", emitted, dense.weights, "float32", dense.weights, None),
            ("int8", int8_weights(emitted), int8_weights(dense.weights), "int8", dense.weights, None),
        ]
        for m in colors:
            tuned = load_policy(tuned_dir(args.run) / f"{key}-es-c{m}-layer.npz")
            cb0 = quantize(emitted, m, "layer")
            variants.append((f"codebook M={m}", cb0.dense(), tuned.weights, "codebook", tuned.weights, tuned.codebook))
        for label, before, after, dtype, export_w, cb in variants:
            row = {"arch": key, "params": emitted.n_params, "format": label}
            row["before"], row["after"] = ret(before), ret(after)
            row |= measure_export(export_w, env_id, dtype, cb)
            rows.append(row)
            print(json.dumps(row), flush=True)
        if i == 0:
            for m in colors:
                for scope in ("layer", "network"):
                    cb = quantize(emitted, m, scope)
                    err = sum(
                        float(np.sum((w - q) ** 2))
                        for (w, _), (q, _) in zip(emitted.layers, cb.dense().layers, strict=True)
                    )
                    scope_rows.append(
                        {"arch": key, "M": m, "scope": scope, "sq_err": err, "return": ret(cb.dense()),
                         "param_bytes": cb.n_bytes}
                    )  # fmt: skip
                    print(json.dumps(scope_rows[-1]), flush=True)

    print()
    print("| architecture (params) | format | return before ES | return after ES | parameter bytes | flash bytes "
          "| instructions / inference |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} ({r['params']}) | {r['format']} | {r['before']} | {r['after']} | {r['param_bytes']} "
              f"| {r['flash_bytes']:.0f} | {r['insn']:.0f} |")  # fmt: skip
    print()
    print("| architecture | M | scope | squared weight error | return (k-means only) | parameter bytes |")
    print("|---|---|---|---|---|---|")
    for r in scope_rows:
        print(f"| {r['arch']} | {r['M']} | {r['scope']} | {r['sq_err']:.4g} | {r['return']} | {r['param_bytes']} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"rows": rows, "scope": scope_rows, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    main()
