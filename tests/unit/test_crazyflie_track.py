"""``ghp/CrazyflieTrack-v0``: the moving setpoint, its feed-forward velocity, success and the firmware mirror."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ghp  # noqa: F401  (registers the ids)
from ghp.envs import crazyflie as cf
from ghp.envs import quadrotor as qr
from ghp.envs.crazyflie import HOVER_ACTION, OBS_DIM, POLICY_DT, CrazyflieConfig, CrazyflieEnv, CrazyflieVectorEnv

ID = "ghp/CrazyflieTrack-v0"


def test_registered_with_the_hover_layout_and_a_start_on_the_reference() -> None:
    env = gym.make(ID, nominal=True, start_rest_share=1.0)
    assert env.unwrapped.config.task == "track" and env.observation_space.shape == (OBS_DIM,)
    obs, _ = env.reset(seed=4)
    b = env.unwrapped.batch
    # On the path's first point, moving with it: no position or velocity error, yet the drone moves.
    assert np.all(obs[0:3] == 0) and np.all(obs[12:15] == 0)
    assert np.linalg.norm(b.state.vel[0]) > 0.05 and np.array_equal(b.state.vel[0], b.target_vel[0])


def test_the_reference_is_a_closed_figure_eight_whose_velocity_is_its_derivative() -> None:
    cfg = CrazyflieConfig(task="track")
    rng = np.random.default_rng(0)
    for _ in range(20):
        tr = cf.sample_track(cfg, rng, np.array([0.3, -0.2, 1.0]))
        period = 2 * np.pi / tr.omega[0]
        assert 4.0 <= period <= 8.0 and 0.3 <= tr.amplitude[0] <= 0.6
        t = np.linspace(0, period, 2001)
        p, v = tr.at(t)
        np.testing.assert_allclose(p[-1], p[0], atol=1e-12)  # one lap closes
        np.testing.assert_allclose(p[:, 2], 1.0)
        span = np.linalg.norm(p - tr.centre, axis=1).max()
        assert tr.amplitude[0] * 0.99 <= span <= tr.amplitude[0] * np.sqrt(1.25) + 1e-9
        fd = np.gradient(p, t, axis=0)
        np.testing.assert_allclose(v[1:-1], fd[1:-1], atol=1e-3 * tr.amplitude[0] * tr.omega[0] ** 2 * period)


def test_the_observation_is_the_error_to_the_moving_setpoint_and_the_firmware_mirror_agrees() -> None:
    env = CrazyflieEnv(task="track", obs_noise=0.0)
    obs, _ = env.reset(seed=11)
    b = env.batch
    rng = np.random.default_rng(1)
    for k in range(120):
        s = b.state
        fw = cf.firmware_observation(
            s.pos[0],
            s.vel[0],
            qr.rot_to_quat(s.rot[0]),
            np.degrees(s.omega[0]),
            b.target[0],
            b.history[0],
            target_velocity=b.target_vel[0],
        )
        np.testing.assert_allclose(fw, obs, atol=2e-6)
        want_p, want_v = b.track.at(np.array([k * POLICY_DT]))
        np.testing.assert_allclose(b.target[0], want_p[0], atol=1e-12)
        np.testing.assert_allclose(b.target_vel[0], want_v[0], atol=1e-12)
        obs, _, term, trunc, info = env.step(np.clip(HOVER_ACTION + 0.1 * rng.standard_normal(4), -1, 1))
        assert info["tracking_error"] == pytest.approx(np.linalg.norm(b.state.pos[0] - b.target[0]))
        if term or trunc:
            break
    assert k > 30
    # Without the setpoint's velocity the mirror is the hover observation: the velocity entry is the raw velocity.
    plain = cf.firmware_observation(
        s.pos[0], s.vel[0], qr.rot_to_quat(s.rot[0]), np.degrees(s.omega[0]), b.target[0], b.history[0]
    )
    np.testing.assert_allclose(plain[12:15], np.clip(s.vel[0], -4, 4), atol=1e-6)


def test_single_and_vectorised_agree() -> None:
    venv = CrazyflieVectorEnv(num_envs=3, task="track")
    vobs = venv.reset_rows(np.arange(3), [5, 6, 7])
    envs = [CrazyflieEnv(task="track") for _ in range(3)]
    sobs = [e.reset(seed=s)[0] for e, s in zip(envs, [5, 6, 7], strict=True)]
    np.testing.assert_array_equal(vobs, np.stack(sobs))
    rng = np.random.default_rng(3)
    for _ in range(50):
        a = np.clip(HOVER_ACTION + 0.1 * rng.standard_normal((3, 4)), -1, 1)
        vo, vr, *_ = venv.step_batch(a)
        for i, e in enumerate(envs):
            o, r, *_ = e.step(a[i])
            np.testing.assert_array_equal(vo[i], o)
            assert vr[i] == pytest.approx(r, rel=1e-12)


def _teleport(offset: float) -> Any:
    """A stand-in for the physics that puts the drone ``offset`` m beside where the setpoint will be next."""

    def step(state: qr.State, params: qr.Params, forces: np.ndarray, dt: float, substeps: int) -> None:
        batch = _teleport.batch  # type: ignore[attr-defined]
        p, v = batch.track.at((batch.steps + 1) * POLICY_DT)
        state.pos[:] = p + np.array([offset, 0.0, 0.0])
        state.vel[:] = v

    return step


@pytest.mark.parametrize(("offset", "success"), [(0.05, True), (0.15, False)])
def test_success_is_holding_the_moving_setpoint_within_the_radius(monkeypatch, offset: float, success: bool) -> None:
    env = CrazyflieEnv(task="track", nominal=True)
    env.reset(seed=2)
    _teleport.batch = env.batch  # type: ignore[attr-defined]
    monkeypatch.setattr(qr, "step", _teleport(offset))
    errs = []
    while True:
        _, r, term, trunc, info = env.step(np.full(4, HOVER_ACTION, np.float32))
        errs.append(info["tracking_error"])
        if term or trunc:
            break
    assert trunc and not term and info["is_success"] is success
    np.testing.assert_allclose(errs, offset, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"track_period_range": (0.0, 4.0)}, "track_period_range"),
        ({"track_amplitude_range": (0.3, 1.5)}, "track_amplitude_range"),
        ({"track_heading_range": (90.0, 0.0)}, "track_heading_range"),
        ({"track_phase_range": "x"}, "track_phase_range"),
    ],
)
def test_bad_track_options_are_one_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gym.make(ID, **kwargs)


def test_fixed_path_options_parse_from_the_command_line_forms() -> None:
    c = CrazyflieConfig.from_kwargs(task="track", track_amplitude_range=0.5, track_period_range=[6, 6])
    assert c.track_amplitude_range == (0.5, 0.5) and c.track_period_range == (6.0, 6.0)
    assert c.start_pos == 0.1 and c.term_pos == 1.0
    # The path's options do not constrain the other tasks' own.
    assert CrazyflieConfig(task="hover", term_pos=0.5).term_pos == 0.5
