"""Every command's options come from its config dataclass: one option per field, the field's default and docstring."""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from cli.evaluate_cmd import evaluate
from cli.export_cmd import export
from cli.options import build_config, config_options, field_docs, help_text
from cli.play_cmd import play
from cli.search_cmd import search
from cli.train_cmd import train
from cli.tune_cmd import tune
from export.api import ExportConfig
from ghp.es.tune import TuneConfig
from ghp.rl.config import TrainConfig
from ghp.rollout.evaluate import EvalConfig
from ghp.rollout.play import PlayConfig

# Options of each command that are not settings of its config (what to act on, how to behave).
COMMANDS = [
    (
        train,
        TrainConfig,
        {"resume", "force", "quiet", "config_file", "print_config", "no_replay_buffer", "env_modules"},
    ),
    (evaluate, EvalConfig, {"run_dir", "archs", "sample_seed", "policy", "checkpoints", "as_json"}),  # what to evaluate
    (export, ExportConfig, {"run", "arch", "best", "by", "max_params", "max_bytes", "checkpoint", "policy", "as_json"}),
    (tune, TuneConfig, {"run_dir", "fresh"}),
    (play, PlayConfig, {"run", "arch", "policy_file", "checkpoint", "as_json"}),
]


@pytest.mark.parametrize(("command", "cls", "own"), COMMANDS, ids=lambda x: getattr(x, "name", ""))
def test_each_field_has_exactly_one_option_with_its_default_and_docstring(command, cls, own):
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        params = [p for p in command.params if p.name == f.name]
        assert len(params) == 1, f"{command.name}: field {f.name} has {len(params)} options"
        (p,) = params
        assert docs.get(f.name), f"{cls.__name__}.{f.name} has no docstring"
        assert p.help.startswith(help_text(docs[f.name]))
        if f.metadata.get("required"):  # given on the command line or in a --config file (build_config checks)
            assert p.default is None and "[required]" in p.help
        elif "parse_all" not in f.metadata:  # repeatable options: their default is checked below (no options)
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            assert p.default == default, f"{command.name} --{f.name}: {p.default!r} != {default!r}"
    names = {f.name for f in dataclasses.fields(cls)}
    assert {p.name for p in command.params} - names == own  # nothing else is hand-written


@pytest.mark.parametrize(("command", "cls", "own"), COMMANDS, ids=lambda x: getattr(x, "name", ""))
def test_no_options_build_the_library_defaults(command, cls, own):
    required = {
        "train": ["--env", "Pendulum-v1"],
        "evaluate": ["runs/x"],
        "export": ["runs/x"],
        "tune": ["runs/x", "--arch", ""],
        "play": ["r"],
    }[command.name]
    ctx = command.make_context(command.name, list(required))
    options = dict(ctx.params)
    config = build_config(cls, options)
    assert set(options) == own
    assert config == cls()


def test_options_reach_the_config():
    ctx = train.make_context("train", ["--env", "Hopper-v5", "--widths", "4, 8", "--mlp-mode", "loop", "--baseline"])
    config = build_config(TrainConfig, dict(ctx.params))
    assert (config.env_id, config.widths, config.mlp_mode, config.baseline) == ("Hopper-v5", (4, 8), "loop", True)
    ctx = train.make_context("train", ["--env", "E", "--env-kwargs", "a=1 b=x", "--env-kwargs", "c=0.5,1"])
    assert build_config(TrainConfig, dict(ctx.params)).env_kwargs == {"a": 1, "b": "x", "c": [0.5, 1.0]}
    ctx = export.make_context("export", ["r", "--rollouts", "3", "--no-qemu", "--out", "o"])
    config = build_config(ExportConfig, dict(ctx.params))
    assert (config.n_rollout, config.qemu, config.out) == (3, False, Path("o"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--widths", "4,x"], "comma-separated integers"),
        (["--mlp-mode", "fast"], "'fast' is not one of"),
        (["--n-envs", "two"], "not a valid integer"),
    ],
)
def test_bad_values_are_usage_errors(args, message):
    with pytest.raises(click.BadParameter, match=message):
        train.make_context("train", ["--env", "Pendulum-v1", *args])


@dataclass(frozen=True)
class _Demo:
    """A config written the way the module docstring says."""

    size: int = field(default=3, metadata={"min": 1})
    """How many.

    A second paragraph that stays out of the help."""
    names: tuple[int, ...] = (1, 2)
    """Some ``ints`` for :func:`sorted`."""
    mode: str | None = field(default=None, metadata={"choices": ("a", "b")})
    """Pick one."""
    loud: bool = True
    """Speak up."""
    scale: float = field(default=1.0, metadata={"parse": lambda t: float(t.rstrip("x"))})
    """A factor such as 2x."""


def test_a_new_documented_field_becomes_an_option():
    @click.command()
    @config_options(_Demo, none_default="computed")
    def cmd(**options):
        pass

    helps = {p.name: p.help for p in cmd.params}
    assert helps["size"] == "How many."
    assert helps["names"] == "Some ints for sorted.  [default: 1,2]"
    assert helps["mode"] == "Pick one.  [default: computed]"
    ctx = cmd.make_context("cmd", ["--size", "2", "--names", "3,4", "--mode", "b", "--no-loud", "--scale", "2x"])
    assert build_config(_Demo, dict(ctx.params)) == _Demo(2, (3, 4), "b", False, 2.0)
    with pytest.raises(click.BadParameter):
        cmd.make_context("cmd", ["--size", "0"])


def test_rank_order_choices_are_rank_run_orders():
    from search.budget import RANK_BY

    for command in (search, export):
        (by,) = [p for p in command.params if p.name == "by"]
        assert tuple(by.type.choices) == RANK_BY
