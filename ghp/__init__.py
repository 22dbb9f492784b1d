"""ghp: graph hyper policies.

One graph hypernetwork, trained as the actor of an off-policy RL algorithm, emits the weights of every MLP in an
architecture space; ghp then ranks those tiny policies under a memory budget and exports the chosen one as C.

Importing ghp registers its own gymnasium environments (``ghp/CrazyflieHover-v0``, ``ghp/CrazyflieGoTo-v0``,
``ghp/CrazyflieTrack-v0``), so worker processes that import ghp can ``gym.make`` them by id.
"""

__version__ = "0.1.0"

from ghp.envs import register_envs as _register_envs  # noqa: E402

_register_envs()
