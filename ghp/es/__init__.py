"""Evolution strategies on the true return: the engine and the commands built on it.

- :mod:`ghp.es.core`: the ARS engine over a flat parameter vector (observation statistics, parameter maps, rollout
  units and the pool that maps them, the ES loop with its saved state); re-exported here, so ``from ghp.es import
  run_es`` is the engine's public path.
- :mod:`ghp.es.tune`: ``ghp tune``, fine-tuning one architecture's emitted policy (dense or codebook).
- :mod:`ghp.es.chromatic`: ``ghp chromatic``, chromatic networks (learned weight-sharing partitions).
"""

from ghp.es.core import (
    DenseMap,
    ESConfig,
    ESState,
    ObsStats,
    ParamMap,
    RolloutPool,
    RolloutResult,
    RolloutUnit,
    directions,
    es_step,
    eval_seeds,
    evaluate_rows,
    final_eval,
    fold,
    rollout,
    run_es,
    seed_of,
    unfold,
)

__all__ = [
    "DenseMap",
    "ESConfig",
    "ESState",
    "ObsStats",
    "ParamMap",
    "RolloutPool",
    "RolloutResult",
    "RolloutUnit",
    "directions",
    "es_step",
    "eval_seeds",
    "evaluate_rows",
    "final_eval",
    "fold",
    "rollout",
    "run_es",
    "seed_of",
    "unfold",
]
