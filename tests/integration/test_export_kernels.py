"""The padded float32 kernel and the packed int8 kernel (int16 activations, SMLAD / SMLALD): the Python reference
predicts the host build to the last bit of tanhf, and the emulated Cortex-M4 gives the host's bits, on widths that are
not multiples of four, the linear policy, tanh and ReLU hidden layers (issue 27 item 5)."""

import numpy as np
import pytest

from export.c import CSpec, f32_layout, i8_layout, pad4, render
from export.check import check_c
from export.reference import forward, pre_activations, qmax_i16, quantize_i16, quantize_int8
from export.toolchain import missing_tools
from ghp.policy.weights import PolicyWeights
from tests.unit.test_export import policy

TOOLS = missing_tools("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "newlib", "qemu-system-arm")
needs_qemu = pytest.mark.skipif(bool(TOOLS), reason=f"missing {', '.join(TOOLS)}")
HOST = missing_tools("gcc")


def _unpack_i8(words: np.ndarray, o: int, i: int) -> np.ndarray:
    """Undo :func:`i8_layout` (bytes r, s', r, s' per word; s = s' + (r < 0)), as ghp_dense_i8's arithmetic does."""
    b = words.astype(np.uint32).view(np.uint8).reshape(-1, 4).astype(np.int64)  # little-endian bytes
    b = np.where(b > 127, b - 256, b)
    out = np.zeros((pad4(o), pad4(i)), np.int64)
    k = 0
    for blk in range(pad4(o) // 4):
        for g in range(pad4(i) // 4):
            for pair in range(2):  # inputs (0, 1), then (2, 3)
                for rows in range(2):  # rows (0, 1), then (2, 3)
                    r_i, s_i, r_j, s_j = b[k]
                    rr, ss = 4 * blk + 2 * rows, 4 * blk + 2 * rows + 1
                    ii, jj = 4 * g + 2 * pair, 4 * g + 2 * pair + 1
                    out[rr, ii], out[rr, jj] = r_i, r_j
                    out[ss, ii], out[ss, jj] = s_i + (r_i < 0), s_j + (r_j < 0)
                    k += 1
    return out


@pytest.mark.parametrize(("o", "i"), [(1, 1), (3, 11), (5, 7), (8, 4), (13, 22)])
def test_weight_layouts_pad_and_keep_every_weight(o, i):
    rng = np.random.default_rng(o * 31 + i)
    w = rng.standard_normal((o, i)).astype(np.float32)
    flat = f32_layout(w)
    assert flat.size == pad4(o) * pad4(i)
    back = flat.reshape(pad4(o) // 4, pad4(i), 4).transpose(0, 2, 1).reshape(pad4(o), pad4(i))
    assert np.array_equal(back[:o, :i], w) and not back[o:].any() and not back[:, i:].any()
    q = rng.integers(-127, 128, (o, i)).astype(np.int8)
    q[0, 0], q[-1, -1] = -127, -127  # the borrow makes -128 from -127 in the second row of a pair
    words = i8_layout(q)
    assert words.dtype == np.uint32 and words.size == pad4(o) * pad4(i) // 4
    full = _unpack_i8(words, o, i)
    assert np.array_equal(full[:o, :i], q) and not full[o:].any() and not full[:, i:].any()


def test_int8_packing_refuses_minus_128():
    with pytest.raises(ValueError, match="-127, 127"):
        i8_layout(np.full((4, 4), -128, np.int8))


def test_activation_quantisation_is_round_to_nearest_even_on_the_exact_product():
    x = np.array([[0.5, -0.25, 1.0, -2.0, 0.125, 0.0], [0.0] * 6], np.float32)
    q, s = quantize_i16(x, 32767)
    assert q[0].tolist() == [8192, -4096, 16384, -32767, 2048, 0] and s[0] == np.float32(2.0) / np.float32(32767)
    assert not q[1].any() and s[1] == 0  # an all-zero input: zeros, scale 0
    assert qmax_i16(516) == 32767 and qmax_i16(517) == (2**31 - 1) // (127 * 517)
    assert 127 * qmax_i16(4000) * 4000 < 2**31


def _export_and_check(tmp_path, p, dtype, obs):
    int8 = quantize_int8(p) if dtype == "int8" else None
    expected, z = forward(p, obs, int8), pre_activations(p, obs, int8)
    for name, text in render(CSpec("k", p, dtype, int8, obs, expected), "c-header").items():
        (tmp_path / name).write_text(text)
    return check_c(tmp_path, "k", "c-header", obs, expected, z[0], tol=1e-6, qemu=not TOOLS)


CASES = [
    ("linear", 3, 1, "relu"),
    ("5-7", 11, 3, "relu"),
    ("13-6", 22, 4, "tanh"),
    ("32-4-32-16", 22, 4, "relu"),
    ("9", 2, 5, "tanh"),
]


@needs_qemu
@pytest.mark.parametrize(("arch", "obs_dim", "act_dim", "activation"), CASES)
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_reference_host_and_cortex_m4_agree_bit_for_bit(tmp_path, arch, obs_dim, act_dim, activation, dtype):
    base = policy(arch, obs_dim, act_dim, seed=7)
    p = PolicyWeights.from_arrays(arch, base.layers, base.action_low, base.action_high, activation)
    rng = np.random.default_rng(3)
    obs = np.concatenate([rng.standard_normal((5, obs_dim)) * 3, np.zeros((1, obs_dim))]).astype(np.float32)
    report = _export_and_check(tmp_path, p, dtype, obs)
    assert report.ok, report.steps
    f = report.figures
    # the reference predicts every sum bit for bit; the only slack is tanhf (the output squashing, and tanh hidden
    # layers), whose last bit np.tanh may not share: a few ulp of an action in [-2, 2]
    assert f["host_max_err"] <= 1e-6, report.steps
    assert f["qemu_vs_host_max_diff"] == 0.0, report.steps  # same bits on the host and the emulated Cortex-M4


@pytest.mark.skipif(bool(HOST), reason=f"missing {', '.join(HOST)}")
def test_a_layer_wider_than_516_inputs_uses_a_smaller_activation_range(tmp_path):
    p = policy("600", 3, 1, seed=2)  # the output layer has 600 inputs: qmax < 32767 keeps its int32 sums exact
    obs = np.random.default_rng(4).standard_normal((3, 3)).astype(np.float32) * 5
    int8 = quantize_int8(p)
    expected, z = forward(p, obs, int8), pre_activations(p, obs, int8)
    for name, text in render(CSpec("k", p, "int8", int8, obs, expected), "c-header").items():
        (tmp_path / name).write_text(text)
    report = check_c(tmp_path, "k", "c-header", obs, expected, z[0], tol=0.0, qemu=False)
    assert report.steps[0].status == "ok" and report.figures["host_max_err"] == 0.0, report.steps


def test_int16_activations_keep_the_int8_error_near_the_weights_own(tmp_path):
    """int16 activations add little to int8 weights' error: within 2x of int8 weights on float activations."""
    p = policy("64-64", 11, 3, seed=5, low=-1.0, high=1.0)
    obs = np.random.default_rng(6).standard_normal((64, 11)).astype(np.float32)
    int8 = quantize_int8(p)
    full = forward(p, obs, int8).astype(np.float64)
    dequant = PolicyWeights.from_arrays(
        "64-64",
        [(layer.q.astype(np.float64) * layer.scale[:, None], layer.b) for layer in int8],
        -np.ones(3),
        np.ones(3),
    )
    ref = forward(p, obs).astype(np.float64)
    weights_only = float(np.max(np.abs(forward(dequant, obs).astype(np.float64) - ref)))
    both = float(np.max(np.abs(full - ref)))
    assert both <= 2 * weights_only + 1e-4, (both, weights_only)


@pytest.mark.skipif(bool(HOST), reason=f"missing {', '.join(HOST)}")
@pytest.mark.parametrize(("arch", "obs_dim", "act_dim"), [("linear", 3, 1), ("5-7", 11, 3), ("32-4-32-16", 22, 4)])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_the_output_pre_activations_match_the_reference_bit_for_bit(tmp_path, arch, obs_dim, act_dim, dtype):
    """Before tanhf, nothing is left to chance: the host's output layer equals pre_activations() in every bit."""
    import subprocess

    from export.toolchain import HOST_FLAGS

    p = policy(arch, obs_dim, act_dim, seed=11)
    obs = (np.random.default_rng(12).standard_normal((6, obs_dim)) * 2).astype(np.float32)
    int8 = quantize_int8(p) if dtype == "int8" else None
    for name, text in render(CSpec("k", p, dtype, int8), "c-header").items():
        (tmp_path / name).write_text(text)
    rows = ",\n".join("{" + ", ".join(f"{float(v):.9g}f" for v in row) + "}" for row in obs)
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "k.h"\n'
        f"static const float obs[{len(obs)}][{obs_dim}] = {{{rows}}};\n"
        "int main(void) {\n    float act[K_ACT_DIM];\n    unsigned t, k;\n    uint32_t u;\n"
        f"    for (t = 0u; t < {len(obs)}u; ++t) {{\n        k_act(obs[t], act);\n"
        '        for (k = 0u; k < K_ACT_DIM; ++k) { memcpy(&u, &k_z[k], 4u); printf("%08lx ", (unsigned long)u); }\n'
        '        printf("\\n");\n    }\n    return 0;\n}\n'
    )
    exe = tmp_path / "z"
    subprocess.run(["gcc", *HOST_FLAGS, str(tmp_path / "main.c"), "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    got = np.array([int(h, 16) for h in out], np.uint32).reshape(len(obs), act_dim)
    assert np.array_equal(got, pre_activations(p, obs, int8).view(np.uint32))
