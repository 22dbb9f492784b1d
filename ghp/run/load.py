"""Load a training run and get deployable policies out of it (the library API of evaluation and export).

The directory's layout is :mod:`ghp.run.layout`'s. Usage::

    run = load_run("runs/pendulum")
    [w] = run.emit([Arch((8, 4))])       # PolicyWeights, action-mean head only
    module = run.policy(Arch((8, 4)))    # obs -> deterministic action, no hypernetwork inside
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec
from ghp.policy.normalize import ObsNormalization, load_stats, stats_path
from ghp.policy.weights import PolicyWeights
from ghp.run.layout import (
    CHECKPOINT_DIR,
    MODEL_FILE,
    OBS_NORM_SUFFIX,
    POLICY_FILE,
    STORED_POLICY_ALGO,
    STORED_SUMMARY_FILE,
    checkpoint_path,
    read_config,
    spec_and_space,
)
from ghp.space.arch import Arch, ArchSpace

EMIT_BLOCK = 256
"""Architectures per hypernetwork call in :meth:`Run.emit`: consecutive blocks of the space, always the same ones."""
BASELINE_ARCH = Arch((256, 256))
"""The one architecture of a ``--baseline`` run (SB3's default actor)."""


@dataclass
class Run:
    """A loaded run: its configuration, environment facts, architecture space and SB3 model."""

    path: Path
    run_id: str
    spec: EnvSpec
    space: ArchSpace
    algo: str
    config: dict[str, Any]
    timesteps: int
    baseline: bool
    model: Any = field(repr=False)
    """The loaded SB3 model (SAC, DDPG, TD3 or sb3-contrib's ARS); None for a run that stores its one policy."""
    stored: PolicyWeights | None = field(default=None, repr=False)
    """The policy of a run without a hypernetwork (``ghp chromatic``): ``emit`` returns it for its architecture."""
    counts: tuple[int, int] | None = None
    """``(params, bytes)`` of a stored policy counted its own way (chromatic: distinct weights + biases, and the
    paper's bits / 8); evaluation records these instead of the dense architecture's counts."""
    normalization: ObsNormalization | None = field(default=None, repr=False)
    """The frozen observation statistics the actor was trained behind (``--normalize``, and ARS's own normaliser),
    folded into every emitted policy. The one owner of a run's normalisation: :func:`load_run` reads it from the
    model file's sidecar, :func:`live_run` from the training model's ``VecNormalize``."""

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]:
        """Deterministic-policy weights of every architecture in ``archs``, in order (float32, no grad).

        A ``--normalize`` run's policies act on raw observations: its statistics are folded into the first layer
        and its clip into the observation clip (:mod:`ghp.policy.normalize`).

        The hypernetwork always runs on fixed blocks of the space (:data:`EMIT_BLOCK` consecutive architectures in
        space order), never on the selection as given: batched float32 arithmetic rounds differently with the batch's
        shape, so emitting ``[a]`` alone and ``a`` among others gave weights differing in the last bits. This way an
        architecture's weights are the same bits whoever asks for it (evaluation of any subset, export, ``policy``).

        Args:
            batch_size: accepted for the :class:`ghp.rollout.evaluate.EvalSource` protocol; it does not change the
            blocks.

        Raises:
            ValueError: an architecture is outside the run's space.
        """
        import numpy as np
        import torch

        archs = list(archs)
        for a in archs:
            if a not in self.space:
                raise ValueError(
                    f"architecture {a.key} is outside the run's space "
                    f"(widths {list(self.space.widths)}, depths {list(self.space.depths)})"
                )
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        low, high = self.spec.action_low, self.spec.action_high
        if self.stored is not None:
            return [self.stored for _ in archs]
        if self.baseline:
            layers = self._baseline_layers()
            return [self._folded(PolicyWeights.from_arrays(a, layers, low, high)) for a in archs]
        actor = self.model.policy.actor
        index = {a: self.space.index(a) for a in archs}
        wanted: dict[int, set[int]] = {}
        for i in index.values():
            wanted.setdefault(i // EMIT_BLOCK, set()).add(i)
        emitted: dict[int, PolicyWeights] = {}
        low32, high32 = np.asarray(low, np.float32), np.asarray(high, np.float32)
        with torch.no_grad():
            for b in sorted(wanted):
                block = list(self.space.archs[b * EMIT_BLOCK : (b + 1) * EMIT_BLOCK])
                keep = sorted(i - b * EMIT_BLOCK for i in wanted[b])  # the whole block runs, only these are decoded
                for k, layers in zip(keep, actor.deterministic_numpy(block, keep), strict=True):
                    # The emitter gives numpy arrays: made float32 C-contiguous here (a no-op for the factorised
                    # decoder's) without from_arrays's torch checks, a tenth of an emission of the whole space.
                    arrays = tuple((np.ascontiguousarray(w, np.float32), np.ascontiguousarray(bias, np.float32))
                                   for w, bias in layers)  # fmt: skip
                    emitted[b * EMIT_BLOCK + k] = self._folded(PolicyWeights(block[k], arrays, low32, high32))
        return [emitted[index[a]] for a in archs]

    @property
    def emit_block(self) -> int | None:
        """Architectures of the space that :meth:`emit` computes together (:data:`EMIT_BLOCK` consecutive ones), or
        None when emitting costs nothing per block (a stored or baseline policy). Asking for a few architectures of
        a block costs the whole block, so evaluation asks for whole blocks, each once."""
        return None if self.stored is not None or self.baseline else EMIT_BLOCK

    def _folded(self, weights: PolicyWeights) -> PolicyWeights:
        return weights if self.normalization is None else self.normalization.fold(weights)

    def policy(self, arch: Arch) -> Any:
        """A plain torch module ``obs -> deterministic action`` for ``arch`` (``emit([arch])[0].to_module()``)."""
        return self.emit([arch])[0].to_module()

    def _baseline_layers(self) -> list[tuple[Any, Any]]:
        import torch

        if self.algo == "ars":
            linears = [m for m in self.model.policy.action_net if isinstance(m, torch.nn.Linear)]
            return [(m.weight.detach(), m.bias.detach()) for m in linears]
        actor = self.model.policy.actor
        if self.algo == "sac":
            linears = [m for m in actor.latent_pi if isinstance(m, torch.nn.Linear)] + [actor.mu]
        else:
            linears = [m for m in actor.mu if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach(), m.bias.detach()) for m in linears]


def load_run(path: str | Path, checkpoint: str | None = None) -> Run:
    """Load the run in ``path`` (its latest model, or the named checkpoint, e.g. ``"step_20000"``).

    Raises:
        FileNotFoundError: missing run directory, model or checkpoint.
        ValueError: corrupt config or model file.
    """
    import zipfile

    from ghp.io.safepickle import RefusedPickle

    path = Path(path)
    cfg = read_config(path)
    if cfg.get("algo") == STORED_POLICY_ALGO:
        return _load_stored(path, cfg, checkpoint)
    model_file = checkpoint_path(path, checkpoint)
    if not model_file.is_file():
        raise FileNotFoundError(f"run {path} has no {MODEL_FILE}: it was never saved (train it again or --resume)")
    spec, space = spec_and_space(path, cfg)
    try:
        algo = str(cfg["algo"])
        baseline = bool(cfg.get("baseline", False))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"corrupt run config in {path}: {e}") from None
    if algo not in ALGO_NAMES:
        raise ValueError(f"corrupt run config in {path}: unknown algo {algo!r}")
    # Inference only: a one-slot replay buffer (plain Dict buffer for HER runs, which SB3 could not set up
    # without an env) instead of allocating the training capacity.
    custom: dict[str, Any] = {"buffer_size": 1} if algo != "ars" else {}
    if spec.goal_conditioned:
        from stable_baselines3.common.buffers import DictReplayBuffer

        custom |= {"replay_buffer_class": DictReplayBuffer, "replay_buffer_kwargs": {}}
    try:
        model = load_model(model_file, cfg, custom, device="cpu")
    except (zipfile.BadZipFile, KeyError, RuntimeError, EOFError, TypeError, ValueError) as e:
        if isinstance(e, RefusedPickle):
            raise
        raise ValueError(f"corrupt model file {model_file}: {' '.join(str(e).split())}") from None
    model.policy.set_training_mode(False)
    return Run(
        path=path,
        run_id=str(cfg.get("run_id", "")),
        spec=spec,
        space=space,
        algo=algo,
        config=cfg,
        timesteps=int(model.num_timesteps),
        baseline=baseline,
        model=model,
        normalization=saved_normalization(path, model_file, algo, cfg, int(model.num_timesteps)),
    )


ALGO_NAMES: tuple[str, ...] = ("sac", "ddpg", "td3", "ars")
"""``algo`` of runs that store an SB3 model."""


def policy_class(algo: str, baseline: bool, goal_conditioned: bool) -> type:
    """The SB3 policy class a run of ``algo`` trains: ghp's hypernetwork policies, or SB3's own for baselines."""
    if algo == "ars":
        from sb3_contrib.ars.policies import ARSPolicy

        return ARSPolicy
    if not baseline:
        from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy

        return GHPSACPolicy if algo == "sac" else GHPTD3Policy
    if algo == "sac":
        from stable_baselines3.sac import policies as sac

        return sac.MultiInputPolicy if goal_conditioned else sac.SACPolicy
    from stable_baselines3.td3 import policies as td3

    return td3.MultiInputPolicy if goal_conditioned else td3.TD3Policy


def load_model(model_file: str | Path, cfg: dict[str, Any], custom: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """SB3's ``Algo.load`` of a run's ``model_file`` that runs no code from the file (docs/security.md).

    SB3 keeps parts of ``data`` as cloudpickles, which ``Algo.load`` would unpickle (and so run). Every one of them
    is handed to SB3 ready-made as ``custom_objects``, so SB3 unpickles nothing: the policy class and the schedules
    are rebuilt from ``config.json`` (``cfg``), the rest (spaces, last observations, the replay buffer class, action
    noise...) read through the allow-listed unpickler (:mod:`ghp.io.safepickle`). SB3 reads the weights with
    ``torch.load(weights_only=True)``. The file format is SB3's own: a stock ``SAC.load`` still reads it.

    Args:
        cfg: the run's ``config.json``.
        custom: more ``custom_objects`` (they win).
        kwargs: passed to ``Algo.load`` (``env``, ``device``, ``tensorboard_log``...).

    Raises:
        ValueError: a corrupt file, or an entry that refers to anything outside the allow list (one line).
    """
    import base64
    import binascii
    import json as _json
    import pickle
    import zipfile

    from stable_baselines3.common.utils import FloatSchedule

    from ghp.io.safepickle import loads

    try:
        algo = str(cfg["algo"])
        goal = bool(cfg["env"]["goal_conditioned"])
        train = dict(cfg.get("train") or {})
    except (KeyError, TypeError) as e:
        raise ValueError(f"corrupt run config: {e}") from None
    if algo == "sac":
        from stable_baselines3 import SAC as Algo
    elif algo == "ddpg":
        from stable_baselines3 import DDPG as Algo  # type: ignore[assignment]
    elif algo == "td3":
        from stable_baselines3 import TD3 as Algo  # type: ignore[assignment]
    elif algo == "ars":
        from sb3_contrib import ARS as Algo  # type: ignore[assignment]
    else:
        raise ValueError(f"corrupt run config: unknown algo {algo!r}")
    with zipfile.ZipFile(model_file) as z:
        data = _json.loads(z.read("data").decode())
    if not isinstance(data, dict):
        raise ValueError("its data entry is not a mapping")
    lr = data.get("learning_rate")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise ValueError("its learning_rate is not a number (ghp saves a constant one)")
    rebuilt: dict[str, Any] = {
        "policy_class": policy_class(algo, bool(cfg.get("baseline", False)), goal),
        "lr_schedule": FloatSchedule(float(lr)),  # what SB3's _setup_lr_schedule makes of it again on load
    }
    if algo == "ars":
        # ARS's _setup_model, run by load, recomputes weights from the policy; its schedule is the config's delta_std.
        rebuilt |= {"delta_std_schedule": FloatSchedule(float(train.get("ars_delta_std", 0.05))), "weights": None}
    objects: dict[str, Any] = {}
    for key, item in data.items():
        if key in rebuilt or (custom and key in custom) or not (isinstance(item, dict) and ":serialized:" in item):
            continue
        try:
            raw = base64.b64decode(str(item[":serialized:"]).encode())
            objects[key] = loads(raw, f"entry {key!r} of {model_file}")
        except (binascii.Error, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as e:
            raise ValueError(f"entry {key!r} cannot be read: {e}") from None
    return Algo.load(model_file, custom_objects={**objects, **rebuilt, **(custom or {})}, **kwargs)


def _step_twin(path: Path, model_file: Path, timesteps: int | None, algo: str) -> Path:
    """``checkpoints/step_N.zip`` for ``RUN/model.zip`` saved at step N, when that checkpoint's statistics exist.

    Training writes a checkpoint and its statistics before it replaces ``model.zip`` and its sidecar, each file
    atomically but not the pair: a reader between the two renames would pair the new statistics with the old model.
    A checkpoint's files are written once, so the statistics of the step ``model.zip`` says it is at always match it.
    """
    if timesteps is None or model_file.name != MODEL_FILE:
        return model_file
    twin = path / CHECKPOINT_DIR / f"step_{timesteps}.zip"
    sidecar = twin.with_name(twin.stem + OBS_NORM_SUFFIX) if algo == "ars" else stats_path(twin)
    return twin if sidecar.is_file() else model_file


def saved_normalization(
    path: Path, model_file: Path, algo: str, cfg: dict[str, Any], timesteps: int | None = None
) -> ObsNormalization | None:
    """The statistics saved beside ``model_file``: ARS's normaliser (``*.obsnorm.npz``, never clipped), a
    ``--normalize`` run's ``VecNormalize`` (``*.vecnormalize.pkl``), or None for a run trained without them.

    With ``timesteps`` (the loaded model's step), ``RUN/model.zip``'s statistics are read from the checkpoint of
    that step when it has them, so a model is never paired with statistics of another step.

    Raises:
        FileNotFoundError: the run was trained behind statistics that are missing.
    """
    model_file = _step_twin(path, model_file, timesteps, algo)
    if algo == "ars":
        norm_file = model_file.with_name(model_file.stem + OBS_NORM_SUFFIX)
        if not norm_file.is_file():
            raise FileNotFoundError(f"ARS run {path} has no observation normaliser {norm_file.name}: train it again")
        return ObsNormalization.from_ars_file(norm_file)
    normalization = load_stats(model_file)
    if normalization is None and (cfg.get("train") or {}).get("normalize"):
        raise FileNotFoundError(
            f"{model_file} was trained with --normalize but its statistics {stats_path(model_file)} are missing"
        )
    return normalization


def live_normalization(model: Any) -> ObsNormalization | None:
    """A snapshot of the statistics a training model's actor sees now (None without a ``VecNormalize``): the same
    :class:`ObsNormalization` that :func:`saved_normalization` reads back from a checkpoint saved at this step."""
    norm = model.get_vec_normalize_env()
    if norm is None:
        return None
    return ObsNormalization.from_vec_normalize(norm, clip=type(model).__name__ != "ARS")


def live_run(model: Any, path: Path, run_id: str, spec: EnvSpec, space: ArchSpace, algo: str, baseline: bool) -> Run:
    """The run a training model is now, as :func:`load_run` would load a checkpoint saved at this step (the
    periodic evaluation's policy source: same emission, same folded normalisation, as SB3's ``EvalCallback``
    syncs its statistics)."""
    return Run(
        path=path,
        run_id=run_id,
        spec=spec,
        space=space,
        algo=algo,
        config={},
        timesteps=int(model.num_timesteps),
        baseline=baseline,
        model=model,
        normalization=live_normalization(model),
    )


def _load_stored(path: Path, cfg: dict[str, Any], checkpoint: str | None) -> Run:
    """A run whose one policy is stored as ``policy.npz`` (written by ``ghp chromatic``)."""
    if checkpoint is not None:
        raise ValueError(f"run {path} stores one policy and has no checkpoints; drop --checkpoint")
    spec, space = spec_and_space(path, cfg)
    policy_file = path / POLICY_FILE
    if not policy_file.is_file():
        raise FileNotFoundError(f"run {path} has no {POLICY_FILE} yet: let it finish an iteration (or --resume it)")
    try:
        policy = PolicyWeights.from_npz(policy_file)
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"corrupt policy file {policy_file}: {e}") from None
    # Evaluation settings are keyed by training steps: a stored policy's are in its summary.json.
    try:
        steps = int(json.loads((path / STORED_SUMMARY_FILE).read_text()).get("env_steps", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        steps = 0
    counts = stored_counts(path)
    return Run(
        path=path,
        run_id=str(cfg.get("run_id", "")),
        spec=spec,
        space=space,
        algo=str(cfg["algo"]),
        config=cfg,
        timesteps=steps,
        baseline=False,
        model=None,
        stored=policy,
        counts=counts,
    )


def stored_counts(path: str | Path) -> tuple[int, int] | None:
    """``(params, bytes)`` of a run that stores one policy counted its own way (``ghp chromatic``: distinct weights +
    biases, and the paper's bits / 8), read from its ``summary.json``; None for any other run."""
    try:
        cfg = read_config(path)
        if cfg.get("algo") != STORED_POLICY_ALGO:
            return None
        summary = json.loads((Path(path) / STORED_SUMMARY_FILE).read_text())
        return int(summary["params"]), -(-int(summary["bits"]) // 8)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
