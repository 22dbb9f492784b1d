"""Deployable policies: MLP weights, normalisation, codebooks, the torch twin and the policy file."""
