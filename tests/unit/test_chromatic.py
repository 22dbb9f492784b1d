"""Chromatic networks: colourings, counting, the controller, normalisation folding (pure functions)."""

import math

import numpy as np
import pytest

from ghp.es.chromatic import ChromaticConfig
from ghp.es.colouring import (
    ChromaticMap,
    Controller,
    Topology,
    count,
    identity_colouring,
    layers_of,
    n_values,
    random_colouring,
    toeplitz_colouring,
)
from ghp.policy.weights import PolicyWeights

HC41 = Topology((17, 41, 6))
HC_LINEAR = Topology((17, 6))


def test_topology_sizes():
    assert HC41.n_edges == 17 * 41 + 41 * 6 == 943
    assert HC41.n_biases == 47
    assert HC41.arch.hidden == (41,)
    assert HC_LINEAR.arch.hidden == ()
    with pytest.raises(ValueError):
        Topology((17,))


def test_toeplitz_shares_along_diagonals_with_a_plus_b_minus_1_values():
    col, nv = toeplitz_colouring(HC41)
    # Paper, Section 3: the Toeplitz version of the 17-41-6 network has 103 weight parameters.
    assert nv == (17 + 41 - 1) + (41 + 6 - 1) == 103
    assert len(np.unique(col)) == 103
    w0 = col[: 41 * 17].reshape(41, 17)
    for r in range(1, 41):
        for c in range(1, 17):
            assert w0[r, c] == w0[r - 1, c - 1]
    w1 = col[41 * 17 :].reshape(6, 41)
    assert set(w1.ravel()).isdisjoint(w0.ravel())
    assert toeplitz_colouring(HC_LINEAR)[1] == 22


def test_counts_follow_the_paper_rule():
    rng = np.random.default_rng(0)
    c = count(HC41, "random", random_colouring(HC41, 17, rng), 17)
    assert (c.distinct_weights, c.biases, c.params) == (17, 47, 64)
    assert c.bits == 32 * 64 + 943 * math.ceil(math.log2(17))
    t = count(HC41, "toeplitz", toeplitz_colouring(HC41)[0], 17)
    assert (t.params, t.bits) == (150, 32 * 150)
    u = count(HC41, "none", identity_colouring(HC41), 17)
    assert (u.distinct_weights, u.params, u.bits) == (943, 990, 32 * 990)
    # Colours the colouring does not use are not parameters.
    assert count(HC_LINEAR, "learned", np.zeros(102, np.int64), 17).distinct_weights == 1
    assert n_values(HC41, "learned", 17) == 17 and n_values(HC41, "none", 17) == 943


def test_layers_share_the_coloured_values():
    rng = np.random.default_rng(1)
    col = random_colouring(HC41, 5, rng)
    values, biases = rng.normal(size=5), rng.normal(size=47)
    (w0, b0), (w1, b1) = layers_of(HC41, col, values, biases)
    assert w0.shape == (41, 17) and w1.shape == (6, 41)
    flat = np.concatenate([w0.ravel(), w1.ravel()])
    np.testing.assert_array_equal(flat, values.astype(np.float32)[col])
    assert set(np.unique(flat)) <= set(values.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b0, b1]), biases.astype(np.float32))


def test_the_parameter_map_gives_the_coloured_tanh_policy_and_folds_exactly():
    from ghp.es import fold

    rng = np.random.default_rng(3)
    col = random_colouring(HC41, 17, rng)
    cmap = ChromaticMap(HC41, col, 17, -np.ones(6), np.ones(6))
    assert cmap.size == 17 + 47
    theta = rng.normal(size=cmap.size)
    normed = cmap.weights(theta)
    assert normed.activation == "tanh"
    for (w, b), (w2, b2) in zip(normed.layers, layers_of(HC41, col, theta[:17], theta[17:]), strict=True):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)
    mean, std = rng.normal(size=17), rng.uniform(0.5, 3.0, size=17)
    raw = fold(normed, mean, std)
    assert raw.activation == "tanh"
    x = rng.normal(size=(20, 17)) * 3
    np.testing.assert_allclose(raw.act(x), normed.act(((x - mean) / std).astype(np.float32)), atol=2e-5)
    with pytest.raises(ValueError, match="parameters"):
        cmap.weights(theta[:-1])


def test_controller_samples_valid_colourings_and_starts_uniform():
    c = Controller(10, 4, lr=0.1, entropy=0.0, decay=0.9)
    s = c.sample(6, np.random.default_rng(0))
    assert s.shape == (6, 10) and s.min() >= 0 and s.max() < 4
    assert c.entropy() == pytest.approx(math.log(4))
    np.testing.assert_array_equal(c.sample(6, np.random.default_rng(0)), s)


def test_controller_learns_the_rewarded_colouring():
    rng = np.random.default_rng(5)
    target = rng.integers(0, 3, size=8)
    c = Controller(8, 3, lr=0.1, entropy=0.0, decay=0.9)
    for _ in range(150):
        cols = c.sample(16, rng)
        c.update(cols, (cols == target).sum(axis=1).astype(float))
    np.testing.assert_array_equal(c.mode(), target)
    assert c.entropy() < 0.5 * math.log(3)


def test_controller_entropy_bonus_resists_collapse():
    rng = np.random.default_rng(6)

    def final_entropy(weight):
        c = Controller(8, 3, lr=0.05, entropy=weight, decay=0.9)
        for _ in range(100):
            cols = c.sample(16, rng)
            c.update(cols, (cols == 0).sum(axis=1).astype(float))
        return c.entropy()

    assert final_entropy(5.0) > final_entropy(0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"partition": "circulant"}, "unknown partition"),
        ({"colors": 1}, "colors must be at least 2"),
        ({"iterations": 0}, "iterations"),
        ({"top": 9}, "top"),
        ({"sigma": 0.0}, "sigma"),
        ({"hidden": (0,)}, "hidden"),
        ({"baseline_decay": 1.0}, "baseline-decay"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChromaticConfig("HalfCheetah-v5", **kwargs)


def test_tanh_policies_round_trip_and_match_torch(tmp_path):
    import torch

    rng = np.random.default_rng(7)
    layers = layers_of(HC41, random_colouring(HC41, 17, rng), rng.normal(size=17), rng.normal(size=47))
    p = PolicyWeights.from_arrays((41,), layers, -np.ones(6), np.ones(6), activation="tanh")
    p.to_npz(tmp_path / "p.npz")
    q = PolicyWeights.from_npz(tmp_path / "p.npz")
    assert q.activation == "tanh"
    x = rng.normal(size=(5, 17)).astype(np.float32)
    np.testing.assert_array_equal(q.act(x), p.act(x))
    with torch.no_grad():
        np.testing.assert_allclose(p.to_module()(torch.from_numpy(x)).numpy(), p.act(x), atol=1e-6)
    relu = PolicyWeights.from_arrays((41,), layers, -np.ones(6), np.ones(6))
    assert relu.activation == "relu" and not np.allclose(relu.act(x), p.act(x))
    with pytest.raises(ValueError, match="activation"):
        PolicyWeights.from_arrays((41,), layers, -np.ones(6), np.ones(6), activation="gelu")


def test_npz_files_without_an_activation_are_relu(tmp_path):
    rng = np.random.default_rng(8)
    p = PolicyWeights.from_arrays(
        (4,), [(rng.normal(size=(4, 3)), np.zeros(4)), (rng.normal(size=(1, 4)), [0.0])], [-1], [1]
    )
    arrays = {"format_version": 1, "arch": np.asarray([4]), "action_low": p.action_low, "action_high": p.action_high}
    arrays |= {f"W{j}": w for j, (w, _) in enumerate(p.layers)} | {f"b{j}": b for j, (_, b) in enumerate(p.layers)}
    np.savez(tmp_path / "old.npz", **arrays)
    assert PolicyWeights.from_npz(tmp_path / "old.npz").activation == "relu"


def test_cli_options_come_from_the_config_fields():
    import dataclasses

    from cli.chromatic_cmd import chromatic
    from cli.options import build_config

    names = {f.name for f in dataclasses.fields(ChromaticConfig)}
    for f in dataclasses.fields(ChromaticConfig):
        assert len([p for p in chromatic.params if p.name == f.name]) == 1, f.name
    assert {p.name for p in chromatic.params} - names == {"out", "resume", "quiet"}
    ctx = chromatic.make_context("chromatic", ["--env", "HalfCheetah-v5"])
    assert build_config(ChromaticConfig, dict(ctx.params)) == ChromaticConfig("HalfCheetah-v5")
    ctx = chromatic.make_context("chromatic", ["--env", "Hopper-v5", "--hidden", "linear", "--partition", "toeplitz"])
    config = build_config(ChromaticConfig, dict(ctx.params))
    assert (config.env_id, config.hidden, config.partition) == ("Hopper-v5", (), "toeplitz")
