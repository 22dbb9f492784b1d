"""The report's figures (paper, Figure 4): return vs parameters with the Pareto front, and return vs capacity.

matplotlib with the Agg backend: files only, no display needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from search.analysis import Evaluated, SelectionTable, pareto_front


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_return_vs_params(
    records: Sequence[Evaluated],
    path: str | Path,
    title: str = "",
    selection: SelectionTable | None = None,
    baseline: tuple[int, float] | None = None,
    ylabel: str = "mean return",
) -> Path:
    """Scatter of mean return against deployable parameters (log x), coloured by depth, with the Pareto front.

    ``baseline`` is ``(params, mean return)`` of the baseline run, drawn as a star; ``selection`` marks the
    max / 90% / 80% architectures.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    depths = sorted({r.arch.depth for r in records})
    for d in depths:
        rs = [r for r in records if r.arch.depth == d]
        ax.scatter([r.params for r in rs], [r.mean_return for r in rs], s=6, alpha=0.5, label=f"{d} hidden")
    front = pareto_front(records)
    xs = [r.params for r in front]
    ys = [r.mean_return for r in front]
    ax.step(xs, ys, where="post", color="black", lw=1.2, label="Pareto front")
    if selection is not None:
        lo, hi = math.log(min(r.params for r in records)), math.log(max(r.params for r in records))
        for row, marker in zip(selection.rows, ("o", "s", "D"), strict=False):
            ax.scatter(
                [row.params], [row.mean_return], s=60, marker=marker, facecolors="none", edgecolors="red", lw=1.5
            )
            # Labels of points in the right part of the plot go to their left, so they stay inside the axes.
            right = hi > lo and (math.log(row.params) - lo) / (hi - lo) > 0.6
            ax.annotate(
                f"{row.label} {row.arch.key}",
                (row.params, row.mean_return),
                fontsize=7,
                xytext=(-6 if right else 6, -12),
                textcoords="offset points",
                ha="right" if right else "left",
                color="red",
            )
    if baseline is not None:
        ax.scatter([baseline[0]], [baseline[1]], s=120, marker="*", color="gold", edgecolors="black", label="baseline")
    return _save(plt, fig, ax, path, "deployable parameters", ylabel, title or "return vs parameters")


def plot_return_vs_capacity(
    records: Sequence[Evaluated], path: str | Path, title: str = "", ylabel: str = "mean return"
) -> Path:
    """Scatter of mean return against lossless memory dimension (log x), coloured by depth (paper, Figure 4b)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for d in sorted({r.arch.depth for r in records}):
        rs = [r for r in records if r.arch.depth == d]
        ax.scatter([r.capacity for r in rs], [r.mean_return for r in rs], s=6, alpha=0.5, label=f"{d} hidden")
    return _save(plt, fig, ax, path, "lossless memory dimension", ylabel, title or "return vs capacity")


def _save(plt: Any, fig: Any, ax: Any, path: str | Path, xlabel: str, ylabel: str, title: str) -> Path:
    """Log x axis, labels, grid and legend; write the PNG and free the figure."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
