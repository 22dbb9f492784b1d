"""A run directory: its layout, loading a trained run, the results store and interval statistics."""
