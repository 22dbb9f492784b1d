"""Evolution strategies on the true return: the engine and the commands built on it.

- :mod:`ghp.es.core`: the ARS engine over a flat parameter vector (observation statistics, parameter maps, rollout
  units and the pool that maps them, the ES loop with its saved state); re-exported here, so ``from ghp.es import
  run_es`` is the engine's public path.
- :mod:`ghp.es.tune`: ``ghp tune``, fine-tuning one architecture's emitted policy (dense or codebook).
- :mod:`ghp.es.chromatic`: ``ghp chromatic``, chromatic networks (learned weight-sharing partitions).
"""

# The engine's public names are listed once, in ``ghp.es.core.__all__``.
from ghp.es.core import *  # noqa: F403
from ghp.es.core import __all__ as __all__
