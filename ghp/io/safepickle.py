"""Read the pickles of a run directory without running code (docs/security.md).

A pickle names the functions and classes that rebuild it, and ``pickle.load`` imports and calls whatever it names:
a crafted file runs any code on load. SB3 stores parts of a model (``model.zip``'s ``data`` entries: spaces, the
replay buffer class, the action noise...), the ``VecNormalize`` statistics and the replay buffer as pickles. ghp reads
all of them through :class:`AllowListUnpickler`, whose ``find_class`` resolves only the names in :data:`ALLOWED`:
numpy arrays and random generators, gymnasium spaces, and the SB3 / ghp data classes these files are made of. With
nothing else reachable, loading can only build those objects (data, no code of the file's choosing); any other name
is refused with one line. Torch weights are read by SB3 with ``torch.load(weights_only=True)``, policies with
``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import IO, Any

_NUMPY = [
    (core, name) for core in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct", "scalar")
] + [(core, "_frombuffer") for core in ("numpy.core.numeric", "numpy._core.numeric")]
_RANDOM = [
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._pcg64", "PCG64DXSM"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._philox", "Philox"),
    ("numpy.random._sfc64", "SFC64"),
    ("numpy.random._generator", "Generator"),
    ("numpy.random.mtrand", "RandomState"),
]
_SCALARS = [
    ("numpy", t)
    for t in (
        "bool_", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64",
    )
]  # fmt: skip
_DTYPES = [("numpy.dtypes", f"{t.capitalize()}DType") for t in ("float32", "float64", "int64", "bool")] + [
    ("numpy.dtypes", "BoolDType"),
    ("numpy.dtypes", "Float16DType"),
    ("numpy.dtypes", "Int32DType"),
    ("numpy.dtypes", "UInt8DType"),
]
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    [
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        *_SCALARS,
        *_DTYPES,
        *_NUMPY,
        *_RANDOM,
        ("collections", "deque"),
        ("collections", "OrderedDict"),
        ("torch", "device"),
        ("gymnasium.spaces.box", "Box"),
        ("gymnasium.spaces.dict", "Dict"),
        ("gymnasium.spaces.discrete", "Discrete"),
        ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
        ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
        ("stable_baselines3.common.buffers", "ReplayBuffer"),
        ("stable_baselines3.common.buffers", "DictReplayBuffer"),
        ("stable_baselines3.her.her_replay_buffer", "HerReplayBuffer"),
        ("stable_baselines3.her.goal_selection_strategy", "GoalSelectionStrategy"),
        ("stable_baselines3.common.type_aliases", "TrainFreq"),
        ("stable_baselines3.common.type_aliases", "TrainFrequencyUnit"),
        ("stable_baselines3.common.noise", "NormalActionNoise"),
        ("stable_baselines3.common.noise", "VectorizedActionNoise"),
        ("ghp.hypernet.policies", "GoalExtractor"),
        ("ghp.policies", "GoalExtractor"),  # runs saved before the layered layout
    ]
)
"""Every ``(module, name)`` a pickle of a run may refer to; each builds data only, whatever its arguments."""


class RefusedPickle(ValueError):
    """A pickle refers to something outside :data:`ALLOWED` (a crafted or foreign file)."""


class AllowListUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the names in :data:`ALLOWED` and refuses every other one."""

    def __init__(self, file: IO[bytes], what: str) -> None:
        super().__init__(file)
        self.what = what

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise RefusedPickle(
            f"{self.what} refers to {module}.{name}, which ghp never saves there and will not load (loading it "
            "could run code from the file): load only runs you trust, see docs/security.md"
        )


def load(path: str | Path, what: str) -> Any:
    """The object pickled in the file ``path``, read with :class:`AllowListUnpickler` (``what`` names it in errors).

    Raises:
        RefusedPickle: the file refers to a name outside :data:`ALLOWED`.
        pickle.UnpicklingError / EOFError: a truncated or corrupt file (the caller says what to do).
    """
    with open(path, "rb") as f:
        return AllowListUnpickler(f, what).load()


def loads(data: bytes, what: str) -> Any:
    """:func:`load` of bytes."""
    return AllowListUnpickler(io.BytesIO(data), what).load()
