"""How far from the training airframes a Crazyflie policy still holds the box: success on a grid of airframe offsets.

One architecture of a trained hover run flies held-out episodes on fixed airframes, each cell of two grids one
airframe (every other randomisation off, observation noise on as on the drone):

- mass scale x thrust-constant scale, each 0.8 .. 1.2 (the thrust constant scales every motor's maximum thrust; the
  thrust-to-weight ratio is 1.69 x thrust scale / mass scale);
- motor lag (time-constant scale 0.5 .. 2) x a constant wind (a horizontal force along world x, as a fraction of the
  weight: 0 .. 10%).

    python benchmarks/crazyflie_heatmap.py RUN --arch 32-32 [--episodes 50] [--out docs/results/crazyflie/heatmap]

Writes ``heatmap.json`` (every cell: its airframe, episodes, successes, Wilson 95% interval, mean length) and
``heatmap.png`` (the two grids, success in each cell). Episodes start from seeds no screening or confirmation uses
(``--seed``, default 3_000_000_000), so the figure is held-out. Nothing is written to the run directory.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

NOMINAL_TW = 1.69
"""The nominal Crazyflie 2.x thrust-to-weight ratio (ghp/envs/crazyflie/config.py)."""
FIXED: dict[str, Any] = {
    "inertia_range": (1.0, 1.0),
    "yaw_coef_range": (1.0, 1.0),
    "motor_gain_range": (1.0, 1.0),
    "disturbance_force": 0.0,
    "disturbance_torque": 0.0,
}
"""Every randomisation the grids do not vary, held at the nominal airframe's value."""


def airframe(mass: float = 1.0, thrust: float = 1.0, lag: float = 1.0, wind: float = 0.0) -> dict[str, Any]:
    """Env kwargs of one fixed airframe: scales on mass, thrust constant and motor lag, and a wind (weight share)."""
    kw = dict(FIXED)
    kw["mass_range"] = (mass, mass)
    tw = NOMINAL_TW * thrust / mass
    kw["thrust_to_weight_range"] = (tw, tw)
    kw["motor_tau_range"] = (lag, lag)
    if wind:
        kw["wind"] = wind
    return kw


def grids(n: int) -> list[tuple[str, str, list[float], str, list[float]]]:
    """The two grids: (name, x field, x values, y field, y values)."""
    scale = [round(v, 3) for v in np.linspace(0.8, 1.2, n)]
    lag = [round(v, 3) for v in np.geomspace(0.5, 2.0, n)]
    wind = [round(v, 3) for v in np.linspace(0.0, 0.1, n)]
    return [("mass_thrust", "thrust", scale, "mass", scale), ("lag_wind", "lag", lag, "wind", wind)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a trained ghp/CrazyflieHover-v0 run directory")
    p.add_argument("--arch", required=True, help="the architecture to fly, e.g. 32-32 (the run's pick)")
    p.add_argument("--checkpoint", default="latest", help="the run's model (latest or step_N)")
    p.add_argument("--episodes", type=int, default=50, help="episodes per cell")
    p.add_argument("--size", type=int, default=5, help="cells per axis")
    p.add_argument("--seed", type=int, default=3_000_000_000, help="start seed (held out from screening)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--out", default="docs/results/crazyflie/heatmap", help="folder for heatmap.json / .png")
    a = p.parse_args()
    if a.episodes < 1 or a.size < 2:
        p.error("--episodes must be >= 1 and --size >= 2")

    from ghp.rollout.evaluate import EvalConfig, evaluate
    from ghp.run.load import load_run
    from ghp.run.stats import wilson_interval
    from ghp.space.arch import parse_arch

    run = load_run(a.run, checkpoint=None if a.checkpoint == "latest" else a.checkpoint)
    if not run.spec.env_id.startswith("ghp/CrazyflieHover"):
        p.error(f"{a.run} is a {run.spec.env_id} run; the grid is for ghp/CrazyflieHover-v0")
    arch = parse_arch(a.arch)
    t0 = time.perf_counter()
    doc: dict[str, Any] = {"run": str(a.run), "arch": arch.key, "checkpoint": a.checkpoint, "episodes": a.episodes,
                           "seed": a.seed, "env_kwargs": run.spec.env_kwargs, "grids": {}}  # fmt: skip
    for name, xf, xs, yf, ys in grids(a.size):
        cells = []
        for y in ys:
            for x in xs:
                kw = airframe(**{xf: x, yf: y})
                cfg = EvalConfig(episodes=a.episodes, seed=a.seed, workers=a.workers, env_kwargs=kw,
                                 in_process=a.workers <= 1)  # fmt: skip
                _, records = evaluate(run, [arch], cfg)
                r = records[0]
                k = round((r.success_rate or 0.0) * a.episodes)
                est = wilson_interval(k, a.episodes)
                cells.append({xf: x, yf: y, "successes": k, "success": k / a.episodes, "low": est.low, "high": est.high,
                              "mean_length": r.mean_length, "mean_return": r.mean_return})  # fmt: skip
                print(f"{name} {xf}={x} {yf}={y}: {k}/{a.episodes}", flush=True)
        doc["grids"][name] = {"x": xf, "xs": xs, "y": yf, "ys": ys, "cells": cells}
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "heatmap.json").write_text(json.dumps(doc, indent=1) + "\n")
    plot(doc, out / "heatmap.png")
    print(f"wrote {out / 'heatmap.json'} and {out / 'heatmap.png'} ({doc['wall_s']} s)")


def plot(doc: dict[str, Any], path: Path) -> None:
    """The two grids side by side, success per cell written in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"thrust": "thrust constant x", "mass": "mass x", "lag": "motor lag x", "wind": "wind, share of weight"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, g in zip(axes, doc["grids"].values(), strict=True):
        m = np.array([c["success"] for c in g["cells"]]).reshape(len(g["ys"]), len(g["xs"]))
        im = ax.imshow(m, origin="lower", vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(g["xs"])), [f"{v:g}" for v in g["xs"]])
        ax.set_yticks(range(len(g["ys"])), [f"{v:g}" for v in g["ys"]])
        ax.set_xlabel(labels[g["x"]])
        ax.set_ylabel(labels[g["y"]])
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
    fig.colorbar(im, ax=axes, label="success (held-out episodes)")
    fig.suptitle(f"{doc['arch']}: success per airframe, {doc['episodes']} episodes per cell")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
