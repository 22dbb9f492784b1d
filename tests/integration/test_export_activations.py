"""Every hidden activation x every export target computes the policy it exports (``PolicyWeights.act``).

The ONNX export once emitted ``Relu`` whatever the policy's activation, and ``--target numpy`` dropped the
activation from the file: a tanh policy (chromatic runs, their tuned files) exported as another function. Here each
target's artefact is run by its own consumer (gcc, onnxruntime, ``numpy.load``, the firmware controller in the
loop) and compared with the policy's reference actions.
"""

import shutil

import numpy as np
import pytest

from export.api import ExportConfig, export_policy
from export.reference import check_tolerance, forward, quantize_int8
from ghp.policy.weights import ACTIVATIONS, PolicyWeights
from tests.unit.test_export import policy

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="missing gcc (Debian package gcc)")


def _policy(activation: str, arch: str = "8-4", obs: int = 5, act: int = 2, **kw) -> PolicyWeights:
    w = policy(arch, obs=obs, act=act, **kw)
    # Large first-layer weights drive tanh into saturation, where it differs most from relu.
    layers = ((w.layers[0][0] * np.float32(3), w.layers[0][1]), *w.layers[1:])
    return PolicyWeights(w.arch, layers, w.action_low, w.action_high, activation)


def _obs(n: int = 40, dim: int = 5) -> np.ndarray:
    return np.random.default_rng(1).uniform(-2, 2, (n, dim)).astype(np.float32)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_activations_give_different_policies(activation):
    # The matrix below would prove nothing if relu and tanh computed the same function on these inputs.
    other = "relu" if activation == "tanh" else "tanh"
    a, b = _policy(activation).act(_obs()), _policy(other).act(_obs())
    assert np.max(np.abs(a - b)) > 0.1


@needs_gcc
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "int8", "codebook"])
def test_c_header(activation, dtype, tmp_path, host_c):
    w = _policy(activation)
    cfg = ExportConfig(out=tmp_path, name="pol", dtype=dtype, colors=16 if dtype == "codebook" else None)
    result = export_policy(w, cfg)
    obs = _obs()
    tokens = host_c("pol", obs, 'printf("%.9g %.9g\\n", (double)a[0], (double)a[1]);')
    got = np.array([float(v) for v in tokens], np.float32).reshape(len(obs), 2)
    want = w.act(obs)
    if dtype == "float32":
        np.testing.assert_allclose(got, want, atol=check_tolerance(w, 1e-6, obs), rtol=0)
        return
    if dtype == "int8":
        np.testing.assert_allclose(got, forward(w, obs, quantize_int8(w)), atol=2e-6, rtol=0)
        err = result.int8_max_err
    else:
        err = result.codebook_max_err
    # Rounded weights stay close to the policy, far closer than the other activation's function.
    assert err is not None and float(np.max(np.abs(got - want))) < max(0.25, 2 * err)


@needs_gcc
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_c_check_passes_on_host(activation, tmp_path):
    result = export_policy(_policy(activation), ExportConfig(out=tmp_path, check=True, qemu=False))
    assert result.check is not None and result.check.ok, result.check


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnx(activation, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from export.onnx import run_onnx

    w = _policy(activation)
    result = export_policy(w, ExportConfig(out=tmp_path, name="pol", target="onnx", check=True))
    obs = _obs()
    np.testing.assert_allclose(run_onnx(result.files[0], obs), w.act(obs), atol=check_tolerance(w, 1e-6, obs))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy(activation, tmp_path):
    w = _policy(activation)
    result = export_policy(w, ExportConfig(out=tmp_path, name="pol", target="numpy", check=True))
    path = result.files[0]
    with np.load(path, allow_pickle=False) as z:
        assert str(z["activation"]) == activation  # read by anyone, not only by ghp
    back = PolicyWeights.from_npz(path)
    assert back.activation == activation
    np.testing.assert_array_equal(back.act(_obs()), w.act(_obs()))
    again = export_policy(w, ExportConfig(out=tmp_path / "again", name="pol", target="numpy"))
    assert again.files[0].read_bytes() == path.read_bytes()  # byte-stable


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_policy_file_with_provenance(activation, tmp_path):
    from ghp.policy.file import load_policy, save_policy

    w = _policy(activation)
    save_policy(tmp_path / "p.npz", w, {"method": "test"})
    pf = load_policy(tmp_path / "p.npz")
    assert pf.weights.activation == activation and pf.provenance == {"method": "test"}
    np.testing.assert_array_equal(pf.weights.act(_obs()), w.act(_obs()))


@needs_gcc
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_crazyflie_controller_flies_like_the_policy(activation, tmp_path):
    from export.crazyflie.firmware import find_firmware
    from export.crazyflie.layout import task_layout
    from export.crazyflie.sil import ACTION_TOL, build_library, fly

    firmware, where = find_firmware()
    if firmware is None:
        pytest.skip(where)
    env = "ghp/CrazyflieHover-v0"
    w = _policy(activation, "16-16", obs=22, act=4, seed=3, low=-1.0, high=1.0)
    export_policy(w, ExportConfig(out=tmp_path / "app", target="crazyflie"), env, ("test policy",))
    lib, warnings = build_library(tmp_path / "app", firmware, "policy", tmp_path / "libghp_sil.so")
    assert warnings == "", warnings
    report = fly(w, task_layout(), lib, env, 2, seed=0, env_kwargs={"episode_steps": 40})
    assert report.ok, report.summary()
    assert report.max_action_diff <= ACTION_TOL and report.steps > 3
