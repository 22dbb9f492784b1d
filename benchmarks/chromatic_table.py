"""Print the docs/chromatic.md comparison table from chromatic run directories (and copy their records).

Usage::

    python benchmarks/chromatic_table.py runs/chromatic/hc-*/ [--copy docs/results/chromatic]

Per run: partition, topology, distinct weights, parameters and bits (``summary.json``); the best worker-mean return
(the highest mean over an iteration's rollouts, the paper's "mean reward") and the best single rollout (the paper's
"max reward") from ``history.jsonl``; the mean of the last evaluations of the current policy; and, when
``ghp evaluate RUN`` has been run, the stored policy's mean return over its episodes. Wall time is the runs' own
(``seconds`` of the last record: time spent in iterations, across resumes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
from pathlib import Path


def evaluated(path: Path) -> tuple[float, float, int] | None:
    """Mean and (population) std return stored by the latest ``ghp evaluate RUN``, and its episode count."""
    db = path / "results.sqlite"
    if not db.exists():
        return None
    con = sqlite3.connect(db)
    try:
        row = con.execute(
            "select mean_return, std_return, episodes from results order by checkpoint_step desc limit 1"
        ).fetchone()
    finally:
        con.close()
    return None if row is None else (float(row[0]), float(row[1]), int(row[2]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--copy", type=Path, help="copy summary.json, history.jsonl and config.json of each run here")
    args = ap.parse_args()
    print(
        "| topology | partition | distinct weights | params | bits | iterations | env steps | wall (min) "
        "| best worker-mean | best worker | last evals (mean of 4) | stored policy, ghp evaluate |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.runs:
        s = json.loads((path / "summary.json").read_text())
        hist = [json.loads(line) for line in (path / "history.jsonl").read_text().splitlines()]
        evals = [h["eval_return"] for h in hist if h["eval_return"] is not None]
        last = sum(evals[-4:]) / len(evals[-4:]) if evals else float("nan")
        topo = "linear" if len(s["topology"]) == 2 else "-".join(map(str, s["topology"][1:-1]))
        ev = evaluated(path)
        ev_text = "-" if ev is None else f"{ev[0]:.0f} ± {ev[1]:.0f} ({ev[2]} ep.)"
        print(
            f"| {topo} | {s['partition']} | {s['distinct_weights']} | {s['params']} | {s['bits']} | {len(hist)} "
            f"| {hist[-1]['env_steps']:,} | {hist[-1]['seconds'] / 60:.0f} | {max(h['mean_return'] for h in hist):.0f} "
            f"| {max(h['best_return'] for h in hist):.0f} | {last:.0f} | {ev_text} |"
        )
        if args.copy is not None:
            dst = args.copy / path.name
            dst.mkdir(parents=True, exist_ok=True)
            for f in ("summary.json", "history.jsonl", "config.json"):
                shutil.copy(path / f, dst / f)


if __name__ == "__main__":
    main()
