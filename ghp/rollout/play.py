"""Watch one policy: deterministic episodes, their returns, and optionally a video or a trajectory plot (``ghp play``).

Episode ``e`` is reset with the seed ``ghp evaluate`` uses for ``(seed, e)``
(:func:`ghp.rollout.engine.reset_seed`), so
the returns printed here are the ones the results table holds for the same seed and architecture.

- ``video``: gymnasium's ``RecordVideo`` around an ``rgb_array`` environment. MuJoCo tasks render offscreen through
  EGL or OSMesa (``MUJOCO_GL=egl`` / ``osmesa``); where neither works, one line says what to install.
- ``plot``: a PNG of the trajectory. For the Crazyflie tasks (``ghp/Crazyflie*``): position and attitude (roll,
  pitch, yaw) over time, from the simulator's state; for any other task: the policy's inputs and its actions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs import parse_env_kwargs
from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.rollout.engine import reset_seed


@dataclass(frozen=True)
class PlayConfig:
    """How to watch a policy (``ghp play``'s options are these fields: ``cli/options.py``)."""

    episodes: int = field(default=3, metadata={"min": 1})
    """Episodes to run."""
    seed: int = field(default=0, metadata={"min": 0})
    """Seed: episode e starts where ``ghp evaluate --seed`` starts its episode e."""
    max_episode_steps: int | None = field(default=None, metadata={"min": 1, "show_default": "the environment's own"})
    """Override of the environment's episode limit."""
    env_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={"parse_all": parse_env_kwargs, "metavar": "KEY=VALUE ...", "show_default": "none"},
    )
    """Keyword arguments of the environment on top of the run's, e.g. ``nominal=true`` (repeatable; the syntax of
    ``ghp train --env-kwargs``, or one JSON object)."""
    video: Path | None = None
    """Record the episodes to this .mp4 (one file per episode beyond the first: NAME-episode-N.mp4)."""
    plot: Path | None = None
    """Write the trajectory as a PNG: position and attitude for the Crazyflie tasks, inputs and actions otherwise."""

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {self.episodes}")
        if self.video is not None and Path(self.video).suffix.lower() != ".mp4":
            raise ValueError(f"--video {self.video}: give a file name ending in .mp4")
        if self.plot is not None and Path(self.plot).suffix.lower() != ".png":
            raise ValueError(f"--plot {self.plot}: give a file name ending in .png")


@dataclass(frozen=True)
class Episode:
    """One deterministic episode."""

    ret: float
    length: int
    success: bool | None
    """``info["is_success"]`` at the end, for tasks that report it."""


@dataclass(frozen=True)
class PlayResult:
    """What :func:`play` did."""

    episodes: tuple[Episode, ...]
    traces: tuple[dict[str, np.ndarray], ...] = ()
    """Per episode, per step: ``obs`` (policy input), ``act``; for the Crazyflie tasks also ``pos`` (m, world) and
    ``rpy`` (roll, pitch, yaw in degrees)."""
    videos: tuple[Path, ...] = ()
    plot: Path | None = None

    @property
    def mean_return(self) -> float:
        """The mean return over the episodes."""
        return sum(e.ret for e in self.episodes) / len(self.episodes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (the traces left out)."""
        return {
            "episodes": [{"return": e.ret, "length": e.length, "success": e.success} for e in self.episodes],
            "mean_return": self.mean_return,
            "videos": [str(v) for v in self.videos],
            "plot": None if self.plot is None else str(self.plot),
        }


class RenderError(RuntimeError):
    """The environment cannot render here; the message says what to install."""


_GL_HELP = (
    "MuJoCo cannot render offscreen here (no working OpenGL): install EGL (Debian: apt-get install libegl1 "
    "libgl1; then MUJOCO_GL=egl) or OSMesa (apt-get install libosmesa6; then MUJOCO_GL=osmesa), or use --plot"
)


def _make(env_id: str, config: PlayConfig, render: bool) -> Any:
    from ghp.envs import make_env

    kwargs = dict(config.env_kwargs)
    if config.max_episode_steps is not None:
        kwargs["max_episode_steps"] = config.max_episode_steps
    if not render:
        return make_env(env_id, **kwargs)
    if "mujoco" in _entry_point(env_id) and "MUJOCO_GL" not in os.environ:
        # Offscreen (the default, glfw, needs a display): OSMesa (software) where installed, else EGL (a GPU).
        import ctypes.util

        os.environ["MUJOCO_GL"] = "osmesa" if ctypes.util.find_library("OSMesa") else "egl"
    try:
        env = make_env(env_id, render_mode="rgb_array", **kwargs)
    except Exception as e:  # noqa: BLE001  (a missing renderer surfaces as many exception types)
        raise RenderError(f"{env_id} cannot render video: {_one_line(e)}") from None
    if "rgb_array" not in (env.metadata.get("render_modes") or []):
        env.close()
        raise RenderError(f"{env_id} has no video renderer: use --plot for a trajectory plot")
    try:
        env.reset(seed=0)
        frame = env.render()
    except Exception as e:  # noqa: BLE001
        env.close()
        raise RenderError(_GL_HELP if "mujoco" in _entry_point(env_id) else f"{env_id}: {_one_line(e)}") from None
    if frame is None:
        env.close()
        raise RenderError(f"{env_id} rendered nothing: use --plot for a trajectory plot")
    return env


def _entry_point(env_id: str) -> str:
    import gymnasium as gym

    try:
        return str(gym.spec(env_id).entry_point)
    except Exception:  # noqa: BLE001
        return ""


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def play(weights: PolicyWeights, env_id: str, config: PlayConfig, on_episode: Any = None) -> PlayResult:
    """Run ``weights`` deterministically in ``env_id`` for ``config.episodes`` episodes.

    Args:
        on_episode: called with ``(index, Episode)`` after each episode.

    Raises:
        ValueError: bad input (unknown environment, a policy whose input size does not match it).
        RenderError: ``video`` was asked for where the environment cannot render.
    """
    video_dir = Path(tempfile.mkdtemp(prefix="ghp-play-")) / "video" if config.video is not None else None
    env = _make(env_id, config, render=video_dir is not None)
    try:
        if video_dir is not None:
            try:
                from gymnasium.wrappers import RecordVideo

                env = RecordVideo(
                    env, str(video_dir), episode_trigger=lambda _: True, name_prefix="ep", disable_logger=True
                )
            except Exception as err:  # noqa: BLE001  (gymnasium raises DependencyNotInstalled without moviepy)
                raise RenderError(f"recording video needs moviepy: pip install moviepy ({_one_line(err)})") from None
        episodes, traces = [], []
        for e in range(config.episodes):
            obs, _ = env.reset(seed=reset_seed(config.seed, e))
            x = obs_vector(obs)
            if x.shape[-1] != weights.obs_dim:
                raise ValueError(f"{env_id} gives {x.shape[-1]} inputs but the policy takes {weights.obs_dim}")
            total, n, done, info = 0.0, 0, False, {}
            trace: dict[str, list[np.ndarray]] = {"obs": [], "act": [], "pos": [], "rpy": []}
            while not done:
                a = weights.act(x)
                _record(trace, env, x, a)
                obs, r, term, trunc, info = env.step(a)
                x = obs_vector(obs)
                total, n, done = total + float(r), n + 1, bool(term or trunc)
            ep = Episode(total, n, bool(info["is_success"]) if "is_success" in info else None)
            episodes.append(ep)
            traces.append({k: np.asarray(v) for k, v in trace.items() if v})
            if on_episode is not None:
                on_episode(e, ep)
    finally:
        env.close()
    videos = _move_videos(video_dir, config.video) if video_dir is not None and config.video is not None else ()
    plot = _plot(traces, env_id, config.plot) if config.plot is not None else None
    return PlayResult(tuple(episodes), tuple(traces), videos, plot)


def _record(trace: dict[str, list[np.ndarray]], env: Any, x: np.ndarray, a: np.ndarray) -> None:
    trace["obs"].append(np.array(x, np.float64))  # copies: environments may update arrays in place
    trace["act"].append(np.array(a, np.float64))
    state = getattr(getattr(env.unwrapped, "batch", None), "state", None)  # the Crazyflie simulator's state
    if state is not None and hasattr(state, "pos") and hasattr(state, "rot"):
        trace["pos"].append(np.array(state.pos[0], np.float64))
        trace["rpy"].append(_rpy_deg(np.asarray(state.rot[0], np.float64)))


def _rpy_deg(rot: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (ZYX Tait-Bryan angles, degrees) of a body-to-world rotation matrix."""
    roll = np.arctan2(rot[2, 1], rot[2, 2])
    pitch = -np.arcsin(np.clip(rot[2, 0], -1.0, 1.0))
    yaw = np.arctan2(rot[1, 0], rot[0, 0])
    return np.degrees([roll, pitch, yaw])


def _move_videos(video_dir: Path, target: Path) -> tuple[Path, ...]:
    files = sorted(video_dir.glob("*.mp4"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for i, f in enumerate(files):
        dest = target if i == 0 else target.with_name(f"{target.stem}-episode-{i}{target.suffix}")
        shutil.move(str(f), dest)
        out.append(dest)
    shutil.rmtree(video_dir.parent, ignore_errors=True)
    return tuple(out)


def _plot(traces: list[dict[str, np.ndarray]], env_id: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drone = all("pos" in t for t in traces)
    panels: list[tuple[str, str, tuple[str, ...] | None]] = (
        [("pos", "position (m)", ("x", "y", "z")), ("rpy", "attitude (deg)", ("roll", "pitch", "yaw"))]
        if drone
        else [("obs", "policy input", None)]
    )
    panels.append(("act", "action", None))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, label, names) in zip(axes[:, 0], panels, strict=True):
        for e, t in enumerate(traces):
            data = t[key]
            for k in range(data.shape[1]):
                name = (names[k] if names else f"{key}[{k}]") if e == 0 else None
                ax.plot(data[:, k], color=colours[k % len(colours)], alpha=1.0 if e == 0 else 0.35, lw=1, label=name)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if data.shape[1] <= 12:
            ax.legend(loc="upper right", fontsize=7, ncol=min(6, data.shape[1]))
    axes[-1, 0].set_xlabel("policy step")
    fig.suptitle(f"{env_id}: {len(traces)} deterministic episode(s) (later episodes faded)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
