"""Train a graph hyper policy inside Stable-Baselines3's own loop (paper, Section III-C).

SAC for locomotion and Pendulum, DDPG + HER for goal-conditioned Fetch tasks. ``n_envs`` parallel environments;
environment ``i`` acts with architecture ``i`` of the meta batch; one gradient update per environment transition.

Baselines, runs that evaluate / report / search / export read like any other (a one-architecture space):
``baseline=True`` trains SB3's plain ``[256, 256]`` actor with the same hyperparameters instead; ``arch=(8, 4, 4, 4)``
trains that one small MLP with plain SB3 (the paper's "Off-Policy RL" column); ``algo="ars"`` trains a linear policy
(or ``arch``) with sb3-contrib's Augmented Random Search on normalised observations, the normalisation saved beside
every checkpoint and folded into the exported weights.

Fields left ``None`` in :class:`TrainConfig` take per-environment defaults (:data:`ENV_DEFAULTS`, the authors'
settings where they exist, REFERENCE.md); :func:`resolve` fills them and the resolved config is what ``config.json``
records.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Callable, Collection
from dataclasses import fields
from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec, env_spec
from ghp.io.lock import run_lock
from ghp.io.progress import ProgressFn
from ghp.policy.normalize import load_vec_normalize, stats_path
from ghp.rl.build import buffer_capacity, build_model, make_vec_env, with_lr_schedule
from ghp.rl.callbacks import make_callback
from ghp.rl.config import TrainConfig, check_memory, option_name, preset_of, resolve
from ghp.rl.replay import REPLAY_FILE, load_replay_buffer
from ghp.rl.save import save_checkpoint_and_list
from ghp.run.layout import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    MODEL_FILE,
    is_ghp_run,
    read_config,
    remove_train_files,
    write_config,
)
from ghp.run.load import load_model

NoticeFn = Callable[[str], None]
"""Receives one-line notices for the user (what a resume changed, a missing replay buffer)."""


def _check_out(out: Path, resume: bool, force: bool) -> bool:
    """Validate the output directory; returns True when an existing run is to be resumed."""
    existing = (out / CONFIG_FILE).exists() or (out / MODEL_FILE).exists()
    if resume and force:
        raise ValueError("give either --resume or --force, not both")
    if resume:
        if not (out / MODEL_FILE).is_file():
            raise FileNotFoundError(f"nothing to resume in {out}: no {MODEL_FILE}")
        return True
    if existing and not force:
        raise FileExistsError(f"{out} already holds a run: use --resume to continue it or --force to replace it")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if force and out.is_dir() and any(out.iterdir()) and not is_ghp_run(out):
        raise FileExistsError(
            f"--force replaces only a ghp run, and {out} holds other files (no {CONFIG_FILE} with a ghp "
            "format_version): choose another --out"
        )
    probe_dir = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not probe_dir.is_dir():
        raise ValueError(f"cannot create the run directory {out}: {probe_dir} is not a directory")
    import os

    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to {out}: {probe_dir} is not writable")
    return False


def _write_config(out: Path, c: TrainConfig, spec: EnvSpec, run_id: str) -> None:
    import stable_baselines3
    import torch

    preset = preset_of(c)
    sections = {
        "algo": c.algo,
        "baseline": c.baseline,
        "train": c.to_dict(),
        "env": spec.to_dict(),
        "space": c.space.to_dict(),
        "hypernet": None if c.baseline else c.hypernet.to_dict(),
        "meta_batch": c.n_envs,
        "preset": {"name": c.preset, "source": "ghp's per-family defaults" if preset is None else preset.source},
    }
    write_config(out, run_id, sections, {"sb3": stable_baselines3.__version__, "torch": torch.__version__})


def _user_callbacks(callback: Any) -> list[Any]:
    """``callback`` (None, an SB3 callback, a list of them, or a function ``(locals, globals) -> bool``) as a list."""
    if callback is None:
        return []
    items = list(callback) if isinstance(callback, (list, tuple)) else [callback]
    from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback

    out = []
    for cb in items:
        if isinstance(cb, BaseCallback):
            out.append(cb)
        elif callable(cb):
            out.append(ConvertCallback(cb))
        else:
            raise ValueError(f"callback must be an SB3 BaseCallback, a list of them or a function, not {cb!r}")
    return out


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, as the CLI makes it) stopped :func:`train`; ``saved`` says what was saved on the way out."""

    def __init__(self, out: Path, saved: list[str]) -> None:
        super().__init__()
        self.out, self.saved = out, saved


def train(
    config: TrainConfig,
    resume: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
    given: Collection[str] | None = None,
    notice: NoticeFn | None = None,
    callback: Any = None,
    replay_buffer: bool = True,
) -> Path:
    """Train (or, with ``resume``, continue) a run; returns its directory.

    Every setting is checked before any file is touched. The run directory is locked while training
    (:mod:`ghp.io.lock`: a second writer stops with one line). With ``force``, the new run is trained in a temporary
    directory beside the old one and swapped in when it is saved (the old run stays whole if training fails);
    only files ``ghp train`` writes are deleted, anything else of the old directory is kept aside (a notice says
    where).

    A ``KeyboardInterrupt`` (Ctrl-C; the CLI turns SIGTERM into one too) saves ``model.zip``, a checkpoint and the
    replay buffer once training has started, then is re-raised as :class:`TrainingInterrupted`, which says what was
    saved (nothing when it came before training started).

    Args:
        given: with ``resume``, the fields the user set (:func:`resume_config`); ``None``: those off their default.
        notice: receives one-line notices (settings a resume changed, a resume without a replay buffer).
        callback: SB3 callbacks (one ``BaseCallback``, a list of them, or a function ``(locals, globals) -> bool``,
            as ``model.learn`` takes), called after ghp's own (checkpoints, progress) at every step; one returning
            False stops training, which is then saved like a finished run. A callback with SB3's ``EvalCallback``
            attribute ``last_mean_reward`` has its latest value reported to ``progress`` as ``eval_return``.
        replay_buffer: with ``resume``, False leaves the saved replay buffer unread (a truncated one, after a kill
            mid-save): the run resumes with an empty buffer refilled by ``learning_starts`` random-action steps.

    Raises:
        ValueError / FileNotFoundError / FileExistsError / PermissionError: bad input, with what to do instead
        (nothing is written before the input has been checked); :class:`ghp.io.lock.RunLocked` (a FileExistsError):
        another process is writing the run.
    """
    c = resolve(config)
    user = _user_callbacks(callback)
    out = Path(c.out)  # type: ignore[arg-type]
    resuming = _check_out(out, resume, force)
    if resuming:
        c = _resumed(out, config, given, notice)
    spec = env_spec(c.env_id, c.env_kwargs)
    check_memory(c, spec.obs_dim, spec.act_dim)
    assert c.steps is not None
    # ARS keeps its own normaliser (``*.obsnorm.npz`` and ``checkpoints/vecnormalize.pkl``), whatever --normalize says.
    stats = stats_path(out / MODEL_FILE) if resuming and c.normalize and c.algo != "ars" else None
    if stats is not None and not stats.is_file():
        raise FileNotFoundError(f"cannot resume {out}: it was trained with --normalize but {stats} is missing")
    # Everything is checked: from here on files are written.
    replacing = not resuming and force and out.is_dir() and any(out.iterdir())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"cannot create the run directory {out}: {e.strerror}") from None
    purpose = "train --resume" if resuming else "train --force" if replacing else "train"
    with run_lock(out, purpose):
        if not replacing:
            _train_in(out, c, spec, resuming, replay_buffer, progress, notice, user, stats)
            return out
        # --force: train beside the old run and swap it in once saved (the old run stays whole if training fails).
        work = out.parent / f".{out.name}.ghp-new-{uuid.uuid4().hex[:8]}"
        work.mkdir()
        try:
            _train_in(work, c, spec, resuming, replay_buffer, progress, notice, user, stats)
        except TrainingInterrupted as e:
            if not e.saved:
                shutil.rmtree(work, ignore_errors=True)
                raise
            _replace_run(work, out, notice)  # the new run is saved: it replaces the old one as planned
            raise TrainingInterrupted(out, e.saved) from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)  # only ghp wrote there; the old run is untouched
            raise
        _replace_run(work, out, notice)
    return out


def _resumed(out: Path, config: TrainConfig, given: Collection[str] | None, notice: NoticeFn | None) -> TrainConfig:
    """The settings of a resumed run: the saved ones, with what ``--resume`` may change taken from ``config``."""
    try:
        saved = resolve(TrainConfig.from_dict(read_config(out)["train"]))
    except (KeyError, TypeError) as e:
        raise ValueError(f"corrupt run config in {out}: {e}") from None
    c = resolve(dataclasses.replace(resume_config(saved, config, given), out=str(out)))
    changed = [k for k in RESUME_APPLIED if getattr(c, k) != getattr(saved, k)]
    if changed and notice is not None:
        notice(
            "resuming with " + ", ".join(f"{option_name(k)} {getattr(c, k)} (was {getattr(saved, k)})" for k in changed)
        )
    return c


def _train_in(
    work: Path,
    c: TrainConfig,
    spec: EnvSpec,
    resuming: bool,
    replay_buffer: bool,
    progress: ProgressFn | None,
    notice: NoticeFn | None,
    user: list[Any],
    stats: Path | None,
) -> Path:
    """Build (or load) the model in ``work``, train it and save it; an interruption saves and says what."""
    import torch

    assert c.steps is not None
    model = None
    env = None
    try:
        torch.set_num_threads(c.threads)
        env = make_vec_env(c, stats)
        if resuming:
            model = _load_for_resume(c, work, env, notice, replay_buffer)
            run_id = str(read_config(work)["run_id"])
        else:
            model = build_model(c, spec, env, work / "tb")
            run_id = uuid.uuid4().hex
        _write_config(work, c, spec, run_id)
        remaining = c.steps - model.num_timesteps
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=[make_callback(work, c, spec, run_id, c.steps, progress, user), *user],
                reset_num_timesteps=not resuming,
                tb_log_name="run",
            )
        save_checkpoint_and_list(model, work, with_replay=True)
    except KeyboardInterrupt as e:
        if isinstance(e, TrainingInterrupted):
            raise
        saved: list[str] = []
        if model is not None and (work / CONFIG_FILE).is_file():
            saved = save_checkpoint_and_list(model, work, with_replay=True)[1]
        raise TrainingInterrupted(work, saved) from None
    finally:
        if env is not None:
            try:
                env.close()
            except (EOFError, BrokenPipeError, ConnectionError):  # subprocess environments already gone (SIGTERM)
                pass
    return work


def _replace_run(new: Path, old: Path, notice: NoticeFn | None) -> None:
    """Swap the run trained in ``new`` into ``old``'s place by renames, then delete what ``ghp train`` wrote in the
    old run; anything else there (results, tuned policies, files of the user) is kept aside, and a notice says
    where."""
    import os

    try:
        old_id = str(read_config(old).get("run_id") or "")
    except (OSError, ValueError):
        old_id = ""
    aside = old.parent / f".{old.name}.ghp-old-{uuid.uuid4().hex[:8]}"
    os.rename(old, aside)
    os.rename(new, old)
    left = remove_train_files(aside)
    if not left:
        aside.rmdir()
        return
    kept = old.parent / f"{old.name}.replaced-{(old_id or uuid.uuid4().hex)[:8]}"
    os.rename(aside, kept)
    if notice is not None:
        notice(
            f"--force replaced the run in {old}; {len(left)} other file(s) of the old run ({', '.join(left[:3])}"
            f"{', ...' if len(left) > 3 else ''}) are kept in {kept}"
        )


def _load_for_resume(c: TrainConfig, out: Path, env: Any, notice: NoticeFn | None, replay_buffer: bool = True) -> Any:
    from ghp.rl.replay import resize_replay_buffer

    cfg = read_config(out)
    if c.algo == "ars":
        import torch

        stats = out / CHECKPOINT_DIR / "vecnormalize.pkl"
        if stats.is_file():
            env = load_vec_normalize(stats, env.venv)
        ars: Any = load_model(out / MODEL_FILE, cfg, env=env, device="cpu", tensorboard_log=str(out / "tb"))
        ars.weights = torch.nn.utils.parameters_to_vector(ars.policy.parameters()).detach()  # not restored by load
        return with_lr_schedule(ars, c)
    capacity = buffer_capacity(c)
    # Settings that may change on resume (RESUME_APPLIED) replace the saved ones before the model is set up.
    custom = {
        "buffer_size": capacity,
        "learning_starts": c.learning_starts,
        "batch_size": c.batch_size,
        "gamma": c.gamma,
        "tau": c.tau,
    }
    model = load_model(out / MODEL_FILE, cfg, custom, env=env, device=c.device, tensorboard_log=str(out / "tb"))
    replay = out / CHECKPOINT_DIR / REPLAY_FILE
    if replay.is_file() and replay_buffer:
        load_replay_buffer(model, replay, c.learning_starts or 0)
        buf: Any = model.replay_buffer
        old, slots = buf.buffer_size, max(capacity // buf.n_envs, 1)  # SB3 counts slots of n_envs transitions
        if old != slots:
            resize_replay_buffer(buf, slots)
            if notice is not None:
                notice(
                    f"replay buffer capacity {old * buf.n_envs} -> {slots * buf.n_envs} transitions "
                    "(from --steps / --buffer-size)"
                )
    else:
        # Refill before the next update, as a fresh run warms up: SB3 would otherwise sample an empty buffer
        # (HER refuses to before an episode has ended). The refill steps act randomly, as SB3's warm-up does.
        refill = c.learning_starts or 0  # resolved from the per-environment defaults by now
        model.learning_starts = model.num_timesteps + refill
        if notice is not None:
            why = (
                "--no-replay-buffer: leaving the saved replay buffer unread"
                if replay.is_file()
                else f"no replay buffer in {replay.parent} (the run was killed before it could save one)"
            )
            notice(
                f"{why}: resuming with an empty replay buffer, refilled with {refill} random-action steps "
                "(--learning-starts) before updates resume"
            )
    return with_lr_schedule(model, c)


RESUME_APPLIED: tuple[str, ...] = (
    "steps",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "gamma",
    "tau",
    "checkpoint_every",
    "vec_env",
    "threads",
    "device",
)
"""Settings ``--resume`` applies when they differ from the saved run's; any other difference is refused."""


def resume_config(saved: TrainConfig, config: TrainConfig, given: Collection[str] | None = None) -> TrainConfig:
    """The configuration a resumed run continues with: the saved one, plus the given settings that can change.

    Args:
        saved: the run's resolved configuration (``config.json``).
        config: what was asked for now.
        given: names of the fields the user set; ``None`` takes every field that differs from its default.

    Raises:
        ValueError: a given setting differs from the saved run's and cannot change in the middle of a run (one
            line naming each such option, with both values).
    """
    if given is None:
        default = TrainConfig()
        given = [f.name for f in fields(TrainConfig) if getattr(config, f.name) != getattr(default, f.name)]
    changes = {
        k: getattr(config, k)
        for k in given
        if k != "out" and getattr(config, k) is not None and getattr(config, k) != getattr(saved, k)
    }
    refused = [k for k in changes if k not in RESUME_APPLIED]
    if refused:
        diffs = ", ".join(f"{option_name(k)} (saved {getattr(saved, k)!r}, given {changes[k]!r})" for k in refused)
        raise ValueError(
            f"--resume continues the saved run, and these settings cannot change in the middle of it: {diffs}; "
            "drop them, or start a new run (another --out, or --force)"
        )
    return dataclasses.replace(saved, **changes)
