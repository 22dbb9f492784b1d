"""C code generation: one self-contained header (``c-header``) or a ``.c`` / ``.h`` pair (``c-source``).

The generated files hold only ``static const`` data, dimension macros and a thin entry point; the arithmetic is
the hand-written, tested runtime ``export/runtime/ghp_runtime.h`` (package data), embedded verbatim so a single
header is the whole deliverable. Weights live in flash, activations in static buffers (the Crazyflie's stabilizer
task has a stack of about 1.8 KB), and there is no heap, VLA, recursion or stdio.

Floats are written with ``%.9g`` and an ``f`` suffix: nine significant digits identify every float32 exactly, and
each literal is checked to read back bit for bit. Output is a pure function of its inputs (no timestamp), so
re-exporting gives byte-identical files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import ghp
from ghp.policy.weights import PolicyWeights
from ghp.space.counting import deploy_bytes

from .reference import Int8Layer

if TYPE_CHECKING:
    from ghp.policy.codebook import CodebookPolicy

C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if inline int long
    register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
    alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual
    asm fortran main""".split()
)
"""C89-C23 keywords, plus names that would clash with the C environment (``asm``, ``fortran``, ``main``)."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PER_LINE = 6
RUNTIME_DIR = Path(__file__).parent / "runtime"
"""The hand-written C runtime and check firmware (package data)."""
"""Numbers per line in the generated arrays."""


def check_name(name: str) -> str:
    """Return ``name`` if it is a usable C identifier for the generated symbols, else raise ``ValueError``."""
    if not _IDENT.match(name):
        raise ValueError(f"--name {name!r} is not a C identifier: use letters, digits and _, not starting with a digit")
    if name in C_KEYWORDS or name.startswith("_"):
        raise ValueError(f"--name {name!r} is a C reserved word or reserved identifier: choose another name")
    if len(name) > 40:
        raise ValueError(f"--name {name!r} is longer than 40 characters: choose a shorter name")
    return name


def c_float(x: float | np.floating) -> str:
    """An exact C literal of a float32 (``%.9g`` + ``f``); NaN and Inf are refused."""
    v = np.float32(x)
    if not np.isfinite(v):
        raise ValueError(f"cannot export the non-finite value {v}: the policy's weights must be finite")
    s = f"{float(v):.9g}"
    if "e" not in s and "." not in s:
        s += ".0"
    if np.float32(float(s)).view(np.uint32) != v.view(np.uint32):
        raise AssertionError(f"{s} does not round-trip to {v!r}")
    return s + "f"


def _comment(text: str) -> str:
    """``text`` made safe inside a C block comment (one line, no comment terminator)."""
    return text.replace("\r", " ").replace("\n", " ").replace("*/", "* /")


def _rows(values: list[str], indent: str = "    ") -> str:
    lines = [", ".join(values[i : i + PER_LINE]) for i in range(0, len(values), PER_LINE)]
    return ",\n".join(indent + line for line in lines)


def _array(ctype: str, name: str, data: np.ndarray, size: str, fmt: Callable[[Any], str]) -> str:
    """A ``static const`` 1-D array; a matrix is written row by row (each row starts a line)."""
    rows = data if data.ndim == 2 else data.reshape(1, -1)
    body = ",\n".join(_rows([fmt(v) for v in row]) for row in rows)
    return f"static const {ctype} {name}[{size}] = {{\n{body}\n}};"


def pad4(n: int) -> int:
    """``n`` rounded up to a multiple of 4 (``GHP_PAD4``): the rows, biases and outputs a float32 layer stores."""
    return (n + 3) // 4 * 4


def f32_layout(w: np.ndarray) -> np.ndarray:
    """A float32 weight matrix ``[out, in]`` in the order ``ghp_dense_f32`` streams it (flat): padded with zeros to
    ``pad4(out)`` rows of ``pad4(in)`` weights, in blocks of four rows interleaved by input."""
    o, i = w.shape
    full = np.zeros((pad4(o), pad4(i)), w.dtype)
    full[:o, :i] = w
    return full.reshape(-1, 4, pad4(i)).transpose(0, 2, 1).reshape(-1)


def pad_bias(b: np.ndarray, value: float = 0.0) -> np.ndarray:
    """A layer's biases (or int8 scales, ``value`` 1) padded to ``pad4(out)``."""
    return np.concatenate([b, np.full(pad4(len(b)) - len(b), value, b.dtype)])


def i8_layout(q: np.ndarray) -> np.ndarray:
    """int8 weights ``[out, in]`` (``|q| <= 127``) packed as ``ghp_dense_i8`` reads them: uint32 words (flat), padded
    with zeros to ``pad4(out)`` rows and ``pad4(in)`` inputs. Per block of four rows and group of four inputs, four
    words: rows (0, 1) x inputs (0, 1), rows (2, 3) x (0, 1), rows (0, 1) x (2, 3), rows (2, 3) x (2, 3); the word
    of rows (r, s) and inputs (i, j) holds the bytes ``W[r][i], W[s][i] - (W[r][i] < 0), W[r][j], W[s][j] - (W[r][j] <
    0)``, least significant first (see ``ghp_dense_i8``)."""
    o, i = q.shape
    if np.any(np.abs(q.astype(np.int64)) > 127):
        raise ValueError("int8 weights must lie in [-127, 127] (the packing borrows one from -128)")
    full = np.zeros((pad4(o), pad4(i)), np.int64)
    full[:o, :i] = q
    g = full.reshape(pad4(o) // 4, 2, 2, pad4(i) // 4, 2, 2)  # block, row pair, row in pair, group, input pair, input
    g = g.transpose(0, 3, 4, 1, 2, 5)  # block, group, input pair, row pair, row in pair, input
    r, s = g[..., 0, :], g[..., 1, :]
    s = s - (r < 0)
    r, s = r & 0xFF, s & 0xFF
    words = r[..., 0] | s[..., 0] << 8 | r[..., 1] << 16 | s[..., 1] << 24
    return words.reshape(-1).astype(np.uint32)


def _f_array(name: str, data: np.ndarray, size: str) -> str:
    return _array("float", name, data, size, c_float)


def _u32_array(name: str, data: np.ndarray, size: str) -> str:
    return _array("uint32_t", name, data, size, lambda v: f"0x{int(v):08x}u")


@dataclass(frozen=True)
class CSpec:
    """Everything the generated C depends on (and nothing else: same spec, same bytes)."""

    name: str
    """Prefix of every generated symbol; macros use its upper-case form."""
    weights: PolicyWeights
    """The policy."""
    dtype: str = "float32"
    """``float32``, ``int8`` (int8 weights, one float scale per output row, float biases and activations) or
    ``codebook`` (packed colour indices, float colour values and biases; ``export/codebook.py``)."""
    int8: tuple[Int8Layer, ...] | None = None
    """Quantised layers when ``dtype == "int8"``."""
    test_obs: np.ndarray | None = None
    """Self-test inputs ``[n, obs_dim]``."""
    test_act: np.ndarray | None = None
    """Expected actions ``[n, act_dim]`` for ``test_obs``."""
    test_labels: tuple[str, ...] = ()
    """Comment per test vector."""
    source: tuple[str, ...] = field(default_factory=tuple)
    """Extra banner lines (environment, run id, ...)."""
    codebook: CodebookPolicy | None = None
    """The colouring and colour values when ``dtype == "codebook"`` (``weights`` is then its dense form); last, so
    positional construction of the earlier fields keeps working."""


_ACT_CODES = {"relu": "GHP_ACT_RELU", "tanh": "GHP_ACT_TANH"}
"""Runtime activation code of each hidden activation of :class:`~ghp.policy.weights.PolicyWeights`."""
_ACT_NAMES = {"relu": "ReLU", "tanh": "tanh"}


def runtime_source(dtype: str = "float32") -> str:
    """The runtime header shipped as package data (followed by the codebook layer for ``dtype == "codebook"``)."""
    text = (RUNTIME_DIR / "ghp_runtime.h").read_text(encoding="utf-8")
    if dtype == "codebook":
        text = text.rstrip() + "\n\n" + (RUNTIME_DIR / "ghp_codebook.h").read_text(encoding="utf-8")
    return text


def param_bytes(spec: CSpec) -> int:
    """Bytes of the parameters as stored: the ``ghp.space.counting`` rule, or the codebook's packed storage."""
    w = spec.weights
    if spec.codebook is not None:
        return spec.codebook.n_bytes
    return deploy_bytes(w.arch, w.obs_dim, w.act_dim, spec.dtype)


def _banner(spec: CSpec, filename: str) -> str:
    w = spec.weights
    dims = " -> ".join(str(d) for d in (w.obs_dim, *w.arch.hidden, w.act_dim))
    nbytes = param_bytes(spec)
    lo = ", ".join(f"{float(v):.9g}" for v in w.action_low)
    hi = ", ".join(f"{float(v):.9g}" for v in w.action_high)
    u = spec.name.upper()
    scales = {
        "int8": " and scales",
        "codebook": f", colour values and {spec.codebook.bits if spec.codebook else 0}-bit indices",
    }.get(spec.dtype, "")
    norm = (
        "              normalisation folded into layer 0, observation clipped first);"
        if w.clipped
        else "              no normalisation);"
    )
    lines = [
        f"{filename}: a policy generated by ghp {ghp.__version__} (ghp export); do not edit.",
        "",
        *(_comment(line) for line in spec.source),
        f"architecture  {w.arch.key}: {dims} ({_ACT_NAMES[w.activation]} hidden layers, tanh output)",
        f"parameters    {w.n_params} ({spec.dtype}: {nbytes} bytes of weights, biases{scales})",
        f"action        act = low + (tanh(z) + 1) / 2 * (high - low), low = [{lo}], high = [{hi}]",
        f"usage         {spec.name}_act(obs, act) with float obs[{u}_OBS_DIM], act[{u}_ACT_DIM] (raw observation,",
        norm,
        "              weights in flash, activations in static buffers, only scalars on",
        "              the stack; not reentrant: call it from one task.",
        f"self-test     {spec.name}_selftest(tol) == 0 when every embedded test vector matches to tol;",
        f"              -D{u}_NO_SELFTEST leaves the vectors out.",
    ]
    return "/* " + "\n * ".join(line.rstrip() for line in lines).replace(" * \n", " *\n") + "\n */\n"


def _macros(spec: CSpec) -> str:
    w, u = spec.weights, spec.name.upper()
    widest = max(w.arch.hidden, default=0)
    obs_buf = pad4(w.obs_dim) if (w.clipped or _pads_obs(spec)) else 0
    buf = 4 * (min(w.arch.depth, 2) * pad4(widest) + pad4(w.act_dim) + obs_buf)
    if spec.dtype == "int8" and spec.codebook is None:
        buf += 4 * _xq_words(spec)
    return "\n".join(
        [
            f"#define {u}_OBS_DIM {w.obs_dim}",
            f"#define {u}_ACT_DIM {w.act_dim}",
            f"#define {u}_N_LAYERS {len(w.layers)}",
            f"#define {u}_N_PARAMS {w.n_params}",
            f"#define {u}_PARAM_BYTES {param_bytes(spec)}",
            f"#define {u}_BUFFER_BYTES {buf}",
        ]
    )


def _data(spec: CSpec) -> str:
    """Weights, bounds and buffers."""
    w, n = spec.weights, spec.name
    parts = [
        "/* Layer j: W{j} (float32: GHP_PAD4(out) rows of GHP_PAD4(in) weights, the padding zero, in blocks of four"
        " rows interleaved by input) or q{j} (int8, four to a word, packed as ghp_dense_i8 reads them) and s{j} (int8"
        " scale per row), b{j}[GHP_PAD4(out)]; the last layer gives the action mean. */"
    ]
    if spec.codebook is not None:
        parts.append(_codebook_data(spec))
    for j, (wj, bj) in enumerate(w.layers):
        o, i = wj.shape
        if spec.codebook is not None:
            continue
        if spec.dtype == "int8":
            assert spec.int8 is not None
            layer = spec.int8[j]
            words = i8_layout(layer.q).reshape(-1, pad4(i))  # one line per block of four rows
            parts.append(_u32_array(f"{n}_q{j}", words, f"{words.size}"))
            parts.append(_f_array(f"{n}_s{j}", pad_bias(layer.scale, 1.0), f"{pad4(o)}"))
            parts.append(_f_array(f"{n}_b{j}", pad_bias(layer.b), f"{pad4(o)}"))
        else:
            parts.append(_f_array(f"{n}_w{j}", f32_layout(wj).reshape(-1, 4 * pad4(i)), f"{pad4(o) * pad4(i)}"))
            parts.append(_f_array(f"{n}_b{j}", pad_bias(bj), f"{pad4(o)}"))
    parts.append(_f_array(f"{n}_low", w.action_low, f"{w.act_dim}"))
    parts.append(_f_array(f"{n}_high", w.action_high, f"{w.act_dim}"))
    if w.clip_low is not None and w.clip_high is not None:
        parts.append("/* Observation clip (a --normalize run: mean -+ clip * std of the training statistics). */")
        parts.append(_f_array(f"{n}_clip_low", w.clip_low, f"{w.obs_dim}"))
        parts.append(_f_array(f"{n}_clip_high", w.clip_high, f"{w.obs_dim}"))
        parts.append(f"static float {n}_xc[{pad4(w.obs_dim)}];")
    elif _pads_obs(spec):
        parts.append("/* The observation padded with zeros to a multiple of four inputs (ghp_dense_f32). */")
        parts.append(f"static float {n}_xp[{pad4(w.obs_dim)}];")
    widest = max(w.arch.hidden, default=0)
    # Hidden activations ping-pong between two buffers (one suffices for a single hidden layer).
    parts += [f"static float {n}_h{k}[{pad4(widest)}];" for k in range(min(w.arch.depth, 2))]
    if spec.dtype == "int8" and spec.codebook is None:
        parts.append(f"static uint32_t {n}_xq[{_xq_words(spec)}]; /* int16 activations, in pairs */")
    parts.append(f"static float {n}_z[{pad4(w.act_dim)}];")
    return "\n\n".join(parts)


def _xq_words(spec: CSpec) -> int:
    """Words of an int8 export's int16 activation buffer: the widest layer input, padded to four, two per word."""
    return max(pad4(i) for _, i in (wj.shape for wj, _ in spec.weights.layers)) // 2


def _pads_obs(spec: CSpec) -> bool:
    """Whether the observation is copied into a zero-padded buffer first (float32, unclipped, obs_dim not a multiple
    of 4); a clipped one is padded by the clip's own buffer."""
    w = spec.weights
    return spec.codebook is None and spec.dtype == "float32" and not w.clipped and w.obs_dim % 4 != 0


def _act_body(spec: CSpec) -> str:
    w, n = spec.weights, spec.name
    lines = []
    src = "obs"
    if w.clipped:  # a --normalize run: clip the raw observation (ghp.policy.normalize)
        lines.append(f"ghp_clip(obs, {n}_clip_low, {n}_clip_high, {n}_xc, {w.obs_dim}u);")
        src = f"{n}_xc"
    elif _pads_obs(spec):
        lines.append(f"ghp_copy(obs, {n}_xp, {w.obs_dim}u);")
        src = f"{n}_xp"
    cbn = spec.codebook
    if cbn is not None and cbn.obs_mean is not None:
        lines.append(f"ghp_normalise({src}, {n}_in_mean, {n}_in_inv_std, {n}_x, {w.obs_dim}u);")
        src = f"{n}_x"
    for j, (wj, _) in enumerate(w.layers):
        o, i = wj.shape
        last = j == len(w.layers) - 1
        dst = f"{n}_z" if last else f"{n}_h{j % 2}"
        code = "GHP_ACT_NONE" if last else _ACT_CODES[w.activation]
        if spec.codebook is not None:
            cb = spec.codebook
            book = f"{n}_k{j if cb.scope == 'layer' else 0}"
            k = len(cb.book(j))
            lines.append(
                f"ghp_dense_codebook({n}_c{j}, {cb.bits}u, {book}, {k}u, {n}_b{j}, {src}, {dst}, {n}_acc, {i}u, {o}u, "
                f"{code});"
            )
        elif spec.dtype == "int8":
            if j == 0:
                lines.insert(0, "uint32_t amax; /* float bits of max |input| of the next int8 layer */")
                lines.append(f"amax = ghp_absmax({src}, {i}u);")
            ret = "(void)" if last else "amax = "
            args = f"{n}_q{j}, {n}_s{j}, {n}_b{j}, {src}, amax, {n}_xq, {dst}, {i}u, {o}u, {code}"
            lines.append(f"{ret}ghp_dense_i8({args});")
        else:
            lines.append(f"ghp_dense_f32({n}_w{j}, {n}_b{j}, {src}, {dst}, {pad4(i)}u, {pad4(o)}u, {code});")
        src = dst
    lines.append(f"ghp_tanh_unscale({n}_z, {n}_low, {n}_high, act, {w.act_dim}u);")
    return "\n".join("    " + line for line in lines)


def _selftest(spec: CSpec, storage: str) -> str:
    n, u = spec.name, spec.name.upper()
    assert spec.test_obs is not None and spec.test_act is not None
    labels = spec.test_labels or tuple(f"vector {i}" for i in range(len(spec.test_obs)))

    def table(cname: str, rows: np.ndarray, dim: str) -> str:
        body = ",\n".join(
            f"    {{ /* {_comment(lab)} */\n{_rows([c_float(v) for v in row], '        ')}\n    }}"
            for lab, row in zip(labels, rows, strict=True)
        )
        return f"static const float {cname}[{u}_N_TESTS][{dim}] = {{\n{body}\n}};"

    return f"""#ifndef {u}_NO_SELFTEST
#define {u}_N_TESTS {len(spec.test_obs)}
/* Self-test vectors: observations and the actions the trained policy gives for them. */
{table(f"{n}_test_obs", spec.test_obs, f"{u}_OBS_DIM")}

{table(f"{n}_test_act", spec.test_act, f"{u}_ACT_DIM")}

static float {n}_test_out[{u}_ACT_DIM];

/* Number of action entries that differ from the expected ones by more than tol (0: the build is right). */
{storage}int {n}_selftest(float tol)
{{
    int bad = 0;
    uint32_t t;
    uint32_t k;
    for (t = 0u; t < (uint32_t){u}_N_TESTS; ++t) {{
        {n}_act({n}_test_obs[t], {n}_test_out);
        for (k = 0u; k < (uint32_t){u}_ACT_DIM; ++k) {{
            const float d = {n}_test_out[k] - {n}_test_act[t][k];
            if (!(fabsf(d) <= tol)) {{
                ++bad;
            }}
        }}
    }}
    return bad;
}}
#endif /* {u}_NO_SELFTEST */
"""


def _act_fn(spec: CSpec, storage: str) -> str:
    n, u = spec.name, spec.name.upper()
    return (
        f"/* The deterministic action of the trained policy for one observation. */\n"
        f"{storage}void {n}_act(const float obs[{u}_OBS_DIM], float act[{u}_ACT_DIM])\n{{\n{_act_body(spec)}\n}}\n"
    )


def render(spec: CSpec, target: str = "c-header") -> dict[str, str]:
    """The generated files, ``{filename: text}``: ``NAME.h`` (c-header) or ``NAME.c`` + ``NAME.h`` (c-source)."""
    check_name(spec.name)
    n, u = spec.name, spec.name.upper()
    has_test = spec.test_obs is not None
    guard = f"{u}_H"
    if target not in ("c-header", "c-source"):
        raise ValueError(f"unknown C target {target!r}: choose c-header or c-source")
    storage = "static inline " if target == "c-header" else ""
    # The code itself: the runtime, the data and the functions; all of the header, or the source file's body.
    code = [
        "/* ghp runtime (export/runtime/ghp_runtime.h, verbatim) */",
        runtime_source(spec.dtype).rstrip() + "\n",
        _data(spec) + "\n",
        _act_fn(spec, storage),
        *([_selftest(spec, storage)] if has_test else []),
    ]
    opening = [_banner(spec, f"{n}.h"), f"#ifndef {guard}\n#define {guard}\n", _macros(spec) + "\n"]
    closing = f"#endif /* {guard} */\n"
    if target == "c-header":
        return {f"{n}.h": "\n".join([*opening, *code, closing])}
    proto = [f"void {n}_act(const float obs[{u}_OBS_DIM], float act[{u}_ACT_DIM]);"]
    if has_test:
        proto.append(f"#ifndef {u}_NO_SELFTEST\nint {n}_selftest(float tol);\n#endif")
    extern_c = [
        '#ifdef __cplusplus\nextern "C" {\n#endif\n',
        "\n".join(proto) + "\n",
        "#ifdef __cplusplus\n}\n#endif\n",
    ]
    header = "\n".join([*opening, *extern_c, closing])
    source = "\n".join([_banner(spec, f"{n}.c"), f'#include "{n}.h"\n', *code])
    return {f"{n}.h": header, f"{n}.c": source}


def _codebook_data(spec: CSpec) -> str:
    """Packed colour indices, colour values, biases and the per-colour accumulators of a codebook export."""
    cb, n = spec.codebook, spec.name
    assert cb is not None
    books = "one codebook per layer" if cb.scope == "layer" else "one codebook k0 for every layer"
    parts = [
        f"/* Codebook: layer j's weight (o, i) is k{{j}}[colour]; its colour is the {cb.bits}-bit field number "
        f"o * in + i of c{{j}}, packed LSB first; {books}. */"
    ]
    for j in range(len(cb.colors)):
        data = np.frombuffer(cb.packed(j), np.uint8)
        parts.append(_array("uint8_t", f"{n}_c{j}", data, f"{len(data)}", lambda v: f"0x{int(v):02x}u"))
    for j, v in enumerate(cb.values):
        parts.append(_f_array(f"{n}_k{j}", v, f"{len(v)}"))
    for j, b in enumerate(cb.biases):
        parts.append(_f_array(f"{n}_b{j}", b, f"{len(b)}"))
    if cb.obs_mean is not None and cb.obs_inv_std is not None:
        parts.append(
            "/* Input normalisation x = (obs - mean) * inv_std, kept apart so the first layer stays shared. */"
        )
        parts.append(_f_array(f"{n}_in_mean", cb.obs_mean, f"{len(cb.obs_mean)}"))
        parts.append(_f_array(f"{n}_in_inv_std", cb.obs_inv_std, f"{len(cb.obs_inv_std)}"))
        parts.append(f"static float {n}_x[{len(cb.obs_mean)}];")
    parts.append(f"static float {n}_acc[{max(len(v) for v in cb.values)}];")
    return "\n\n".join(parts)
