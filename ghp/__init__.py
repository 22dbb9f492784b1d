"""ghp: graph hyper policies.

One graph hypernetwork, trained as the actor of an off-policy RL algorithm, emits the weights of every MLP in an
architecture space; ghp then ranks those tiny policies under a memory budget and exports the chosen one as C.
"""

__version__ = "0.1.0"
