"""Render the figure tables of docs/*.md from the committed data under docs/results/.

Every table of measured figures in the pages of PAGES (docs/results.md, learning.md, crazyflie.md, chromatic.md,
tune.md, distributed.md) sits between markers

    <!-- table: NAME -->
    ...generated Markdown...
    <!-- /table -->

and NAME is a function below that reads only files under docs/results/ (the `ghp report --json` and
`ghp report --progress --json` outputs, `results.csv`, the chromatic runs' records and `post.log`, the
`benchmarks/tune_tradeoff.py` and `benchmarks/eval_speed.py` outputs, and the manifests in docs/results/tables/ that
say which file feeds which row). Nothing here is typed by hand: a figure that has no committed file has no row.

    python docs/render.py            # rewrite the tables in place
    python docs/render.py --check    # exit 1, naming the tables that differ (tests/unit/test_docs_tables.py)

Standard library only, so it runs without torch or the package installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS / "results"
PAGES = (
    "results.md",
    "learning.md",
    "crazyflie.md",
    "crazyflie-results.md",
    "chromatic.md",
    "tune.md",
    "distributed.md",
    "export.md",
    "evaluate.md",
    "../README.md",
)
MARKER = re.compile(r"(<!-- table: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


# ---------------------------------------------------------------------------------------------------------------
# Reading the committed files


def load(rel: str) -> dict:
    """One JSON file under docs/results/."""
    return json.loads((RESULTS / rel).read_text())


def manifest(name: str) -> list[dict[str, str]]:
    """The rows of docs/results/tables/NAME.csv (which data file feeds which row)."""
    with (RESULTS / "tables" / f"{name}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def picks(data: dict, step: int | None = None) -> dict[str, dict]:
    """The max / 90% / 80% picks of a report (`ghp report --json`) or of one step of a progress report (last if None).

    Returns label -> {key, params, value, std (None for progress reports), episodes, n_archs, step}.
    """
    if "points" in data:
        point = data["points"][-1] if step is None else next(p for p in data["points"] if p["step"] == step)
        return {
            s["label"]: {
                "key": s["key"],
                "params": s["params"],
                "value": s["value"],
                "std": None,
                "episodes": None,
                "n_archs": point["n_archs"],
                "step": point["step"],
                "mean": point["mean"],
            }
            for s in point["selection"]
        }
    metric = data["metric"]
    out = {}
    for s in data["selection"]:
        value = s["success_rate"] if metric == "success" else s["mean_return"]
        out[s["label"]] = {
            "key": s["key"],
            "params": s["params"],
            "value": value,
            "std": None if metric == "success" else s["std_return"],
            "episodes": s["episodes"],
            "n_archs": data["n_archs"],
            "step": s["checkpoint_step"],
            "mean": None,
        }
    return out


def single(data: dict) -> dict:
    """The one policy of a single-policy run's report (baseline, small SB3 MLP, ARS), or a report's baseline."""
    if data.get("baseline") and "points" not in data:
        b = data["baseline"]
        metric = data["metric"]
        return {
            "key": b["key"],
            "params": b["params"],
            "value": b["success_rate"] if metric == "success" else b["mean_return"],
            "std": None if metric == "success" else b["std_return"],
            "episodes": b["episodes"],
            "step": b["checkpoint_step"],
        }
    return picks(data)["max"]


def baseline_at(data: dict, step: int) -> float | None:
    """The baseline's value at one step of a progress report (None where it was not evaluated)."""
    return next((b["value"] for b in data.get("baseline") or [] if b["step"] == step), None)


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def num(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if metric == "success" else f"{value:.1f}"


def steps(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n / 1000:.1f}k"


def arch_cell(p: dict, metric: str) -> str:
    return f"{num(p['value'], metric)} (`{p['key']}`, {p['params']:,})"


def policy_cell(p: dict, metric: str, show_steps: int | None = None) -> str:
    text = num(p["value"], metric)
    if p.get("std") is not None:
        text += f" ± {p['std']:.1f}"
    extra = f"{p['params']:,}"
    if show_steps is not None and p["step"] != show_steps:
        extra += f"; {steps(p['step'])} steps"
    return f"{text} ({extra})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------------------------------------------------------
# docs/results.md


def table_i() -> list[str]:
    """Table I shape: ghp's picks beside the single-policy baselines, one row per task and seed."""
    rows = []
    for m in manifest("table_i"):
        metric = m["metric"]
        target = int(m["steps"])
        ghp = picks(load(m["ghp"])) if m["ghp"] else None
        base = None
        if m["baseline"]:
            data = load(m["baseline"])
            if "points" in data:
                value = baseline_at(data, target)
                base = {"params": data["baseline"][-1]["params"], "value": value, "std": None, "step": target}
            else:
                base = single(data)
        small = single(load(m["small"])) if m["small"] else None
        ars = single(load(m["ars"])) if m["ars"] else None
        missing = m["missing"] or "-"
        row = [f"{m['task']} ({steps(target)}, seed {m['seed']})"]
        row += [arch_cell(ghp[label], metric) if ghp else missing for label in ("max", "90%", "80%")]
        row += [policy_cell(base, metric) if base else missing]
        row += [policy_cell(small, metric) if small else "-"]
        row += [policy_cell(ars, metric, show_steps=target) if ars else m["ars_note"] or "-"]
        if ghp and base:
            g = ghp["90%"]
            ratio = f"{base['params'] / g['params']:.0f}x"
            if metric == "success":
                diff = f"{g['value'] - base['value']:+.2f}"
            else:
                diff = f"{100 * (g['value'] - base['value']) / abs(base['value']):+.1f}%"
            row += [f"{ratio}, {diff}"]
        else:
            row += ["-"]
        if ghp:
            g = ghp["max"]
            per = f"{g['episodes']} ep." if g["episodes"] else "5 ep."
            row += [f"{g['n_archs']} x {per}"]
        else:
            row += ["-"]
        rows.append(row)
    return table(
        [
            "task (steps, seed)",
            "ghp max",
            "ghp 90%",
            "ghp 80%",
            "`[256,256]`",
            "small `8-4-4-4` (plain SB3)",
            "linear ARS",
            "`[256,256]` params / ghp 90%'s, ghp 90% vs `[256,256]`",
            "ghp screened (in-sample)",
        ],
        rows,
    )


def table_i_confirmed() -> list[str]:
    """Table I re-measured: per task and method, each pick's IQM across seeds with its 95% interval
    (`benchmarks/reproduce.py --confirm K`: docs/results/remeasure/*/across_seeds.json)."""
    methods = {"ghp": "ghp", "base": "[256,256] baseline, authors' settings",
               "zoo": "SB3 baseline, RL Zoo settings",
               "small": "small 8-4-4-4, plain SB3", "ars": "linear ARS, RL Zoo settings"}  # fmt: skip
    rows = []
    for path in sorted((RESULTS / "remeasure").glob("*/across_seeds.json")):
        for t in json.loads(path.read_text()):
            if t["method"] != "ghp" and t["label"] != "max":
                continue  # a single-policy run's picks are its one policy
            q, metric = t["iqm"], t["metric"]
            interval = "" if q["low"] is None else f" [{num(q['low'], metric)}, {num(q['high'], metric)}]"
            kinds = sorted(set(t["figures"]))
            params = sorted(set(t["params"]))
            method = methods.get(t["method"], t["method"])
            if t["method"] == "zoo" and t["task"].startswith("Fetch"):
                method += " (RL Zoo's FetchReach entry: SAC + HER, [64,64])"
            rows.append([
                t["task"], steps(t["step"]), method,
                t["label"] if t["method"] == "ghp" else "-",
                f"{num(q['value'], metric)}{interval}", str(len(t["values"])),
                " / ".join(str(p) for p in params), " + ".join(kinds),
            ])  # fmt: skip
    if not rows:
        return ["No re-measured runs committed yet (docs/results/remeasure/)."]
    header = ["task", "steps", "method", "pick", "value [95% CI]", "seeds", "parameters", "figure"]
    return table(header, rows)


def table_ii_remeasured() -> list[str]:
    """Table II on every ghp run of the re-measurement (remeasure/table_ii.json): wins, ties and losses summed over
    seeds and cutoffs, each seed's own, and the capacity-minus-size difference's IQM across seeds."""
    rows = []
    for t in load("remeasure/table_ii.json"):
        d = t["difference_points_iqm"]
        per_seed = ", ".join(f"{s['wins']}/{s['ties']}/{s['losses']}" for s in t["seeds"])
        steps = sorted({s["step"] for s in t["seeds"]})
        rows.append([
            t["task"], f"{steps[0] / 1000:g}k", str(len(t["seeds"])), t["metric"],
            f"{t['wins']} / {t['ties']} / {t['losses']}", per_seed,
            f"{d['value']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]",
        ])  # fmt: skip
    head = ["task", "steps", "seeds", "metric", "capacity wins / ties / losses (all cutoffs of all seeds)",
            "per seed (wins/ties/losses of 5000)", "capacity minus size, points of the best: IQM [95% CI]"]  # fmt: skip
    return table(head, rows)


def table_ii() -> list[str]:
    """Table II: the capacity choice against the largest choice over random parameter cutoffs."""
    rows = []
    for m in manifest("table_ii"):
        data = load(m["report"])
        t2 = data["table_ii"]
        if "wins" in t2:
            used = t2["used"]
            share = f"{t2['wins']} / {t2['ties']} / {t2['losses']} of {used}"
        else:
            share = f"{100 * t2['capacity_wins']:.1f}% (wins and ties not separated in this report)"
        rows.append(
            [
                f"{m['label']} ({data['n_archs']} architectures)",
                f"{t2['capacity_ratio']:.3f}",
                f"{t2['size_ratio']:.3f}",
                f"{100 * (t2['capacity_ratio'] - t2['size_ratio']):+.1f}",
                share,
                f"`{m['report']}`",
            ]
        )
    return table(
        [
            "run",
            "capacity choice",
            "largest choice",
            "difference (points of the best)",
            "capacity wins / ties / losses (or: >= share)",
            "data",
        ],
        rows,
    )


# ---------------------------------------------------------------------------------------------------------------
# docs/learning.md


def fr_default() -> list[str]:
    """Section 1: the default FetchReach run (seed 0) against the baseline, every baseline checkpoint."""
    data = load("learning/fr-default-s0.json")
    ghp = {p["step"]: p for p in data["points"]}
    rows = []
    for b in data["baseline"]:
        p = ghp.get(b["step"])
        if p is None:
            rows.append([str(b["step"]), num(b["value"], "success"), "not evaluated", "-"])
            continue
        m = next(s for s in p["selection"] if s["label"] == "max")
        rows.append(
            [
                str(b["step"]),
                num(b["value"], "success"),
                f"{m['value']:.2f} (`{m['key']}`, {m['params']:,})",
                f"{p['mean']:.2f}",
            ]
        )
    return table(["env steps", "baseline `[256,256]`", "ghp max of 20 (architecture, params)", "ghp mean of 20"], rows)


def fr_levers() -> list[str]:
    """Section 2: one lever at a time, success at 8000 steps (20 architectures x 5 episodes) and periodic evaluation."""
    rows = []
    for m in manifest("fr_levers"):
        data = load(m["progress"])
        p = next(p for p in data["points"] if p["step"] == 8000)
        periodic = "-"
        if m["eval"]:
            lines = [json.loads(x) for x in (RESULTS / m["eval"]).read_text().splitlines() if x.strip()]
            values = sorted({e["success"] for e in lines})
            span = f"{steps(lines[0]['step'])}-{steps(lines[-1]['step'])}"
            periodic = ", ".join(f"{v:.1f}" for v in values) + f" ({span})"
        rows.append([m["run"], f"{p['mean']:.2f} / {p['best']:.2f}", periodic, f"`{m['progress']}`"])
    base = load(manifest("fr_levers")[0]["progress"])
    rows.insert(0, ["baseline `[256,256]` (10 episodes)", num(baseline_at(base, 8000), "success"), "-", "same file"])
    return table(
        ["run", "success at 8000: mean / best of 20", "periodic evaluation (4 architectures): values seen", "data"],
        rows,
    )


def _progress_cells(data: dict, step: int) -> tuple[str, str]:
    p = next((p for p in data["points"] if p["step"] == step), None)
    if p is None:
        return "-", "-"
    s = next(s for s in p["selection"] if s["label"] == "90%")
    return f"{s['value']:.2f} (`{s['key']}`; mean {p['mean']:.2f})", num(baseline_at(data, step), "success")


def fr_normalize() -> list[str]:
    """Section 3: FetchReach with --normalize, seeds 0-3 and the seed-1 rerun, ghp's 90% pick and the baseline."""
    files = [(m["label"], load(m["progress"])) for m in manifest("fr_normalize")]
    all_steps = sorted({p["step"] for _, d in files for p in d["points"]})
    header = ["step"]
    for label, _ in files:
        header += [f"{label}: ghp 90% (mean of 20)", f"{label}: baseline"]
    rows = []
    for step in all_steps:
        row = [str(step)]
        for _, d in files:
            row += list(_progress_cells(d, step))
        rows.append(row)
    return table(header, rows)


def freeze() -> list[str]:
    """Section 3, freezing: default against --freeze encoder,message,decoder, FetchReach and Pendulum, two seeds."""
    rows = []
    for m in manifest("freeze"):
        cells = [m["label"]]
        for col in ("default", "frozen"):
            data = load(m[col])
            if "points" in data:
                parts = []
                for step in (2000, 4000, 8000, 12000):
                    p = next(p for p in data["points"] if p["step"] == step)
                    parts.append(f"{next(s for s in p['selection'] if s['label'] == '90%')['value']:.1f}")
                last = data["points"][-1]
                cells.append(" / ".join(parts) + f" (mean of 20 at {steps(last['step'])}: {last['mean']:.2f})")
            else:
                pk = picks(data)
                cells.append(
                    f"{pk['max']['value']:.1f} / {pk['90%']['value']:.1f} (`{pk['90%']['key']}`) / "
                    f"worst {data['floor']:.1f}"
                )
        rows.append(cells)
    return table(
        [
            "task, seed: FetchReach 90% pick's success at 2k / 4k / 8k / 12k; Pendulum max / 90% / worst of 300",
            "default ghp",
            "`--freeze encoder,message,decoder`",
        ],
        rows,
    )


def pendulum_postfix() -> list[str]:
    """Section 5: Pendulum-v1 after the fix, two seeds, 300 architectures and the baseline on the same 10 episodes."""
    rows = []
    for s in (0, 1):
        data = load(f"learning/pendulum-postfix/report-s{s}.json")
        pk = picks(data)
        b = data["baseline"]
        rows.append(
            [str(s)]
            + [arch_cell(pk[label], "return") for label in ("max", "90%", "80%")]
            + [f"{data['floor']:.1f}", f"{b['mean_return']:.1f} ± {b['std_return']:.1f} ({b['params']:,})"]
        )
    return table(["seed", "ghp max", "ghp 90%", "ghp 80%", "worst of 300", "baseline `[256,256]`"], rows)


def hopper_progress() -> list[str]:
    """Section 6: Hopper-v5 at every 10k checkpoint, two seeds, ghp's max / 90% / mean of 300 and the baseline."""
    runs = [load(f"reproduce/hop-ghp-s{s}-progress.json") for s in (0, 1)]
    bases = [load(f"reproduce/hop-base-s{s}-progress.json") for s in (0, 1)]
    header = ["step"]
    for s in (0, 1):
        header += [f"seed {s}: ghp max", f"seed {s}: ghp 90%", f"seed {s}: mean of 300", f"seed {s}: baseline"]
    rows = []
    for i, p0 in enumerate(runs[0]["points"]):
        row = [steps(p0["step"])]
        for run, base in zip(runs, bases, strict=True):
            p = run["points"][i]
            sel = {s["label"]: s for s in p["selection"]}
            b = baseline_at(base, p["step"])
            if b is None:
                b = baseline_at(run, p["step"])
            row += [
                f"{sel['max']['value']:.0f} (`{sel['max']['key']}`)",
                f"{sel['90%']['value']:.0f} (`{sel['90%']['key']}`, {sel['90%']['params']:,})",
                f"{p['mean']:.0f}",
                f"{b:.0f}" if b is not None else "-",
            ]
        rows.append(row)
    return table(header, rows)


def hopper_actor_lr() -> list[str]:
    """Section 6: the hypernetwork learning rate, default 1e-3 against 3e-4, max / mean of 300, two seeds."""
    header = ["step"]
    pairs = []
    for s in (0, 1):
        pairs.append(
            (load(f"reproduce/hop-ghp-s{s}-progress.json"), load(f"reproduce/hop-ghp-alr3e-4-s{s}-progress.json"))
        )
        header += [f"seed {s}: default max / mean of 300", f"seed {s}: `--actor-lr 3e-4` max (90% pick) / mean"]
    rows = []
    for step in (20000, 40000, 60000, 80000, 100000):
        row = [steps(step)]
        for default, low in pairs:
            d = next(p for p in default["points"] if p["step"] == step)
            lo = next(p for p in low["points"] if p["step"] == step)
            sel = {s["label"]: s for s in lo["selection"]}
            row += [
                f"{d['best']:.0f} / {d['mean']:.0f}",
                f"{lo['best']:.0f} (`{sel['90%']['key']}`, {sel['90%']['params']:,}: {sel['90%']['value']:.0f}) / "
                f"{lo['mean']:.0f}",
            ]
        rows.append(row)
    return table(header, rows)


# ---------------------------------------------------------------------------------------------------------------
# docs/crazyflie.md


def hover_20k() -> list[str]:
    """The 2026-11-29 Crazyflie runs at 20k steps, from results.csv (every evaluated row) and the return report."""
    with (RESULTS / "crazyflie" / "results.csv").open(newline="") as f:
        rows_csv = list(csv.DictReader(f))
    report = load("crazyflie/report-return.json")
    pk = picks(report)

    def group(run: str, nominal: bool) -> list[dict]:
        return [
            r
            for r in rows_csv
            if r["run"] == run and bool(json.loads(r["env_kwargs"] or "{}").get("nominal")) == nominal
        ]

    def lengths(rs: list[dict]) -> str:
        vals = [float(r["mean_length"]) for r in rs]
        best = max(rs, key=lambda r: float(r["mean_length"]))
        if len(rs) == 1:
            return f"{vals[0]:.1f}"
        mean = sum(vals) / len(vals)
        return f"mean of {len(rs)}: {mean:.1f} (best {float(best['mean_length']):.1f}, `{best['arch']}`)"

    def success(rs: list[dict]) -> str:
        vals = [float(r["success_rate"]) for r in rs]
        return f"{max(vals):.2f} (best of {len(rs)})" if len(rs) > 1 else f"{vals[0]:.2f}"

    runs = sorted({r["run"] for r in rows_csv})
    ghp_run = next(r for r in runs if "ghp" in r)
    base_run = next(r for r in runs if "base" in r)
    out = []
    for label, nominal in (("default randomised task", False), ("nominal drone", True)):
        g, b = group(ghp_run, nominal), group(base_run, nominal)
        out.append([f"success rate, {label}", success(g), success(b)])
        out.append([f"mean episode length of 500, {label}", lengths(g), lengths(b)])
    b = report["baseline"]
    out.append(
        [
            "mean return, nominal (`report-return.json`): max / 90% / 80%",
            " / ".join(f"`{pk[label]['key']}` {pk[label]['value']:.1f}" for label in ("max", "90%", "80%")),
            f"{b['mean_return']:.1f}",
        ]
    )
    n_ghp = len(group(ghp_run, True))
    n_base = int(group(base_run, True)[0]["episodes"]) if group(base_run, True) else 0
    return table(
        ["", f"ghp ({n_ghp} sampled architectures x 5 episodes)", f"baseline `[256,256]` ({n_base} episodes)"], out
    )


# ---------------------------------------------------------------------------------------------------------------
# docs/chromatic.md

CHROMATIC_RUNS = [(t, p) for t in ("linear", "41") for p in ("learned", "random", "toeplitz", "none")]


def _post_log() -> str:
    return (RESULTS / "chromatic" / "post.log").read_text()


def chromatic_hc() -> list[str]:
    """The eight HalfCheetah runs: counts and returns from each run's summary.json / history.jsonl, and the stored
    policy's `ghp evaluate` figure from the `benchmarks/chromatic_table.py` table in post.log."""
    stored = {}
    for line in _post_log().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and (cells[0], cells[1]) in CHROMATIC_RUNS:
            stored[(cells[0], cells[1])] = re.sub(r" \(\d+ ep\.\)$", "", cells[-1])
    rows = []
    for topo, part in CHROMATIC_RUNS:
        run = RESULTS / "chromatic" / f"hc-{topo}-{part}"
        s = json.loads((run / "summary.json").read_text())
        hist = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines() if x.strip()]
        rows.append(
            [
                topo,
                part,
                str(s["distinct_weights"]),
                str(s["params"]),
                str(s["bits"]),
                f"{max(h['mean_return'] for h in hist):.0f}",
                f"{max(h['best_return'] for h in hist):.0f}",
                stored[(topo, part)],
            ]
        )
    header = ["topology", "partition", "distinct weights", "params", "bits", "best worker-mean", "best worker"]
    return table(header + ["stored policy, `ghp evaluate` (5 episodes)"], rows)


def chromatic_export() -> list[str]:
    """The learned H41 policy exported as float32, int8 and codebook: the `ghp export --check` lines in post.log."""
    blocks = re.split(r"(?m)^(?=exported )", _post_log())
    found = {}
    for b in blocks:
        head = re.match(r"exported 41 \(\d+ params, (\d+) bytes (\w+),", b)
        if not head:
            continue
        flash = re.search(r"flash (\d+) B, RAM (\d+) B", b)
        insn = re.search(r"(\d+) instructions per inference", b)
        # float32's `expected` is torch's output; int8 and codebook print their distance to torch float32 apart
        err = re.search(r"max \|C - torch float32\| = ([0-9.e-]+)", b) or re.search(
            r"max \|C - expected\| = ([0-9.e-]+)", b
        )
        found[head.group(2)] = [head.group(1), f"{flash.group(1)} B", f"{flash.group(2)} B", insn.group(1),
                                f"{float(err.group(1)):.1e}"]  # fmt: skip
    labels = {"float32": "float32", "int8": "int8", "codebook": "codebook, M = 17"}
    rows = [[labels[d]] + found[d] for d in ("float32", "int8", "codebook")]
    header = ["dtype", "parameter bytes", "flash (policy, no self-test)", "RAM", "instructions / inference (QEMU)"]
    return table(header + ["max error vs torch float32"], rows)


# ---------------------------------------------------------------------------------------------------------------
# docs/tune.md


def tune_tradeoff() -> list[str]:
    """Dense, int8 and codebook policies before and after ES (`benchmarks/tune_tradeoff.py`: tune_pendulum.json)."""
    rows = [
        [
            f"{r['arch']} ({r['params']})",
            r["format"],
            r["before"],
            r["after"],
            str(r["param_bytes"]),
            str(r["flash_bytes"]),
            f"{r['insn']:.0f}",
        ]  # fmt: skip
        for r in load("tune_pendulum.json")["rows"]
    ]
    header = ["architecture (params)", "format", "return before ES", "return after ES", "parameter bytes"]
    return table(header + ["flash bytes", "instructions / inference"], rows)


def tune_scope() -> list[str]:
    """k-means per layer against one codebook for the network, no ES (tune_pendulum.json, `scope`)."""
    rows = [
        [r["arch"], str(r["M"]), r["scope"], f"{r['sq_err']:.4g}", r["return"], str(r["param_bytes"])]
        for r in load("tune_pendulum.json")["scope"]
    ]
    header = ["architecture", "M", "scope", "squared weight error", "return (k-means only)", "parameter bytes"]
    return table(header, rows)


# ---------------------------------------------------------------------------------------------------------------
# docs/distributed.md


def ray_overhead() -> list[str]:
    """`benchmarks/eval_speed.py --backend ray` with 1 and 2 workers: eval_speed_ray_w{1,2}.txt."""
    rows = []
    for w in (1, 2):
        text = (RESULTS / f"eval_speed_ray_w{w}.txt").read_text()
        runs = {k: re.findall(rf"(?m)^{k}: ([0-9,]+) steps/s", text) for k in ("local", "ray")}
        ratio = re.search(r"(?m)^ratio ([0-9.]+)", text).group(1)
        same = re.search(r"identical results: (\w+)", text).group(1)
        rows.append([str(w), ", ".join(runs["local"]), ", ".join(runs["ray"]), f"**{ratio}**",
                     "yes" if same == "True" else "no"])  # fmt: skip
    header = ["workers", "local steps/s (run 1, run 2)", "Ray steps/s (run 1, run 2)", "ratio Ray / local, best of 2"]
    return table(header + ["identical results"], rows)


def export_speed() -> list[str]:
    """float32 and int8 side by side per architecture, from benchmarks/export_speed.py's output."""
    rows: dict[str, dict[str, dict[str, str]]] = {}
    dtype = None
    for line in (RESULTS / "export_speed.txt").read_text().splitlines():
        if line.startswith("Cortex-M4F"):
            dtype = "int8" if "int8" in line else "float32"
            continue
        cells = line.split()
        if dtype and len(cells) == 11 and cells[1].isdigit():
            keys = ("arch", "params", "bytes", "macs", "flash", "insn", "ipm", "tanhf", "cycles", "cpm", "us")
            rows.setdefault(cells[0], {})[dtype] = dict(zip(keys, cells, strict=True))
        elif not line.startswith(" "):
            dtype = None if not line.strip() else dtype
    out = []
    for arch, d in rows.items():
        f, i = d["float32"], d["int8"]
        out.append([arch, f["macs"], f"{f['flash']} B", f"{f['insn']} ({f['ipm']})", f"{f['cycles']} ({f['us']})",
                    f"{i['flash']} B", f"{i['insn']} ({i['ipm']})", f"{i['cycles']} ({i['us']})"])  # fmt: skip
    header = ["arch", "MACs", "float32 flash", "float32 instructions (per MAC)", "cycles ~ (us at 168 MHz)",
              "int8 flash", "int8 instructions (per MAC)", "cycles ~ (us at 168 MHz)"]  # fmt: skip
    return table(header, out)


def speed_record() -> list[str]:
    """The benchmark of record's table (docs/results/bench/record.json), as ``python -m benchmarks --render`` draws
    it: every speed figure README quotes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_record", DOCS.parent / "benchmarks" / "record.py")
    assert spec is not None and spec.loader is not None
    record = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record)  # standard library only at import time
    text = record.render(load("bench/record.json"))
    return [line for line in text.splitlines() if line.startswith("|")]


def speed_evaluate() -> list[str]:
    """The evaluate rows of the benchmark of record (header and separator kept): what docs/evaluate.md quotes."""
    rows = speed_record()
    return rows[:2] + [r for r in rows[2:] if r.startswith("| `evaluate.")]


def _k_rows(names: tuple[str, ...], step: str, *more: tuple[str, str]) -> list[str]:
    """One row per action-history length and seed of the critic-64,64 runs in ``names`` (confirmed.json files) at
    checkpoint ``step`` (a run directory named ``...-sS`` or ``...-sS-180k`` is seed S, else seed 0); ``more``: further
    (file, checkpoint) pairs, whose rows follow with a steps column added to every row."""
    from ghp.run.stats import wilson_interval

    runs: dict[tuple[int, int, int], dict] = {}
    for name, at in [(n, step) for n in names] + list(more):
        for path, run in load(name).items():
            k = run["env_kwargs"].get("action_history", 1)
            tags = path.rstrip("/").rsplit("/", 1)[-1].split("-")
            seed = next((int(t[1:]) for t in tags if t[:1] == "s" and t[1:].isdigit()), 0)
            found = run["steps"].get(at)
            key = (int(at.split("_")[-1]), k, seed)
            if found is not None and run.get("critic") == [64, 64] and key not in runs:
                runs[key] = found
    rows = []
    for n, k, seed in sorted(runs):
        scr, conf = runs[(n, k, seed)]["screening"], runs[(n, k, seed)]["confirmed"]
        best = max(conf, key=lambda r: (r["success_rate"], r["mean_return"]))
        ci = wilson_interval(round(best["success_rate"] * best["episodes"]), best["episodes"])
        top = max(conf, key=lambda r: r["mean_return"])
        rows.append([f"{n / 1000:g}k"] * bool(more) + [
            str(k), str(seed), f"{scr['median_mean_return']:.1f} ({scr['median_mean_length']:.0f})",
            f"{scr['archs_with_any_success']} of {scr['archs']}",
            f"{best['success_rate']:.2f} [{ci.low:.2f}, {ci.high:.2f}] `{best['arch']}` ({best['params']} p)",
            f"{top['mean_return']:.1f} `{top['arch']}` ({top['mean_length']:.0f} steps)",
        ])  # fmt: skip
    head = ["K", "seed", "screening median return (median length)", "architectures with a screening success",
            "best confirmed success (Wilson 95%)", "best confirmed return"]  # fmt: skip
    return table(["steps"] * bool(more) + head, rows)


def k_sweep() -> list[str]:
    """The action-history sweep at 60k steps (k_sweep/confirmed.json; K = 16 from critic/confirmed.json's 60k)."""
    return _k_rows(("crazyflie/k_sweep/confirmed.json", "crazyflie/critic/confirmed.json"), "step_60000")


def integral() -> list[str]:
    """K = 1 with the position-error integral (position_integral=2), 180k steps (integral/confirmed.json)."""
    return _k_rows(("crazyflie/integral/confirmed.json",), "step_180000")


def goto() -> list[str]:
    """The first GoTo training, 180k steps (goto/confirmed.json)."""
    return _k_rows(("crazyflie/goto/confirmed.json",), "step_180000")


def _run_name(doc: dict) -> str:
    """The run directory's name in a benchmark or report JSON (its ``run`` path's last part)."""
    return doc["run"].rstrip("/").rsplit("/", 1)[-1]


def goto_flights() -> list[str]:
    """Policies flown on held-out GoTo episodes per error_clip and episode length (goto/goto_*.json, by
    benchmarks/crazyflie_goto.py)."""
    rows = []
    for path in sorted((RESULTS / "crazyflie/goto").glob("goto_*.json")):
        doc = json.loads(path.read_text())
        run = _run_name(doc)
        for r in doc["rows"]:
            q = r["arrival_s_quartiles_p90"]
            rows.append([
                f"`{run}` `{doc['arch']}` ({doc['params']} p)", f"{r['episode_steps'] / 100:g} s",
                f"{r['error_clip']:g}" if r["error_clip"] else "none",
                f"{r['success']:.2f} [{r['wilson_95'][0]:.2f}, {r['wilson_95'][1]:.2f}]", f"{r['crashed']:.2f}",
                f"{q[1]:.2f} / {q[3]:.2f}" if q else "-",
            ])  # fmt: skip
    head = ["policy", "episode", "error_clip (m)", "success (Wilson 95%)", "crashed",
            "arrival within 0.1 m, median / 90th percentile (s)"]  # fmt: skip
    return table(head, rows)


def goto_hover() -> list[str]:
    """Hover runs screened and confirmed on GoTo episodes with ghp's own commands (goto/hover_policy.sh:
    goto/hover-TAG-clipCLIP-epEP.json, ghp report --env-kwargs task=goto ...), beside the same run's hover 90% pick
    (default/ckpt/default-sSEED.json)."""
    rows = []
    for path in sorted((RESULTS / "crazyflie/goto").glob("hover-*-clip*-ep*.json")):
        doc = json.loads(path.read_text())
        run = _run_name(doc)
        clip, ep = re.search(r"-clip([\d.]+)-ep(\d+)\.json$", path.name).groups()  # type: ignore[union-attr]
        by = {p["label"]: p for p in doc["selection"]}
        tag, seed = run.removeprefix("cf-").rsplit("-s", 1)  # the run's own hover report, if run.sh made it
        own = RESULTS / f"crazyflie/default/{tag}/default-s{seed}.json"
        hover = _pick_cell(_ninety(json.loads(own.read_text()))) if own.is_file() else "-"
        rows.append([
            f"`{run}`", f"{int(ep) / 100:g} s", clip if float(clip) else "none",
            f"{doc['n_archs']} x {doc['setting']['episodes']}", _pick_cell(by["90%"]), _pick_cell(by["max"]), hover,
        ])  # fmt: skip
    head = ["hover run", "GoTo episode", "error_clip (m)", "screening (architectures x episodes)",
            "90% pick on GoTo, confirmed (Wilson 95%)", "max pick on GoTo, confirmed",
            "the run's hover 90% pick"]  # fmt: skip
    return table(head, rows)


def track_hover() -> list[str]:
    """Hover runs screened and confirmed on the figure eight (track/hover_policy.sh: track/hover-TAG.json), and their
    90% pick's held-out tracking error and software-in-the-loop flight (track/hover-TAG/track_ARCH.json)."""
    rows = []
    for path in sorted((RESULTS / "crazyflie/track").glob("hover-*.json")):
        doc = json.loads(path.read_text())
        ninety = _ninety(doc)
        flown = json.loads((path.with_suffix("") / f"track_{ninety['key']}.json").read_text())
        rms, ok, sil = flown["rms_error_m"], flown["success"], flown["sil"]
        rows.append([
            f"`{_run_name(doc)}`", f"{doc['n_archs']} x {doc['setting']['episodes']}",
            _pick_cell(ninety), f"{rms['value']:.3f} [{rms['low']:.3f}, {rms['high']:.3f}]",
            f"{ok['value']:.2f} [{ok['low']:.2f}, {ok['high']:.2f}]", str(flown["terminated"]),
            f"{sil['same_outcome']} of {sil['episodes']} (C {sil['c_success']}, numpy {sil['numpy_success']})",
        ])  # fmt: skip
    head = ["hover run", "screening (architectures x episodes)", "90% pick on tracking, confirmed (Wilson 95%)",
            "its RMS error, 100 more held-out episodes (m, bootstrap 95%)", "success (Wilson 95%)", "terminated",
            "C in the loop: same outcome as numpy, noise off (successes)"]  # fmt: skip
    return table(head, rows)


def plain_mlp() -> list[str]:
    """One 32-32 MLP trained with plain SB3 SAC on the default hover, 180k steps (plain/confirmed.json)."""
    return _k_rows(("crazyflie/plain/confirmed.json",), "step_180000")


def reward_weight() -> list[str]:
    """K = 1 with position_weight=6, 180k steps (reward/confirmed.json)."""
    return _k_rows(("crazyflie/reward/confirmed.json",), "step_180000")


def lever_defaults() -> dict[str, Any]:
    """The hover's reward and observation defaults now: a lever row names only the options that differ from these."""
    from ghp.envs.crazyflie import CrazyflieConfig

    hover = CrazyflieConfig(task="hover")
    keys = ("position_weight", "yaw_weight", "yaw_frame", "action_weight", "action_history")
    return {k: getattr(hover, k) for k in keys}


def _option(v: Any) -> str:
    """An env option's value as ``--env-kwargs`` takes it (``true``, ``0.5``)."""
    return str(v).lower() if isinstance(v, bool) else f"{float(v):g}"


def _confirmed_cell(r: dict) -> str:
    """A confirmed architecture as a table cell: success with its Wilson 95% interval, key and parameter count."""
    from ghp.run.stats import wilson_interval

    ci = wilson_interval(round(r["success_rate"] * r["episodes"]), r["episodes"])
    return f"{r['success_rate']:.2f} [{ci.low:.2f}, {ci.high:.2f}] `{r['arch']}` ({r['params']} p)"


def reward_levers() -> list[str]:
    """The hover at 180k steps under each reward and option tried against the steady offset: the defaults and K = 4
    (k_long), the position-error integral (integral/), position_weight (reward/), yaw_weight (yaw/), action_weight
    (smooth/) and combinations (levers/*.confirmed.json); one row per run, named by its non-default options (and its
    training options where it is not SAC without normalisation)."""
    from ghp.envs import legacy_env_kwargs

    rows, defaults = [], lever_defaults()
    levers = sorted(p.relative_to(RESULTS).as_posix() for p in (RESULTS / "crazyflie/levers").glob("*.confirmed.json"))
    for name in [f"crazyflie/{n}/confirmed.json" for n in ("k_long", "integral", "reward", "yaw", "smooth")] + levers:
        for run_path, run in load(name).items():
            # A run saved before an option's default changed trained with the default of then (legacy_env_kwargs).
            trained = legacy_env_kwargs("ghp/CrazyflieHover-v0", run["env_kwargs"])
            kw = {k: v for k, v in trained.items() if k not in defaults or float(defaults[k]) != float(v)}
            found = run["steps"].get("step_180000")
            if found is None or run.get("critic") != [64, 64]:
                continue
            tags = run_path.rstrip("/").rsplit("/", 1)[-1].split("-")
            seed = next((int(t[1:]) for t in tags if t[:1] == "s" and t[1:].isdigit()), 0)
            scr, conf = found["screening"], found["confirmed"]
            best = max(conf, key=lambda r: (r["success_rate"], r["mean_return"]))
            small = [r for r in conf if r["params"] <= 2000]
            fit = max(small, key=lambda r: (r["success_rate"], -r["params"])) if small else None
            training = [f"--algo {run['algo']}"] if "algo" in run else []
            training += ["--normalize"] * bool(run.get("normalize"))
            training += [f"--{k.replace('_', '-')} {v:g}" for k, v in run.get("train_options", {}).items()]
            options = [f"{k}={_option(v)}" for k, v in sorted(kw.items())] + training
            rows.append([
                " ".join(options) or "defaults", str(seed),
                f"{scr['median_mean_length']:.0f}", f"{scr['archs_with_any_success']} of {scr['archs']}",
                _confirmed_cell(best),
                f"{fit['success_rate']:.2f} `{fit['arch']}` ({fit['params']} p)" if fit else "-",
            ])  # fmt: skip
    head = ["options", "seed", "screening median length", "architectures with a screening success",
            "best confirmed success (Wilson 95%)", "best confirmed of at most 2,000 p"]  # fmt: skip
    return table(head, rows)


DEFAULT_RUNS: tuple[tuple[str, str], ...] = (
    ("", "position weight 2 (the defaults until 2026-12-08)"),
    ("ckpt/", "position weight 2, trained again"),
    ("lin/", "weight 2, `--lr-schedule linear`"),
    ("lr3e-4/", "weight 2, `--lr 3e-4 --actor-lr 3e-4`"),
    ("int2/", "weight 2, `--env-kwargs position_integral=2`"),
    ("pw4/", "`--env-kwargs position_weight=4` (the defaults for an hour of 2026-12-08)"),
    ("pw4lin/", "`--env-kwargs position_weight=4 --lr-schedule linear`"),
    ("pw8/", "`--env-kwargs position_weight=8` (today's defaults)"),
    ("norm/", "weight 4, `--normalize`"),
    ("base-authors/", "weight 4, `--baseline`: SB3's `[256,256]` SAC, the authors' settings"),
    ("base-rlzoo/", "weight 4, `--baseline --preset rlzoo`: SB3's `[256,256]` SAC as RL Zoo runs it"),
    ("small/", "weight 4, `--arch 8-4-4-4`: one small MLP, plain SB3 SAC"),
    ("ars/", "weight 4, `--algo ars --arch linear --preset rlzoo`: a linear policy"),
    ("scale/", "weight 4, `--obs-scale` 10 on the position error, 2 on the velocity, 1 elsewhere"),
    ("base8-authors/", "`--baseline`: SB3's `[256,256]` SAC, the authors' settings"),
    ("base8-rlzoo/", "`--baseline --preset rlzoo`: SB3's `[256,256]` SAC as RL Zoo runs it"),
    ("small8/", "`--arch 8-4-4-4`: one small MLP, plain SB3 SAC"),
)
"""The default command's runs (docs/results/crazyflie/default/ and its variants' folders) and how each was trained."""


def _step_number(key: str) -> int:
    """The step of a confirmed.json step key (``step_250000``, ``step_250000 episodes 30``)."""
    return int(key.split()[0].removeprefix("step_"))


def _ninety(report: dict) -> dict:
    """The 90% pick of a ``ghp report --json`` (its confirmed figure under ``confirmed``)."""
    return next(p for p in report["selection"] if p["label"] == "90%")


def _pick_cell(pick: dict) -> str:
    """A report's confirmed pick as a table cell: success with its Wilson 95% interval, key and parameter count."""
    conf = pick["confirmed"]
    return f"{conf['value']:.2f} [{conf['low']:.2f}, {conf['high']:.2f}] `{pick['key']}` ({pick['params']} p)"


def default_command() -> list[str]:
    """The default hover command per seed (default/run.sh) and its variants: training wall time (default-sSEED.log),
    the last checkpoint's 30-episode screening, the report's 90% pick and the best of at most 2,000 parameters, both
    confirmed on 100 held-out randomised episodes (default-sSEED.json, confirmed.json)."""
    rows = []
    for folder, label in DEFAULT_RUNS:
        if not (RESULTS / f"crazyflie/default/{folder}confirmed.json").is_file():
            continue
        found_rows = []
        for run_path, run in load(f"crazyflie/default/{folder}confirmed.json").items():
            seed = int(run_path.rstrip("/").rsplit("-s", 1)[-1])
            steps = {k: v for k, v in run["steps"].items() if " env " not in k}  # the run's own task only
            key = max(steps, key=lambda k: (_step_number(k), steps[k]["screening"]["episodes"]))
            found = steps[key]
            scr = found["screening"]
            small = [r for r in found["confirmed"] if r["params"] <= 2000]
            fit = max(small, key=lambda r: (r["success_rate"], -r["params"])) if small else None
            ninety = _ninety(load(f"crazyflie/default/{folder}default-s{seed}.json"))
            log = (RESULTS / f"crazyflie/default/{folder}default-s{seed}.log").read_text()
            wall = re.search(r"^real\s+(\d+)m([\d.]+)s", log, re.M)
            cpu = re.search(r"^user\s+(\d+)m([\d.]+)s", log, re.M)
            took = f"{int(wall.group(1)) + float(wall.group(2)) / 60:.1f} min" if wall else "-"
            took += f" ({int(cpu.group(1)) + float(cpu.group(2)) / 60:.1f} CPU)" if cpu else ""
            took += ", after a resume" if "resumed with --resume" in log else ""
            found_rows.append([
                label, str(seed), took,
                f"{scr['archs_with_any_success']} of {scr['archs']} ({scr['episodes']} episodes)",
                _pick_cell(ninety),
                _confirmed_cell(fit) if fit else "-",
            ])  # fmt: skip
        rows += sorted(found_rows, key=lambda r: int(r[1]))
    head = ["training", "seed", "training: wall, beside other jobs (CPU minutes)",
            "architectures with a screening success", "90% pick, confirmed (Wilson 95%)",
            "best confirmed of at most 2,000 p"]  # fmt: skip
    return table(head, rows)


def default_checkpoints() -> list[str]:
    """The default command's checkpoints swept (default/checkpoints.sh): mean success of 300 architectures over 10
    episodes at each, and the chosen checkpoint's 90% pick confirmed (TAG/progress-sSEED.json, TAG/best-sSEED.json)."""
    rows = []
    for folder, label in DEFAULT_RUNS:
        for path in sorted((RESULTS / f"crazyflie/default/{folder}").glob("progress-s*.json")):
            seed = path.stem.rsplit("-s", 1)[-1]
            points = json.loads(path.read_text())["checkpoints"]
            ninety = _ninety(load(f"crazyflie/default/{folder}best-s{seed}.json"))
            rows.append([
                label, seed, ", ".join(f"{p['step'] // 1000}k {p['mean_success']:.2f}" for p in points),
                f"{ninety['checkpoint_step'] // 1000}k", _pick_cell(ninety),
            ])  # fmt: skip
    head = ["training", "seed", "mean success of 300 architectures (10 episodes) by checkpoint", "chosen",
            "its 90% pick, confirmed (Wilson 95%)"]  # fmt: skip
    return table(head, rows)


def default_long_episodes() -> list[str]:
    """The default command's runs screened and confirmed in 8 s episodes (default/long_episodes.sh:
    TAG/hover800-sSEED.json) beside their 5 s figures (TAG/default-sSEED.json)."""
    rows = []
    for folder, label in DEFAULT_RUNS:
        for path in sorted((RESULTS / f"crazyflie/default/{folder}").glob("hover800-s*.json")):
            seed = path.stem.rsplit("-s", 1)[-1]
            short = _ninety(load(f"crazyflie/default/{folder}default-s{seed}.json"))
            rows.append([label, seed, _pick_cell(short), _pick_cell(_ninety(json.loads(path.read_text())))])
    head = ["training", "seed", "90% pick in 5 s episodes, confirmed (Wilson 95%)",
            "90% pick in 8 s episodes, confirmed (Wilson 95%)"]  # fmt: skip
    return table(head, rows)


def k_long() -> list[str]:
    """K = 1 against K = 4 continued to 180k steps (k_long/confirmed.json), and K = 1 seed 0 on to 250k."""
    return _k_rows(
        ("crazyflie/k_long/confirmed.json",), "step_180000", ("crazyflie/k_long/confirmed-250k.json", "step_250000")
    )


def pd_ablation() -> list[str]:
    """The fixed-gain PD and PID controllers with each randomised group set back to nominal (pd_ablation.json)."""
    data = load("crazyflie/pd_ablation.json")
    names = list(data["controllers"])
    settings = list(dict.fromkeys(r["setting"] for r in data["rows"]))
    cell = {(r["controller"], r["setting"]): r for r in data["rows"]}

    def fmt(r: dict) -> str:
        low, high = r["wilson_95"]
        return f"{r['success']:.2f} [{low:.2f}, {high:.2f}]"

    head = ["hover, default task with", *[f"{n} success (Wilson 95%)" for n in names]]
    return table(head, [[s, *[fmt(cell[(n, s)]) for n in names]] for s in settings])


TABLES: dict[str, Callable[[], list[str]]] = {
    "speed-record": speed_record,
    "speed-evaluate": speed_evaluate,
    "export-speed": export_speed,
    "table-i": table_i,
    "table-i-confirmed": table_i_confirmed,
    "table-ii": table_ii,
    "table-ii-remeasured": table_ii_remeasured,
    "fr-default-s0": fr_default,
    "fr-levers": fr_levers,
    "fr-normalize": fr_normalize,
    "freeze": freeze,
    "pendulum-postfix": pendulum_postfix,
    "hopper-progress": hopper_progress,
    "hopper-actor-lr": hopper_actor_lr,
    "crazyflie-hover-20k": hover_20k,
    "crazyflie-pd-ablation": pd_ablation,
    "crazyflie-k-sweep": k_sweep,
    "crazyflie-k-long": k_long,
    "crazyflie-integral": integral,
    "crazyflie-goto": goto,
    "crazyflie-goto-flights": goto_flights,
    "crazyflie-goto-hover": goto_hover,
    "crazyflie-default-long": default_long_episodes,
    "crazyflie-track-hover": track_hover,
    "crazyflie-default-checkpoints": default_checkpoints,
    "crazyflie-reward": reward_weight,
    "crazyflie-reward-levers": reward_levers,
    "crazyflie-default": default_command,
    "crazyflie-plain": plain_mlp,
    "chromatic-hc": chromatic_hc,
    "chromatic-export": chromatic_export,
    "tune-tradeoff": tune_tradeoff,
    "tune-scope": tune_scope,
    "ray-overhead": ray_overhead,
}


# ---------------------------------------------------------------------------------------------------------------
# Rewriting the pages


def render_text(text: str) -> tuple[str, list[str]]:
    """The page with every marked table regenerated, and the names of the tables found."""
    names: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group("name")
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}: add it to TABLES in docs/render.py")
        names.append(name)
        return m.group(1) + "\n".join(TABLES[name]()) + "\n" + m.group(4)

    return MARKER.sub(sub, text), names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a table differs from the data")
    args = parser.parse_args(argv)
    drift = []
    for page in PAGES:
        path = DOCS / page
        old = path.read_text()
        new, names = render_text(old)
        if new == old:
            continue
        if args.check:
            old_tables = {m.group("name"): m.group("body") for m in MARKER.finditer(old)}
            new_tables = {m.group("name"): m.group("body") for m in MARKER.finditer(new)}
            drift += [f"docs/{page}: {n}" for n in names if old_tables.get(n) != new_tables.get(n)]
        else:
            path.write_text(new)
            print(f"rewrote docs/{page} ({', '.join(names)})")
    if drift:
        print("tables differ from docs/results/ (run python docs/render.py):\n  " + "\n  ".join(drift), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
