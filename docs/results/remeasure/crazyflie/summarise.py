"""Issue 23's Table I rows for ``ghp/CrazyflieHover-v0`` (randomised airframes, the default task, 250k steps), read
from the Crazyflie issue's runs, which serve both issues.

Each run is trained and measured by ``docs/results/crazyflie/default/run.sh`` (``TAG`` names the method's runs
``cf-TAG-sSEED``): screened by success on 30 randomised episodes per architecture (300 sampled architectures for
ghp, the one policy of a single-policy run), then its top 10 of at most 2,000 parameters and the report's picks
confirmed on 100 held-out randomised episodes. A run counts once its report is committed
(``docs/results/crazyflie/default/TAG/default-sSEED.json``). Methods and their runs:

- ``ghp``: the default command of the runs below (``TAG=pw4``: position weight 4; hover's default is 8 since
  2026-12-08, and these rows move to it once its baselines are trained);
- ``base``: SB3's ``[256, 256]`` actor with the authors' settings (``TAG=base-authors``, ``--baseline``);
- ``zoo``: the same as SB3 users run it (``TAG=base-rlzoo``, ``--baseline --preset rlzoo``: RL Zoo has no entry
  for the task, so SB3's defaults);
- ``small``: one ``8-4-4-4`` MLP with plain SB3 (``TAG=small``, ``--arch 8-4-4-4``);
- ``ars``: a linear policy by ARS (``TAG=ars``, ``--algo ars --arch linear --preset rlzoo``).

Writes ``results.json``, ``results.csv`` and ``across_seeds.json`` / ``.csv`` here (the IQM across seeds with its
stratified-bootstrap 95% interval, ``benchmarks/reproduce.py``'s tables, which docs/results.md renders). Run from
the repository root, RUNS being where run.sh put the runs::

    python docs/results/remeasure/crazyflie/summarise.py RUNS
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))

from benchmarks.reproduce import read_row, write_summary  # noqa: E402

TASK = "ghp/CrazyflieHover-v0"
TAGS = {"ghp": "pw4", "base": "base-authors", "zoo": "base-rlzoo", "small": "small", "ars": "ars"}
SEEDS = (0, 1, 2)
HERE = Path(__file__).resolve().parent
REPORTS = ROOT / "docs" / "results" / "crazyflie" / "default"


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: summarise.py RUNS (the folder of run.sh's cf-TAG-sSEED runs)")
    runs = Path(sys.argv[1])
    rows = []
    for method, tag in TAGS.items():
        for seed in SEEDS:
            if not (REPORTS / tag / f"default-s{seed}.json").is_file():
                continue  # not finished (or not run yet)
            out = runs / f"cf-{tag}-s{seed}"
            row = {"task": TASK, "method": method, "seed": seed, "run": str(out), **read_row(out, "success")}
            rows.append(row)
            print(f"{method} seed {seed}: 90% {row.get('90%', row.get('max'))['value']}", file=sys.stderr)
    doc = {"args": {"runs": str(runs), "tags": TAGS}, "rows": rows}
    (HERE / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_summary(HERE, rows)


if __name__ == "__main__":
    main()
