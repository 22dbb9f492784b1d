"""Physics of the Crazyflie model: checks that would catch a sign, unit or frame error."""

from __future__ import annotations

import numpy as np
import pytest

from ghp.envs import quadrotor as qr
from ghp.envs.crazyflie import (
    HOVER_ACTION,
    OBS_CLIP,
    OBS_DIM,
    OBS_LAYOUT,
    CrazyflieBatch,
    CrazyflieConfig,
    action_to_forces,
    firmware_observation,
)

DT = 0.01


def _still(n: int = 1) -> tuple[qr.State, qr.Params]:
    s = qr.State.zeros(n)
    s.rotor[:] = np.sqrt(qr.HOVER_FORCE)
    return s, qr.Params.nominal(n)


def test_constants_match_the_firmware() -> None:
    assert qr.HOVER_FORCE == pytest.approx(0.029 * 9.81 / 0.48)
    assert HOVER_ACTION == pytest.approx(2 * 0.029 * 9.81 / (4 * 0.12) - 1, abs=1e-12)
    assert HOVER_ACTION == pytest.approx(0.185, abs=1e-3)
    assert qr.ARM == pytest.approx(0.0325, abs=1e-4)
    assert qr.NOMINAL_THRUST_TO_WEIGHT == pytest.approx(1.687, abs=1e-3)


def test_nominal_hover_holds_still() -> None:
    s, p = _still()
    cmd = action_to_forces(np.full((1, 4), HOVER_ACTION))
    for _ in range(100):
        qr.step(s, p, cmd, DT, 5)
    assert np.linalg.norm(s.pos[0]) < 1e-3
    assert np.abs(s.rot[0] - np.eye(3)).max() < 1e-9


def test_zero_thrust_falls_as_g_t2_over_2() -> None:
    s, p = _still()
    s.rotor[:] = 0.0
    for _ in range(100):
        qr.step(s, p, np.zeros((1, 4)), DT, 5)
    assert s.pos[0, 2] == pytest.approx(-0.5 * qr.G * 1.0**2, rel=1e-9)
    assert s.vel[0, 2] == pytest.approx(-qr.G, rel=1e-9)
    assert np.abs(s.pos[0, :2]).max() < 1e-12


def test_below_thrust_min_the_motor_is_off() -> None:
    low = qr.THRUST_MIN / qr.THRUST_MAX
    assert qr.motor_target(np.array([[0.99 * low, 1.01 * low, 0.0, 1.0]])).tolist()[0][0] == 0.0
    assert qr.motor_target(np.array([[1.01 * low]]))[0, 0] == pytest.approx(np.sqrt(1.01 * low))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_mixer_torque_rotates_the_right_way(axis: int) -> None:
    """A positive torque on a body axis, through the firmware's mixer formulas, spins the drone positively about it."""
    torque = [0.0, 0.0, 0.0]
    torque[axis] = 2e-4
    forces = qr.mixer(qr.CF_MASS * qr.G, (torque[0], torque[1], torque[2]))
    # The model's wrench of those forces is the commanded one: signs and lever arms agree with the firmware's.
    thrust, tau = qr.body_wrench(forces[None, :], np.array([qr.THRUST2TORQUE]))
    assert thrust[0] == pytest.approx(qr.CF_MASS * qr.G)
    assert tau[0] == pytest.approx(np.array(torque), abs=1e-12)
    s, p = _still()
    s.rotor[0] = np.sqrt(forces / qr.THRUST_MAX)
    cmd = forces[None, :] / qr.THRUST_MAX
    for _ in range(5):
        qr.step(s, p, cmd, DT, 5)
    assert s.omega[0, axis] > 0.1
    others = [k for k in range(3) if k != axis]
    assert np.abs(s.omega[0, others]).max() < 1e-6 * s.omega[0, axis] + 1e-9
    # A positive roll (about x) tips body y upward; a positive pitch tips body x downward; yaw turns x toward y.
    r = s.rot[0]
    if axis == 0:
        assert r[2, 1] > 0
    elif axis == 1:
        assert r[2, 0] < 0
    else:
        assert r[1, 0] > 0


def test_motor_order_positions() -> None:
    """M1..M4 at (+x,-y), (-x,-y), (-x,+y), (+x,+y): thrust on M3+M4 alone (the +y side) rolls positive."""
    f = np.array([[0.0, 0.0, 0.1, 0.1]])
    _, tau = qr.body_wrench(f, np.array([qr.THRUST2TORQUE]))
    assert tau[0, 0] > 0 and abs(tau[0, 1]) < 1e-15
    f = np.array([[0.1, 0.0, 0.0, 0.1]])  # front motors M1, M4: nose up = negative pitch about FLU y
    _, tau = qr.body_wrench(f, np.array([qr.THRUST2TORQUE]))
    assert tau[0, 1] < 0 and abs(tau[0, 0]) < 1e-15


@pytest.mark.parametrize(("start", "end", "tau"), [(0.0, 1.0, qr.MOTOR_TAU_UP), (1.0, 0.2, qr.MOTOR_TAU_DOWN)])
def test_motor_lag_time_constants(start: float, end: float, tau: float) -> None:
    """After one time constant a rotor has covered 1 - 1/e of a step (rising 0.055 s, falling 0.25 s)."""
    s, p = _still()
    s.rotor[:] = start
    target = np.sqrt(end)
    h = 0.001
    for _ in range(round(tau / h)):
        qr.step(s, p, np.full((1, 4), end), h, 1)
    covered = (s.rotor[0, 0] - start) / (target - start)
    assert covered == pytest.approx(1 - np.exp(-1), abs=2e-3)


def test_rotation_stays_orthonormal() -> None:
    s, p = _still()
    s.omega[0] = [20.0, -13.0, 7.0]
    # 50 s of tumbling under torques that keep changing sign (bounded body rates, every axis excited).
    for t in range(5000):
        wave = np.sin(np.array([0.05, 0.07, 0.03, 0.11]) * t + np.array([0.0, 1.0, 2.0, 3.0]))
        qr.step(s, p, action_to_forces(wave[None, :]), DT, 5)
    assert np.abs(s.omega[0]).max() > 1.0
    r = s.rot[0]
    assert np.abs(r.T @ r - np.eye(3)).max() < 1e-12
    assert np.linalg.det(r) == pytest.approx(1.0, abs=1e-12)


def test_quaternion_round_trip_and_firmware_observation() -> None:
    rng = np.random.default_rng(0)
    rot = qr.random_rotation(rng, 16, 1.2)
    assert np.allclose(qr.quat_to_rot(qr.rot_to_quat(rot)), rot, atol=1e-12)
    # 90 degrees about z (x, y, z, w): body x points to world y.
    q = np.array([0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    obs = firmware_observation([1.0, 2.0, 3.5], [0.1, 0.2, 0.3], q, [90.0, 0.0, -180.0], [1.0, 2.0, 3.0], [0.5] * 4)
    assert obs.shape == (OBS_DIM,) and obs.dtype == np.float32
    assert obs[0:3] == pytest.approx([0.0, 0.0, 0.5])
    assert obs[3:12].reshape(3, 3) @ np.array([1.0, 0.0, 0.0]) == pytest.approx([0.0, 1.0, 0.0], abs=1e-6)
    assert obs[15:18] == pytest.approx([np.pi / 2, 0.0, -np.pi], rel=1e-6)
    assert obs[18:22] == pytest.approx([0.5] * 4)
    far = firmware_observation([9.0, 0, 0], [9.0, 0, 0], q, [9000.0, 0, 0], [0, 0, 0], [0] * 4)
    assert far[0] == OBS_CLIP[0] and far[12] == OBS_CLIP[12] and far[15] == OBS_CLIP[15]
    assert sum(size for _, _, size, _, _, _ in OBS_LAYOUT) == OBS_DIM


@pytest.mark.parametrize("nominal", [True, False])
def test_batched_equals_single(nominal: bool) -> None:
    cfg = CrazyflieConfig(task="hover", nominal=nominal)
    n = 6
    seeds = [100 + i for i in range(n)]
    batch = CrazyflieBatch(n, cfg)
    obs_b = [batch.reset(np.arange(n), seeds)]
    rng = np.random.default_rng(1)
    acts = rng.uniform(-0.3, 0.6, size=(120, n, 4))
    out_b = []
    for a in acts:
        o, r, te, tr, su = batch.step(a)
        obs_b.append(o)
        out_b.append(r)
    for i in range(n):
        one = CrazyflieBatch(1, cfg)
        o = one.reset([0], [seeds[i]])
        assert np.allclose(o[0], obs_b[0][i], atol=1e-6)
        for t, a in enumerate(acts):
            o, r, *_ = one.step(a[i : i + 1])
            assert np.allclose(o[0], obs_b[t + 1][i], atol=1e-5)
            assert r[0] == pytest.approx(out_b[t][i], abs=1e-9)


def test_a_diverged_drone_steps_quietly_and_finitely() -> None:
    import warnings

    batch = CrazyflieBatch(2, CrazyflieConfig(task="hover", nominal=True))
    batch.reset(np.arange(2), [1, 2])
    batch.state.omega[1] = 1e160  # a drone left to tumble after its episode ended
    batch.state.vel[1] = 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            obs, reward, terminated, _, _ = batch.step(np.zeros((2, 4)))
            assert np.isfinite(obs).all() and np.isfinite(reward).all()
            assert terminated.tolist() == [False, True]
