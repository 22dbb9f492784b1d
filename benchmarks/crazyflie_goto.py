"""How a Crazyflie policy flies GoTo: how soon it arrives, and what the episode's length and the error clip change.

One architecture of a trained Crazyflie run (hover or goto) flies held-out GoTo episodes (targets up to 1 m away,
randomised airframes, the run's own options with ``task=goto`` on top) under each combination of ``--clips``
(``error_clip``: the observed position error shortened to at most that many metres; 0: as it is) and ``--lengths``
(``episode_steps``: 500, GoTo's first length, or 800, its default since 2026-12-07). For each it records the success
rate (the 0.1 m box held for the last 2 s, Wilson 95% interval), the crashes (terminated early), and the time the
drone first comes within 0.1 m of the target (quartiles and 90th percentile, from the true state), beside the start
distances: a policy that arrives late in a short episode fails although it would hold the target. The same starts
(reset seeds from ``--seed``, disjoint from every screening and confirmation seed of ``ghp evaluate``) for every
combination; all episodes step side by side in one vectorised environment.

    python benchmarks/crazyflie_goto.py RUN --arch 16-16-8 [--clips 0,0.3,0.5] [--lengths 500,800] [--episodes 100]
        [--out docs/results/crazyflie/goto]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs.crazyflie.config import SUCCESS_RADIUS


def fly(policy: Any, env_kwargs: dict[str, Any], episodes: int, seed: int) -> dict[str, Any]:
    """Success, crashes and arrival times of ``policy`` (``act(obs)``) on ``episodes`` GoTo episodes."""
    from ghp.envs.crazyflie.env import CrazyflieVectorEnv
    from ghp.run.stats import wilson_interval

    env = CrazyflieVectorEnv(num_envs=episodes, **env_kwargs)
    steps, dt = int(env.config.episode_steps), 0.01  # type: ignore[arg-type]
    obs = env.reset_rows(np.arange(episodes), [seed + i for i in range(episodes)])
    b = env.batch
    start = np.linalg.norm(b.state.pos - b.target, axis=1)
    alive = np.ones(episodes, bool)
    arrived = np.full(episodes, -1)
    success = np.zeros(episodes, bool)
    crashed = np.zeros(episodes, bool)
    for t in range(steps):
        obs, _, term, trunc, succ = env.step_batch(policy.act(obs.astype(np.float32)))
        near = alive & (np.linalg.norm(b.state.pos - b.target, axis=1) < SUCCESS_RADIUS) & (arrived < 0)
        arrived[near] = t + 1
        ended = alive & (term | trunc)
        success[ended] = succ[ended]
        crashed[ended & term] = True
        alive &= ~ended
    ci = wilson_interval(int(success.sum()), episodes)
    came = arrived[arrived >= 0] * dt
    return {
        "episodes": episodes,
        "episode_steps": steps,
        "success": round(float(success.mean()), 4),
        "wilson_95": [round(ci.low, 4), round(ci.high, 4)],
        "crashed": round(float(crashed.mean()), 4),
        "never_within_0.1m": round(float(np.mean(arrived < 0)), 4),
        "arrival_s_quartiles_p90": [round(float(x), 2) for x in np.percentile(came, [25, 50, 75, 90])]
        if came.size
        else [],
        "arrival_s_max": round(float(came.max()), 2) if came.size else None,
        "start_distance_m_quartiles": [round(float(x), 3) for x in np.percentile(start, [25, 50, 75, 100])],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a trained Crazyflie run directory (hover or goto)")
    p.add_argument("--arch", required=True, help="the architecture to fly, e.g. 16-16-8")
    p.add_argument("--clips", default="0,0.3,0.5", help="error_clip values, m (0: no clip)")
    p.add_argument("--lengths", default="500,800", help="episode_steps values")
    p.add_argument("--episodes", type=int, default=100, help="episodes per combination")
    p.add_argument("--seed", type=int, default=6_000_000_000, help="start seed (held out from screening)")
    p.add_argument("--out", default="docs/results/crazyflie/goto", help="folder for goto_RUN_ARCH.json")
    a = p.parse_args()

    from ghp.envs.crazyflie.env import ENV_IDS
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch, parse_ints

    try:
        clips = [float(c) for c in a.clips.split(",")]
        lengths = list(parse_ints(a.lengths))
    except ValueError:
        p.error("--clips wants numbers like 0,0.3 and --lengths whole numbers like 500,800")
    if a.episodes < 1 or not lengths or not clips or min(lengths) < 1 or min(clips) < 0:
        p.error("--episodes and --lengths must be >= 1, --clips >= 0")

    run = load_run(a.run)
    if run.spec.env_id not in ENV_IDS:
        p.error(f"{a.run} is a run of {run.spec.env_id}, not of a Crazyflie task ({', '.join(ENV_IDS)})")
    arch = parse_arch(a.arch)
    policy = run.emit([arch])[0]
    kw = dict(run.spec.env_kwargs)
    doc: dict[str, Any] = {"run": str(a.run), "env_id": run.spec.env_id, "arch": arch.key, "params": policy.n_params,
                           "seed": a.seed, "env_kwargs": kw, "rows": []}  # fmt: skip
    for steps in lengths:
        for clip in clips:
            row = fly(policy, {**kw, "task": "goto", "error_clip": clip, "episode_steps": steps}, a.episodes, a.seed)
            doc["rows"].append({"error_clip": clip, **row})
            q = row["arrival_s_quartiles_p90"]
            print(
                f"{steps} steps, error_clip {clip:g}: success {row['success']:.2f} {row['wilson_95']}, crashed "
                f"{row['crashed']:.2f}, never within 0.1 m {row['never_within_0.1m']:.2f}, arrival (s) quartiles / "
                f"p90 {q}"
            )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"goto_{Path(a.run).name}_{arch.key}.json"
    (out / name).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
