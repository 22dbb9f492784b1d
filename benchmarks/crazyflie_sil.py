"""Software in the loop with a policy that does hover: an MLP distilled from a geometric PD controller.

The tests check C-vs-torch agreement on policies that crash (random weights, a few hundred training steps), where
"the same success on every seed" is trivially 0 = 0. This script gives the comparison teeth without hours of RL on
two shared cores: it behaviour-clones a textbook geometric hover controller (position PD -> desired thrust
direction -> attitude PD -> the firmware's force-torque mixer) into a 32-32 ReLU policy with DAgger, exports it
with ``--target crazyflie`` and flies it in the loop against torch.

    python -m benchmarks.crazyflie_sil [--firmware PATH] [--episodes 20]

It prints the PD controller's, torch's and the generated C's success on the same seeds, and the largest action and
observation differences. Not a test: it takes a few minutes and its success rate depends on the distillation.

It flies the nominal drone (``nominal=True``: no randomised airframe, disturbance or noise): the PD teacher, a pure
function of the observation like any policy here, has no integral action, so a randomised thrust-to-weight ratio
leaves it a steady offset of up to about 0.2 m, outside the task's 0.1 m success radius.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.crazyflie_pd import pd_action
from export.api import ExportConfig, export_policy
from export.crazyflie.firmware import find_firmware
from export.crazyflie.layout import task_layout
from export.crazyflie.sil import build_library, fly
from ghp.envs import make_env
from ghp.policy.weights import PolicyWeights

ENV = "ghp/CrazyflieHover-v0"
KWARGS = {"nominal": True}


def rollouts(env, act, seeds, teacher_labels=True):  # type: ignore[no-untyped-def]
    """Observations visited by ``act`` on ``seeds`` (with the teacher's actions), and the success of each episode."""
    xs, ys, success = [], [], []
    for s in seeds:
        obs, _ = env.reset(seed=int(s))
        while True:
            xs.append(obs)
            if teacher_labels:
                ys.append(pd_action(obs))
            obs, _, term, trunc, info = env.step(act(obs))
            if term or trunc:
                success.append(bool(info["is_success"]))
                break
    return np.array(xs, np.float32), np.array(ys, np.float32), success


def fit(x: np.ndarray, y: np.ndarray, net: torch.nn.Sequential, iters: int = 3000) -> None:
    """Regress tanh(net(x)) on the teacher's actions."""
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)
    for _ in range(iters):
        idx = torch.randint(0, len(xt), (512,), generator=gen)
        loss = ((torch.tanh(net(xt[idx])) - yt[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firmware", type=Path)
    ap.add_argument("--episodes", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    firmware, where = find_firmware(args.firmware)
    if firmware is None:
        raise SystemExit(f"no firmware headers for the host build: {where}")
    t0 = time.time()
    env = make_env(ENV, obs_noise=0.0, **KWARGS)
    net = torch.nn.Sequential(
        torch.nn.Linear(22, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)
    )

    def student(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.tanh(net(torch.from_numpy(obs[None, :]))).numpy()[0]

    x, y, teacher_success = rollouts(env, pd_action, range(100, 140))
    print(f"teacher success {np.mean(teacher_success):.2f} on 40 training episodes")
    fit(x, y, net)
    for it in range(4):  # DAgger: label the states the student visits with the teacher's actions
        xs, ys, succ = rollouts(env, student, range(200 + 40 * it, 240 + 40 * it))
        x, y = np.concatenate([x, xs]), np.concatenate([y, ys])
        fit(x, y, net)
        print(f"DAgger round {it}: student success {np.mean(succ):.2f} on 40 training episodes, {len(x)} samples")
    layers = [(net[i].weight.detach().numpy(), net[i].bias.detach().numpy()) for i in (0, 2, 4)]
    w = PolicyWeights.from_arrays("32-32", layers, np.full(4, -1.0), np.full(4, 1.0))
    seeds = list(range(args.episodes))
    _, _, pd_success = rollouts(env, pd_action, seeds, teacher_labels=False)
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        export_policy(w, ExportConfig(out=app, target="crazyflie"), ENV, ("distilled from a PD controller",))
        lib, _ = build_library(app, firmware, "policy", Path(tmp) / "lib.so")
        report = fly(w, task_layout(), lib, ENV, args.episodes, seed=0, env_kwargs=KWARGS)
    print(f"teacher (PD) success on the test seeds: {sum(pd_success)}/{len(seeds)}")
    print(f"software in the loop ({'ok' if report.ok else 'FAILED'}): {report.summary()}")
    print(
        f"per seed C / torch: {''.join('1' if s else '0' for s in report.c_success)} / "
        f"{''.join('1' if s else '0' for s in report.torch_success)}"
    )
    print(f"took {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
