"""Fingerprint of ES results (``ghp tune`` dense and codebook, ``ghp chromatic`` every partition) on tiny Pendulum
configs, so that a refactor of ``ghp/es`` can be checked bit for bit against an older checkout.

Run it with ``PYTHONPATH`` set to the checkout to measure (a script's own folder, not the cwd, is first on sys.path):

    PYTHONPATH=OLD python benchmarks/es_fingerprint.py make B > before.json      # fresh runs + half runs kept in B
    cp -r B B0 && PYTHONPATH=OLD python benchmarks/es_fingerprint.py resume B > before_resume.json
    PYTHONPATH=NEW python benchmarks/es_fingerprint.py make A > after.json       # diff before.json after.json
    PYTHONPATH=NEW python benchmarks/es_fingerprint.py resume B0 > after_resume.json   # the old states, resumed

``make`` prints hashes of every array of the state, policy and colouring files, the histories and summaries of
4-iteration runs; ``resume`` continues 2-iteration runs saved in DIR to 4 iterations (by whichever code runs it).
"""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np


def h(a):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a, np.float64)).tobytes()).hexdigest()[:16]


def npz_hash(path):
    with np.load(path) as z:
        return {k: h(z[k]) if z[k].dtype.kind in "fiub" else str(z[k])[:60] for k in sorted(z.files) if k != "seconds"}


def chromatic_runs(d, iters):
    from ghp.es.chromatic import ChromaticConfig, train_chromatic

    out = {}
    for part, hidden, w in (
        ("learned", (4,), 1),
        ("random", (4,), 1),
        ("toeplitz", (), 1),
        ("none", (), 1),
        ("learned", (), 2),
    ):
        cfg = ChromaticConfig(
            env_id="Pendulum-v1",
            hidden=hidden,
            colors=3,
            partition=part,
            iterations=iters,
            directions=3,
            top=2,
            eval_every=2,
            max_episode_steps=25,
            seed=7,
            workers=w,
        )
        p = d / f"chrom-{part}-{w}"
        res = train_chromatic(cfg, p, resume=p.exists())
        hist = [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (p / "history.jsonl").read_text().splitlines()
        ]
        out[f"{part}-{w}"] = {
            "state": npz_hash(p / "state.npz"),
            "policy": npz_hash(p / "policy.npz"),
            "chromatic": npz_hash(p / "chromatic.npz"),
            "history": hist,
            "summary": json.loads((p / "summary.json").read_text()),
            "counts": str(res.counts),
        }
    return out


def tune_runs(d, iters, run):
    from ghp.es.tune import TuneConfig, tune

    out = {}
    for colors in (None, 3):
        cfg = TuneConfig(
            arch="8-4",
            iterations=iters,
            directions=3,
            top=2,
            eval_episodes=2,
            episodes=2,
            workers=0,
            max_episode_steps=30,
            seed=3,
            colors=colors,
        )
        res = tune(run, cfg)
        st = res.state
        out[str(colors)] = {
            "policy": npz_hash(res.path),
            "theta": h(st.theta),
            "best": h(st.best_theta),
            "history": st.history,
            "best_return": st.best_return,
            "env_steps": st.env_steps,
            "state": npz_hash(str(res.path).replace(".npz", ".state.npz")),
        }
    return out


def main():
    import ghp

    print("ghp from", ghp.__file__, file=sys.stderr)
    mode, d = sys.argv[1], Path(sys.argv[2])
    if mode == "make":
        from ghp.rl.config import TrainConfig
        from ghp.rl.train import train

        run = d / "run"
        if not run.exists():
            train(
                TrainConfig(
                    out=str(run),
                    env_id="Pendulum-v1",
                    steps=300,
                    n_envs=2,
                    widths=(4, 8),
                    depths=(1, 2),
                    learning_starts=100,
                    batch_size=32,
                    buffer_size=1000,
                    checkpoint_every=10**6,
                    seed=0,
                )
            )
        shutil.copytree(run, d / "run_half", dirs_exist_ok=True)
        full = {"chromatic": chromatic_runs(d / "full", 4), "tune": tune_runs(d / "full", 4, run)}
        # half runs, kept for a resume by the new code
        chromatic_runs(d / "half", 2)
        tune_runs(d / "half", 2, d / "run_half")
        print(json.dumps(full, indent=1, sort_keys=True, default=str))
    else:
        full = {"chromatic": chromatic_runs(d / "half", 4), "tune": tune_runs(d / "half", 4, d / "run_half")}
        print(json.dumps(full, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
