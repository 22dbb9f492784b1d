"""Every training setting bounded before anything is allocated or written (issue 26, item 7)."""

import dataclasses
import math

import pytest

from cli.options import whole_number
from ghp.envs import ENV_MODULES_VAR, allow_env_modules, check_env_id
from ghp.rl.config import MAX_ARCHS, TrainConfig, memory_estimate, resolve

BASE = TrainConfig(env_id="Pendulum-v1", steps=200, n_envs=2, widths=(4, 8), depths=(1,), learning_starts=100)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"gamma": 5.0}, "--gamma must be in (0, 1]"),
        ({"gamma": -1.0}, "--gamma must be in (0, 1]"),
        ({"gamma": 0.0}, "--gamma must be in (0, 1]"),
        ({"tau": -3.0}, "--tau must be in (0, 1]"),
        ({"lr": 0.0}, "--lr must be positive"),
        ({"lr": math.nan}, "--lr must be a finite number"),
        ({"lr": math.inf}, "--lr must be a finite number"),
        ({"actor_lr": -1.0}, "--actor-lr must be positive"),
        ({"weight_decay": -1.0}, "--weight-decay must be zero or more"),
        ({"seed": -1}, "--seed must be between 0 and"),
        ({"seed": 2**32}, "--seed must be between 0 and"),
        ({"seed": 1.7}, "--seed must be a whole number"),
        ({"steps": 10**11}, "--steps must be at most"),
        ({"eval_episodes": 5_000_000}, "--eval-episodes must be at most"),
        ({"widths": (100_000_000,)}, "hidden widths must be at most"),
        ({"depths": (1, 2, 3, 4, 5, 6, 7, 8), "widths": (4, 8, 16, 32, 64, 128, 256, 512)}, "architectures"),
        ({"depths": (40,)}, "depths must be at most"),
        ({"widths": (8192,), "decoder": "dense", "hidden": 1024}, "GB"),
        ({"env_kwargs": 5}, "--env-kwargs must be a mapping"),
        ({"env_id": "this:Foo-v0"}, "--env-module this"),
    ],
)
def test_bad_settings_are_refused_with_what_to_do(change, message):
    with pytest.raises(ValueError) as e:
        resolve(dataclasses.replace(BASE, **change))
    assert message in str(e.value)
    assert "tensor" not in str(e.value) and len(str(e.value)) < 400


def test_the_default_spaces_and_presets_pass():
    for env in ("Pendulum-v1", "Hopper-v5", "FetchReach-v4", "ghp/CrazyflieHover-v0"):
        resolve(TrainConfig(env_id=env))
    resolve(dataclasses.replace(BASE, baseline=True))
    resolve(dataclasses.replace(BASE, depths=(0, 1, 2, 3, 4), widths=(4, 8, 16, 32, 64, 128, 256, 512)))


def test_architecture_count_is_computed_not_enumerated():
    c = dataclasses.replace(BASE, widths=tuple(range(1, 101)), depths=(3,))  # 1e6 architectures
    with pytest.raises(ValueError, match=f"more than {MAX_ARCHS}"):
        resolve(c)


def test_memory_estimate_grows_with_width():
    small = memory_estimate(resolve(BASE), 3, 1)
    wide = memory_estimate(resolve(dataclasses.replace(BASE, widths=(4, 4096))), 3, 1)
    assert 0 < small < 1e9 and wide > 10 * small


@pytest.mark.parametrize("value, expected", [(3, 3), (3.0, 3), ("12", 12), ("1e3", 1000), (1e6, 1_000_000)])
def test_whole_number_accepts_integral_values(value, expected):
    assert whole_number(value) == expected


@pytest.mark.parametrize("value", [1.7, True, math.inf, math.nan, "1e400", "x", [1], None])
def test_whole_number_refuses_the_rest(value):
    with pytest.raises(ValueError):
        whole_number(value)


def test_module_ids_need_the_users_word(monkeypatch):
    monkeypatch.delenv(ENV_MODULES_VAR, raising=False)
    for ok in ("Pendulum-v1", "ghp/CrazyflieHover-v0", "gymnasium_robotics:FetchReach-v4", "ghp.envs:X-v0"):
        check_env_id(ok)
    with pytest.raises(ValueError, match="--env-module this"):
        check_env_id("this:Foo-v0")
    allow_env_modules(["this"])
    check_env_id("this:Foo-v0")  # allowed now (for worker processes too, through the environment)
    with pytest.raises(ValueError, match="not a module name"):
        allow_env_modules(["os; rm"])
