"""Rerunnable reproduction of the paper's Table I shape: ghp against the baselines a user would try instead.

For each task and seed, four runs at equal environment steps (``ghp train``; every run keeps its checkpoints):

- ``ghp``: the graph hypernetwork (all architectures of the space, default settings);
- ``base``: SB3's ``[256, 256]`` actor, same settings (``--baseline``, the authors' preset);
- ``zoo``: SB3's actor as its users run it (``--baseline --preset rlzoo``: RL Zoo's file for the task, SB3's
  defaults otherwise);
- ``small``: one small MLP trained with plain SB3 (``--arch``, default ``8-4-4-4``);
- ``ars``: a linear policy trained with ARS, RL Zoo's per-task ARS settings (``--algo ars --arch linear --preset
  rlzoo``; one environment, every step counted; not for goal-conditioned tasks).

Then every checkpoint of every run is evaluated (``ghp evaluate --checkpoints all``; ``--archs`` of the ghp space,
the same sample and starts at every checkpoint), and the table row of each run at its last checkpoint is written:
for ghp the max / 90% / 80% architectures (``ghp report --json``), for the baselines their one architecture.
Progress plots (``ghp report --progress``) go beside the results. Results: ``OUT/results.json``,
``OUT/results.csv`` and the plots, ``OUT/runs/`` holds the runs (delete it once you have the table). Wall times of
every stage are recorded. Completed runs and evaluations are skipped when the script is run again (resumable).

Usage::

    python benchmarks/reproduce.py --tasks Pendulum-v1 --steps 6000 --seeds 0          # minutes on 2 cores
    python benchmarks/reproduce.py --tasks Pendulum-v1,FetchReach-v4 --steps 20000 --seeds 0,1 --out docs/results/repro
    python benchmarks/reproduce.py --tasks Hopper-v5 --steps 100000 --methods ghp,base --jobs 2  # hours on 2 cores
    python benchmarks/reproduce.py --tasks Pendulum-v1 --seeds 0,1,2,3,4 --backend ray --ray-address auto  # a cluster

With ``--backend ray`` each run (train, evaluate, confirm, report) is one Ray task of one CPU, through the same
backend as ``ghp evaluate --backend ray``: on a cluster every run of the matrix starts at once. The checkout and
``--out`` must be at the same path on every node (a shared file system), as the runs write there.

Budgets (``--steps``, ``--archs``, ``--episodes``, ``--checkpoint-every``) are options; the defaults are small so
that a first run finishes on a laptop. Say the budget when you cite a number.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

METHODS = ("ghp", "base", "zoo", "small", "ars")
GOAL_PREFIX = "Fetch"


def ghp(*args: str) -> str:
    """Run the ghp CLI of this checkout; returns its stdout (raises on failure, with its stderr)."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-c", "from cli.main import main; main()", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ghp {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def train_args(method: str, task: str, steps: int, seed: int, out: Path, a: argparse.Namespace) -> list[str]:
    """``ghp train`` arguments of one run."""
    args = ["train", "--env", task, "--steps", str(steps), "--seed", str(seed), "--out", str(out), "--quiet"]
    args += ["--checkpoint-every", str(a.checkpoint_every), "--eval-every", "0"]
    if method == "base":
        args.append("--baseline")
    elif method == "zoo":
        args += ["--baseline", "--preset", "rlzoo"]
    elif method == "small":
        args += ["--arch", a.small]
    elif method == "ars":
        args += ["--algo", "ars", "--arch", "linear", "--preset", "rlzoo", "--steps", str(steps * a.ars_factor)]
    return args


def run_one(method: str, task: str, seed: int, a: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Train (unless done), evaluate every checkpoint, and read the table row of one run."""
    out = root / "runs" / f"{task}-{method}-s{seed}"
    row: dict[str, Any] = {"task": task, "method": method, "seed": seed, "run": str(out)}
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    # A finished run resumes to nothing; an interrupted one continues; a folder without a model starts afresh.
    resume = ["--resume"] if (out / "model.zip").is_file() else ["--force"] if out.exists() else []
    ghp(*train_args(method, task, a.steps, seed, out, a), *resume)
    timing["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    archs = ["--archs", str(a.archs)] if method == "ghp" else []
    ghp(
        "evaluate", str(out), "--episodes", str(a.episodes), "--checkpoints", "all", "--workers", str(a.workers), *archs
    )
    timing["evaluate_s"] = time.perf_counter() - t0
    metric = "success" if task.startswith(GOAL_PREFIX) else "return"
    if a.confirm:
        # Held-out confirmation of the latest model: the top K screened (a baseline's one architecture) and every
        # pick of the report, on starts no screening uses.
        t0 = time.perf_counter()
        k = str(a.confirm if method == "ghp" else 1)
        ghp("evaluate", str(out), "--confirm", k, "--confirm-episodes", str(a.confirm_episodes), "--workers",
            str(a.workers))  # fmt: skip
        timing["confirm_s"] = time.perf_counter() - t0
    row.update(timing)
    row.update(read_row(out, metric))
    plots = root / "plots" / out.name
    plots.mkdir(parents=True, exist_ok=True)
    prog = json.loads(ghp("report", str(out), "--progress", "--json", "--metric", metric, "--out", str(plots)))
    row["progress"] = [{"step": p["step"], "best": p["best"], "mean": p["mean"]} for p in prog["points"]]
    return row


def read_row(out: Path, metric: str) -> dict[str, Any]:
    """The table row of run ``out`` at its latest evaluated checkpoint (``ghp report --json``): its step, ``metric``
    and each pick (max / 90% / 80%; a single-policy run's one architecture) with its screening and confirmed
    figures."""
    rep = json.loads(ghp("report", str(out), "--json", "--no-plots", "--metric", metric))
    row: dict[str, Any] = {"step": rep["setting"]["checkpoint_step"], "metric": metric}
    for s in rep["selection"]:
        value = s["success_rate"] if metric == "success" else s["mean_return"]
        row[s["label"]] = {
            "arch": s["key"],
            "params": s["params"],
            "value": value,
            "mean_return": s["mean_return"],
            "figure": s.get("figure", "screening"),
            "screening": s.get("screening"),
            "confirmed": s.get("confirmed"),
        }
    return row


def main() -> None:
    from ghp.space.arch import parse_ints

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="Pendulum-v1", help="comma-separated gymnasium ids")
    p.add_argument("--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}")
    p.add_argument("--steps", type=int, default=6000, help="environment steps per run")
    p.add_argument("--seeds", default="0", help="comma-separated training seeds")
    p.add_argument("--archs", type=int, default=100, help="architectures of the ghp space to evaluate (a sample)")
    p.add_argument("--episodes", type=int, default=5, help="evaluation episodes per architecture")
    p.add_argument("--checkpoint-every", type=int, default=2000, help="environment steps between checkpoints")
    p.add_argument("--small", default="8-4-4-4", help="the small architecture trained with plain SB3")
    p.add_argument("--ars-factor", type=int, default=1, help="ARS gets this many times --steps (it is cheap per step)")
    p.add_argument("--workers", type=int, default=1, help="evaluation worker processes")
    p.add_argument("--jobs", type=int, default=1, help="runs (train + evaluate) at once, one core each")
    p.add_argument("--out", default="docs/results/reproduce", help="where results.json / .csv and plots go")
    p.add_argument("--confirm", type=int, default=0, help="confirm the top K of each ghp run on held-out starts")
    p.add_argument("--confirm-episodes", type=int, default=100, help="held-out episodes per confirmed architecture")
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="where the runs go: this machine's "
        "processes (--jobs at once) or Ray tasks (one per run; --jobs CPUs of a local Ray, or a cluster)",
    )
    p.add_argument("--ray-address", default=None, help="a running Ray cluster (auto, HOST:PORT); with --backend ray")
    p.add_argument("--summarise", action="store_true",
                   help="only rewrite results.csv and the across-seed tables from OUT/results.json (the runs that "
                   "have finished, e.g. while a reproduction still runs)")  # fmt: skip
    a = p.parse_args()
    root = Path(a.out)
    if a.summarise:
        if not (root / "results.json").is_file():
            p.error(f"--summarise needs {root / 'results.json'}: no run has finished there")
        write_summary(root, json.loads((root / "results.json").read_text())["rows"])
        print(f"rewrote {root / 'results.csv'} and {root / 'across_seeds.json'}")
        return
    root.mkdir(parents=True, exist_ok=True)
    methods = [m for m in a.methods.split(",") if m]
    if a.jobs < 1:
        p.error(f"--jobs must be at least 1, got {a.jobs}")
    if a.ray_address and a.backend != "ray":
        p.error("--ray-address needs --backend ray")
    if a.confirm < 0 or a.confirm_episodes < 1:
        p.error("--confirm must be >= 0 and --confirm-episodes >= 1")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        p.error(f"unknown method {bad[0]!r}: choose from {', '.join(METHODS)}")
    jobs: list[tuple[str, int, str]] = []
    for task in [t for t in a.tasks.split(",") if t]:
        for seed in parse_ints(a.seeds):
            for m in methods:
                if m == "ars" and task.startswith(GOAL_PREFIX):
                    print(f"{task} {m}: skipped (ARS takes plain observations)", flush=True)
                    continue
                jobs.append((task, seed, m))
    results = root / "results.json"
    done: dict[tuple[str, int, str], dict[str, Any]] = {}
    lock = threading.Lock()

    def one(job: tuple[str, int, str]) -> None:
        task, seed, m = job
        t0 = time.perf_counter()
        record(job, run_one(m, task, seed, a, root), t0)

    def record(job: tuple[str, int, str], row: dict[str, Any], t0: float) -> None:
        task, seed, m = job
        with lock:  # the table in job order, rewritten as each run finishes (an interrupted reproduction keeps it)
            done[job] = row
            rows = [done[j] for j in jobs if j in done]
            results.write_text(json.dumps({"args": vars(a), "rows": rows}, indent=1) + "\n")
            best = row.get("max", {})
            print(
                f"{task} seed {seed} {m}: max {best.get('arch')} ({best.get('params')} p) {best.get('value')}, "
                f"90% {row.get('90%', {}).get('arch')} ({row.get('90%', {}).get('params')} p), "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )

    if a.backend == "ray":
        run_on_ray(jobs, a, root, record)
    else:
        # Each run is a ghp subprocess with one torch thread: --jobs of them at once use --jobs cores.
        with ThreadPoolExecutor(max_workers=a.jobs) as pool:
            for f in [pool.submit(one, j) for j in jobs]:
                f.result()
    write_summary(root, [done[j] for j in jobs])
    print(f"results: {results}, {root / 'results.csv'} and {root / 'across_seeds.json'}")


def write_summary(root: Path, rows: list[dict[str, Any]]) -> None:
    """``results.csv`` (every run's picks) and the across-seed tables (:func:`write_across_seeds`) from ``rows``."""
    with open(root / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["task", "method", "seed", "step", "metric", "label", "arch", "params", "value", "figure", "train_s",
             "eval_s"]
        )  # fmt: skip
        for r in rows:
            for label in ("max", "90%", "80%"):
                if label in r:
                    s = r[label]
                    w.writerow([r["task"], r["method"], r["seed"], r["step"], r["metric"], label, s["arch"],
                                s["params"], s["value"], s.get("figure", "screening"), _seconds(r.get("train_s")),
                                _seconds(r.get("evaluate_s"))])  # fmt: skip
    write_across_seeds(root, rows)


def _seconds(t: float | None) -> str:
    """A stage's wall time in whole seconds; empty where the row has none (a run trained elsewhere)."""
    return "" if t is None else str(round(t))


def _ray_unit(shared: tuple[argparse.Namespace, str], job: tuple[str, int, str]) -> dict[str, Any]:
    a, root = shared
    task, seed, m = job
    return run_one(m, task, seed, a, Path(root))


def run_on_ray(jobs: list[tuple[str, int, str]], a: argparse.Namespace, root: Path, record: Any) -> None:
    """Every run of the matrix as one Ray task (ghp's own Ray backend: retries, a lost head reported)."""
    from ghp.rollout.backend import make_backend

    workers = 0 if a.ray_address else a.jobs  # a cluster: all of it; a local Ray: --jobs CPUs
    t0 = time.perf_counter()
    with make_backend("ray", workers=workers, ray_address=a.ray_address) as backend:
        print(f"ray: {backend.workers} runs at once", flush=True)
        for job, row in backend.run(_ray_unit, (a, str(root.resolve())), ((j, j) for j in jobs), len(jobs)):
            record(job, row, t0)


def write_across_seeds(root: Path, rows: list[dict[str, Any]]) -> None:
    """Per task and method, each pick's interquartile mean across the seeds with its stratified-bootstrap 95%
    interval (``ghp report RUN...``: confirmed figures where the runs have them): ``across_seeds.json`` / ``.csv``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["method"]), []).append(r)
    table = []
    for (task, method), runs in groups.items():
        metric = runs[0]["metric"]
        doc = json.loads(ghp("report", *[r["run"] for r in runs], "--json", "--no-plots", "--metric", metric))
        across = doc["across_seeds"] if "across_seeds" in doc else []
        if not across:  # one run: its own picks, with the run's own 95% interval (confirmed where it has one)
            one = runs[0]
            across = [
                {"label": lab, "values": [one[lab]["value"]], "params": [one[lab]["params"]],
                 "figures": [one[lab]["figure"]],
                 "iqm": one[lab].get("confirmed") or one[lab].get("screening") or {
                     "value": one[lab]["value"], "low": None, "high": None, "n": 1, "method": "one run"}}
                for lab in ("max", "90%", "80%") if lab in one
            ]  # fmt: skip
        for pick in across:
            table.append({"task": task, "method": method, "metric": metric, "seeds": [r["seed"] for r in runs],
                          "step": runs[0]["step"], **pick})  # fmt: skip
    (root / "across_seeds.json").write_text(json.dumps(table, indent=1) + "\n")
    with open(root / "across_seeds.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "method", "metric", "step", "seeds", "label", "iqm", "low", "high", "method_ci", "values",
                    "params", "figures"])  # fmt: skip
        for t in table:
            q = t["iqm"]
            w.writerow([t["task"], t["method"], t["metric"], t["step"], " ".join(map(str, t["seeds"])), t["label"],
                        q["value"], q["low"], q["high"], q["method"], " ".join(f"{v:.6g}" for v in t["values"]),
                        " ".join(map(str, t["params"])), " ".join(t["figures"])])  # fmt: skip


if __name__ == "__main__":
    main()
