"""Compatibility: SB3 pickles each policy class by its import path, and runs saved before ghp's layered layout
name ``ghp.policies``. The classes live in :mod:`ghp.hypernet.policies`; this module only re-exports them."""

from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy, GoalExtractor, HyperActor, HyperAdam

__all__ = ["GHPSACPolicy", "GHPTD3Policy", "GoalExtractor", "HyperActor", "HyperAdam"]
