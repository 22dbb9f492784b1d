"""Environment facts ghp needs: the actor's input size, the action size and bounds, and how to build the env.

Goal-conditioned tasks (gymnasium-robotics Fetch, Dict observations) follow the paper: the policy sees the
observation with the desired goal appended, so its input size is ``observation + desired_goal``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FETCH_PREFIX = "Fetch"


@dataclass(frozen=True)
class EnvSpec:
    """What ghp needs to know about an environment."""

    env_id: str
    """The id ``gym.make`` was given."""
    obs_dim: int
    """Input size of the actor (observation, plus desired goal for goal-conditioned tasks)."""
    act_dim: int
    """Action size."""
    action_low: tuple[float, ...]
    """Lower action bounds."""
    action_high: tuple[float, ...]
    """Upper action bounds."""
    goal_conditioned: bool
    """True for Dict observations with ``observation`` / ``desired_goal`` / ``achieved_goal`` (HER tasks)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    """Keyword arguments ``gym.make`` was given (``--env-kwargs``); every stage that rebuilds the env passes them."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, the inverse of :meth:`from_dict`."""
        return {
            "env_id": self.env_id,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "action_low": list(self.action_low),
            "action_high": list(self.action_high),
            "goal_conditioned": self.goal_conditioned,
            "env_kwargs": dict(self.env_kwargs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnvSpec:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            env_id=str(d["env_id"]),
            obs_dim=int(d["obs_dim"]),
            act_dim=int(d["act_dim"]),
            action_low=tuple(float(x) for x in d["action_low"]),
            action_high=tuple(float(x) for x in d["action_high"]),
            goal_conditioned=bool(d["goal_conditioned"]),
            env_kwargs=dict(d.get("env_kwargs") or {}),
        )

    def make(self, **overrides: Any) -> Any:
        """Build the environment as training did (its id and env kwargs, ``overrides`` on top)."""
        return make_env(self.env_id, **{**self.env_kwargs, **overrides})


def parse_env_kwargs(items: Iterable[str]) -> dict[str, Any]:
    """``--env-kwargs``: ``KEY=VALUE`` items (several may share one string, separated by spaces) -> a dict.

    A VALUE is read as JSON (``true``, ``0.5``, ``[1.5, 2.0]``, ``"text"``); otherwise comma-separated numbers
    become a list (``mass_range=0.9,1.1``) and anything else stays a string. A string that starts with ``{`` is a
    JSON object of keyword arguments instead. Later items win. The one syntax of every command (train, evaluate,
    play, the benchmarks).

    Raises:
        ValueError: an item without ``=`` or with an empty key, or a ``{`` string that is not a JSON object.
    """
    out: dict[str, Any] = {}
    for text in items:
        if text.lstrip().startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"--env-kwargs {text!r} is not a JSON object: {e}") from None
            if not isinstance(value, dict):
                raise ValueError(f"--env-kwargs {text!r} is not a JSON object")
            out.update(value)
            continue
        for item in text.split():
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"malformed --env-kwargs item {item!r}: give KEY=VALUE, e.g. nominal=true")
            out[key] = _parse_value(value)
    return out


def _parse_value(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    if "," in value:
        try:
            return [float(v) for v in value.split(",")]
        except ValueError:
            pass
    return value


def canonical_kwargs(kwargs: dict[str, Any] | None) -> str:
    """One canonical JSON text of env kwargs (sorted keys, lists for pairs): what the results store keys on."""
    return json.dumps(kwargs or {}, sort_keys=True, separators=(",", ":"), default=list)


def register_robotics() -> None:
    """Import gymnasium-robotics so its Fetch ids exist, hiding the notice it prints on import."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        import gymnasium_robotics  # noqa: F401


def is_goal_env_id(env_id: str) -> bool:
    """True for ids of goal-conditioned robotics tasks (trained with DDPG + HER by default)."""
    return env_id.split(":")[-1].startswith(FETCH_PREFIX)


def episode_limit(env_id: str) -> int | None:
    """The registered episode limit of ``env_id`` (``max_episode_steps``), or None when unknown or unregistered."""
    import gymnasium as gym

    if is_goal_env_id(env_id) or env_id.startswith("gymnasium_robotics:"):
        register_robotics()
    try:
        limit = gym.spec(env_id.split(":")[-1]).max_episode_steps
    except Exception:  # noqa: BLE001  (any lookup failure means "unknown": make_env reports bad ids)
        return None
    return int(limit) if limit else None


ENV_MODULES_VAR = "GHP_ENV_MODULES"
"""Environment variable: comma-separated modules that ``module:Id`` environment ids may import (``ghp train
--env-module NAME`` sets it for its own process and its workers; set it yourself for evaluate, play, export)."""
TRUSTED_ENV_MODULES: tuple[str, ...] = ("ghp", "gymnasium", "gymnasium_robotics")
"""Packages whose ``module:Id`` ids are always allowed (their sub-modules too)."""
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def allow_env_modules(names: Iterable[str]) -> None:
    """Let ``module:Id`` ids import these modules, in this process and the worker processes it starts.

    Raises:
        ValueError: a name that is not a dotted module name.
    """
    names = [n.strip() for n in names if n.strip()]
    for name in names:
        if not _MODULE_NAME.match(name):
            raise ValueError(f"--env-module {name!r} is not a module name like my_envs or my_pkg.envs")
    merged = dict.fromkeys([*allowed_env_modules(), *names])
    os.environ[ENV_MODULES_VAR] = ",".join(merged)


def allowed_env_modules() -> tuple[str, ...]:
    """The modules the user allowed (:func:`allow_env_modules`, or ``GHP_ENV_MODULES``)."""
    return tuple(n.strip() for n in os.environ.get(ENV_MODULES_VAR, "").split(",") if n.strip())


def check_env_id(env_id: str) -> None:
    """Refuse a ``module:Id`` id whose module the user did not name: ``gym.make`` would import (run) it.

    Raises:
        ValueError: the module is neither ghp's, gymnasium's nor one allowed by :func:`allow_env_modules`.
    """
    if not isinstance(env_id, str) or not env_id.strip():
        raise ValueError(f"--env must be a gymnasium id such as Pendulum-v1, got {env_id!r}")
    module, sep, _ = env_id.rpartition(":")
    if not sep:
        return
    root = module.split(".")[0]
    if root in TRUSTED_ENV_MODULES or module in allowed_env_modules():
        return
    raise ValueError(
        f"--env {env_id!r} would import the module {module!r}: ghp imports only modules you name, so add "
        f"'--env-module {module}' to ghp train (or set {ENV_MODULES_VAR}={module} for other commands) if you trust it"
    )


def make_env(env_id: str, **kwargs: Any) -> Any:
    """``gym.make`` that also knows gymnasium-robotics ids; one clear ``ValueError`` for unknown ids.

    Raises:
        ValueError: an unknown id, bad env kwargs, or a ``module:Id`` whose module was not allowed
            (:func:`check_env_id`).
    """
    import gymnasium as gym

    check_env_id(env_id)
    if is_goal_env_id(env_id) or env_id.startswith("gymnasium_robotics:"):
        register_robotics()
    try:
        return gym.make(env_id, **kwargs)
    except TypeError as e:
        # An env that takes fixed keyword arguments refuses others with a TypeError.
        if "argument" not in str(e) or not kwargs:
            raise
        raise ValueError(f"environment {env_id!r} does not take these env kwargs {sorted(kwargs)}: {e}") from None
    except gym.error.Error as e:
        if "Fetch" not in env_id and "not found" in str(e).lower():
            # Robotics ids other than Fetch (e.g. AntMaze) also live in gymnasium-robotics.
            register_robotics()
            with contextlib.suppress(gym.error.Error):
                return gym.make(env_id, **kwargs)
        raise ValueError(f"unknown environment {env_id!r}: give a gymnasium id such as Pendulum-v1 or Hopper-v5") from e
    except ModuleNotFoundError as e:
        raise ValueError(f"environment {env_id!r} needs a package that is not installed: {e.name}") from e


def spec_from_spaces(
    env_id: str, observation_space: Any, action_space: Any, env_kwargs: dict[str, Any] | None = None
) -> EnvSpec:
    """Build an :class:`EnvSpec` from gymnasium spaces, refusing what ghp cannot drive."""
    from gymnasium import spaces

    if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
        raise ValueError(
            f"environment {env_id!r} has a {type(action_space).__name__} action space; "
            "ghp needs continuous (Box) actions"
        )
    goal = isinstance(observation_space, spaces.Dict)
    if goal:
        if "observation" not in observation_space.spaces or "desired_goal" not in observation_space.spaces:
            raise ValueError(f"environment {env_id!r} has a Dict observation without observation/desired_goal keys")
        obs_dim = int(observation_space["observation"].shape[0]) + int(observation_space["desired_goal"].shape[0])
    elif isinstance(observation_space, spaces.Box) and len(observation_space.shape) == 1:
        obs_dim = int(observation_space.shape[0])
    else:
        raise ValueError(f"environment {env_id!r} has a {observation_space} observation space; ghp needs a flat Box")
    return EnvSpec(
        env_id=env_id,
        obs_dim=obs_dim,
        act_dim=int(action_space.shape[0]),
        action_low=tuple(float(x) for x in action_space.low),
        action_high=tuple(float(x) for x in action_space.high),
        goal_conditioned=goal,
        env_kwargs=dict(env_kwargs or {}),
    )


def env_spec(env_id: str, env_kwargs: dict[str, Any] | None = None) -> EnvSpec:
    """Read the actor's input size and the action space of ``env_id`` built with ``env_kwargs``.

    Raises:
        ValueError: unknown id, missing package, bad env kwargs, or an action/observation space ghp cannot drive.
    """
    env = make_env(env_id, **(env_kwargs or {}))
    try:
        return spec_from_spaces(env_id, env.observation_space, env.action_space, env_kwargs)
    finally:
        env.close()


def vectorised(env: Any, n: int) -> Any | None:
    """The batched form of ``env`` with ``n`` copies, or None when it has none.

    The protocol: an environment offers ``env.unwrapped.vectorised(n)``, returning an object with
    ``reset_rows(rows, seeds) -> obs[len(rows), ...]`` (start new episodes on those copies, each from its seed) and
    ``step_batch(actions[n, ...]) -> (obs, rewards, terminated, truncated, success)``, arrays over all ``n`` copies,
    without autoreset. Copy ``i`` must behave exactly as a single environment reset with the same seed, so callers
    may use either form. ``ghp evaluate`` steps the batched form when there is one. Besides environments that
    offer one (the Crazyflie tasks), gymnasium's ``Pendulum-v1`` and ``Hopper-v5`` have one here
    (:mod:`ghp.envs.batched`).
    """
    make = getattr(getattr(env, "unwrapped", env), "vectorised", None)
    if callable(make):
        return make(n)
    # Third-party environments whose batched form ghp provides (the same numbers, bit for bit).
    from ghp.envs.batched import batched

    return batched(env, n)


def register_envs() -> None:
    """Register ghp's own environments (the Crazyflie tasks) with gymnasium; idempotent."""
    from ghp.envs.crazyflie.env import register

    register()


def _crazyflie_task(env_id: str) -> str | None:
    """The Crazyflie task of ``env_id`` (``hover``, ``goto``, ``track``), or None for any other environment."""
    from ghp.envs.crazyflie.env import ENV_IDS

    return ENV_IDS.get(env_id.split(":")[-1])


def pinned_env_kwargs(env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The env kwargs a run records: ``kwargs`` with the value of every option whose default has changed written out
    (the Crazyflie tasks' ``yaw_frame`` and ``yaw_weight``, GoTo's ``error_clip``), so a saved run keeps the task it
    was trained on."""
    from ghp.envs.crazyflie.config import pinned_kwargs

    task = _crazyflie_task(env_id)
    return dict(kwargs) if task is None else pinned_kwargs(task, dict(kwargs))


def legacy_env_kwargs(env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A saved run's env kwargs, with the default of then for every option it trained with before it was recorded
    (:func:`pinned_env_kwargs`)."""
    from ghp.envs.crazyflie.config import legacy_kwargs

    task = _crazyflie_task(env_id)
    return dict(kwargs) if task is None else legacy_kwargs(dict(kwargs), task)
