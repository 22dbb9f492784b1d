"""Python references for the exported C: the same arithmetic, in the same order, in float32.

The C runtime (``export/runtime/ghp_runtime.h``) sums each output unit in index order and adds the bias last, with
one fused multiply-add (``fmaf``, a single rounding) per term for float32 weights; :func:`forward` does the same with
NumPy (:func:`fma32` emulates ``fmaf`` exactly), so the only difference left between Python and the microcontroller is
the last bit of ``tanhf``. torch (``PolicyWeights.to_module``) is the trained policy itself and
stays the yardstick the checks compare against.

int8 (``--dtype int8``): symmetric per-row quantisation of the weights, one float32 scale per output row, float32
biases; each layer's input is quantised to int16 with one scale per call (:func:`quantize_i16`, ``amax / qmax``), the
products are summed in int32 (the Cortex-M4's SMLAD, exact), and ``fmaf(float(sum), scale * sx, b)`` gives the float32
output. Integer sums are exact and every float step is one IEEE rounding, so :func:`forward` predicts the C bit for bit
(but for ``tanhf``). The byte rule of ``ghp.space.counting`` (``i * o + 8 * o`` per layer; the C pads rows and inputs to
multiples of four).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghp.policy.weights import PolicyWeights

F32 = np.float32


@dataclass(frozen=True, eq=False)
class Int8Layer:
    """One linear layer stored as int8: ``y = scale * (q @ x) + b``."""

    q: np.ndarray
    """int8 weights ``[out, in]``, row-major, in [-127, 127]."""
    scale: np.ndarray
    """float32 scale per output row ``[out]``."""
    b: np.ndarray
    """float32 bias ``[out]``."""


def quantize_int8(weights: PolicyWeights) -> tuple[Int8Layer, ...]:
    """Symmetric per-output-row int8 quantisation: ``scale = max|W_row| / 127``, ``q = round(W / scale)``."""
    out = []
    for w, b in weights.layers:
        amax = np.max(np.abs(w), axis=1).astype(F32)
        scale = np.where(amax > 0, amax / F32(127), F32(1)).astype(F32)
        q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
        out.append(Int8Layer(q, scale, b.astype(F32)))
    return tuple(out)


def fma32(acc: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float32 ``fmaf(a, b, acc)``: ``acc + a * b`` rounded once to float32, bit for bit (C99 ``fmaf``).

    ``a * b`` of two float32 is exact in float64, and ``s = acc + a * b`` in float64 is off the exact sum by ``e``
    (TwoSum, exact). Rounding ``s`` to float32 is then the correctly rounded result unless ``s`` is exactly halfway
    between two float32 (a float32 midpoint is a float64, so the exact sum cannot sit across one from ``s``): there
    ``e`` says which way the exact sum lies, and ``s`` is moved one float64 step that way before rounding.
    """
    acc64, p = np.asarray(acc, np.float64), np.asarray(a, np.float64) * np.asarray(b, np.float64)
    s = acc64 + p
    bv = s - acc64
    e = (acc64 - (s - bv)) + (p - bv)
    r = s.astype(F32)
    # A midpoint: s is exactly halfway between r and its float32 neighbour on s's side.
    d = s - r.astype(np.float64)
    other = np.nextafter(r, np.where(d > 0, np.inf, -np.inf).astype(F32)).astype(np.float64)
    tie = (d != 0) & (np.abs(d) * 2 == np.abs(other - r.astype(np.float64))) & (e != 0)
    if np.any(tie):
        nudged = np.nextafter(s, np.where(e > 0, np.inf, -np.inf))
        r = np.where(tie, nudged.astype(F32), r)
    return r.astype(F32)


def qmax_i16(n_in: int) -> int:
    """The largest |int16 activation| of a layer with ``n_in`` inputs (``ghp_qmax``): 32767, or less when ``127 * qmax *
    n_in`` would not fit in an int32, so no partial sum can overflow."""
    return 32767 if n_in <= 516 else (2**31 - 1) // (127 * n_in)


def quantize_i16(x: np.ndarray, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """``ghp_quantize_i16`` on each row of ``x`` ``[n, k]``: int16 values ``[n, k]`` (as int64) and scales ``[n]``.

    ``amax = max |x|``, ``inv = qmax / amax`` (float32), ``q = round(x * inv)`` to nearest, ties to even (the C's one
    ``fmaf`` with 1.5 * 2^23; ``x * inv`` of two float32 is exact in float64), scale ``amax / qmax`` (float32); an
    all-zero row gives zeros and scale 0.
    """
    amax = np.max(np.abs(x), axis=1).astype(F32)
    nz = amax > 0
    safe = np.where(nz, amax, F32(1)).astype(F32)
    inv = np.where(nz, (F32(qmax) / safe).astype(F32), F32(0)).astype(F32)
    q = np.rint(x.astype(np.float64) * inv.astype(np.float64)[:, None]).astype(np.int64)
    scale = np.where(nz, (safe / F32(qmax)).astype(F32), F32(0)).astype(F32)
    return q, scale


def _dense(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """float32 ``[n, in] -> [n, out]``: each unit summed in index order from 0.0 with a fused multiply-add per term
    (``ghp_dense_f32``'s ``fmaf``), then the bias added."""
    acc = np.zeros((x.shape[0], w.shape[0]), F32)
    wf = w.astype(F32)
    for i in range(w.shape[1]):
        acc = fma32(acc, wf[None, :, i], x[:, i, None])
    return (acc + b[None, :]).astype(F32)


def _dense_i8(layer: Int8Layer, x: np.ndarray) -> np.ndarray:
    """``ghp_dense_i8``: ``x`` quantised to int16, the int32 sums (exact), then ``fmaf(float(sum), scale * sx, b)``."""
    xq, sx = quantize_i16(x.astype(F32), qmax_i16(x.shape[1]))
    acc = xq @ layer.q.astype(np.int64).T  # exact: |sum| < 2^31 by the choice of qmax
    s = (layer.scale[None, :] * sx[:, None]).astype(F32)
    return fma32(np.broadcast_to(layer.b[None, :], acc.shape), acc.astype(F32), s)


def _unscale(z: np.ndarray, weights: PolicyWeights) -> np.ndarray:
    u = np.tanh(z).astype(F32)
    lo, hi = weights.action_low, weights.action_high
    return (lo + (u + F32(1)) * F32(0.5) * (hi - lo)).astype(F32)


def pre_activations(weights: PolicyWeights, obs: np.ndarray, int8: tuple[Int8Layer, ...] | None = None) -> np.ndarray:
    """The output layer's values before tanh, ``[n, act_dim]``, computed as the C runtime does."""
    h = np.atleast_2d(weights.clip(obs))  # the observation clip of a --normalize run (no arithmetic: exact)
    n = len(weights.layers)
    for j in range(n):
        if int8 is None:
            w, b = weights.layers[j]
            h = _dense(w, b, h)
        else:
            h = _dense_i8(int8[j], h)
        if j < n - 1:
            if weights.activation == "tanh":
                h = np.tanh(h).astype(F32)  # tanhf in C: equal to the last ulp or so, checked to tolerance
            else:
                h = np.where(h < 0, F32(0), h).astype(F32)
    return h


def forward(weights: PolicyWeights, obs: np.ndarray, int8: tuple[Int8Layer, ...] | None = None) -> np.ndarray:
    """Deterministic actions ``[n, act_dim]`` in the C runtime's order (float32, or int8 weights when given)."""
    return _unscale(pre_activations(weights, obs, int8), weights)


def torch_actions(weights: PolicyWeights, obs: np.ndarray) -> np.ndarray:
    """The trained policy's deterministic actions through torch (``PolicyWeights.to_module``), float32.

    One observation per forward pass, as on the robot (torch's batched kernels sum in another order).
    """
    import torch

    module = weights.to_module()
    rows = np.atleast_2d(np.asarray(obs, F32))
    with torch.no_grad():
        out = [module(torch.from_numpy(row[None, :])).numpy()[0] for row in rows]
    return np.asarray(out, F32).reshape(len(rows), weights.act_dim)


ROUNDOFF_FACTOR = 8.0
"""How many times torch's own float32 round-off (against float64) a correct C build may differ from torch."""


def float64_actions(weights: PolicyWeights, obs: np.ndarray) -> np.ndarray:
    """Deterministic actions ``[n, act_dim]`` computed in float64: the reference both float32 builds round away from."""
    h = np.atleast_2d(weights.clip(obs)).astype(np.float64)
    n = len(weights.layers)
    for j, (w, b) in enumerate(weights.layers):
        h = h @ np.asarray(w, np.float64).T + np.asarray(b, np.float64)
        if j < n - 1:
            h = np.tanh(h) if weights.activation == "tanh" else np.maximum(h, 0.0)
    lo, hi = (np.asarray(a, np.float64) for a in (weights.action_low, weights.action_high))
    return lo + (np.tanh(h) + 1.0) * 0.5 * (hi - lo)


def check_tolerance(
    weights: PolicyWeights, tol: float = 1e-6, obs: np.ndarray | None = None, torch_act: np.ndarray | None = None
) -> float:
    """Largest allowed ``|C - torch|`` per action entry.

    ``tol`` is in units of the tanh output: ``tol * max(1, (high - low) / 2)`` in action units. float32 sums in
    another order (torch's BLAS) differ by a few ulp of the *summands*, not of the result: on observations that drive
    a network's hidden units far from zero (the test vectors include the observation bounds) the difference can
    exceed a fixed 1e-6 although both builds are right (a 16-32-8 Crazyflie policy: 1.3e-6 between C and torch, torch
    itself 1.4e-5 from float64). With ``obs`` the tolerance also covers :data:`ROUNDOFF_FACTOR` times torch's own
    distance from float64 on those vectors, still far below what a wrong build gives (1e-2 and more). ``torch_act``:
    the policy's :func:`torch_actions` on ``obs`` when the caller has them already.
    """
    half = float(np.max((weights.action_high.astype(np.float64) - weights.action_low) / 2.0))
    base = tol * max(1.0, half)
    if obs is None:
        return base
    if torch_act is None:
        torch_act = torch_actions(weights, obs)
    spread = float(np.max(np.abs(torch_act.astype(np.float64) - float64_actions(weights, obs))))
    return max(base, ROUNDOFF_FACTOR * spread)
