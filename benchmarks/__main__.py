"""``python -m benchmarks``: the benchmark of record (:mod:`benchmarks.record`)."""

from benchmarks.record import main

main()
