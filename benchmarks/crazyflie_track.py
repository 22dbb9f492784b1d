"""How closely one architecture of a Crazyflie run tracks its path: held-out episodes, RMS position error, success.

Flies ``--episodes`` episodes of the run's own task and environment options (``--env-kwargs`` on top; a hover run
flies the path with ``--env-kwargs task=track``) with the
deterministic policy of ``--arch``, all at once in the vectorised environment, on reset seeds ``HELD_OUT + e``:
above every screening seed of ``ghp evaluate`` (32-bit) and every confirmation seed (``(e + 1) << 32`` plus 32
bits, so below ``2**62`` for any run of fewer than ``2**29`` episodes), so the figure is held out from the episodes
that picked the architecture. Per episode: the RMS of ``|p - p_ref|`` over the steps it flew (an episode that
terminates early is scored on the steps before its end, so read it beside the terminated count and the mean length),
success (the position error under 0.1 m for the whole last 2 s, not terminated), steps. Reported: the mean RMS error
with its percentile-bootstrap 95% interval (``ghp.run.stats.mean_interval``) and the success rate with its Wilson
interval
(``wilson_interval``), written to ``--out``/track_<arch>.json.

``--sil``: also exports the policy as the firmware app and flies the same seeds with the generated C in the loop
(``export.crazyflie.sil``; needs gcc and the firmware's headers, ``--firmware``); sensor noise is then off for both
(the SIL compares the C's observation with the environment's), so the SIL block reports C and numpy on noise-free
episodes, episode by episode: same outcome, RMS errors, largest action difference.

Usage::

    python benchmarks/crazyflie_track.py runs/track-s0 --arch 32-32 --episodes 100 --out docs/results/crazyflie/track
    python benchmarks/crazyflie_track.py runs/track-s0 --arch 32-32 --episodes 20 --sil --firmware ../crazyflie-firmware
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HELD_OUT = 2**62
"""First reset seed of the held-out episodes (disjoint from ``ghp evaluate``'s screening and confirmation seeds)."""


def fly_batch(weights: Any, env_id: str, kwargs: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """One episode per seed, stepped together; per episode its RMS position error, success, steps, termination."""
    import torch

    from ghp.envs.crazyflie.env import ENV_IDS, CrazyflieVectorEnv

    n = len(seeds)
    venv = CrazyflieVectorEnv(num_envs=n, **{"task": ENV_IDS[env_id], **kwargs})  # --env-kwargs task=track wins
    policy = weights.to_module()
    obs = venv.reset_rows(np.arange(n), seeds)
    live = np.ones(n, bool)
    sq = np.zeros(n)
    steps = np.zeros(n, np.int64)
    success = np.zeros(n, bool)
    terminated = np.zeros(n, bool)
    while live.any():
        with torch.no_grad():
            act = policy(torch.as_tensor(obs, dtype=torch.float32)).numpy()
        obs, _, term, trunc, succ = venv.step_batch(act)
        dist = venv.batch.distance
        sq[live] += dist[live] ** 2
        steps[live] += 1
        ended = live & (term | trunc)
        success[ended] = succ[ended]
        terminated[ended] = term[ended]
        live &= ~ended
    venv.close()
    return [
        {
            "seed": int(s),
            "rms_error_m": float(np.sqrt(sq[i] / steps[i])),
            "success": bool(success[i]),
            "terminated": bool(terminated[i]),
            "steps": int(steps[i]),
        }
        for i, s in enumerate(seeds)
    ]


class _Recorder:
    """An environment that records ``info["tracking_error"]`` (or ``|p - target|``) of every step."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.dist: list[float] = []
        self.unwrapped = env.unwrapped

    def reset(self, **kw: Any) -> Any:
        self.dist = []
        return self.env.reset(**kw)

    def step(self, action: Any) -> Any:
        out = self.env.step(action)
        self.dist.append(float(self.env.unwrapped.batch.distance[0]))
        return out


def fly_sil(weights: Any, env_id: str, kwargs: dict[str, Any], seeds: list[int], firmware: Path | None) -> dict:
    """The same seeds flown by the generated C controller and by the numpy/torch policy (sensor noise off)."""
    from export.api import ExportConfig, export_policy
    from export.crazyflie.firmware import find_firmware
    from export.crazyflie.layout import task_layout
    from export.crazyflie.sil import SilController, build_library, reference_policy, sil_rollout
    from ghp.envs import make_env

    fw, where = find_firmware(firmware)
    if fw is None:
        raise SystemExit(f"--sil needs the firmware's headers: {where}")
    quiet = {**kwargs, "obs_noise": 0.0}
    layout = task_layout(kwargs)
    act = reference_policy(weights)
    episodes: list[dict[str, Any]] = []
    safety: list[str] = []
    max_da = 0.0
    with tempfile.TemporaryDirectory(prefix="ghp-track-sil-") as tmp:
        app = Path(tmp) / "app"
        config = ExportConfig(out=app, target="crazyflie")
        export_policy(weights, config, env_id, ("benchmarks/crazyflie_track.py",), env_kwargs=kwargs)
        lib, _ = build_library(app, fw, "policy", Path(tmp) / "libghp_sil.so")
        ctl = SilController(lib, layout)
        c_env, t_env = _Recorder(make_env(env_id, **quiet)), _Recorder(make_env(env_id, **quiet))
        tick = 1000
        for s in seeds:
            ok, da, _, n, tick = sil_rollout(act, ctl, c_env, s, tick, safety)
            max_da = max(max_da, da)
            c_rms = float(np.sqrt(np.mean(np.square(c_env.dist))))
            obs, _ = t_env.reset(seed=s)
            while True:
                obs, _, term, trunc, info = t_env.step(act(obs))
                if term or trunc:
                    break
            t_rms = float(np.sqrt(np.mean(np.square(t_env.dist))))
            episodes.append(
                {
                    "seed": s,
                    "c_success": ok,
                    "numpy_success": bool(info["is_success"]),
                    "c_rms_error_m": c_rms,
                    "numpy_rms_error_m": t_rms,
                    "c_steps": n,
                    "numpy_steps": len(t_env.dist),
                }
            )
    same = sum(e["c_success"] == e["numpy_success"] and e["c_steps"] == e["numpy_steps"] for e in episodes)
    return {
        "firmware": where,
        "obs_noise": 0.0,
        "same_outcome": same,
        "episodes": len(episodes),
        "c_success": sum(e["c_success"] for e in episodes),
        "numpy_success": sum(e["numpy_success"] for e in episodes),
        "max_rms_difference_m": max(abs(e["c_rms_error_m"] - e["numpy_rms_error_m"]) for e in episodes),
        "max_action_difference": max_da,
        "safety": sorted(set(safety)),
        "per_episode": episodes,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--arch", required=True, help="architecture, e.g. 32-32 (a --baseline run: 256-256)")
    ap.add_argument("--checkpoint", default=None, help="e.g. step_60000 (default: the latest model)")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--env-kwargs", default="", help="KEY=VALUE ... on top of the run's own")
    ap.add_argument("--out", type=Path, default=None, help="folder for track_<arch>.json (default: the run's)")
    ap.add_argument("--sil", action="store_true", help="also fly the generated C in the loop (gcc, firmware headers)")
    ap.add_argument("--sil-episodes", type=int, default=20, help="episodes of the SIL comparison (the first seeds)")
    ap.add_argument("--firmware", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.episodes < 1 or args.sil_episodes < 1:
        ap.error("--episodes and --sil-episodes must be at least 1")

    from ghp.envs import parse_env_kwargs
    from ghp.envs.crazyflie.env import ENV_IDS
    from ghp.run.load import load_run
    from ghp.run.stats import mean_interval, wilson_interval
    from ghp.space.arch import parse_arch

    run = load_run(args.run, checkpoint=args.checkpoint)
    env_id = run.spec.env_id
    if env_id not in ENV_IDS:
        ap.error(f"{args.run} is a run of {env_id}, not of a Crazyflie task ({', '.join(ENV_IDS)})")
    kwargs = {**(run.config["train"].get("env_kwargs") or {}), **parse_env_kwargs([args.env_kwargs])}
    arch = parse_arch(args.arch)
    weights = run.emit([arch])[0]
    seeds = [HELD_OUT + e for e in range(args.episodes)]
    episodes = fly_batch(weights, env_id, kwargs, seeds)
    rms = [e["rms_error_m"] for e in episodes]
    wins = sum(e["success"] for e in episodes)
    result: dict[str, Any] = {
        "format": 1,
        "command": "python benchmarks/crazyflie_track.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "run": str(args.run),
        "checkpoint": args.checkpoint or "latest",
        "env_id": env_id,
        "env_kwargs": kwargs,
        "arch": arch.key,
        "n_params": weights.n_params,
        "seeds": f"{HELD_OUT} + episode (held out)",
        "episodes": args.episodes,
        "rms_error_m": mean_interval(rms).to_dict(),
        "success": wilson_interval(wins, args.episodes).to_dict(),
        "terminated": sum(e["terminated"] for e in episodes),
        "mean_steps": float(np.mean([e["steps"] for e in episodes])),
        "per_episode": episodes,
    }
    if args.sil:
        result["sil"] = fly_sil(weights, env_id, kwargs, seeds[: args.sil_episodes], args.firmware)
    out = Path(args.out) if args.out is not None else Path(args.run)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"track_{arch.key}.json"
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    r, s = result["rms_error_m"], result["success"]
    task = f" (task {kwargs['task']})" if "task" in kwargs else ""
    print(
        f"{env_id}{task} {arch.key} ({weights.n_params} parameters), {args.episodes} held-out episodes: RMS position "
        f"error {r['value']:.3f} m [{r['low']:.3f}, {r['high']:.3f}], success {wins}/{args.episodes} "
        f"[{s['low']:.3f}, {s['high']:.3f}], terminated {result['terminated']}, mean length {result['mean_steps']:.0f}"
    )
    if args.sil:
        sil = result["sil"]
        print(
            f"SIL (noise off, {sil['episodes']} episodes): C success {sil['c_success']}, numpy "
            f"{sil['numpy_success']}, same outcome {sil['same_outcome']}/{sil['episodes']}, max RMS difference "
            f"{sil['max_rms_difference_m']:.2g} m, max action difference {sil['max_action_difference']:.2g}"
        )
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
