"""The batched Pendulum-v1 and Hopper-v5 (ghp.envs.batched): the single environment's numbers, bit for bit."""

import gymnasium as gym
import numpy as np
import pytest

from ghp.envs import make_env, vectorised
from ghp.envs.batched import HopperBatch, PendulumBatch


def started(env_id: str, kw: dict, n: int, cls: type) -> tuple:
    """The batched form of ``n`` copies (of class ``cls``), ``n`` single environments and the random generator, after
    a seeded reset of every copy whose observations are checked equal to the single environments' own."""
    batch = vectorised(make_env(env_id, **kw), n)
    assert isinstance(batch, cls)
    singles = [make_env(env_id, **kw) for _ in range(n)]
    rng = np.random.default_rng(0)
    seeds = [int(s) for s in rng.integers(2**32, size=n)]
    obs = batch.reset_rows(np.arange(n), seeds)
    assert np.array_equal(obs, np.stack([s.reset(seed=sd)[0] for s, sd in zip(singles, seeds, strict=True)]))
    return batch, singles, rng


@pytest.mark.parametrize("limit", [None, 37, 230])
def test_batch_steps_exactly_as_single_environments(limit: int | None) -> None:
    n = 24
    kw = {} if limit is None else {"max_episode_steps": limit}
    batch, singles, rng = started("Pendulum-v1", kw, n, PendulumBatch)
    for t in range(limit or 200):
        # float32 actions as the engine gives them, some beyond the bounds (clipped) and some exactly at them.
        a = rng.uniform(-2.5, 2.5, (n, 1)).astype(np.float32)
        a[:3, 0] = [2.0, -2.0, 0.0]
        obs, rew, term, trunc, success = batch.step_batch(a)
        for i, single in enumerate(singles):
            o, r, te, tr, _ = single.step(a[i])
            # Exact equality: numpy's array square rounds differently from the scalar ** 2 the env uses about once
            # in a thousand values, which this many steps would catch.
            assert np.array_equal(o, obs[i]) and r == rew[i], (t, i)
            assert (te, tr) == (term[i], trunc[i])
        assert not success.any()
    assert trunc.all()


def test_only_reset_copies_run_and_a_truncated_copy_waits() -> None:
    batch = vectorised(make_env("Pendulum-v1", max_episode_steps=2), 4)
    single = make_env("Pendulum-v1", max_episode_steps=2)
    batch.reset_rows([1, 3], [5, 6])
    single.reset(seed=6)
    a = np.full((4, 1), 0.5, np.float32)
    for _ in range(2):
        obs, rew, _, trunc, _ = batch.step_batch(a)
        o, r, _, tr, _ = single.step(a[3])
        assert np.array_equal(obs[3], o) and rew[3] == r and trunc[3] == tr
        assert not trunc[[0, 2]].any()
    th = batch.th.copy()
    batch.step_batch(a)  # every copy has ended: nothing moves
    assert np.array_equal(th, batch.th)


def test_no_batch_for_a_changed_environment() -> None:
    assert vectorised(make_env("Pendulum-v1", g=9.81), 2) is not None  # constructor options are read from the env
    assert vectorised(gym.make("Hopper-v5", render_mode="rgb_array"), 2) is None
    assert vectorised(make_env("Walker2d-v5"), 2) is None
    assert vectorised(gym.make("Pendulum-v1", render_mode="rgb_array"), 2) is None
    assert vectorised(gym.wrappers.ClipReward(gym.make("Pendulum-v1"), -1.0, 0.0), 2) is None
    assert vectorised(make_env("MountainCarContinuous-v0"), 2) is None


@pytest.mark.parametrize(
    "kw", [{}, {"max_episode_steps": 30}, {"terminate_when_unhealthy": False, "max_episode_steps": 40, "frame_skip": 2}]
)
def test_hopper_batch_steps_exactly_as_single_environments(kw: dict) -> None:
    # Random actions make the hopper fall within a few dozen steps: episodes end (terminated or truncated) at
    # different times and restart from new seeds, as in an evaluation.
    n = 8
    batch, singles, rng = started("Hopper-v5", kw, n, HopperBatch)
    ends = 0
    for _ in range(100):
        a = rng.uniform(-1.2, 1.2, (n, 3)).astype(np.float32)  # beyond the control range too (MuJoCo clamps)
        obs, rew, term, trunc, success = batch.step_batch(a)
        assert not success.any()
        for i, single in enumerate(singles):
            o, r, te, tr, _ = single.step(a[i])
            assert np.array_equal(o, obs[i]) and r == rew[i] and (te, tr) == (term[i], trunc[i])
            if te or tr:
                ends += 1
                s = int(rng.integers(2**32))
                assert np.array_equal(batch.reset_rows([i], [s])[0], single.reset(seed=s)[0])
    assert ends > n
