"""Where a hover policy holds the drone: its steady position offset from the target over the last 2 s.

One architecture of a trained Crazyflie hover run flies held-out episodes (one single environment per episode, the run's
own options) on two airframes: the nominal one (every randomisation off, observation noise on) and the run's randomised
task. For every episode that lasts its 500 steps it records the mean position error (world x, y, z) over the last 200
steps (the 2 s the success criterion reads); the summary gives their mean (a bias shared by all episodes), the mean of
their absolute values (the offset of a typical episode) and the median norm, beside the success rate (all from the true
state, world frame; the mean offset also in the frame of the heading, where a bias of a policy that observes in that
frame, ``yaw_frame``, shows). A policy whose episodes each settle a few centimetres off the target, in no common
direction, has a steady-state error that a controller's integral term would remove. The heading is recorded too (the yaw
at the end and how far it turned over the last 2 s): a policy trained with the heading free (``yaw_weight=0``) settles
wherever its yaw drift leaves it, and its offset changes with the heading. And the chatter: the mean absolute change of
the motor commands per step over the last 2 s (a policy that flips its commands every step, which the motors' lag
averages into thrust, reads about 0.5-0.9; a smooth hover well under 0.05). Last, the offset against the airframe's
thrust-to-weight ratio (the nominal airframe at each of :data:`THRUST_TO_WEIGHT`): a feed-forward policy without memory
cannot know the hover thrust, so its height offset moves with the ratio. Every airframe's episodes are also split by
outcome: held (success), crashed (terminated early: when, and on which thrust-to-weight ratio, start tilt and start
heading), or flown to the end but outside the box (the steady offset); and success and crashes by the start heading
(|yaw| at reset in bins of 45 degrees: a policy that must turn to yaw 0 turns furthest from 180).

    python benchmarks/crazyflie_offset.py RUN --arch 32-8-16 [--episodes 40] [--out docs/results/crazyflie/offset]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

NOMINAL_AIRFRAME: dict[str, Any] = {
    "mass_range": (1.0, 1.0),
    "inertia_range": (1.0, 1.0),
    "thrust_to_weight_range": (1.69, 1.69),
    "motor_tau_range": (1.0, 1.0),
    "yaw_coef_range": (1.0, 1.0),
    "motor_gain_range": (1.0, 1.0),
    "disturbance_force": 0.0,
    "disturbance_torque": 0.0,
}
"""The nominal Crazyflie 2.x with the randomised task's observation noise (ghp/envs/crazyflie/config.py)."""
THRUST_TO_WEIGHT = (1.5, 1.6, 1.69, 1.8, 2.0)
"""Thrust-to-weight ratios of the sweep (the randomised task draws from 1.5-2.0; 1.69 is the nominal Crazyflie's)."""
TAIL = 200
"""Steps the offset is averaged over (the success criterion's last 2 s)."""
HEADING_BINS = (0, 45, 90, 135)
"""Lower edges of the start-heading bins (|yaw| at reset, degrees; each 45 wide)."""


def fly(policy: Any, env_kwargs: dict[str, Any], episodes: int, seed: int) -> dict[str, Any]:
    """Offsets and success of ``policy`` (``act(obs)``) over ``episodes`` held-out episodes."""
    import gymnasium as gym

    import ghp  # noqa: F401  (registers the Crazyflie ids)
    from ghp.envs.crazyflie.interface import yaw_frame_of
    from ghp.envs.quadrotor import G

    env = gym.make("ghp/CrazyflieHover-v0", **env_kwargs)
    offsets, local_offsets, headings, drifts, chatter, successes = [], [], [], [], [], 0
    crashes: list[dict[str, float]] = []
    by_heading = {lo: [0, 0, 0] for lo in HEADING_BINS}  # episodes, held, crashed per |start heading| bin
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        batch = env.unwrapped.batch
        p = batch.params
        tw = float(4 * p.thrust_max[0] / (p.mass[0] * G))
        rot = batch.state.rot[0]
        tilt = float(np.degrees(np.arccos(np.clip(rot[2, 2], -1.0, 1.0))))
        yaw0 = float(np.degrees(np.arctan2(rot[1, 0], rot[0, 0])))
        errors, local, yaws, actions = [], [], [], []
        done, info = False, {}
        while not done:
            actions.append(np.asarray(policy.act(obs), np.float64))
            obs, _, term, trunc, info = env.step(actions[-1])
            # The true state (not the observation, which a yaw_frame run turns into the frame of its heading).
            err = np.asarray(batch.state.pos[0] - batch.target[0], np.float64)  # position error, world, m
            rot = batch.state.rot[0]
            errors.append(err)
            local.append(yaw_frame_of(rot[None])[0] @ err)  # the same error in the frame of the heading
            yaws.append(np.arctan2(rot[1, 0], rot[0, 0]))  # heading (R_yx, R_xx), rad
            done = term or trunc
        successes += bool(info.get("is_success"))
        cell = by_heading[max(lo for lo in HEADING_BINS if lo <= abs(yaw0))]
        cell[0], cell[1], cell[2] = cell[0] + 1, cell[1] + bool(info.get("is_success")), cell[2] + bool(term)
        if term:
            crashes.append(
                {"step": len(errors), "thrust_to_weight": round(tw, 3), "start_tilt_deg": round(tilt, 1),
                 "start_yaw_deg": round(yaw0, 1)}
            )  # fmt: skip
        if not term and len(errors) >= TAIL:
            offsets.append(np.mean(errors[-TAIL:], axis=0))
            local_offsets.append(np.mean(local[-TAIL:], axis=0))
            headings.append(abs(np.degrees(yaws[-1])))
            turn = np.unwrap(np.array(yaws[-TAIL:]))
            drifts.append(float(np.degrees(turn.max() - turn.min())))
            chatter.append(float(np.abs(np.diff(actions[-TAIL:], axis=0)).mean()))
    off = np.array(offsets).reshape(-1, 3)
    off_local = np.array(local_offsets).reshape(-1, 3)
    return {
        "episodes": episodes,
        "success": successes / episodes,
        "crashed": len(crashes) / episodes,
        "full_but_outside": (len(off) - successes) / episodes,
        "crashes": crashes,
        "by_start_heading": {
            f"{lo}-{lo + 45}": {"episodes": n, "success": h / n if n else None, "crashed": c / n if n else None}
            for lo, (n, h, c) in by_heading.items()
        },
        "full_episodes": len(off),
        "mean_offset_xyz": off.mean(0).round(4).tolist() if len(off) else None,
        "mean_abs_offset_xyz": np.abs(off).mean(0).round(4).tolist() if len(off) else None,
        "mean_offset_heading_frame_xyz": off_local.mean(0).round(4).tolist() if len(off) else None,
        "median_offset_norm": round(float(np.median(np.linalg.norm(off, axis=1))), 4) if len(off) else None,
        "median_abs_heading_deg": round(float(np.median(headings)), 1) if headings else None,
        "median_heading_drift_deg": round(float(np.median(drifts)), 1) if drifts else None,
        "median_action_change": round(float(np.median(chatter)), 3) if chatter else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a trained ghp/CrazyflieHover-v0 run directory")
    p.add_argument("--arch", required=True, help="the architecture to fly, e.g. 32-8-16")
    p.add_argument("--episodes", type=int, default=40, help="episodes per airframe")
    p.add_argument("--seed", type=int, default=5_000_000_000, help="start seed (held out from screening)")
    p.add_argument("--tw-episodes", type=int, default=20, help="episodes per thrust-to-weight ratio of the sweep")
    p.add_argument("--out", default="docs/results/crazyflie/offset", help="folder for offset.json")
    a = p.parse_args()
    if a.episodes < 1 or a.tw_episodes < 1:
        p.error("--episodes and --tw-episodes must be >= 1")

    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    run = load_run(a.run)
    if not run.spec.env_id.startswith("ghp/CrazyflieHover"):
        p.error(f"{a.run} is a {run.spec.env_id} run; this is for ghp/CrazyflieHover-v0")
    arch = parse_arch(a.arch)
    policy = run.emit([arch])[0]
    kw = dict(run.spec.env_kwargs)
    doc = {"run": str(a.run), "arch": arch.key, "seed": a.seed, "env_kwargs": kw, "tail_steps": TAIL}
    doc["nominal_airframe"] = fly(policy, {**kw, **NOMINAL_AIRFRAME}, a.episodes, a.seed)
    doc["randomised_task"] = fly(policy, kw, a.episodes, a.seed)
    doc["thrust_to_weight"] = {
        str(tw): fly(policy, {**kw, **NOMINAL_AIRFRAME, "thrust_to_weight_range": (tw, tw)}, a.tw_episodes, a.seed)
        for tw in THRUST_TO_WEIGHT
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "offset.json").write_text(json.dumps(doc, indent=1) + "\n")
    for name in ("nominal_airframe", "randomised_task"):
        d = doc[name]
        print(f"{name}: success {d['success']:.2f}, mean |offset| x, y, z {d['mean_abs_offset_xyz']} m, "
              f"median norm {d['median_offset_norm']} m, |yaw| {d['median_abs_heading_deg']} deg, turned "
              f"{d['median_heading_drift_deg']} deg in the last 2 s, |da| {d['median_action_change']} per step "
              f"({d['full_episodes']} full episodes); crashed {d['crashed']:.2f}, flown to the end outside the box "
              f"{d['full_but_outside']:.2f}")  # fmt: skip
    for bin_, d in doc["randomised_task"]["by_start_heading"].items():
        if d["episodes"]:
            print(f"randomised task, |start heading| {bin_} deg: {d['episodes']} episodes, success "
                  f"{d['success']:.2f}, crashed {d['crashed']:.2f}")  # fmt: skip
    for tw, d in doc["thrust_to_weight"].items():
        print(f"thrust-to-weight {tw}: success {d['success']:.2f}, mean offset x, y, z {d['mean_offset_xyz']} m")
    print(f"wrote {out / 'offset.json'}")


if __name__ == "__main__":
    main()
