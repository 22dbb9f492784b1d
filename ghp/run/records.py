"""What an evaluation measured: the setting it ran under (Setting), one architecture's episodes (ArchRecord), and
how a report filters and picks among them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ghp.space.arch import Arch

PAD_TO = 32
"""Default padding width of the evaluation engine (``EvalConfig.pad_to``)."""


@dataclass(frozen=True, order=True)
class Setting:
    """What makes two evaluations of one architecture comparable; a row is finished per architecture and setting."""

    checkpoint_step: int
    """Environment steps of the evaluated model."""
    eval_seed: int
    """Seed the episodes' reset seeds derive from."""
    episodes: int
    """Episodes per architecture."""
    max_steps: int = 0
    """Episode limit override; 0 = the environment's own time limit."""
    pad_to: int = PAD_TO
    """Hidden widths below this were zero-padded up to it: exact zeros, but other matmul shapes round differently."""
    env_kwargs: str = "{}"
    """Canonical JSON (``ghp.envs.canonical_kwargs``) of the env kwargs the episodes ran with."""
    kind: str = "screen"
    """``screen`` or ``confirm``: which family of starts the episodes' reset seeds come from
    (``ghp.rollout.engine.reset_seed``); the two families never share a start."""

    def describe(self) -> str:
        """Human-readable form."""
        limit = f", episode limit {self.max_steps}" if self.max_steps else ""
        pad = f", padded to {self.pad_to}" if self.pad_to != PAD_TO else ""
        kw = f", env {self.env_kwargs}" if self.env_kwargs != "{}" else ""
        what = "held-out starts" if self.kind == "confirm" else "episodes"
        return f"step {self.checkpoint_step}, seed {self.eval_seed}, {self.episodes} {what}{limit}{pad}{kw}"

    @property
    def where(self) -> tuple[str, tuple[int | str, ...]]:
        """SQL condition selecting this setting's rows, and its parameters."""
        return (
            "checkpoint_step=? AND eval_seed=? AND episodes=? AND max_steps=? AND pad_to=? AND env_kwargs=? AND kind=?",
            (
                self.checkpoint_step,
                self.eval_seed,
                self.episodes,
                self.max_steps,
                self.pad_to,
                self.env_kwargs,
                self.kind,
            ),
        )

    def same_model(self, other: Setting) -> bool:
        """True if ``other`` evaluated the same model the same way (checkpoint, episode limit, padding, env
        kwargs), whatever its seed, episodes and kind: a confirmation of a screening."""
        return (self.checkpoint_step, self.max_steps, self.pad_to, self.env_kwargs) == (
            other.checkpoint_step,
            other.max_steps,
            other.pad_to,
            other.env_kwargs,
        )


@dataclass(frozen=True)
class ArchRecord:
    """One architecture's evaluation: the row of the ``results`` table."""

    arch: Arch
    arch_index: int
    setting: Setting
    returns: tuple[float, ...]
    """Undiscounted return of each episode."""
    lengths: tuple[int, ...]
    """Length of each episode."""
    success_rate: float | None
    """Fraction of episodes with ``info['is_success']`` at their end (goal tasks), else None."""
    params: int
    bytes: int
    capacity: int
    checkpoint: str = "latest"

    @property
    def mean_return(self) -> float:
        """Mean return over the episodes."""
        return sum(self.returns) / len(self.returns)

    @property
    def std_return(self) -> float:
        """Population standard deviation of the returns."""
        m = self.mean_return
        return (sum((r - m) ** 2 for r in self.returns) / len(self.returns)) ** 0.5

    @property
    def mean_length(self) -> float:
        """Mean episode length."""
        return sum(self.lengths) / len(self.lengths)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "arch": self.arch.to_list(),
            "key": self.arch.key,
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "success_rate": self.success_rate,
            "mean_length": self.mean_length,
            "params": self.params,
            "bytes": self.bytes,
            "capacity": self.capacity,
            "episodes": self.setting.episodes,
            "eval_seed": self.setting.eval_seed,
            "checkpoint_step": self.setting.checkpoint_step,
            "kind": self.setting.kind,
        }


@dataclass(frozen=True)
class SettingFilter:
    """Which evaluations to read when a run holds several settings (``--checkpoint`` / ``--env-kwargs`` of report
    and search). Unset fields match anything; among the matches the default rule picks (:meth:`ResultsStore.records`).
    """

    checkpoint_step: int | None = None
    """Only this checkpoint's evaluations."""
    env_kwargs: str | None = None
    """Only evaluations with these env kwargs (canonical JSON: the run's with ``--env-kwargs`` on top)."""
    prefer_env_kwargs: str | None = None
    """Without ``env_kwargs``: the env kwargs to read first (canonical JSON: the run's own, the setting it was trained
    in), before the default rule looks at other ones; a preference, not a filter, so a run evaluated only in other
    settings is still read."""

    def matches(self, s: Setting) -> bool:
        """True if ``s`` passes the filter."""
        return (self.checkpoint_step is None or s.checkpoint_step == self.checkpoint_step) and (
            self.env_kwargs is None or s.env_kwargs == self.env_kwargs
        )

    def order(self, settings: Sequence[Setting]) -> list[Setting]:
        """The settings that pass, best first: the preferred env kwargs first, each group in the given (default)
        order, so ``order(store settings)[0]`` is the setting to read."""
        found = [s for s in settings if self.matches(s)]
        if self.env_kwargs is None and self.prefer_env_kwargs is not None:
            found.sort(key=lambda s: s.env_kwargs != self.prefer_env_kwargs)  # stable: keeps the default order
        return found

    @property
    def active(self) -> bool:
        """True when any field is set."""
        return self.checkpoint_step is not None or self.env_kwargs is not None

    def describe(self) -> str:
        """Human-readable form, e.g. ``step 20000, env {"nominal":true}``."""
        parts = [f"step {self.checkpoint_step}"] if self.checkpoint_step is not None else []
        parts += [f"env {self.env_kwargs}"] if self.env_kwargs is not None else []
        return ", ".join(parts) or "any setting"


def checkpoint_step(name: str) -> int | None:
    """The environment steps of a checkpoint name (``step_20000``, ``step_20000.zip`` or ``20000``); None otherwise."""
    text = name.removeprefix("step_").removesuffix(".zip")
    return int(text) if text.isdigit() else None


def setting_filter(
    run_env_kwargs: dict[str, Any] | None, checkpoint: str | None = None, env_kwargs: dict[str, Any] | None = None
) -> SettingFilter:
    """The filter of ``--checkpoint step_N`` (or ``N``) and ``--env-kwargs`` (on top of the run's own); without
    ``--env-kwargs`` it prefers the run's own env kwargs (an evaluation in another setting, e.g. a later
    ``nominal=true`` one, is read only when the run has none in its own).

    Raises:
        ValueError: a checkpoint name that is not ``step_<N>``.
    """
    from ghp.envs import canonical_kwargs

    step = None
    if checkpoint is not None:
        step = checkpoint_step(checkpoint)
        if step is None:
            raise ValueError(f"checkpoint {checkpoint!r}: give a name like step_20000")
    own = canonical_kwargs(run_env_kwargs)
    kw = None if env_kwargs is None else canonical_kwargs({**(run_env_kwargs or {}), **env_kwargs})
    return SettingFilter(step, kw, None if kw is not None else own)


def best_over_checkpoints(progress: dict[int, list[ArchRecord]], metric: str = "return") -> dict[str, ArchRecord]:
    """Each architecture's best record over the checkpoints (``metric``: ``return`` or ``success``; ties: the
    later checkpoint's mean return, then the later step)."""

    def key(r: ArchRecord) -> tuple[float, float, int]:
        value = r.mean_return if metric == "return" else (r.success_rate or 0.0)
        return (value, r.mean_return, r.setting.checkpoint_step)

    best: dict[str, ArchRecord] = {}
    for recs in progress.values():
        for r in recs:
            old = best.get(r.arch.key)
            if old is None or key(r) > key(old):
                best[r.arch.key] = r
    return best


def records_by_key(records: Sequence[ArchRecord]) -> dict[str, ArchRecord]:
    """Index records by architecture key."""
    return {r.arch.key: r for r in records}
