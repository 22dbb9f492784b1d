"""The graph hypernetwork, its configuration and the Stable-Baselines3 policies built on it."""
