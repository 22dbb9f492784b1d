"""The Crazyflie environments: registration, spaces, options, episodes, success, the vectorised form."""

from __future__ import annotations

import importlib
import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest

import ghp  # noqa: F401  (registers the ids)
from ghp.envs import crazyflie as cf
from ghp.envs import make_env, vectorised
from ghp.envs.crazyflie import EPISODE_STEPS, HOVER_ACTION, OBS_DIM, CrazyflieConfig
from ghp.envs.crazyflie.batch import _NOISE_BLOCK

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
    # A rest start is level at a uniform heading: the hover action holds it there, paying only a heading cost if any.
    env = make_env("ghp/CrazyflieHover-v0", nominal=True, start_rest_share=1.0, yaw_weight=0.5)
    env.reset(seed=0)
    rot = env.unwrapped.batch.state.rot[0]
    heading = np.exp(-0.5 * (1.0 - 0.5 * (rot[0, 0] + rot[1, 1])))
    n, info, term, trunc = 0, {}, False, False
    while not (term or trunc):
        _, r, term, trunc, info = env.step(np.full(4, HOVER_ACTION, np.float32))
        n += 1
        assert r == pytest.approx(heading, abs=0.01)
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
        ({"yaw_weight": -0.5}, "yaw_weight must be non-negative"),
        ({"action_weight": -0.1}, "action_weight must be non-negative"),
        ({"action_history": -1}, "action_history must be 0 or more"),
        ({"action_history": 2.5}, "action_history takes a whole number"),
        ({"action_history": "16"}, "action_history takes a whole number"),
        ({"action_history": True}, "action_history takes a whole number"),
        ({"noise_gyro": -0.1}, "noise_gyro is a standard deviation"),
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
    assert vectorised(gym.make("MountainCarContinuous-v0"), 3) is None  # no batched form


def test_reward_forms_and_position_weight() -> None:
    # The same disturbed episode under three rewards: exp(-cost) = exp(r_linear - 1) step by step, and a larger
    # position weight costs exactly (w - 0.5) |e| more per step. Hover's default is exp with a position weight of 8;
    # goto and track keep 2.
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
    heavier, _ = rewards(reward="linear", position_weight=8.0)
    default, _ = rewards()
    np.testing.assert_allclose(default, np.exp(heavier - 1.0), rtol=1e-12)
    np.testing.assert_allclose(heavy - heavier, 6.0 * dist, rtol=1e-5, atol=1e-6)
    assert CrazyflieConfig(task="goto").position_weight == CrazyflieConfig(task="track").position_weight == 2.0
    assert dist.min() > 0.01
    np.testing.assert_allclose(expo, np.exp(linear - 1.0), rtol=1e-12)
    np.testing.assert_allclose(linear - heavy, 1.5 * dist, rtol=1e-5, atol=1e-6)


def test_yaw_weight_costs_the_heading() -> None:
    # A level drone turned by psi about the vertical pays yaw_weight (1 - cos psi) more in the linear cost; tilt alone
    # (pitch theta, yaw 0) pays yaw_weight (1 - cos theta) / 2; weight 0 leaves the heading free.
    from ghp.envs.crazyflie.reward import reward

    def rot_z(psi: float) -> np.ndarray:
        c, s = np.cos(psi), np.sin(psi)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    linear = CrazyflieConfig(reward="linear", yaw_weight=0.0, position_weight=2.0)
    held_cfg = CrazyflieConfig(reward="linear", yaw_weight=0.5, position_weight=2.0)
    psi = np.array([0.0, 0.3, np.pi / 2, np.pi])
    rot = np.stack([rot_z(p) for p in psi])
    zeros3, zeros4, dist = np.zeros((4, 3)), np.zeros((4, 4)), np.full(4, 0.05)
    free = reward(dist, rot, zeros3, zeros3, zeros4, linear)
    held = reward(dist, rot, zeros3, zeros3, zeros4, held_cfg)
    np.testing.assert_allclose(free - held, 0.5 * (1.0 - np.cos(psi)), atol=1e-12)
    np.testing.assert_allclose(free, 1.0 - 2.0 * 0.05, atol=1e-12)
    theta = 0.4
    pitch = np.array([[[np.cos(theta), 0.0, np.sin(theta)], [0.0, 1.0, 0.0], [-np.sin(theta), 0.0, np.cos(theta)]]])
    args = (np.zeros(1), pitch, np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((1, 4)))
    np.testing.assert_allclose(reward(*args, linear) - reward(*args, held_cfg), 0.25 * (1.0 - np.cos(theta)))


def test_the_heading_frame_and_the_error_clip_defaults_by_task() -> None:
    # Hover and goto observe in the heading frame by default (measured: docs/crazyflie-results.md); track keeps the
    # world frame until measured; goto alone clips the observed error (0.3 m); an explicit value wins on every task;
    # no task has a heading cost by default.
    hover, goto, track = (make_env(f"ghp/Crazyflie{t}-v0").unwrapped.config for t in ("Hover", "GoTo", "Track"))
    assert hover.yaw_frame and goto.yaw_frame and not track.yaw_frame
    assert (hover.error_clip, goto.error_clip, track.error_clip) == (0.0, 0.3, 0.0)
    assert (hover.episode_steps, goto.episode_steps, track.episode_steps) == (500, 800, 500)
    assert hover.yaw_weight == goto.yaw_weight == track.yaw_weight == 0.0
    assert not make_env("ghp/CrazyflieHover-v0", yaw_frame=False).unwrapped.config.yaw_frame
    assert CrazyflieConfig(task="goto", yaw_frame=True, yaw_weight=0.5).yaw_weight == 0.5
    with pytest.raises(ValueError, match="yaw_weight must be non-negative"):
        CrazyflieConfig(yaw_weight=-1.0)


def test_runs_record_the_heading_options_and_older_runs_keep_theirs(tmp_path) -> None:
    # A new run records the yaw_weight and yaw_frame it trains with (and a hover run its position_weight); a run saved
    # before the hover's defaults changed records neither (or only yaw_weight) and was trained in the world frame with
    # a position weight of 2, which every stage that reads its config rebuilds.
    from ghp.rl.config import TrainConfig, resolve
    from ghp.run.layout import read_config, spec_and_space, write_config

    hover = {"yaw_weight": 0.0, "yaw_frame": True, "position_weight": 8.0}
    assert resolve(TrainConfig(env_id="ghp/CrazyflieHover-v0")).env_kwargs == hover
    goto = {"yaw_weight": 0.0, "yaw_frame": True, "error_clip": 0.3, "episode_steps": 800}  # goto pins these too
    assert resolve(TrainConfig(env_id="ghp/CrazyflieGoTo-v0")).env_kwargs == goto
    given = {"yaw_weight": 0.25, "action_history": 4}
    got = resolve(TrainConfig(env_id="ghp/CrazyflieHover-v0", env_kwargs=given)).env_kwargs
    assert got == {**given, "yaw_frame": True, "position_weight": 8.0}
    assert resolve(TrainConfig(env_id="Pendulum-v1")).env_kwargs == {}
    spec = {"env_id": "ghp/CrazyflieHover-v0", "obs_dim": OBS_DIM, "act_dim": 4, "action_low": [-1.0] * 4,
            "action_high": [1.0] * 4, "goal_conditioned": False}  # fmt: skip
    old = {"yaw_weight": 0.0, "yaw_frame": True}  # saved after the heading frame, before the position weight
    cases = (
        ({"action_history": 1}, 0.0, False, 2.0),
        ({"yaw_weight": 0.5}, 0.5, False, 2.0),
        (old, 0.0, True, 2.0),
        (hover, 0.0, True, 8.0),
        ({**hover, "position_weight": 4.0}, 0.0, True, 4.0),  # saved while 4 was the default: it keeps its 4
    )
    for i, (kwargs, weight, frame, pw) in enumerate(cases):
        run = tmp_path / str(i)
        run.mkdir()
        train = {"env_id": "ghp/CrazyflieHover-v0", "env_kwargs": dict(kwargs)}
        write_config(run, "r", {"train": train, "env": {**spec, "env_kwargs": dict(kwargs)}, "space": {}})
        cfg = read_config(run)
        for section in ("train", "env"):
            want = {**kwargs, "yaw_weight": weight, "yaw_frame": frame, "position_weight": pw}
            assert cfg[section]["env_kwargs"] == want
        env_spec = spec_and_space(run, {**cfg, "space": {"widths": [8], "depths": [1]}})[0]
        config = env_spec.make().unwrapped.config
        assert (config.yaw_weight, config.yaw_frame, config.position_weight) == (weight, frame, pw)
    # A goto run saved before goto's defaults changed trained in the world frame without a clip; a hover run records
    # no error_clip (its default never changed).
    run = tmp_path / "goto"
    run.mkdir()
    train = {"env_id": "ghp/CrazyflieGoTo-v0", "env_kwargs": {}}
    write_config(run, "r", {"train": train, "env": {**spec, "env_id": "ghp/CrazyflieGoTo-v0"}, "space": {}})
    old_goto = {"yaw_weight": 0.0, "yaw_frame": False, "error_clip": 0.0, "episode_steps": 500}
    assert read_config(run)["train"]["env_kwargs"] == old_goto
    assert "error_clip" not in read_config(tmp_path / "0")["train"]["env_kwargs"]


def test_action_weight_costs_the_action_change() -> None:
    # The squared action change costs action_weight |da|^2; the default (0.02) is every earlier run's reward.
    from ghp.envs.crazyflie.reward import reward

    da = np.array([[0.0, 0.0, 0.0, 0.0], [0.7, -0.7, 0.7, -0.7], [0.1, 0.0, 0.0, 0.0]])
    rot, z3, dist = np.stack([np.eye(3)] * 3), np.zeros((3, 3)), np.full(3, 0.02)
    linear = CrazyflieConfig(reward="linear")
    base = reward(dist, rot, z3, z3, np.zeros((3, 4)), linear)
    default = reward(dist, rot, z3, z3, da, linear)
    heavy = reward(dist, rot, z3, z3, da, CrazyflieConfig(reward="linear", action_weight=0.5))
    np.testing.assert_allclose(base - default, 0.02 * (da**2).sum(1), atol=1e-12)
    np.testing.assert_allclose(base - heavy, 0.5 * (da**2).sum(1), atol=1e-12)
    env_default = make_env("ghp/CrazyflieHover-v0", action_weight=0.02)
    assert env_default.unwrapped.config == make_env("ghp/CrazyflieHover-v0").unwrapped.config


SINGLE_MODULE_NAMES = (
    "POLICY_DT EPISODE_STEPS SUCCESS_RADIUS SUCCESS_STEPS POS_CLIP VEL_CLIP ANGVEL_CLIP OBS_LAYOUT OBS_DIM OBS_CLIP "
    "ACT_DIM INITIAL_ACTION obs_layout obs_clip HOVER_ACTION REWARD_WEIGHTS action_to_forces observe "
    "firmware_observation Range TASKS NOISE_STD CrazyflieConfig sample_params sample_start Track sample_track "
    "CrazyflieBatch CrazyflieEnv CrazyflieVectorEnv ENV_IDS register"
).split()
"""The public names of ``ghp/envs/crazyflie.py`` before it became a package: users import them from the package."""


def test_the_package_keeps_the_single_modules_names_and_the_ids_resolve() -> None:
    from gymnasium.envs.registration import load_env_creator

    assert sorted(cf.__all__) == sorted(SINGLE_MODULE_NAMES)
    for name in cf.__all__:
        owner = getattr(cf, name)
        home = getattr(owner, "__module__", None)
        if home and home.startswith("ghp.envs.crazyflie."):  # a class or function: the owner's own object
            assert getattr(importlib.import_module(home), name) is owner, name
    for env_id in cf.ENV_IDS:
        spec = gym.spec(env_id)
        assert load_env_creator(spec.entry_point) is cf.CrazyflieEnv
        assert load_env_creator(spec.vector_entry_point) is cf.CrazyflieVectorEnv


def test_default_action_history_is_the_previous_action_block() -> None:
    # Backward compatibility: K = 1 (the default) is exactly the 22-value layout saved runs were trained on.
    assert CrazyflieConfig().action_history == 1
    assert cf.obs_layout() == cf.obs_layout(1) == cf.OBS_LAYOUT
    np.testing.assert_array_equal(cf.obs_clip(1), cf.OBS_CLIP)
    assert [e[0] for e in cf.obs_layout(0)] == [e[0] for e in cf.OBS_LAYOUT[:-1]]
    layout = cf.obs_layout(16)
    assert layout[-1][:4] == ("action_history", 18, 64, 1.0) and sum(e[2] for e in layout) == 82


@pytest.mark.parametrize("k", [0, 1, 4])
def test_action_history_holds_the_last_k_actions_oldest_first_and_reset_clears_it(k: int) -> None:
    env = make_env("ghp/CrazyflieHover-v0", action_history=k)
    assert env.observation_space.shape == (18 + 4 * k,)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (18 + 4 * k,) and np.all(obs[18:] == cf.INITIAL_ACTION)
    acts = [np.full(4, 0.1 * (t + 1), np.float32) + np.arange(4, dtype=np.float32) * 0.01 for t in range(6)]
    for t, a in enumerate(acts):
        obs, *_ = env.step(a)
        past = ([np.zeros(4)] * k + acts[: t + 1])[-k:] if k else []
        np.testing.assert_allclose(obs[18:], np.concatenate(past) if k else [], atol=1e-7)
    obs, _ = env.reset(seed=2)
    assert np.all(obs[18:] == 0.0)
    # The state part does not depend on K.
    base, _ = make_env("ghp/CrazyflieHover-v0", action_history=1).reset(seed=2)
    np.testing.assert_array_equal(obs[:18], base[:18])


def test_single_vectorised_and_make_vec_agree_with_an_action_history() -> None:
    n, k = 4, 4
    venv = gym.make_vec("ghp/CrazyflieHover-v0", num_envs=n, vectorization_mode="vector_entry_point", action_history=k)
    assert venv.single_observation_space.shape == (34,)
    single = make_env("ghp/CrazyflieHover-v0", action_history=k)
    batch = vectorised(single, n)  # what ghp evaluate steps
    assert batch is not None and batch.single_observation_space.shape == (34,)
    obs_v, _ = venv.reset(seed=11)
    obs_b = batch.reset_rows(np.arange(n), [11 + i for i in range(n)])
    rng = np.random.default_rng(0)
    acts = rng.uniform(-0.2, 0.6, size=(30, n, 4)).astype(np.float32)
    singles = [make_env("ghp/CrazyflieHover-v0", action_history=k) for _ in range(n)]
    obs_s = np.stack([e.reset(seed=11 + i)[0] for i, e in enumerate(singles)])
    np.testing.assert_array_equal(obs_v, obs_s)
    np.testing.assert_array_equal(obs_b, obs_s)
    for t, a in enumerate(acts):
        obs_v, *_ = venv.step(a)
        obs_b, _, term, trunc, _ = batch.step_batch(a)
        assert not (term.any() or trunc.any())
        obs_s = np.stack([e.step(a[i])[0] for i, e in enumerate(singles)])
        np.testing.assert_allclose(obs_v, obs_s, atol=1e-6)
        np.testing.assert_allclose(obs_b, obs_s, atol=1e-6)
        np.testing.assert_allclose(obs_s[:, -4:], np.clip(a, -1, 1), atol=1e-7)
        if t >= k:
            np.testing.assert_allclose(obs_s[:, 18:22], acts[t - k + 1], atol=1e-7)


def test_observation_noise_stds_options_and_nominal() -> None:
    default = CrazyflieConfig()
    np.testing.assert_allclose(default.noise_std(), [0.002, 0.01, 0.02, 0.02])
    np.testing.assert_allclose(CrazyflieConfig(obs_noise=2.0).noise_std(), [0.004, 0.02, 0.04, 0.04])
    custom = CrazyflieConfig.from_kwargs(noise_position=0.01, noise_gyro="0.05")
    np.testing.assert_allclose(custom.noise_std(), [0.01, 0.01, 0.02, 0.05])
    assert not CrazyflieConfig.from_kwargs(nominal=True, noise_position=0.01).noise_std().any()

    # Measured on the observation: a drone held still, observed many times, scatters by the configured deviations;
    # nominal observes it exactly.
    def scatter(**kw: object) -> np.ndarray:  # [2000, 22] observations of one still state
        batch = cf.CrazyflieBatch(1, CrazyflieConfig(start_rest_share=1.0, **kw))  # type: ignore[arg-type]
        batch.reset([0], [5])
        seen = []
        for step in range(2000):
            batch.steps[:] = step
            if step % _NOISE_BLOCK == 0:
                batch._refill(0)
            seen.append(batch.observe()[0])
        return np.array(seen, np.float64)

    sd = np.std(scatter(noise_position=0.01, noise_velocity=0.05, noise_gyro=0.03), axis=0)
    np.testing.assert_allclose(sd[0:3], 0.01, rtol=0.1)
    np.testing.assert_allclose(sd[12:15], 0.05, rtol=0.1)
    np.testing.assert_allclose(sd[15:18], 0.03, rtol=0.1)
    assert not np.ptp(scatter(nominal=True), axis=0).any()
    assert not np.ptp(scatter(obs_noise=0.0), axis=0).any()


def test_the_position_integral_block_accumulates_the_error_and_batches_as_single() -> None:
    """position_integral=T: three values between the state and the actions, zero at reset, the leaky integral of the
    position error after each step, the same in single, vectorised and batched forms; K's block stays last."""
    n, k, tau = 3, 2, 2.0
    kw = {"position_integral": tau, "action_history": k, "obs_noise": 0.0, "yaw_frame": False}
    assert CrazyflieConfig.from_kwargs(**kw).obs_dim == 18 + 3 + 4 * k
    assert [b[0] for b in cf.obs_layout(k, True)][-2:] == ["position_integral", "action_history"]
    singles = [make_env("ghp/CrazyflieHover-v0", **kw) for _ in range(n)]
    assert singles[0].observation_space.shape == (18 + 3 + 4 * k,)
    batch = vectorised(make_env("ghp/CrazyflieHover-v0", **kw), n)
    obs_s = np.stack([e.reset(seed=21 + i)[0] for i, e in enumerate(singles)])
    np.testing.assert_array_equal(batch.reset_rows(np.arange(n), [21 + i for i in range(n)]), obs_s)
    assert not obs_s[:, 18:21].any()
    want = np.zeros((n, 3))
    a = np.full((n, 4), HOVER_ACTION, np.float32)
    for _ in range(20):
        obs_b, _, term, trunc, _ = batch.step_batch(a)
        obs_s = np.stack([e.step(a[i])[0] for i, e in enumerate(singles)])
        assert not (term.any() or trunc.any())
        want = want * (1 - 0.01 / tau) + obs_s[:, 0:3].astype(np.float64) * 0.01  # noise off: observed = true error
        np.testing.assert_allclose(obs_s[:, 18:21], want, atol=1e-6)
        np.testing.assert_allclose(obs_b, obs_s, atol=1e-6)
        np.testing.assert_allclose(obs_s[:, -4:], a, atol=1e-7)
    assert np.abs(obs_s[:, 18:21]).max() > 1e-3  # it moved: not a comparison of zeros
    with pytest.raises(ValueError, match="position_integral is a time constant"):
        CrazyflieConfig.from_kwargs(position_integral=-1)


def test_the_firmware_layout_carries_the_position_integral_block() -> None:
    from export.crazyflie.layout import integral_c, task_layout

    layout = task_layout({"position_integral": 2.0})
    assert [b.name for b in layout.blocks][-2:] == ["position_integral", "previous_action"] and layout.obs_dim == 25
    assert layout.position_integral == 2.0 and "ghpIntegral[k] * 0.995000005f" in integral_c(layout)
    assert "No position_integral" in integral_c(task_layout())
    assert task_layout().yaw_frame and not task_layout({"yaw_frame": False}).yaw_frame  # built by the app


def test_the_yaw_frame_observes_every_heading_alike() -> None:
    # A state turned about the vertical by psi (error, attitude, velocity and integral turned, body rates and actions
    # unchanged) observes the same in the heading frame, and differently in the world frame.
    from ghp.envs import quadrotor as qr
    from ghp.envs.crazyflie.interface import observe

    rng = np.random.default_rng(4)
    n = 6
    err, vel, omega, integral = (rng.normal(0, 0.3, (n, 3)) for _ in range(4))
    rot = qr.expm_so3(rng.normal(0, 0.5, (n, 3)))
    acts = rng.uniform(-1, 1, (n, 4))
    psi = rng.uniform(-np.pi, np.pi, n)
    turn = np.zeros((n, 3, 3))
    turn[:, 0, 0], turn[:, 0, 1], turn[:, 1, 0], turn[:, 1, 1], turn[:, 2, 2] = (
        np.cos(psi), -np.sin(psi), np.sin(psi), np.cos(psi), 1.0)  # fmt: skip

    def turned(x: np.ndarray) -> np.ndarray:
        return np.einsum("nij,nj->ni", turn, x)

    plain = observe(err, rot, vel, omega, acts, integral, yaw_frame=True)
    moved = observe(turned(err), turn @ rot, turned(vel), omega, acts, turned(integral), yaw_frame=True)
    np.testing.assert_allclose(moved, plain, atol=2e-6)
    assert (
        np.abs(observe(turned(err), turn @ rot, turned(vel), omega, acts) - observe(err, rot, vel, omega, acts)).max()
        > 0.01
    )
    rot_obs = plain[:, 3:12].reshape(n, 3, 3)
    np.testing.assert_allclose(rot_obs[:, 1, 0], 0.0, atol=1e-6)  # no heading left
    env = make_env("ghp/CrazyflieHover-v0", yaw_frame=True)
    assert env.unwrapped.config.yaw_frame and env.reset(seed=0)[0].shape == (OBS_DIM,)
    with pytest.raises(ValueError, match="yaw_frame must be true or false"):
        CrazyflieConfig.from_kwargs(yaw_frame="yes")


def test_error_clip_shortens_the_observed_error_and_nothing_else() -> None:
    # error_clip=r: a GoTo target 1 m away is observed r away in its direction; a near one (and the reward, the
    # success, everything else observed) is unchanged.
    r = 0.3
    kw = {"obs_noise": 0.0, "yaw_frame": False}
    plain = make_env("ghp/CrazyflieGoTo-v0", error_clip=0.0, **kw)
    clipped = make_env("ghp/CrazyflieGoTo-v0", error_clip=r, **kw)
    for seed in range(5):
        a, b = plain.reset(seed=seed)[0], clipped.reset(seed=seed)[0]
        e = a[:3].astype(np.float64)
        assert np.linalg.norm(b[:3]) == pytest.approx(min(np.linalg.norm(e), r), rel=1e-5)
        np.testing.assert_allclose(b[:3] / np.linalg.norm(b[:3]), e / np.linalg.norm(e), atol=1e-5)
        np.testing.assert_array_equal(a[3:], b[3:])
        act = np.full(4, HOVER_ACTION, np.float32)
        oa, ra, *_ = plain.step(act)
        ob, rb, *_ = clipped.step(act)
        assert ra == rb and np.array_equal(oa[3:], ob[3:])
    near = make_env("ghp/CrazyflieHover-v0", error_clip=1.0, **kw)
    np.testing.assert_array_equal(near.reset(seed=3)[0], make_env("ghp/CrazyflieHover-v0", **kw).reset(seed=3)[0])
    with pytest.raises(ValueError, match="error_clip must be non-negative"):
        CrazyflieConfig.from_kwargs(error_clip=-0.1)
