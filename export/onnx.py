"""``--target onnx``: the deterministic policy as an ONNX graph (Gemm, the hidden activation, Tanh, the unscaling).

onnx is an optional dependency (``pip install graph-hyper-policies[onnx]``); it is imported only here. The graph
is built node by node (no torch tracing), so it is small, deterministic and byte-identical across re-exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import ghp
from ghp.policy.weights import PolicyWeights

OPSET = 17
"""ONNX opset of the exported graph."""
_ONNX_ACTIVATION = {"relu": "Relu", "tanh": "Tanh"}
"""The ONNX operator of each hidden activation of ``ghp.policy.weights.ACTIVATIONS``."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as e:
        raise ValueError(
            "--target onnx needs the onnx package: pip install 'graph-hyper-policies[onnx]' (or onnx onnxruntime)"
        ) from e
    return onnx


def build_model(weights: PolicyWeights, name: str) -> Any:
    """An ``onnx.ModelProto``: input ``obs [batch, obs_dim]`` -> output ``act [batch, act_dim]``."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    inits = []
    nodes = []
    x = "obs"
    if weights.clip_low is not None and weights.clip_high is not None:  # a --normalize run's observation clip
        inits += [numpy_helper.from_array(weights.clip_low, "clip_low")]
        inits += [numpy_helper.from_array(weights.clip_high, "clip_high")]
        nodes += [helper.make_node("Max", ["obs", "clip_low"], ["x_lo"])]
        nodes += [helper.make_node("Min", ["x_lo", "clip_high"], ["x"])]
        x = "x"
    n = len(weights.layers)
    for j, (w, b) in enumerate(weights.layers):
        inits += [numpy_helper.from_array(w, f"W{j}"), numpy_helper.from_array(b, f"b{j}")]
        y = f"z{j}" if j == n - 1 else f"a{j}"
        nodes.append(helper.make_node("Gemm", [x, f"W{j}", f"b{j}"], [y if j == n - 1 else f"l{j}"], transB=1))
        if j < n - 1:
            nodes.append(helper.make_node(_ONNX_ACTIVATION[weights.activation], [f"l{j}"], [y]))
        x = y
    lo, hi = weights.action_low, weights.action_high
    inits += [
        numpy_helper.from_array(lo, "low"),
        numpy_helper.from_array((hi - lo).astype(np.float32), "range"),
        numpy_helper.from_array(np.array([1.0], np.float32), "one"),
        numpy_helper.from_array(np.array([0.5], np.float32), "half"),
    ]
    # act = low + (tanh(z) + 1) * 0.5 * (high - low), in torch's order of operations.
    nodes += [
        helper.make_node("Tanh", [x], ["u"]),
        helper.make_node("Add", ["u", "one"], ["u1"]),
        helper.make_node("Mul", ["u1", "half"], ["u2"]),
        helper.make_node("Mul", ["u2", "range"], ["u3"]),
        helper.make_node("Add", ["low", "u3"], ["act"]),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", weights.obs_dim])],
        [helper.make_tensor_value_info("act", TensorProto.FLOAT, ["batch", weights.act_dim])],
        inits,
    )
    model = helper.make_model(
        graph,
        producer_name="ghp",
        producer_version=ghp.__version__,
        doc_string=f"ghp policy {weights.arch.key}: {weights.n_params} parameters; deterministic action",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_onnx(weights: PolicyWeights, name: str, path: Path) -> Path:
    """Write ``NAME.onnx``."""
    model = build_model(weights, name)
    from ghp.io.atomic import write_bytes

    return write_bytes(path, model.SerializeToString(deterministic=True))


def run_onnx(path: Path, obs: np.ndarray) -> np.ndarray:
    """Actions from onnxruntime for ``obs [n, obs_dim]`` (the tests' check of the exported graph)."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ValueError("checking an ONNX export needs onnxruntime: pip install onnxruntime") from e
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(["act"], {"obs": np.asarray(obs, np.float32)})[0], np.float32)
