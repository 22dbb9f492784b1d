"""Observation normalisation folded into a policy: the same actions on raw observations, the clip included."""

import numpy as np
import pytest

from ghp.policy.normalize import ObsNormalization, stats_path
from ghp.policy.weights import PolicyWeights
from tests.unit.test_export import policy


def stats(obs_dim: int = 5, clip: float = 5.0, seed: int = 1) -> ObsNormalization:
    rng = np.random.default_rng(seed)
    return ObsNormalization(rng.normal(0, 3, obs_dim), rng.uniform(0.05, 4.0, obs_dim), clip)


def raw_observations(norm: ObsNormalization, n: int = 400, seed: int = 2) -> np.ndarray:
    # Spread to +-10 std around the mean: about half of the entries fall outside the +-5 clip.
    rng = np.random.default_rng(seed)
    return (norm.mean + rng.uniform(-10, 10, (n, norm.mean.size)) * norm.std).astype(np.float32)


@pytest.mark.parametrize("arch", ["linear", "8", "16-4-8"])
def test_folded_policy_on_raw_observations_acts_like_the_policy_on_normalised_ones(arch):
    p = policy(arch, obs=5, act=2)
    norm = stats()
    x = raw_observations(norm)
    folded = norm.fold(p)
    assert folded.clipped and not p.clipped
    z = norm.normalize(x)
    assert np.mean(np.abs(z) == norm.clip) > 0.2  # the clip is really exercised
    np.testing.assert_allclose(folded.act(x), p.act(z), atol=2e-5, rtol=0)
    for (w1, b1), (w2, b2) in zip(folded.layers[1:], p.layers[1:], strict=True):  # only the first layer changes
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)


def test_the_clip_is_the_raw_bound_mean_plus_minus_c_std():
    norm = stats(clip=5.0)
    folded = norm.fold(policy("8", obs=5, act=2))
    np.testing.assert_allclose(folded.clip_low, norm.mean - 5 * norm.std, rtol=1e-6)
    np.testing.assert_allclose(folded.clip_high, norm.mean + 5 * norm.std, rtol=1e-6)
    far = (norm.mean + 1e6).astype(np.float32)
    edge = folded.clip_high
    np.testing.assert_array_equal(folded.act(far), folded.act(edge))


def test_to_module_and_npz_keep_the_clip(tmp_path):
    torch = pytest.importorskip("torch")
    norm = stats()
    folded = norm.fold(policy("16-4", obs=5, act=2))
    x = raw_observations(norm, 50)
    with torch.no_grad():
        got = folded.to_module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, folded.act(x), atol=1e-6, rtol=0)
    from ghp.policy.file import load_policy, save_policy

    folded.to_npz(tmp_path / "p.npz")
    # A tuned policy file (ghp tune of a --normalize run) keeps the clip too.
    tuned = load_policy(save_policy(tmp_path / "tuned.npz", folded, {"kind": "tuned"})).weights
    for back in (PolicyWeights.from_npz(tmp_path / "p.npz"), tuned):
        np.testing.assert_array_equal(back.clip_low, folded.clip_low)
        np.testing.assert_array_equal(back.clip_high, folded.clip_high)
        np.testing.assert_array_equal(back.act(x), folded.act(x))


def test_bad_statistics_and_double_folding_are_refused():
    with pytest.raises(ValueError, match="positive std"):
        ObsNormalization(np.zeros(3), np.array([1.0, 0.0, 1.0]), 5.0)
    norm = stats()
    with pytest.raises(ValueError, match="fold only once"):
        norm.fold(norm.fold(policy("8", obs=5, act=2)))
    with pytest.raises(ValueError, match="inputs"):
        norm.fold(policy("8", obs=4, act=2))
    p = policy("8", obs=5, act=2)
    with pytest.raises(ValueError, match="both"):
        PolicyWeights(p.arch, p.layers, p.action_low, p.action_high, clip_low=np.zeros(5, np.float32))


def test_statistics_sit_next_to_each_model_file(tmp_path):
    assert stats_path(tmp_path / "model.zip") == tmp_path / "model.vecnormalize.pkl"
    assert stats_path(tmp_path / "checkpoints" / "step_200.zip").name == "step_200.vecnormalize.pkl"


def test_goal_statistics_are_observation_then_desired_goal_as_the_actor_sees_them():
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from ghp.policy.weights import obs_vector

    class GoalEnv(gym.Env):
        """Fetch's observation layout (observation 5, goals 3), random values of different scales."""

        observation_space = gym.spaces.Dict(
            {
                k: gym.spaces.Box(-np.inf, np.inf, (n,))
                for k, n in (("observation", 5), ("achieved_goal", 3), ("desired_goal", 3))
            }
        )
        action_space = gym.spaces.Box(-1.0, 1.0, (2,))

        def _obs(self):
            r = self.np_random
            return {
                k: (r.normal(i, 1 + i, v.shape)).astype(np.float32)
                for i, (k, v) in enumerate(self.observation_space.spaces.items())
            }

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self._obs(), {}

        def step(self, action):
            return self._obs(), 0.0, False, False, {}

    vn = VecNormalize(DummyVecEnv([GoalEnv]), clip_obs=5.0)
    vn.seed(0)
    vn.reset()
    raw = []
    for _ in range(40):
        vn.step(np.zeros((1, 2), np.float32))
        raw.append({k: v.copy() for k, v in vn.get_original_obs().items()})
    norm = ObsNormalization.from_vec_normalize(vn)
    assert norm.mean.shape == (8,) and norm.clip == 5.0
    for obs in raw[-5:]:
        expected = obs_vector(vn.normalize_obs(obs))
        np.testing.assert_allclose(norm.normalize(obs_vector(obs)), expected, atol=1e-5)
