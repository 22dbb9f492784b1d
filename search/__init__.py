"""Ranking architectures under a memory budget, by capacity and by measured return."""
