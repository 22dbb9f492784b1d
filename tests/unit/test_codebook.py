"""Codebook policies (ghp.policy.codebook), their policy files (ghp.policy.file) and the export reference
(export.codebook)."""

import numpy as np
import pytest

from export import codebook as cbref
from ghp.es.params import CodebookMap
from ghp.policy.codebook import (
    index_bits,
    kmeans_1d,
    n_weights,
    pack_indices,
    quantize,
    unpack_indices,
)
from ghp.policy.file import load_policy, save_policy
from ghp.space.arch import Arch
from tests.unit.test_es import random_policy


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([-3.0, -1.0, 0.5, 4.0])
    x = np.concatenate([c + 0.01 * rng.standard_normal(50) for c in centres])
    got, labels = kmeans_1d(x, 4)
    np.testing.assert_allclose(got, centres, atol=0.01)
    assert np.array_equal(labels, np.repeat(np.arange(4), 50))
    # Fewer distinct values than colours: every value is its own centre.
    got, labels = kmeans_1d(np.array([1.0, 2.0, 1.0]), 5)
    assert got.tolist() == [1.0, 2.0] and labels.tolist() == [0, 1, 0]


def test_kmeans_beats_uniform_quantisation_and_is_deterministic():
    x = np.random.default_rng(1).standard_normal(500)
    c, lab = kmeans_1d(x, 8)
    c2, lab2 = kmeans_1d(x.copy(), 8)
    assert np.array_equal(c, c2) and np.array_equal(lab, lab2)
    uniform = np.linspace(x.min(), x.max(), 8)
    err_u = np.mean((x - uniform[np.argmin(np.abs(x[:, None] - uniform), axis=1)]) ** 2)
    assert np.mean((x - c[lab]) ** 2) < err_u


@pytest.mark.parametrize("bits", range(1, 9))
def test_pack_round_trip(bits):
    idx = np.random.default_rng(bits).integers(0, 1 << bits, 37)
    data = pack_indices(idx, bits)
    assert len(data) == (37 * bits + 7) // 8
    assert np.array_equal(unpack_indices(data, bits, 37), idx)
    with pytest.raises(ValueError, match="fit"):
        pack_indices(np.array([1 << bits]), bits)


def test_pack_is_lsb_first():
    assert pack_indices(np.array([1, 2, 3]), 2) == bytes([0b111001])
    assert index_bits(2) == 1 and index_bits(4) == 2 and index_bits(5) == 3 and index_bits(32) == 5


@pytest.mark.parametrize("scope", ["layer", "network"])
def test_quantize_shares_values_and_counts_bytes(scope):
    p = random_policy(Arch((8, 4)), 3, 2)
    cb = quantize(p, 4, scope)
    dense = cb.dense()
    for j, (w, _) in enumerate(dense.layers):
        assert set(np.unique(w)) <= set(cb.book(j).tolist())
        assert len(np.unique(w)) <= 4
        np.testing.assert_array_equal(dense.layers[j][1], p.layers[j][1])
    n_books = 3 if scope == "layer" else 1
    edges = n_weights(p)
    biases = 8 + 4 + 2
    assert len(cb.values) == n_books
    packed = sum((w.size * 2 + 7) // 8 for w, _ in p.layers)
    assert cb.n_bytes == packed + 4 * 4 * n_books + 4 * biases
    assert cb.paper_bits == 32 * (4 * n_books + biases) + edges * 2
    # Per-layer codebooks fit each layer's own scale: never worse than one shared codebook here.
    if scope == "layer":
        net = quantize(p, 4, "network").dense()
        err = lambda q: sum(float(np.sum((w - wq) ** 2)) for (w, _), (wq, _) in zip(p.layers, q.layers, strict=True))  # noqa: E731
        assert err(dense) <= err(net)


def test_quantize_refuses_bad_colour_counts():
    p = random_policy(Arch((4,)), 3, 1)  # 16 weights
    with pytest.raises(ValueError, match="at least 2"):
        quantize(p, 1)
    with pytest.raises(ValueError, match="more than the 16 weights"):
        quantize(p, 17)
    with pytest.raises(ValueError, match="scope"):
        quantize(p, 4, "row")


def test_codebook_map_round_trip():
    cb = quantize(random_policy(Arch((8,)), 3, 1), 4)
    pm = CodebookMap(cb)
    theta = pm.flatten(cb)
    assert pm.size == len(theta) == 4 * 2 + 8 + 1
    back = pm.codebook(theta)
    for a, b in zip(back.dense().layers, cb.dense().layers, strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    moved = pm.codebook(theta + 1.0)
    assert np.array_equal(moved.colors[0], cb.colors[0])  # the colouring stays fixed
    np.testing.assert_allclose(moved.values[0], cb.values[0] + 1.0, rtol=1e-6)


def test_reference_is_the_dense_policy_up_to_rounding():
    p = random_policy(Arch((16, 8)), 5, 2)
    cb = quantize(p, 8)
    obs = np.random.default_rng(2).standard_normal((10, 5)).astype(np.float32)
    np.testing.assert_allclose(cbref.forward(cb, obs), cb.dense().act(obs), atol=1e-5)


def test_policy_file_round_trip(tmp_path):
    p = random_policy(Arch((8, 4)), 3, 1)
    cb = quantize(p, 4)
    path = save_policy(tmp_path / "x.npz", cb.dense(), {"env_id": "Pendulum-v1", "method": "test"}, cb)
    pf = load_policy(path)
    assert pf.provenance["env_id"] == "Pendulum-v1" and pf.label == "tuned:x"
    assert pf.codebook is not None and np.array_equal(pf.codebook.colors[1], cb.colors[1])
    from ghp.policy.weights import PolicyWeights

    plain = PolicyWeights.from_npz(path)  # still the ordinary hand-off format
    assert np.array_equal(plain.layers[0][0], cb.dense().layers[0][0])
    # A codebook that does not reproduce the file's weights is refused.
    bad = save_policy(tmp_path / "bad.npz", p, {}, cb)
    with pytest.raises(ValueError, match="not a ghp policy file"):
        load_policy(bad)


def test_codebook_keeps_a_tanh_activation(tmp_path):
    import dataclasses

    p = dataclasses.replace(random_policy(Arch((16, 8)), 5, 2), activation="tanh")
    cb = quantize(p, 8)
    assert cb.dense().activation == "tanh"
    obs = np.random.default_rng(3).standard_normal((10, 5)).astype(np.float32)
    np.testing.assert_allclose(cbref.forward(cb, obs), cb.dense().act(obs), atol=1e-5)
    pf = load_policy(save_policy(tmp_path / "t.npz", cb.dense(), {}, cb))
    assert pf.weights.activation == "tanh" and pf.codebook is not None and pf.codebook.activation == "tanh"
