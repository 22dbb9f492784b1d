import numpy as np
import torch

from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.space.arch import Arch, ArchSpace, sample_uniform
from ghp.space.counting import layer_shapes


def random_policy(arch: Arch, inp: int, act: int, rng: np.random.Generator) -> PolicyWeights:
    layers = [
        (rng.standard_normal((o, i)) * 0.3, rng.standard_normal(o) * 0.1) for i, o in layer_shapes(arch, inp, act)
    ]
    return PolicyWeights.from_arrays(arch, layers, -2 * np.ones(act), 3 * np.ones(act))


def test_numpy_and_torch_agree_and_respect_bounds(tmp_path):
    rng = np.random.default_rng(0)
    for arch in sample_uniform(ArchSpace(widths=(4, 8, 16), depths=(0, 1, 2, 3, 4)), 20, rng):
        p = random_policy(arch, 5, 2, rng)
        obs = rng.standard_normal((7, 5)).astype(np.float32) * 3
        a_np = p.act(obs)
        a_t = p.to_module()(torch.from_numpy(obs)).detach().numpy()
        np.testing.assert_allclose(a_np, a_t, atol=1e-6)
        assert (a_np >= -2).all() and (a_np <= 3).all()
        assert p.n_params == sum(w.size + b.size for w, b in p.layers)
        p.to_npz(tmp_path / "p.npz")
        q = PolicyWeights.from_npz(tmp_path / "p.npz")
        assert q.arch == p.arch and np.array_equal(q.act(obs), a_np)


def test_obs_vector_appends_desired_goal():
    obs = {"observation": np.arange(3), "achieved_goal": np.zeros(2), "desired_goal": np.array([7, 8])}
    assert obs_vector(obs).tolist() == [0, 1, 2, 7, 8]
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    assert obs_vector(batch).shape == (2, 5)
