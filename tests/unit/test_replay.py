"""Resizing a loaded replay buffer keeps every transition, in order, and HER's episode bookkeeping consistent."""

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3 import DDPG, HerReplayBuffer
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from ghp.rl.replay import resize_replay_buffer


def filled(size, n, n_envs=2):
    buf = ReplayBuffer(size * n_envs, spaces.Box(-1, 1, (1,)), spaces.Box(-1, 1, (1,)), n_envs=n_envs)
    for t in range(n):
        o = np.full((n_envs, 1), t, dtype=np.float32)
        buf.add(o, o + 1, o, np.zeros(n_envs), np.zeros(n_envs), [{}] * n_envs)
    return buf


@pytest.mark.parametrize("n, capacity", [(3, 8), (7, 12), (7, 4), (5, 5)])
def test_plain_buffer_keeps_the_newest_transitions_in_order(n, capacity):
    buf = filled(5, n)  # 5 slots: n = 7 has wrapped around
    resize_replay_buffer(buf, capacity)
    kept = list(range(n))[-min(capacity, 5, n) :]
    assert buf.buffer_size == capacity and buf.pos == len(kept) % capacity and buf.full == (len(kept) == capacity)
    np.testing.assert_array_equal(buf.observations[: len(kept), 0, 0], kept)
    np.testing.assert_array_equal(buf.next_observations[: len(kept), 1, 0], np.array(kept) + 1)


def test_her_buffer_after_growing_samples_valid_episodes():
    env = DummyVecEnv([lambda: BitFlippingEnv(n_bits=4, continuous=True, max_steps=4)] * 2)
    model = DDPG(
        "MultiInputPolicy", env, buffer_size=60, learning_starts=10**6, replay_buffer_class=HerReplayBuffer, seed=0
    )
    model.learn(100)  # 50 steps per environment into 30 slots: wrapped
    buf = model.replay_buffer
    assert buf.full
    resize_replay_buffer(buf, 80)
    n = buf.pos
    assert n == 30 and not buf.full
    valid = buf.ep_length[:n] > 0
    assert valid.sum() >= 2 * 20  # only the oldest, partly overwritten episode is lost
    for i, e in zip(*np.nonzero(valid), strict=True):
        start, length = buf.ep_start[i, e], buf.ep_length[i, e]
        assert start <= i < start + length <= n
    assert (buf.ep_length[n:] == 0).all()
    sample = buf.sample(32)
    assert sample.observations["observation"].shape[0] == 32
