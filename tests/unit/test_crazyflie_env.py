"""The Crazyflie environments: registration, spaces, options, episodes, success, the vectorised form."""

from __future__ import annotations

import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest

import ghp  # noqa: F401  (registers the ids)
from ghp.envs import make_env, vectorised
from ghp.envs.crazyflie import EPISODE_STEPS, HOVER_ACTION, OBS_DIM, CrazyflieConfig

IDS = ["ghp/CrazyflieHover-v0", "ghp/CrazyflieGoTo-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_spaces_and_reset(env_id: str) -> None:
    env = gym.make(env_id)
    assert env.observation_space.shape == (OBS_DIM,) and env.action_space.shape == (4,)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    again, _ = env.reset(seed=3)
    assert np.array_equal(obs, again)


def _make_in_worker(env_id: str) -> tuple[int, ...]:
    # A spawned worker starts bare: unpickling this function imports this module, hence ghp, which registers the ids.
    return tuple(gym.make(env_id).observation_space.shape)


def test_makeable_by_id_in_a_spawned_process() -> None:
    with mp.get_context("spawn").Pool(1) as pool:
        assert pool.map(_make_in_worker, IDS) == [(OBS_DIM,), (OBS_DIM,)]


def test_nominal_hover_at_rest_succeeds() -> None:
    env = make_env("ghp/CrazyflieHover-v0", nominal=True, start_rest_share=1.0)
    env.reset(seed=0)
    n, info, term, trunc = 0, {}, False, False
    while not (term or trunc):
        _, r, term, trunc, info = env.step(np.full(4, HOVER_ACTION, np.float32))
        n += 1
        assert r > 0.99
    assert n == EPISODE_STEPS and trunc and not term and info["is_success"]


def test_zero_thrust_terminates_without_success() -> None:
    env = make_env("ghp/CrazyflieHover-v0", nominal=True, start_rest_share=1.0)
    env.reset(seed=0)
    term = trunc = False
    n = 0
    while not (term or trunc):
        _, _, term, trunc, info = env.step(-np.ones(4, np.float32))
        n += 1
    assert term and n < 100 and not info["is_success"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mass": 1.0}, "unknown Crazyflie option"),
        ({"mass_range": (-0.1, 1.0)}, "mass_range"),
        ({"thrust_to_weight_range": (0.8, 1.2)}, "thrust_to_weight"),
        ({"action_latency": 2}, "action_latency"),
        ({"obs_noise": -1.0}, "obs_noise"),
        ({"start_tilt_deg": "x"}, "start_tilt_deg"),
        ({"nominal": "maybe"}, "nominal"),
        ({"reward": "squared"}, "reward must be linear or exp"),
        ({"position_weight": -1.0}, "position_weight"),
    ],
)
def test_bad_options_are_one_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_env("ghp/CrazyflieHover-v0", **kwargs)


def test_options_parse_pairs_and_numbers() -> None:
    c = CrazyflieConfig.from_kwargs(task="goto", mass_range=[1.0, 1.2], obs_noise=0, action_latency=1.0)
    assert c.mass_range == (1.0, 1.2) and c.obs_noise == 0.0 and c.action_latency == 1
    assert c.start_pos == 1.0 and c.term_pos == 2.0


def test_make_vec_and_the_batched_protocol() -> None:
    venv = gym.make_vec("ghp/CrazyflieHover-v0", num_envs=5, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=7)
    assert obs.shape == (5, OBS_DIM)
    single = make_env("ghp/CrazyflieHover-v0")
    for i in range(5):
        o, _ = single.reset(seed=7 + i)
        assert np.allclose(o, obs[i])
    obs, rew, term, trunc, info = venv.step(np.zeros((5, 4), np.float32))
    assert obs.shape == (5, OBS_DIM) and rew.shape == (5,) and info["is_success"].shape == (5,)
    batch = vectorised(single, 3)
    assert batch is not None
    o = batch.reset_rows([0, 2], [7, 9])
    assert np.allclose(o[0], venv.unwrapped.batch.reset([0], [7])[0])
    assert vectorised(gym.make("Pendulum-v1"), 3) is None


def test_reward_forms_and_position_weight() -> None:
    # The same disturbed episode under three rewards: exp(-cost) = exp(r_linear - 1) step by step, and a larger
    # position weight costs exactly (w - 0.5) |e| more per step. The default is exp with a position weight of 2.
    def rewards(**kw: object) -> tuple[np.ndarray, np.ndarray]:
        env = make_env("ghp/CrazyflieHover-v0", nominal=True, start_rest_share=0.0, **kw)
        obs, _ = env.reset(seed=4)
        out, dist = [], []
        for _ in range(40):
            obs, r, term, _, _ = env.step(np.full(4, HOVER_ACTION, np.float32))
            out.append(r)
            dist.append(float(np.linalg.norm(obs[:3])))
            assert not term
        return np.array(out), np.array(dist)

    linear, dist = rewards(reward="linear", position_weight=0.5)
    expo, _ = rewards(reward="exp", position_weight=0.5)
    heavy, _ = rewards(reward="linear", position_weight=2.0)
    default, _ = rewards()
    np.testing.assert_allclose(default, np.exp(heavy - 1.0), rtol=1e-12)
    assert dist.min() > 0.01
    np.testing.assert_allclose(expo, np.exp(linear - 1.0), rtol=1e-12)
    np.testing.assert_allclose(linear - heavy, 1.5 * dist, rtol=1e-5, atol=1e-6)
