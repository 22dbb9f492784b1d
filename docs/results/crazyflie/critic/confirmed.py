"""Print every screening and held-out confirmation of the given runs, per checkpoint (JSON).

Run from the repository root after run.sh: python docs/results/crazyflie/critic/confirmed.py RUN ... > confirmed.json
"""

import json
import sys

import numpy as np

from ghp.rl.config import TrainConfig, resolve
from ghp.run.layout import read_config
from ghp.run.results import ResultsStore
from ghp.space.counting import n_params

out = {}
for run in sys.argv[1:]:
    cfg = read_config(run)  # with the options an older run trained with before they were recorded
    per_step = {}
    with ResultsStore.open(run, cfg["run_id"], readonly=True) as store:
        for screen, _ in sorted(store.settings(), key=lambda s: (s[0].checkpoint_step, s[0].episodes)):
            screened = {r.arch.key: r for r in store.records(screen)}
            rows = [
                {
                    "arch": key,
                    "params": n_params(r.arch, cfg["env"]["obs_dim"], cfg["env"]["act_dim"]),
                    "episodes": len(r.returns),
                    "success_rate": float(r.success_rate),
                    "mean_return": round(float(r.mean_return), 2),
                    "mean_length": round(float(r.mean_length), 1),
                    "screening_success_rate": float(screened[key].success_rate),
                    "screening_mean_return": round(float(screened[key].mean_return), 2),
                }
                for key, r in sorted(
                    store.confirmed(screen).items(), key=lambda kv: (-kv[1].success_rate, -kv[1].mean_return)
                )
            ]
            lens = np.array([s.mean_length for s in screened.values()])
            rets = np.array([s.mean_return for s in screened.values()])
            succ = np.array([s.success_rate for s in screened.values()])
            kw = (
                ""
                if screen.env_kwargs == json.dumps(cfg["train"]["env_kwargs"], separators=(",", ":"), sort_keys=True)
                else f" env {screen.env_kwargs}"
            )
            key = f"step_{screen.checkpoint_step}{kw}"
            # A second screening of the same checkpoint (more episodes) gets its own entry.
            key += f" episodes {screen.episodes}" if key in per_step else ""
            per_step[key] = {
                "screening": {
                    "archs": len(screened),
                    "episodes": screen.episodes,
                    "median_mean_return": round(float(np.median(rets)), 2),
                    "median_mean_length": round(float(np.median(lens)), 1),
                    "archs_with_any_success": int((succ > 0).sum()),
                    "best_success_rate": float(succ.max()),
                },
                "confirmed": rows,
            }
    train = cfg["train"]
    out[run] = {"env_kwargs": train["env_kwargs"], "critic": train.get("critic"), "steps": per_step}
    # The algorithm and observation normalisation, where they are not the hover's SAC without it.
    out[run] |= {
        k: v for k, v in (("algo", cfg["algo"]), ("normalize", train.get("normalize"))) if v not in ("sac", False)
    }
    # RL settings that differ from the task's defaults (e.g. --lr), by ghp train's option names.
    base = resolve(TrainConfig(env_id=train["env_id"])).to_dict()
    keys = ("lr", "actor_lr", "gamma", "tau", "batch_size", "gradient_steps", "ent_coef")
    changed = {k: train[k] for k in keys if k in train and train[k] != base.get(k)}
    if changed:
        out[run]["train_options"] = changed
json.dump(out, sys.stdout, indent=1)
print()
