"""Codebook exports (``--dtype codebook``): packed colour indices, float codebooks, per-colour summation.

Storage per layer: the colour index of every weight, row-major, ``ceil(log2 M)`` bits each, packed least significant
bit first into bytes (each layer's stream starts on a byte); the layer's colour values (float32; one array shared by
every layer for a network-scope codebook); float32 biases.

Arithmetic (``ghp_dense_codebook`` in ``runtime/ghp_codebook.h``): per output unit, each input is added to the
accumulator of its weight's colour, in input order; then ``s = sum_c value[c] * acc[c]`` in colour order from 0.0,
then the bias: one multiply per colour instead of one per input. :func:`pre_activations` does exactly that in
float32 NumPy, so host and target match it bit for bit (``-ffp-contract=off``), up to the last bit of ``tanhf``.
"""

from __future__ import annotations

import numpy as np

from ghp.policy.codebook import CodebookPolicy

F32 = np.float32
RUNTIME_FILE = "ghp_codebook.h"


def layer_pre(cb: CodebookPolicy, j: int, h: np.ndarray) -> np.ndarray:
    """Layer ``j`` of ``cb`` on ``h`` (``[n, in]`` float32), in the C runtime's order, before any activation."""
    idx = cb.colors[j].astype(np.int64)
    book = cb.book(j).astype(F32)
    n_out, n_in = idx.shape
    acc = np.zeros((h.shape[0], n_out, len(book)), F32)
    rows = np.arange(n_out)
    for i in range(n_in):
        # Within one input, every unit touches one accumulator of its own: no index repeats in this update.
        acc[:, rows, idx[:, i]] = (acc[:, rows, idx[:, i]] + h[:, i, None]).astype(F32)
    s = np.zeros((h.shape[0], n_out), F32)
    for c in range(len(book)):
        s = (s + (book[c] * acc[:, :, c]).astype(F32)).astype(F32)
    return (s + cb.biases[j][None, :].astype(F32)).astype(F32)


def pre_activations(cb: CodebookPolicy, obs: np.ndarray) -> np.ndarray:
    """The output layer's values before tanh, ``[n, act_dim]``, computed as the codebook C runtime does."""
    h = np.atleast_2d(np.asarray(obs, F32))
    if cb.obs_mean is not None and cb.obs_inv_std is not None:
        # ghp_normalise: x' = (x - mean) * inv_std, float32, element by element.
        h = ((h - cb.obs_mean.astype(F32)).astype(F32) * cb.obs_inv_std.astype(F32)).astype(F32)
    n = len(cb.colors)
    for j in range(n):
        h = layer_pre(cb, j, h)
        if j < n - 1:
            h = np.tanh(h).astype(F32) if cb.activation == "tanh" else np.where(h < 0, F32(0), h).astype(F32)
    return h


def forward(cb: CodebookPolicy, obs: np.ndarray) -> np.ndarray:
    """Deterministic actions ``[n, act_dim]`` in the codebook C runtime's order."""
    z = pre_activations(cb, obs)
    u = np.tanh(z).astype(F32)
    lo, hi = cb.action_low.astype(F32), cb.action_high.astype(F32)
    return (lo + (u + F32(1)) * F32(0.5) * (hi - lo)).astype(F32)


def max_colors(cb: CodebookPolicy) -> int:
    """Largest codebook length (the size of the accumulator buffer)."""
    return max(len(v) for v in cb.values)
