"""The architecture space: architectures, their parameter and byte counts, capacity, graph encoding."""
