"""Print the held-out confirmation of each run of this measurement (every confirmed architecture, 100 episodes).

Run from the repository root after run.sh: python docs/results/crazyflie/action_history/confirmed.py > confirmed.json
"""

import json
import sys

import numpy as np

from ghp.run.results import ResultsStore

out = {}
for k in (0, 16):
    run = f"runs/cf-history-k{k}"
    run_id = json.load(open(f"{run}/config.json"))["run_id"]
    with ResultsStore.open(run, run_id, readonly=True) as store:
        [(screen, _)] = store.settings()
        screened = {r.arch.key: r for r in store.records(screen)}
        rows = []
        for key, r in sorted(store.confirmed(screen).items(), key=lambda kv: -kv[1].mean_return):
            rows.append(
                {
                    "arch": key,
                    "episodes": len(r.returns),
                    "mean_return": round(float(r.mean_return), 2),
                    "mean_length": round(float(r.mean_length), 1),
                    "success_rate": float(r.success_rate),
                    "screening_mean_return": round(float(screened[key].mean_return), 2),
                }
            )
        lens = np.array([s.mean_length for s in screened.values()])
        rets = np.array([s.mean_return for s in screened.values()])
        out[f"action_history={k}"] = {
            "screening": {
                "archs": len(screened),
                "episodes": screen.episodes,
                "median_mean_return": round(float(np.median(rets)), 2),
                "median_mean_length": round(float(np.median(lens)), 1),
                "archs_with_any_success": int(sum(s.success_rate > 0 for s in screened.values())),
            },
            "confirmed": rows,
        }
json.dump(out, sys.stdout, indent=1)
print()
