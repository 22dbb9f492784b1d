"""Training-rollout success rate (SB3's rollout/success_rate, last 100 episodes) of the FetchReach runs."""

import glob

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

for f in ("preactivation", "action"):
    ev = []
    for d in sorted(glob.glob(f"runs/fetch-{f}/tb/*")):
        ea = EventAccumulator(d)
        ea.Reload()
        if "rollout/success_rate" in ea.Tags()["scalars"]:
            ev += ea.Scalars("rollout/success_rate")
    marks = {}
    for e in ev:
        k = (e.step + 1249) // 2500 * 2500
        marks[k] = (e.step, e.value)
    print(f, " ".join(f"{s}:{v:.2f}" for _, (s, v) in sorted(marks.items())))
