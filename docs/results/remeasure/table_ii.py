"""Table II re-measured: capacity against size on every ghp run of the re-measurement (Pendulum-v1, FetchReach-v4,
InvertedDoublePendulum-v5), ties counted as ties, and the difference's IQM across seeds with its stratified-bootstrap
95% interval.

For each task, ``ghp report`` reads every seed's ghp run listed in ``<task>/results.json`` (their last checkpoint's
screening of 300 sampled architectures x 5 episodes, the figures Table II compares) with the metric the
re-measurement used, and keeps each run's Table II: 5000 parameter cutoffs in [1000, 1e6]; under each, the
architecture with the largest lossless memory dimension against the largest one, both as a ratio to the best from
the floor; wins, ties and losses of capacity. Run from the repository root once the runs exist:

    python docs/results/remeasure/table_ii.py > docs/results/remeasure/table_ii.json
"""

import json
import subprocess
import sys
from pathlib import Path

from ghp.run.stats import iqm_interval

HERE = Path(__file__).resolve().parent
out = []
for task in ("pendulum", "fetchreach", "idp"):
    rows = [r for r in json.loads((HERE / task / "results.json").read_text())["rows"] if r["method"] == "ghp"]
    cmd = [sys.executable, "-c", "from cli.main import main; main()", "report", *[r["run"] for r in rows], "--json",
           "--no-plots", "--metric", rows[0]["metric"]]  # fmt: skip
    doc = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    reports = doc["runs"] if "runs" in doc else [doc]
    seeds = []
    for r, rep in zip(rows, reports, strict=True):
        t = rep["table_ii"]
        seeds.append({"seed": r["seed"], "step": r["step"], "run": r["run"], "archs": rep["n_archs"],
                      "capacity_ratio": t["capacity_ratio"], "size_ratio": t["size_ratio"],
                      "wins": t["wins"], "ties": t["ties"], "losses": t["losses"], "cutoffs": t["used"]})  # fmt: skip
    diff = iqm_interval([100 * (s["capacity_ratio"] - s["size_ratio"]) for s in seeds])
    out.append({"task": rows[0]["task"], "metric": rows[0]["metric"], "seeds": seeds,
                "difference_points_iqm": {"value": diff.value, "low": diff.low, "high": diff.high, "n": diff.n,
                                          "method": diff.method},
                "wins": sum(s["wins"] for s in seeds), "ties": sum(s["ties"] for s in seeds),
                "losses": sum(s["losses"] for s in seeds)})  # fmt: skip
print(json.dumps(out, indent=1))
