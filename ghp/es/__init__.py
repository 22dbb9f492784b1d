"""Evolution strategies on the true return: one engine, and the commands built on it.

- :mod:`ghp.es.params`: what is searched: parameter maps (flat vector -> policy) and observation statistics.
- :mod:`ghp.es.rollout`: work units, the rollout of one, and the pool that maps them over a backend.
- :mod:`ghp.es.engine`: the ES loop (antithetic perturbations -> rollouts -> top directions and reward
  normalisation -> update -> statistics; a checkpoint and a progress report per iteration).
- :mod:`ghp.es.ars`: ARS V2-t over one map with the centre evaluated every iteration (the engine behind ``ghp tune``).
- :mod:`ghp.es.tune`: ``ghp tune``, fine-tuning one architecture's emitted policy (dense or codebook).
- :mod:`ghp.es.colouring`, :mod:`ghp.es.chromatic`, :mod:`ghp.es.chromatic_run`: ``ghp chromatic``, chromatic
  networks (learned weight-sharing partitions): the colourings and their controller, the search on the engine, and
  the run directory it writes.

The engine's public names are re-exported here (``from ghp.es import run_es``).
"""

from ghp.es.ars import ESConfig, ESState, eval_seeds, run_es
from ghp.es.engine import Perturbation, Rollouts, antithetic, ars_update, drive, seed_of
from ghp.es.params import CodebookMap, DenseMap, ObsStats, ParamMap, fold, unfold
from ghp.es.rollout import RolloutPool, RolloutResult, RolloutUnit, evaluate_rows, rollout

__all__ = [
    "CodebookMap",
    "DenseMap",
    "ESConfig",
    "ESState",
    "ObsStats",
    "ParamMap",
    "Perturbation",
    "RolloutPool",
    "RolloutResult",
    "RolloutUnit",
    "Rollouts",
    "antithetic",
    "ars_update",
    "drive",
    "eval_seeds",
    "evaluate_rows",
    "fold",
    "rollout",
    "run_es",
    "seed_of",
    "unfold",
]
