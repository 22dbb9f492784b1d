"""Speed benchmarks and reproduction scripts (``python -m benchmarks``: the benchmark of record)."""
