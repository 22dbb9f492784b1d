"""Settings presets of a training run: the authors' (ghp's per-family defaults) or RL Zoo's, as users run them.

A baseline is worth what its settings are. ``ghp train --preset authors`` (the default) uses the graph hyper
policies paper's settings for every run of a task, the baselines included (``ghp.rl.defaults.ENV_DEFAULTS``).
``--preset rlzoo`` uses what a user of Stable-Baselines3 gets from RL Zoo (``rl_zoo3``'s tuned hyperparameter files,
read from the installed package: nothing is copied here) and SB3's / sb3-contrib's own defaults for what a file does
not set or for tasks RL Zoo does not list.

RL Zoo lists older versions of some tasks (``Hopper-v4``, ``FetchReach-v1``): a task takes the entry of its own id,
else of the same name at the highest version listed. The entry used is recorded in the run's ``config.json``.

Only settings ghp can honour are read; a key that would change the algorithm in a way ghp does not implement (a
learning-rate schedule, gSDE, ``train_freq`` other than 1) is refused with one line rather than silently dropped.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRESETS: tuple[str, ...] = ("authors", "rlzoo")
"""Values of ``TrainConfig.preset``."""

SB3_DEFAULTS: dict[str, dict[str, Any]] = {
    # stable-baselines3 2.x constructor defaults (SAC, DDPG, TD3) and sb3-contrib's ARS, with one environment as RL Zoo.
    "sac": dict(lr=3e-4, buffer_size=1_000_000, learning_starts=100, batch_size=256, tau=0.005, gamma=0.99,
                gradient_steps=1, ent_coef="auto", n_envs=1, arch=(256, 256), critic=(256, 256), normalize=False),
    "ddpg": dict(lr=1e-3, buffer_size=1_000_000, learning_starts=100, batch_size=256, tau=0.005, gamma=0.99,
                 gradient_steps=1, n_envs=1, arch=(400, 300), critic=(400, 300), normalize=False, action_noise=0.0,
                 action_l2=0.0),
    "td3": dict(lr=1e-3, buffer_size=1_000_000, learning_starts=100, batch_size=256, tau=0.005, gamma=0.99,
                gradient_steps=1, n_envs=1, arch=(400, 300), critic=(400, 300), normalize=False, action_noise=0.0,
                action_l2=0.0),
    "ars": dict(ars_n_delta=8, ars_n_top=None, lr=0.02, ars_delta_std=0.05, ars_alive_bonus=0.0, n_envs=1, arch=()),
}  # fmt: skip
"""SB3's defaults where RL Zoo's file does not set a value (``arch``: the actor's hidden widths; ``critic``: the
Q-networks', SB3's ``net_arch`` being both unless a file splits it into ``pi`` and ``qf``)."""
for _d in SB3_DEFAULTS.values():  # SB3 keeps a number learning rate constant
    _d["lr_schedule"] = "constant"

_IGNORED = {"policy", "online_sampling", "zero_policy", "n_timesteps_eval", "env_wrapper", "callback", "frame_stack"}
"""RL Zoo keys with no effect on what ghp trains (``n_timesteps`` is handled on its own)."""


@dataclass(frozen=True)
class Preset:
    """The settings of a preset for one task and algorithm, and where they come from."""

    name: str
    algo: str
    """The algorithm the preset trains with."""
    settings: dict[str, Any]
    """``TrainConfig`` field -> value."""
    source: str
    """Where the values come from (file and entry), recorded in the run's config."""


def zoo_dir() -> Path:
    """The installed ``rl_zoo3`` package's ``hyperparams`` folder (found without importing the package).

    Raises:
        ValueError: rl_zoo3 is not installed.
    """
    spec = importlib.util.find_spec("rl_zoo3")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("--preset rlzoo reads RL Zoo's files: pip install rl_zoo3 (or graph-hyper-policies[zoo])")
    return Path(next(iter(spec.submodule_search_locations))) / "hyperparams"


def zoo_version() -> str:
    """Installed rl_zoo3 version (recorded with the preset)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rl_zoo3")
    except PackageNotFoundError:
        return "unknown"


def _entry_name(entries: dict[str, Any], env_id: str) -> str | None:
    """The file's entry for ``env_id``: its own, else the same task at the highest version listed."""
    name = env_id.split(":")[-1].split("/")[-1]
    if name in entries:
        return name
    m = re.fullmatch(r"(.+)-v(\d+)", name)
    if m is None:
        return None
    same = [(int(k.rsplit("-v", 1)[1]), k) for k in entries if re.fullmatch(re.escape(m.group(1)) + r"-v\d+", k)]
    return max(same)[1] if same else None


def _kwargs(text: Any, what: str) -> dict[str, Any]:
    """RL Zoo's ``"dict(a=1, b=[2, 3])"`` strings as a dict, parsed as literals (never evaluated)."""
    if isinstance(text, dict):
        return text
    try:
        call = ast.parse(str(text).strip(), mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "dict"):
            raise ValueError("not dict(...)")
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
    except (SyntaxError, ValueError) as e:
        raise ValueError(f"RL Zoo's {what} {text!r} is not a dict of literals ghp can read: {e}") from None


def _learning_rate(value: Any) -> dict[str, Any]:
    """RL Zoo's ``learning_rate``: a number, or ``lin_X`` (linear from X to 0) -> ``lr`` and ``lr_schedule``."""
    linear = isinstance(value, str) and value.startswith(("lin_", "linear_"))
    return {
        "lr": float(str(value).split("_", 1)[1] if linear else value),
        "lr_schedule": "linear" if linear else "constant",
    }


def _translate(algo: str, hp: dict[str, Any]) -> dict[str, Any]:
    """RL Zoo keys -> ``TrainConfig`` fields (ghp's names)."""
    out: dict[str, Any] = {}
    for key, value in hp.items():
        if key in _IGNORED:
            continue
        if key == "n_timesteps":
            out["steps"] = int(float(value))
        elif key == "learning_rate":
            out |= _learning_rate(value)
        elif key in ("buffer_size", "batch_size", "learning_starts", "gradient_steps", "n_envs"):
            out[key] = int(value)
        elif key in ("gamma", "tau"):
            out[key] = float(value)
        elif key == "ent_coef":
            out["ent_coef"] = str(value)
        elif key == "train_freq":
            if int(value) != 1:
                raise ValueError(f"RL Zoo's train_freq {value} is not implemented by ghp (it updates every step)")
        elif key == "normalize":
            kw = {"norm_obs": True, "norm_reward": True} if value is True else _kwargs(value, key) if value else {}
            out["normalize"] = bool(kw.get("norm_obs", bool(value)))
            out["normalize_clip"] = float(kw.get("clip_obs", 10.0))  # VecNormalize's default
            out["normalize_reward"] = bool(kw.get("norm_reward", False)) and out["normalize"]
        elif key == "policy_kwargs":
            kw = _kwargs(value, key)
            net: Any = kw.get("net_arch")
            actor, critic = (net.get("pi"), net.get("qf")) if isinstance(net, dict) else (net, net)
            if isinstance(actor, (list, tuple)):
                out["arch"] = tuple(int(w) for w in actor)
            if isinstance(critic, (list, tuple)):
                out["critic"] = tuple(int(w) for w in critic)
        elif key in ("replay_buffer_kwargs",):
            out["her_goals"] = int(_kwargs(value, key).get("n_sampled_goal", 4))
        elif key == "n_sampled_goal":
            out["her_goals"] = int(value)
        elif key == "replay_buffer_class" or key == "goal_selection_strategy":
            if str(value) not in ("HerReplayBuffer", "future"):
                raise ValueError(f"RL Zoo's {key} {value!r} is not implemented by ghp")
        elif key == "noise_std":
            out["action_noise"] = float(value)
        elif key == "noise_type":
            if str(value) != "normal":
                raise ValueError(f"RL Zoo's noise_type {value!r} is not implemented by ghp (normal only)")
        elif key == "model_class":
            out["algo"] = str(value)
        elif algo == "ars" and key in ("n_delta", "n_top", "delta_std", "alive_bonus_offset"):
            field = {"n_delta": "ars_n_delta", "n_top": "ars_n_top", "delta_std": "ars_delta_std"}
            out[field.get(key, "ars_alive_bonus")] = (
                float(value) if key in ("delta_std", "alive_bonus_offset") else int(value)
            )
        else:
            raise ValueError(f"RL Zoo's {key}={value!r} is not implemented by ghp: use --preset authors")
    if algo == "ars" and hp.get("policy") == "LinearPolicy":
        out["arch"] = ()
    if algo == "ars":
        # ghp's ARS always normalises observations with its own normaliser (RL Zoo's ``norm_obs=True, norm_reward=
        # False``); ``--normalize`` is the off-policy algorithms' VecNormalize.
        for key in ("normalize", "normalize_reward", "normalize_clip"):
            out.pop(key, None)
    return out


def _entries(algo: str) -> dict[str, Any]:
    """The entries of RL Zoo's ``ALGO.yml`` (empty when the installed rl_zoo3 has no such file)."""
    import yaml

    path = zoo_dir() / f"{algo}.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def rlzoo(env_id: str, algo: str) -> Preset:
    """RL Zoo's settings for ``env_id`` trained with ``algo`` (SB3's defaults where its file has no entry).

    Goal-conditioned tasks are in the algorithm's own file too (RL Zoo keeps FetchReach under ``sac.yml``, with
    ``HerReplayBuffer``).
    """
    base = dict(SB3_DEFAULTS[algo])
    entries = _entries(algo)
    name = _entry_name(entries, env_id)
    if name is None:
        return Preset("rlzoo", algo, base, f"rl_zoo3 {zoo_version()}: no entry for {env_id}; SB3's {algo} defaults")
    settings = base | _translate(algo, dict(entries[name]))
    source = f"rl_zoo3 {zoo_version()} hyperparams/{algo}.yml: {name}"
    return Preset("rlzoo", str(settings.get("algo", algo)), settings, source)


def zoo_algo(env_id: str, goal_conditioned: bool) -> str | None:
    """The algorithm RL Zoo trains a goal-conditioned task with (the first of sac's and ddpg's files listing it), or
    None."""
    if not goal_conditioned:
        return None
    return next((algo for algo in ("sac", "ddpg") if _entry_name(_entries(algo), env_id) is not None), None)
