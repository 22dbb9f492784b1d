"""Lossless memory dimension of an MLP (paper, Section II-C and Algorithm 1; Friedland et al.).

As the authors' code computes it, for hidden widths ``h1..hk``::

    D  = (inp + 2) * h1
    D += min(h1..hj)           for each later hidden layer j = 2..k
    D += min(min(h1..hk), out)

Choice of ``out``: ghp uses ``act_dim``, the output size of the *deployed* policy (the action mean), not the
``2 * act_dim`` of the training-time network; the capacity that matters is the one that reaches the robot.

A linear policy (no hidden layer) is outside the paper; ghp gives it ``inp + 1``, the number of points in general
position that an affine map interpolates exactly, which ranks it below every MLP with a hidden layer.
"""

from __future__ import annotations

from ghp.space.arch import Arch


def lossless_memory_dimension(arch: Arch, inp: int, out: int) -> int:
    """Algorithm 1 of the paper for an MLP ``inp -> arch.hidden -> out``."""
    if inp < 1 or out < 1:
        raise ValueError(f"input and output sizes must be positive, got {inp} and {out}")
    h = arch.hidden
    if not h:
        return inp + 1
    d = (inp + 2) * h[0]
    running_min = h[0]
    for w in h[1:]:
        running_min = min(running_min, w)
        d += running_min
    return d + min(running_min, out)
