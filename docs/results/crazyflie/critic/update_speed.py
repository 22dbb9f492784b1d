"""Milliseconds per SAC update of `ghp train --env ghp/CrazyflieHover-v0` with each critic, in one process.

Each model is what `ghp train` builds (ghp.rl.train.resolve + its model builder) for the Crazyflie hover with the given
action history, critic widths and architecture space; its buffer is filled by 2000 random steps (the default
learning_starts); then rounds of `--updates` gradient steps alternate between the models, so the shared machine's
noise hits all of them alike. Prints the median ms per update of each and the ratio to the first.

    python docs/results/crazyflie/critic/update_speed.py --history 16 --critics 256,256 64,64
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=16, help="action_history K")
    ap.add_argument("--critics", nargs="+", default=["256,256", "64,64"], help="critic widths, one model each")
    ap.add_argument("--widths", default="8,16,32,64")
    ap.add_argument("--depths", default="1,2,3")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--updates", type=int, default=20)
    a = ap.parse_args()

    import torch

    from ghp.envs import env_spec
    from ghp.rl.build import build_model, make_vec_env
    from ghp.rl.config import TrainConfig, resolve

    torch.set_num_threads(1)
    models = []
    with tempfile.TemporaryDirectory() as tmp:
        for text in a.critics:
            c = resolve(
                TrainConfig(
                    env_id="ghp/CrazyflieHover-v0",
                    env_kwargs={"action_history": a.history},
                    critic=tuple(int(w) for w in text.split(",")),
                    widths=tuple(int(w) for w in a.widths.split(",")),
                    depths=tuple(int(d) for d in a.depths.split(",")),
                    out=str(Path(tmp) / "run"),
                )
            )
            model = build_model(c, env_spec(c.env_id, c.env_kwargs), make_vec_env(c, None), Path(tmp) / "tb")
            model.learn(total_timesteps=c.learning_starts)  # random steps only: fills the buffer
            model.train(gradient_steps=2, batch_size=c.batch_size)  # warm-up
            models.append((text, model, c.batch_size))
        ms: dict[str, list[float]] = {text: [] for text, _, _ in models}
        for _ in range(a.rounds):
            for text, model, batch in models:
                t0 = time.perf_counter()
                model.train(gradient_steps=a.updates, batch_size=batch)
                ms[text].append((time.perf_counter() - t0) / a.updates * 1e3)
    first = statistics.median(ms[a.critics[0]])
    print(
        f"action_history={a.history} space widths {a.widths} depths {a.depths}, {a.rounds} x {a.updates} updates each"
    )
    for text in a.critics:
        m = statistics.median(ms[text])
        print(f"critic {text}: {m:.1f} ms per update (median), {m / first:.2f} x critic {a.critics[0]}")


if __name__ == "__main__":
    main()
