"""The run directory's layout: its file names, its ``config.json`` (read and written here only), its checkpoints.

A run directory, written by ``ghp train`` (:func:`ghp.rl.train.train`) or ``ghp chromatic``::

    RUN/config.json        format_version, run_id, versions, train config, env spec, space, hypernetwork, algo
    RUN/model.zip          the latest SB3 model (a stock SAC.load / DDPG.load reloads it once ghp is imported)
    RUN/checkpoints/*.zip  periodic checkpoints (step_<env steps>.zip)
    RUN/**.vecnormalize.pkl  with --normalize: the observation statistics saved with each model file
    RUN/policy.npz         a run that stores its one policy (ghp chromatic) instead of a model
    RUN/eval.jsonl, tb/    the periodic evaluation and TensorBoard logs of training
    RUN/results.sqlite     every evaluated architecture (:mod:`ghp.run.results`)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec, legacy_env_kwargs
from ghp.policy.normalize import STATS_SUFFIX
from ghp.space.arch import ArchSpace

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
MODEL_FILE = "model.zip"
CHECKPOINT_DIR = "checkpoints"
OBS_NORM_SUFFIX = ".obsnorm.npz"
"""ARS runs: the observation normaliser's ``mean``, ``var``, ``epsilon`` beside each saved model."""
STORED_POLICY_ALGO = "chromatic"
"""``algo`` of runs that store one policy (``POLICY_FILE``) instead of an SB3 model: ``ghp chromatic`` runs."""
POLICY_FILE = "policy.npz"
STORED_SUMMARY_FILE = "summary.json"


def checkpoint_path(path: Path, checkpoint: str | None) -> Path:
    """The model file of ``checkpoint`` (None: the latest model; a name like ``step_2000``, or a file path)."""
    if checkpoint is None:
        return path / MODEL_FILE
    cands = [Path(checkpoint), path / CHECKPOINT_DIR / checkpoint, path / CHECKPOINT_DIR / f"{checkpoint}.zip"]
    for c in cands:
        if c.is_file():
            return c
    names = sorted(p.stem for p in (path / CHECKPOINT_DIR).glob("*.zip"))
    raise FileNotFoundError(
        f"no checkpoint {checkpoint!r} in {path}; available: {', '.join(names) if names else 'none'}"
    )


def checkpoints(path: str | Path) -> list[tuple[int, str]]:
    """The run's saved checkpoints as ``(environment steps, name)``, ascending (``[(2000, "step_2000"), ...]``).

    Names are what :func:`load_run` and ``--checkpoint`` take; files not named ``step_<N>.zip`` are ignored.
    """
    out = []
    for p in (Path(path) / CHECKPOINT_DIR).glob("step_*.zip"):
        tail = p.stem.removeprefix("step_")
        if tail.isdigit():
            out.append((int(tail), p.stem))
    return sorted(out)


def read_config(path: str | Path) -> dict[str, Any]:
    """The run's ``config.json``.

    Raises:
        FileNotFoundError: not a run directory.
        ValueError: the file is corrupt or from an unknown format version.
    """
    path = Path(path)
    cfg_file = path / CONFIG_FILE
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{path} is not a ghp run directory (no {CONFIG_FILE}); train one with 'ghp train'")
    try:
        cfg = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"corrupt run config {cfg_file}: {e}") from None
    if not isinstance(cfg, dict) or "format_version" not in cfg:
        raise ValueError(f"corrupt run config {cfg_file}: no format_version")
    if int(cfg["format_version"]) > FORMAT_VERSION:
        raise ValueError(f"run {path} has format version {cfg['format_version']}; upgrade ghp to read it")
    return _with_legacy_env_kwargs(cfg)


def _with_legacy_env_kwargs(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with the options its run trained with before they were recorded filled in (``legacy_env_kwargs``), in
    the train section and the env spec alike, so every stage rebuilds the task the run was trained on."""
    env_id = (cfg.get("train") or {}).get("env_id") or (cfg.get("env") or {}).get("env_id")
    if not isinstance(env_id, str):
        return cfg
    for key in ("train", "env"):
        section = cfg.get(key)
        if isinstance(section, dict) and isinstance(section.get("env_kwargs", {}), dict):
            section["env_kwargs"] = legacy_env_kwargs(env_id, section.get("env_kwargs") or {})
    return cfg


TRAIN_FILES: tuple[str, ...] = (
    CONFIG_FILE,
    MODEL_FILE,
    "model" + STATS_SUFFIX,
    "model" + OBS_NORM_SUFFIX,
    "eval.jsonl",
    ".ghp-run.lock",
)
"""Files ``ghp train`` writes at the top of a run directory (besides ``checkpoints/`` and ``tb/``)."""
_CHECKPOINT_FILE = re.compile(
    r"^(step_\d+(\.zip|" + re.escape(STATS_SUFFIX) + "|" + re.escape(OBS_NORM_SUFFIX) + r")"
    r"|replay_buffer\.pkl|vecnormalize\.pkl|\..*\.tmp)$"
)


def remove_train_files(path: str | Path) -> list[str]:
    """Delete what ``ghp train`` wrote in the run directory ``path`` (``--force``): its files, ``tb/`` and the
    checkpoints; return the names of everything else, left in place (results, tuned policies, the user's files)."""
    import shutil

    path = Path(path)
    for name in TRAIN_FILES:
        p = path / name
        if p.is_file() and not p.is_symlink():
            p.unlink()
    tb = path / "tb"
    if tb.is_dir() and not tb.is_symlink():
        shutil.rmtree(tb)
    ckpt = path / CHECKPOINT_DIR
    if ckpt.is_dir() and not ckpt.is_symlink():
        for p in ckpt.iterdir():
            if p.is_file() and not p.is_symlink() and _CHECKPOINT_FILE.match(p.name):
                p.unlink()
        if not any(ckpt.iterdir()):
            ckpt.rmdir()
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def is_ghp_run(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a ghp run: a readable ``config.json`` with ghp's format version.

    ``ghp train --force`` deletes only such a directory, never a folder that merely has the name given to ``--out``.
    """
    try:
        cfg = read_config(path)
    except (FileNotFoundError, ValueError, TypeError, OSError):
        return False
    return "run_id" in cfg and "train" in cfg


def spec_and_space(path: Path | str, cfg: dict[str, Any]) -> tuple[EnvSpec, ArchSpace]:
    """The environment spec and architecture space a run's config records."""
    try:
        return EnvSpec.from_dict(cfg["env"]), ArchSpace.from_dict(cfg["space"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"corrupt run config in {path}: {e}") from None


def run_facts(path: str | Path) -> tuple[str, EnvSpec, ArchSpace]:
    """``(run_id, env spec, space)`` of a run, read from its ``config.json`` without loading the model.

    Raises:
        FileNotFoundError / ValueError: not a run directory, or a corrupt config.
    """
    cfg = read_config(path)
    if "run_id" not in cfg:
        raise ValueError(f"corrupt run config in {path}: no run_id")
    return (str(cfg["run_id"]), *spec_and_space(path, cfg))


def write_config(
    path: str | Path, run_id: str, sections: dict[str, Any], versions: dict[str, str] | None = None
) -> None:
    """Write a run's ``config.json`` (atomically): the format version, ``run_id``, the versions of ghp (and of
    ``versions``: SB3, torch) that wrote it, then ``sections`` (algo, train config, env spec, space, ...)."""
    import ghp
    from ghp.io.atomic import write_text

    cfg = {"format_version": FORMAT_VERSION, "run_id": run_id, "versions": {"ghp": ghp.__version__, **(versions or {})}}
    write_text(Path(path) / CONFIG_FILE, json.dumps({**cfg, **sections}, indent=2) + "\n")
