"""The benchmark of record: every speed ratio of ghp, measured side by side in one run, written to one JSON file.

``make bench`` (or ``python -m benchmarks``) runs each benchmark below and writes ``docs/results/bench/record.json``
with the machine's description, the commit and, per benchmark, the ratio that is its claim and the absolute
figures behind it (context only: the machines here are shared, so absolute times move with the load; each ratio's
two sides are measured in the same process, interleaved or back to back, so the load hits both alike).
``docs/results/bench/record.md`` is rendered from the JSON (a test keeps it equal), and README.md / docs quote only
figures of the committed record.

=========== =========================================================== ==========================================
benchmark   ratio                                                       target (issue "Speed to the limit")
=========== =========================================================== ==========================================
train       ghp update time / SB3 SAC [256,256] update time (Hopper-v5)  <= 1.2
train_run   steps/s of a whole short ``ghp train`` / ``ghp train --baseline`` (context)
            (SB3 SAC [256,256]), Hopper-v5 and ghp/CrazyflieHover-v0
emit        seconds to emit all 4680 architectures' weights, 1 thread     < 0.5 s
evaluate    ghp evaluate steps/s / raw environment steps/s               >= 0.9 MuJoCo (Hopper-v5), >= 0.7 Pendulum
mcu         Cortex-M4 (QEMU) instructions per MAC, [64, 64] policy       <= 3 float32, <= 2 int8
confirm     seconds to confirm 50 architectures x 100 Crazyflie episodes   < 120 s on 2 cores
crazyflie   vectorised Crazyflie drone-steps/s at 1024 / single env      (context)
=========== =========================================================== ==========================================

Usage::

    python -m benchmarks                    # everything, the record's settings (about 15-25 minutes on 2 cores)
    python -m benchmarks --only train,emit  # some of them (the record keeps the others' last results)
    python -m benchmarks --quick            # tiny settings: checks the harness, not a record (not written)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "results" / "bench" / "record.json"
TABLE = RECORD.with_suffix(".md")
BENCHMARKS = ("train", "train_run", "emit", "evaluate", "confirm", "mcu", "crazyflie")
TARGETS: dict[str, tuple[str, float]] = {
    "train.ratio": ("<=", 1.2),
    "emit.seconds": ("<", 0.5),
    "evaluate.hopper_4680.ratio": (">=", 0.9),
    "evaluate.hopper_300.ratio": (">=", 0.9),
    "evaluate.pendulum_4680.ratio": (">=", 0.7),
    "evaluate.pendulum_300.ratio": (">=", 0.7),
    "confirm.seconds": ("<", 120.0),
    "mcu.float32_insn_per_mac": ("<=", 3.0),
    "mcu.int8_insn_per_mac": ("<=", 2.0),
}
"""The issue's targets, by the record's key (``benchmark.field``)."""
CONTEXT: tuple[str, ...] = (
    "train.ratio_vs_fused_sb3",
    "train.ratio_vs_lean_sb3",
    "mcu.float32_cycles_per_mac",
    "mcu.int8_cycles_per_mac",
    "train_run.hopper.ratio",
    "train_run.crazyflie.ratio",
    "crazyflie.ratio",
)
"""Ratios recorded as context, without a target."""


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import numpy
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "numpy": numpy.__version__,
    }


def commit() -> dict[str, Any]:
    """The checkout's commit and whether it had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {
        "sha": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def bench_train(quick: bool) -> dict[str, Any]:
    """ghp's hypernetwork SAC update against SB3's [256, 256] SAC update, interleaved rounds (train_speed.py).

    ghp gives its optimizers torch's fused Adam kernel and skips the critic weight gradients of the actor's loss
    (``ghp.hypernet.critic``); stock SB3 does neither. The ratio of record is against stock SB3 (what users run);
    ``ratio_vs_fused_sb3`` is against SB3 given the same fused Adam, and ``ratio_vs_lean_sb3`` against SB3 given both
    savings: the context that isolates the hypernetwork actor's own cost."""
    import torch

    from benchmarks.train_speed import build, time_updates

    torch.set_num_threads(1)
    rounds, updates = (2, 5) if quick else (16, 50)
    sb3 = build("Hopper-v5", False, 8, "factorised", 0, "auto")
    sb3_fused = build("Hopper-v5", False, 8, "factorised", 0, "auto", fused_adam=True)
    sb3_lean = build("Hopper-v5", False, 8, "factorised", 0, "auto", fused_adam=True, lean_critic=True)
    ghp = build("Hopper-v5", True, 8, "factorised", 0, "auto")
    models = (sb3, sb3_fused, sb3_lean, ghp)
    for m in models:
        time_updates(m, 5)  # warm-up
    times: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        for m, t in zip(models, times, strict=True):
            t.append(time_updates(m, updates))
    ms_sb3, ms_fused, ms_lean, ms_ghp = (statistics.median(t) for t in times)
    return {
        "ratio": ms_ghp / ms_sb3,
        "ratio_vs_fused_sb3": ms_ghp / ms_fused,
        "ratio_vs_lean_sb3": ms_ghp / ms_lean,
        "ms_per_update_sb3": ms_sb3,
        "ms_per_update_sb3_fused_adam": ms_fused,
        "ms_per_update_sb3_lean": ms_lean,
        "ms_per_update_ghp": ms_ghp,
        "settings": f"Hopper-v5, batch 256, meta batch 8, factorised decoder, 1 thread, {rounds} x {updates} updates",
    }


def bench_train_run(quick: bool) -> dict[str, Any]:
    """Environment steps/s of whole short ``ghp train`` runs against ``ghp train --baseline`` (SB3 SAC [256, 256]).

    Each task's own defaults (8 environments; Hopper: one update per transition, Crazyflie: one per two), 1000
    random steps then 1500 learning steps; the two runs of a task alternate twice and each side keeps its mean (the
    load of a shared machine hits both alike). A ratio for context, not a claim of absolute speed.
    """
    import torch

    import ghp  # noqa: F401  (registers the Crazyflie ids)
    from benchmarks.train_speed import run_rate

    torch.set_num_threads(1)
    learn, starts, repeats = (64, 64, 1) if quick else (1500, 1000, 2)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, env_id in (("hopper", "Hopper-v5"), ("crazyflie", "ghp/CrazyflieHover-v0")):
            rates: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(repeats):
                for baseline in (False, True):
                    rates[baseline].append(run_rate(env_id, baseline, learn, starts, str(Path(tmp) / name)))
            ghp_rate, sb3_rate = statistics.mean(rates[False]), statistics.mean(rates[True])
            out[name] = {
                "ratio": ghp_rate / sb3_rate,
                "ghp_steps_per_s": ghp_rate,
                "sb3_steps_per_s": sb3_rate,
                "settings": f"{env_id}, the task's defaults, {starts} random + {learn} learning steps, "
                f"1 torch thread, mean of {repeats} alternating runs each",
            }
    return out


def _tiny_run(env_id: str, out: str) -> Path:
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    # The paper's whole space; a few hundred steps: speed does not depend on how well the policies act, only on
    # the episode lengths, which are reported beside each ratio.
    cfg = TrainConfig(env_id=env_id, steps=300, n_envs=2, learning_starts=100, batch_size=32, eval_every=0, out=out)
    return train(cfg, force=True)


def bench_emit(quick: bool) -> dict[str, Any]:
    """Seconds to emit every architecture of the paper's space (best of 3, one torch thread)."""
    import torch

    from ghp.run.load import load_run

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = load_run(_tiny_run("Pendulum-v1", tmp))
        space = list(run.space.archs)
        times = []
        for _ in range(1 if quick else 3):
            t0 = time.perf_counter()
            run.emit(space)
            times.append(time.perf_counter() - t0)
    return {"seconds": min(times), "archs": len(space), "settings": "Pendulum-v1 sizes, 1 torch thread, best of 3"}


def bench_evaluate(quick: bool) -> dict[str, Any]:
    """``ghp evaluate`` steps/s against the raw environment's, for 300 and 4680 architectures (eval_speed.py)."""
    import torch

    from benchmarks.eval_speed import raw_rate
    from ghp.rollout.evaluate import EvalConfig, evaluate, parse_arch_selection
    from ghp.run.load import load_run

    torch.set_num_threads(1)
    workers = min(2, os.cpu_count() or 1)
    out: dict[str, Any] = {"workers": workers}
    tasks = [("pendulum", "Pendulum-v1"), ("hopper", "Hopper-v5")]
    sizes = ("30",) if quick else ("300", "all")
    with tempfile.TemporaryDirectory() as tmp:
        for name, env_id in tasks:
            run = load_run(_tiny_run(env_id, str(Path(tmp) / name)))
            for size in sizes:
                archs = parse_arch_selection(size, run.space, 0)
                cfg = EvalConfig(episodes=5, seed=0, workers=workers)
                seconds = 1.0 if quick else 5.0
                raw_before = raw_rate(env_id, cfg.envs_per_worker, workers, seconds)
                summary, _ = evaluate(run, archs, cfg)
                raw_after = raw_rate(env_id, cfg.envs_per_worker, workers, seconds)
                raw = (raw_before + raw_after) / 2
                rate = summary.env_steps / summary.seconds
                out[f"{name}_{len(archs)}"] = {
                    "ratio": rate / raw,
                    "eval_steps_per_s": rate,
                    "raw_steps_per_s": raw,
                    "env_steps": summary.env_steps,
                    "mean_episode_steps": summary.env_steps / (len(archs) * 5),
                }
    return out


def bench_confirm(quick: bool) -> dict[str, Any]:
    """Seconds of ``ghp evaluate RUN --confirm 50 --confirm-episodes 100`` on a Crazyflie run, 2 workers, every
    episode its full 500 steps (confirm_speed.py: how the policies are made to fly that long)."""
    from benchmarks.confirm_speed import confirm_speed, tiny_run

    archs, episodes = (4, 10) if quick else (50, 100)
    with tempfile.TemporaryDirectory() as tmp:
        out = confirm_speed(tiny_run(tmp), archs, episodes, min(2, os.cpu_count() or 1))
    out["settings"] = (
        f"ghp/CrazyflieHover-v0, {archs} architectures (uniform sample) x {episodes} held-out episodes, hidden layers "
        "of a 300-step run, output layer = constant hover action (nominal airframe, at rest, no noise)"
    )
    return out


def bench_mcu(quick: bool) -> dict[str, Any]:
    """Cortex-M4 instructions per MAC of a [64, 64] policy under QEMU (export_speed.py), float32 and int8; beside them
    (context) the cycles: the traced call's instructions priced with the M4's documented timings (export/cycles.py's
    traced_cycles, zero wait states), plus the flash wait states of the weights (export/cost.py)."""
    from benchmarks.export_speed import ACT, OBS, measure, random_policy
    from export.cost import inference_cost
    from export.toolchain import missing_tools
    from ghp.space.counting import macs

    missing = missing_tools("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "newlib", "qemu-system-arm")
    if missing:
        return {"skipped": f"missing {', '.join(missing)}"}
    p = random_policy("64-64")
    m = macs(p.arch, OBS, ACT)
    out: dict[str, Any] = {"arch": "64-64", "obs": OBS, "act": ACT, "macs": m}
    for dtype in ("float32", "int8"):
        f = measure(p, dtype)
        out[f"{dtype}_insn"] = f["qemu_insn"]
        out[f"{dtype}_insn_per_mac"] = f["qemu_insn"] / m
        cost = inference_cost(p.arch, OBS, ACT, dtype, f["qemu_insn"], f["qemu_cycles"])
        out[f"{dtype}_cycles_zero_wait"] = f["qemu_cycles"]
        out[f"{dtype}_cycles"] = cost.cycles
        out[f"{dtype}_cycles_per_mac"] = cost.cycles / m
        out[f"{dtype}_us_at_168mhz"] = cost.us
        out[f"{dtype}_cycles_by_class"] = {
            k[len("qemu_") : -len("_cycles")]: v for k, v in f.items() if k.endswith("_cycles") and k != "qemu_cycles"
        }
    return out


def bench_crazyflie(quick: bool) -> dict[str, Any]:
    """Vectorised Crazyflie physics at 1024 drones against one environment (env_speed.py)."""
    import ghp  # noqa: F401  (registers the ids)
    from benchmarks.env_speed import single_rate, vector_rate

    seconds = 0.5 if quick else 3.0
    single = single_rate("ghp/CrazyflieHover-v0", seconds)
    vec = vector_rate("ghp/CrazyflieHover-v0", 1024, seconds)
    return {"ratio": vec / single, "single_steps_per_s": single, "vector_1024_steps_per_s": vec}


RUNNERS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "train": bench_train,
    "train_run": bench_train_run,
    "emit": bench_emit,
    "evaluate": bench_evaluate,
    "confirm": bench_confirm,
    "mcu": bench_mcu,
    "crazyflie": bench_crazyflie,
}


def lookup(results: dict[str, Any], key: str) -> Any:
    """``results["evaluate"]["hopper_4680"]["ratio"]`` for ``"evaluate.hopper_4680.ratio"`` (None if absent)."""
    node: Any = results
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def render(record: dict[str, Any]) -> str:
    """The Markdown table of a record (what docs quote), from the JSON alone."""
    results = record["results"]
    rows = ["| figure | value | target | met | measured |", "| --- | --- | --- | --- | --- |"]

    def when(key: str) -> str:
        r = results[key.split(".")[0]]
        load = r.get("load_average")
        commit = f", `{r['commit'][:10]}`" if r.get("commit") else ""
        return f"{r.get('measured', '?')}{commit}" + (f", load {load[0]:.1f}" if load else "")

    for key, (op, target) in TARGETS.items():
        value = lookup(results, key)
        if value is None:
            continue
        met = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
        rows.append(f"| `{key}` | {value:.3g} | {op} {target:g} | {'yes' if met else 'no'} | {when(key)} |")
    for key in CONTEXT:
        value = lookup(results, key)
        if value is not None:
            rows.append(f"| `{key}` | {value:.3g} | context | | {when(key)} |")
    m = record["machine"]
    head = (
        f"Benchmark of record, last written at commit `{(record['commit']['sha'] or 'unknown')[:10]}`"
        f"{' (uncommitted changes)' if record['commit']['dirty'] else ''}, {record['date']}: {m['cpu']}, "
        f"{m['cores']} cores, torch {m['torch']} ({m['torch_cpu_capability']}). Each figure says when, at which "
        "commit and under which load (1-minute load average) it was measured; each ratio's two sides were measured "
        "side by side. Rendered from `record.json` by `python -m benchmarks --render`."
    )
    return head + "\n\n" + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("--quick", action="store_true", help="tiny settings; checks the harness and writes nothing")
    ap.add_argument("--out", type=Path, default=RECORD, help="the record's JSON file")
    ap.add_argument("--render", action="store_true", help="only re-render the Markdown table from the JSON")
    args = ap.parse_args(argv)
    out: Path = args.out
    if args.render:
        out.with_suffix(".md").write_text(render(json.loads(out.read_text())))
        return
    chosen = [b for b in args.only.split(",") if b]
    bad = [b for b in chosen if b not in RUNNERS]
    if bad:
        ap.error(f"unknown benchmark {bad[0]!r}: choose from {', '.join(BENCHMARKS)}")
    old = json.loads(out.read_text()) if out.is_file() and not args.quick else {"results": {}}
    record: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit(),
        "machine": machine(),
        "results": dict(old.get("results", {})),
    }
    for name in chosen:
        t0 = time.perf_counter()
        print(f"{name} ...", flush=True)
        result = RUNNERS[name](args.quick)
        result["wall_s"] = time.perf_counter() - t0
        result["measured"] = record["date"]
        result["commit"] = record["commit"]["sha"]
        result["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        record["results"][name] = result
        print(json.dumps({name: result}, indent=1), flush=True)
        if not args.quick:  # written after each benchmark: an interrupted record keeps what it measured
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record, indent=2) + "\n")
            out.with_suffix(".md").write_text(render(record))
    if args.quick:
        sys.stdout.write(render(record))


if __name__ == "__main__":
    main()
