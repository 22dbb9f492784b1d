"""ES engine (ghp.es): statistics, folding, parameter maps, rollouts, determinism, resume, learning."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from ghp.es import (
    DenseMap,
    ESConfig,
    ESState,
    ObsStats,
    RolloutPool,
    RolloutUnit,
    fold,
    rollout,
    run_es,
    unfold,
)
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch
from ghp.space.counting import layer_shapes


def random_policy(arch: Arch, inp: int, act: int, seed: int = 0, scale: float = 0.3) -> PolicyWeights:
    rng = np.random.default_rng(seed)
    layers = [
        (rng.standard_normal((o, i)) * scale, rng.standard_normal(o) * 0.1) for i, o in layer_shapes(arch, inp, act)
    ]
    return PolicyWeights.from_arrays(arch, layers, -2 * np.ones(act), 2 * np.ones(act))


class Target(gym.Env):
    """One step per action: reward -(a - 0.7 * x0)^2 summed over 10 steps; observations drawn at random."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-100, 100, (2,), np.float32)
        self.action_space = spaces.Box(-2, 2, (1,), np.float32)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.x = self.np_random.normal([0.0, 5.0], [1.0, 3.0]).astype(np.float32)
        return self.x, {}

    def step(self, action):
        r = -float((action[0] - 0.7 * self.x[0]) ** 2)
        self.t += 1
        self.x = self.np_random.normal([0.0, 5.0], [1.0, 3.0]).astype(np.float32)
        return self.x, r, False, self.t >= 10, {}


gym.register("GhpTestTarget-v0", entry_point=Target)
ENV = "tests.unit.test_es:GhpTestTarget-v0"
"""Module-qualified: spawned worker processes import this module to find the environment."""


def test_stats_merge_equals_stats_of_all_rows():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 3)) * 4 + 1, rng.standard_normal((5, 3))
    m = ObsStats.of(a).merge(ObsStats.of(b))
    whole = ObsStats.of(np.concatenate([a, b]))
    assert m.count == 12
    np.testing.assert_allclose(m.mean, whole.mean)
    np.testing.assert_allclose(m.std, whole.std)
    np.testing.assert_allclose(m.std, np.concatenate([a, b]).std(axis=0, ddof=1))
    e = ObsStats.empty(3)
    assert np.array_equal(e.std, np.ones(3)) and np.array_equal(e.shift, np.zeros(3))
    assert e.merge(ObsStats.of(a)).count == 7


def test_fold_is_normalisation_and_unfold_inverts_it():
    p = random_policy(Arch((8, 4)), 3, 2)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((20, 3)) * [1, 5, 0.1] + [0, 2, -1]).astype(np.float32)
    stats = ObsStats.of(x)
    folded = fold(p, stats.shift, stats.std)
    norm = ((x - stats.shift) / stats.std).astype(np.float32)
    np.testing.assert_allclose(folded.act(x), p.act(norm), atol=1e-5)
    back = fold(unfold(p, stats), stats.shift, stats.std)
    np.testing.assert_allclose(back.act(x), p.act(x), atol=1e-5)


def test_dense_map_round_trip():
    p = random_policy(Arch((4, 4, 8)), 5, 2)
    pm = DenseMap.like(p)
    theta = pm.flatten(p)
    assert pm.size == p.n_params == len(theta)
    q = pm.weights(theta)
    for (w, b), (w2, b2) in zip(p.layers, q.layers, strict=True):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)
    with pytest.raises(ValueError, match="parameters"):
        pm.weights(theta[:-1])


def test_rollout_rows_are_independent_of_their_unit():
    p = random_policy(Arch((8,)), 3, 1, scale=0.5)
    pm = DenseMap.like(p)
    t = pm.flatten(p)
    rows = np.stack([t, t * 0.5, t])
    kw = {"max_episode_steps": 30}
    res = rollout(RolloutUnit(pm, rows, (1, 2, 1), "Pendulum-v1", kw))
    alone = rollout(RolloutUnit(pm, rows[1:2], (2,), "Pendulum-v1", kw))
    assert res.returns[0] == res.returns[2] and res.returns[1] == alone.returns[0]
    assert res.lengths.tolist() == [30, 30, 30] and res.stats[0].count == 30
    # The stacked rollout is the policy's own arithmetic: compare with a plain loop over PolicyWeights.act.
    env = gym.make("Pendulum-v1", max_episode_steps=30)
    obs, _ = env.reset(seed=2)
    total, done = 0.0, False
    q = pm.weights(rows[1])
    while not done:
        obs, r, term, trunc, _ = env.step(q.act(obs))
        total += float(r)
        done = term or trunc
    assert total == pytest.approx(alone.returns[0], rel=1e-6)


def _small_run(tmp_path, iterations, workers=0, name="s.npz", pool=None, **kw):
    p = random_policy(Arch((4,)), 2, 1, seed=3)
    pm = DenseMap.like(p)
    cfg = ESConfig(iterations=iterations, directions=4, top=2, sigma=0.05, lr=0.05, eval_episodes=2, **kw)
    with pool or RolloutPool(workers) as pool:
        return pm, run_es(pm, pm.flatten(p), ENV, cfg, pool, state_path=tmp_path / name)


def test_resume_continues_exactly(tmp_path):
    _, whole = _small_run(tmp_path, 4, name="a.npz")
    _small_run(tmp_path, 2, name="b.npz")
    pm, resumed = _small_run(tmp_path, 4, name="b.npz")
    assert resumed.iteration == 4
    assert np.array_equal(whole.theta, resumed.theta)
    assert whole.best_return == resumed.best_return
    assert [h["return"] for h in whole.history] == [h["return"] for h in resumed.history]
    loaded = ESState.load(tmp_path / "a.npz")
    assert np.array_equal(loaded.theta, whole.theta) and loaded.stats.count == whole.stats.count
    np.testing.assert_array_equal(loaded.best_policy(pm).layers[0][0], whole.best_policy(pm).layers[0][0])


def test_resume_refuses_other_settings(tmp_path):
    _small_run(tmp_path, 1, name="c.npz")
    with pytest.raises(ValueError, match="other settings"):
        _small_run(tmp_path, 2, name="c.npz", seed=5)


def test_corrupt_state_is_a_value_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a state")
    with pytest.raises(ValueError, match="corrupt ES state"):
        ESState.load(bad)


def test_worker_processes_give_the_same_result(tmp_path):
    _, local = _small_run(tmp_path, 2, workers=0, name="l.npz")
    _, pooled = _small_run(tmp_path, 2, workers=2, name="p.npz")
    assert np.array_equal(local.theta, pooled.theta)
    assert local.history == pooled.history


def test_es_improves_the_return(tmp_path):
    pm, state = _small_run(tmp_path, 25)
    first, best = state.history[0]["return"], state.best_return
    assert best > first + 0.5 * abs(first)
    # The best policy, folded for raw observations, reproduces its evaluated return.
    from ghp.es import eval_seeds, evaluate_rows

    tuned = state.best_policy(pm)
    dm = DenseMap.like(tuned)
    with RolloutPool(0) as pool:
        res = evaluate_rows(dm, np.stack([dm.flatten(tuned)] * 2), eval_seeds(0, 2), ENV, pool)
    assert res.returns.mean() == pytest.approx(best, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"iterations": 0}, "iterations"),
        ({"top": 9}, "top"),
        ({"sigma": 0.0}, "sigma"),
        ({"lr": float("nan")}, "lr"),
        ({"max_episode_steps": 0}, "max-episode-steps"),
    ],
)
def test_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        ESConfig(**kw)


def test_renormalize_keeps_the_raw_policy():
    p = random_policy(Arch((8, 4)), 3, 2)
    pm = DenseMap.like(p)
    rng = np.random.default_rng(4)
    old = ObsStats.of(rng.standard_normal((30, 3)) * [1, 2, 3])
    new = old.merge(ObsStats.of(rng.standard_normal((50, 3)) * [5, 0.1, 1] + 4))
    theta = pm.flatten(p)
    moved = pm.renormalize(theta, old, new)
    x = rng.standard_normal((20, 3)).astype(np.float32) * 3
    a_old = fold(pm.weights(theta), old.shift, old.std).act(x)
    a_new = fold(pm.weights(moved), new.shift, new.std).act(x)
    np.testing.assert_allclose(a_new, a_old, atol=1e-5)
    assert not np.allclose(moved, theta)


def test_tanh_policies_keep_their_activation():
    import dataclasses

    p = dataclasses.replace(random_policy(Arch((8,)), 3, 1, scale=0.5), activation="tanh")
    pm = DenseMap.like(p)
    assert pm.weights(pm.flatten(p)).activation == "tanh"
    stats = ObsStats.of(np.random.default_rng(0).standard_normal((10, 3)))
    assert fold(unfold(p, stats), stats.shift, stats.std).activation == "tanh"
    res = rollout(RolloutUnit(pm, pm.flatten(p)[None, :], (3,), "Pendulum-v1", {"max_episode_steps": 20}))
    env = gym.make("Pendulum-v1", max_episode_steps=20)
    obs, _ = env.reset(seed=3)
    total, done = 0.0, False
    while not done:
        obs, r, term, trunc, _ = env.step(p.act(obs))
        total += float(r)
        done = term or trunc
    assert total == pytest.approx(res.returns[0], rel=1e-6)
