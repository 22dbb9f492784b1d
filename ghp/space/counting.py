"""Parameter and byte counts of an architecture's MLP.

Counting rule (the paper's Table I): the *deployable* policy is the MLP that maps the actor's observation to the
action mean, so its output layer has ``act_dim`` units. During SAC training the output layer has ``2 * act_dim``
units (mean and log-std); those extra parameters never reach the robot.

Bytes:
- ``float32``: 4 bytes per weight and bias.
- ``int8``: each weight matrix is stored as int8 (1 byte per weight) with one float32 scale per output row
  (4 bytes per output unit); biases stay float32 (4 bytes per output unit). So a layer with ``i`` inputs and
  ``o`` outputs takes ``i * o + 8 * o`` bytes.
"""

from __future__ import annotations

from typing import Literal

from ghp.space.arch import Arch

Dtype = Literal["float32", "int8"]
DTYPES: tuple[str, ...] = ("float32", "int8")


def layer_shapes(arch: Arch, in_dim: int, out_dim: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of every linear layer, input to output."""
    if in_dim < 1 or out_dim < 1:
        raise ValueError(f"input and output sizes must be positive, got {in_dim} and {out_dim}")
    dims = [in_dim, *arch.hidden, out_dim]
    return list(zip(dims[:-1], dims[1:], strict=True))


def n_params(arch: Arch, in_dim: int, out_dim: int) -> int:
    """Weights plus biases of the MLP ``in_dim -> hidden... -> out_dim``."""
    return sum(i * o + o for i, o in layer_shapes(arch, in_dim, out_dim))


def deploy_params(arch: Arch, obs_dim: int, act_dim: int) -> int:
    """Parameters of the deployable policy (action-mean head only), as the paper's Table I counts them."""
    return n_params(arch, obs_dim, act_dim)


def train_params(arch: Arch, obs_dim: int, act_dim: int, stochastic: bool = True) -> int:
    """Parameters of the training-time MLP: mean and log-std head for SAC (``stochastic``), mean only for DDPG."""
    return n_params(arch, obs_dim, 2 * act_dim if stochastic else act_dim)


def n_bytes(arch: Arch, in_dim: int, out_dim: int, dtype: Dtype | str = "float32") -> int:
    """Storage of the MLP's parameters under the rule in this module's docstring."""
    shapes = layer_shapes(arch, in_dim, out_dim)
    if dtype == "float32":
        return 4 * sum(i * o + o for i, o in shapes)
    if dtype == "int8":
        return sum(i * o + 8 * o for i, o in shapes)
    raise ValueError(f"unknown dtype {dtype!r}: choose one of {', '.join(DTYPES)}")


def deploy_bytes(arch: Arch, obs_dim: int, act_dim: int, dtype: Dtype | str = "float32") -> int:
    """Bytes of the deployable policy's parameters."""
    return n_bytes(arch, obs_dim, act_dim, dtype)


def macs(arch: Arch, in_dim: int, out_dim: int) -> int:
    """Multiply-accumulates of one forward pass."""
    return sum(i * o for i, o in layer_shapes(arch, in_dim, out_dim))
