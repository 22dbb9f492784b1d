"""File input and output every layer uses: atomic writes, the run-directory lock, safe unpickling; and the progress
protocol every long call reports through."""
