"""Pure parts of the export: literals, names, rendering, references, int8 quantisation (no compiler)."""

import re

import numpy as np
import pytest

import ghp
from export.api import ExportConfig, export_policy
from export.c import CSpec, c_float, check_name, render
from export.reference import check_tolerance, forward, pre_activations, quantize_int8, torch_actions
from export.vectors import test_vectors as make_vectors
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import parse_arch
from ghp.space.counting import deploy_bytes, layer_shapes


def policy(arch: str, obs: int = 5, act: int = 2, seed: int = 0, low: float = -2.0, high: float = 2.0) -> PolicyWeights:
    rng = np.random.default_rng(seed)
    layers = [
        (rng.standard_normal((o, i)) / np.sqrt(i), rng.standard_normal(o) * 0.1)
        for i, o in layer_shapes(parse_arch(arch), obs, act)
    ]
    return PolicyWeights.from_arrays(arch, layers, np.full(act, low), np.full(act, high))


def test_float_literals_round_trip_bit_for_bit():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    special = np.array([0.0, -0.0, 1.0, -3.0, 1e-45, 3.4028235e38, -1.1754944e-38, 0.1, 1e10], np.float32)
    for v in np.concatenate([values, special]):
        s = c_float(v)
        assert s.endswith("f") and ("." in s or "e" in s), s
        assert np.float32(float(s[:-1])).view(np.uint32) == v.view(np.uint32)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_literals_are_refused(bad):
    with pytest.raises(ValueError, match="non-finite"):
        c_float(bad)


@pytest.mark.parametrize("name", ["policy", "hopper_500", "P2", "a"])
def test_valid_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["int", "static", "bool", "_policy", "__x", "2fast", "my-policy", "", "a b", "main"])
def test_invalid_names(name):
    with pytest.raises(ValueError, match="--name"):
        check_name(name)


def spec_for(p: PolicyWeights, dtype: str = "float32", name: str = "policy") -> CSpec:
    tv = make_vectors(p, None, 4)
    int8 = quantize_int8(p) if dtype == "int8" else None
    return CSpec(name, p, dtype, int8, tv.obs, forward(p, tv.obs, int8), tv.labels)


@pytest.mark.parametrize("target", ["c-header", "c-source"])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_render_is_deterministic_and_has_the_banner(target, dtype):
    p = policy("8-4-4-4")
    a = render(spec_for(p, dtype), target)
    b = render(spec_for(p, dtype), target)
    assert a == b
    assert set(a) == ({"policy.h"} if target == "c-header" else {"policy.h", "policy.c"})
    text = "\n".join(a.values())
    assert f"ghp {ghp.__version__}" in text and "8-4-4-4" in text
    assert f"parameters    {p.n_params} ({dtype}: {deploy_bytes(p.arch, 5, 2, dtype)} bytes" in text
    assert ("and scales" in text) == (dtype == "int8")
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text)  # no timestamp
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for banned in ("malloc", "printf", "stdio", "double", "alloca"):
        assert banned not in code
    assert "#define POLICY_OBS_DIM 5" in text and "POLICY_NO_SELFTEST" in text
    assert "void policy_act(const float obs[POLICY_OBS_DIM], float act[POLICY_ACT_DIM])" in text
    assert "int policy_selftest(float tol)" in text


def test_banner_lines_cannot_close_the_comment():
    p = policy("4")
    spec = spec_for(p)
    evil = CSpec(spec.name, p, test_obs=spec.test_obs, test_act=spec.test_act, source=("run x */ int y;\nz",))
    text = render(evil)["policy.h"]
    assert "x * / int y; z" in text and text.count("*/") == render(spec)["policy.h"].count("*/")


def test_int8_rows_follow_the_byte_rule_and_stay_close():
    p = policy("16-8", obs=6, act=3)
    q = quantize_int8(p)
    for (w, _), layer in zip(p.layers, q, strict=True):
        assert layer.q.dtype == np.int8 and np.abs(layer.q.astype(int)).max() == 127
        assert np.all(np.abs(layer.q * layer.scale[:, None] - w) <= layer.scale[:, None] / 2 + 1e-7)
    stored = sum(layer.q.size + 4 * layer.scale.size + 4 * layer.b.size for layer in q)
    assert stored == deploy_bytes(p.arch, 6, 3, "int8")
    obs = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
    err = np.abs(forward(p, obs, q) - forward(p, obs)).max()
    assert 0 < err < 0.1


def test_reference_matches_policy_and_torch():
    for arch in ["linear", "4", "8-4-4-4", "32-32"]:
        p = policy(arch, low=-1.0, high=3.0)
        obs = np.random.default_rng(2).standard_normal((10, 5)).astype(np.float32)
        np.testing.assert_allclose(forward(p, obs), p.act(obs), atol=1e-6)
        np.testing.assert_allclose(forward(p, obs), torch_actions(p, obs), atol=check_tolerance(p))
        assert pre_activations(p, obs).shape == (10, 2)
    assert check_tolerance(policy("4", low=-1.0, high=3.0)) == pytest.approx(2e-6)


def test_vectors_without_env_include_edge_cases():
    tv = make_vectors(policy("4"), None, 5)
    assert tv.obs.shape == (9, 5) and tv.obs.dtype == np.float32 and len(tv.labels) == 9  # 5 random + 4 distinct edges
    assert "zeros" in tv.labels and np.all(tv.obs[tv.labels.index("zeros")] == 0)


def test_config_and_weights_are_validated(tmp_path):
    with pytest.raises(ValueError, match="C targets"):
        ExportConfig(out=tmp_path, target="onnx", dtype="int8")
    with pytest.raises(ValueError, match="target"):
        ExportConfig(out=tmp_path, target="rust")
    with pytest.raises(ValueError, match="reserved"):
        ExportConfig(out=tmp_path, name="void")
    p = policy("4")
    w = p.layers[0][0].copy()
    w[0, 0] = np.nan
    bad = PolicyWeights(p.arch, ((w, p.layers[0][1]), p.layers[1]), p.action_low, p.action_high)
    with pytest.raises(ValueError, match="NaN or Inf"):
        export_policy(bad, ExportConfig(out=tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_unwritable_out_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="output directory"):
        export_policy(policy("4"), ExportConfig(out=blocker / "sub"))


def test_check_tolerance_covers_float32_round_off_of_large_hidden_units():
    # Two hidden units of ~1e4 that cancel in the output: float32 loses ~1e-3 there whichever order it sums in, so a
    # fixed 1e-6 would fail a correct build. With the vectors, the tolerance covers torch's own distance from float64
    # (times ROUNDOFF_FACTOR) and stays at the fixed floor for an ordinary policy.
    from export.reference import ROUNDOFF_FACTOR, float64_actions

    w1 = np.array([[1e4 + 0.37], [1e4]])
    layers = [(w1, np.zeros(2)), (np.array([[1.0, -1.0]]), np.zeros(1))]
    p = PolicyWeights.from_arrays("2", layers, np.full(1, -1.0), np.full(1, 1.0))
    obs = np.linspace(0.1, 0.9, 9, dtype=np.float32)[:, None]
    gain = float(np.float32(1e4 + 0.37)) - 1e4  # the weights are stored as float32
    np.testing.assert_allclose(float64_actions(p, obs)[:, 0], np.tanh(gain * obs[:, 0].astype(np.float64)), rtol=1e-12)
    spread = float(np.max(np.abs(torch_actions(p, obs) - float64_actions(p, obs))))
    assert spread > 1e-5
    assert check_tolerance(p, 1e-6, obs) == pytest.approx(ROUNDOFF_FACTOR * spread)
    assert check_tolerance(p, 1e-6, obs) < 0.05  # still far below a wrong mapping's error
    # An ordinary policy: the fixed floor (1e-6 x the half range 2) without vectors; with them, the floor or this
    # machine's own torch round-off (BLAS kernels sum in different orders on different CPUs: 2.5e-6 was seen on one),
    # always far below a wrong mapping's error.
    ordinary = policy("16-16")
    vectors = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    assert check_tolerance(ordinary, 1e-6) == 2e-6
    here = float(np.max(np.abs(torch_actions(ordinary, vectors) - float64_actions(ordinary, vectors))))
    assert check_tolerance(ordinary, 1e-6, vectors) == pytest.approx(max(2e-6, ROUNDOFF_FACTOR * here))
    assert 2e-6 <= check_tolerance(ordinary, 1e-6, vectors) < 1e-4
