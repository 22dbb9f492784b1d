"""The results store: every evaluated architecture of a run, in one SQLite file ``RUN/results.sqlite``.

The paper evaluates all 4680 architectures at a checkpoint with 5 rollouts each (Section IV-A); this file keeps the
outcome, one row per architecture and *evaluation setting* (checkpoint step, evaluation seed, episodes, episode
limit, padding width: everything that can change a row's numbers), so any SQLite client can read it::

    sqlite3 runs/pendulum/results.sqlite "SELECT arch, mean_return, params FROM results ORDER BY mean_return DESC"

Guarantees:
- ``meta`` holds ``schema_version`` and the ``run_id`` of the run the file belongs to; a file of another run or
  of another schema version is refused with a one-line ``ValueError`` and left untouched.
- Rows are added one transaction per finished chunk of architectures, and a row's key is its architecture plus
  its setting, so an interrupted evaluation resumes where it stopped and nothing is counted twice.
- The journal is in WAL mode: a reader (``ghp report``, ``ghp search --run``, ``sqlite3``) can open the file while
  an evaluation writes it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghp.arch import Arch, parse_arch

RESULTS_FILE = "results.sqlite"
PAD_TO = 32
"""Default padding width of the evaluation engine (``EvalConfig.pad_to``)."""
SCHEMA_VERSION = 4
"""Version of the table layout and of what its numbers mean; files of any other version are refused, never
migrated in place. 2: every architecture is evaluated from the same initial states (``ghp.evaluate.reset_seed``).
3: the padding width (``pad_to``, it changes the matmul shapes and so the rounding) is part of the setting, and a
run's weights are emitted in fixed blocks of the space (``ghp.run.EMIT_BLOCK``). 4: the env kwargs the episodes ran
with are part of the setting."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    arch TEXT NOT NULL,              -- canonical key, e.g. 8-4-4-4
    arch_index INTEGER NOT NULL,     -- position in the run's architecture space
    depth INTEGER NOT NULL,
    widths TEXT NOT NULL,            -- JSON list of hidden widths
    checkpoint_step INTEGER NOT NULL,-- environment steps of the evaluated model
    checkpoint TEXT NOT NULL,        -- which model file: 'latest' or the checkpoint asked for
    eval_seed INTEGER NOT NULL,
    episodes INTEGER NOT NULL,
    max_steps INTEGER NOT NULL,      -- episode limit override, 0 = the environment's own
    pad_to INTEGER NOT NULL,         -- hidden widths below this were zero-padded up to it (batched matmuls)
    env_kwargs TEXT NOT NULL,        -- canonical JSON of the env kwargs the episodes ran with
    mean_return REAL NOT NULL,
    std_return REAL NOT NULL,        -- population std over the episodes
    min_return REAL NOT NULL,
    max_return REAL NOT NULL,
    success_rate REAL,               -- goal tasks only (info['is_success'] at episode end), else NULL
    mean_length REAL NOT NULL,
    returns TEXT NOT NULL,           -- JSON list, one per episode
    lengths TEXT NOT NULL,           -- JSON list, one per episode
    params INTEGER NOT NULL,         -- deployable parameters (action-mean MLP)
    bytes INTEGER NOT NULL,          -- float32 bytes of those parameters
    capacity INTEGER NOT NULL,       -- lossless memory dimension (Algorithm 1)
    evaluated_at REAL NOT NULL,      -- unix time the row was written
    PRIMARY KEY (arch, checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs)
);
"""


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

    def describe(self) -> str:
        """Human-readable form."""
        limit = f", episode limit {self.max_steps}" if self.max_steps else ""
        pad = f", padded to {self.pad_to}" if self.pad_to != PAD_TO else ""
        kw = f", env {self.env_kwargs}" if self.env_kwargs != "{}" else ""
        return f"step {self.checkpoint_step}, seed {self.eval_seed}, {self.episodes} episodes{limit}{pad}{kw}"

    @property
    def where(self) -> tuple[str, tuple[int | str, ...]]:
        """SQL condition selecting this setting's rows, and its parameters."""
        return (
            "checkpoint_step=? AND eval_seed=? AND episodes=? AND max_steps=? AND pad_to=? AND env_kwargs=?",
            (self.checkpoint_step, self.eval_seed, self.episodes, self.max_steps, self.pad_to, self.env_kwargs),
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
        }


def results_path(run_dir: str | Path) -> Path:
    """Where the results of the run in ``run_dir`` live."""
    return Path(run_dir) / RESULTS_FILE


class ResultsStore:
    """An open results file, checked against its run; use :meth:`open` (or as a context manager)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, run_id: str) -> None:
        self._conn = conn
        self.path = path
        self.run_id = run_id

    @classmethod
    def open(cls, path: str | Path, run_id: str, *, create: bool = True, readonly: bool = False) -> ResultsStore:
        """Open (or create) the results file at ``path`` for the run ``run_id``.

        ``path`` is a run directory or the ``.sqlite`` file itself.

        Raises:
            FileNotFoundError: the file does not exist and ``create`` is false.
            ValueError: the file is not a ghp results file, belongs to another run, or has another schema version.
                Nothing is written to it in these cases.
        """
        p = Path(path)
        if p.is_dir() or p.suffix != ".sqlite":
            p = results_path(p)
        exists = p.exists()
        if not exists and (not create or readonly):
            raise FileNotFoundError(f"no results at {p}: run 'ghp evaluate {p.parent}' first")
        if not exists and not p.parent.is_dir():
            raise FileNotFoundError(f"run directory {p.parent} does not exist")
        try:
            if readonly:
                conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
            else:
                conn = sqlite3.connect(p, timeout=30)
        except sqlite3.Error as e:
            raise ValueError(f"cannot open results file {p}: {e}") from None
        try:
            if exists:
                _check(conn, p, run_id)
            if not readonly:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                if not exists:
                    with conn:
                        conn.executescript(_SCHEMA)
                        conn.executemany(
                            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [
                                ("schema_version", str(SCHEMA_VERSION)),
                                ("run_id", run_id),
                                ("created", str(time.time())),
                            ],
                        )
        except BaseException:
            conn.close()
            raise
        return cls(conn, p, run_id)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (finished rows are already committed)."""
        self._conn.close()

    def finished(self, setting: Setting) -> set[str]:
        """Keys of the architectures already evaluated under ``setting``."""
        where, params = setting.where
        cur = self._conn.execute(f"SELECT arch FROM results WHERE {where}", params)
        return {row[0] for row in cur}

    def add(self, records: Iterable[ArchRecord]) -> int:
        """Write ``records`` in one transaction; rows already present are kept as they are. Returns rows added."""
        now = time.time()
        rows = [
            {
                "arch": r.arch.key,
                "arch_index": r.arch_index,
                "depth": r.arch.depth,
                "widths": json.dumps(r.arch.to_list()),
                "checkpoint_step": r.setting.checkpoint_step,
                "checkpoint": r.checkpoint,
                "eval_seed": r.setting.eval_seed,
                "episodes": r.setting.episodes,
                "max_steps": r.setting.max_steps,
                "pad_to": r.setting.pad_to,
                "env_kwargs": r.setting.env_kwargs,
                "mean_return": r.mean_return,
                "std_return": r.std_return,
                "min_return": min(r.returns),
                "max_return": max(r.returns),
                "success_rate": r.success_rate,
                "mean_length": r.mean_length,
                "returns": json.dumps(list(r.returns)),
                "lengths": json.dumps(list(r.lengths)),
                "params": r.params,
                "bytes": r.bytes,
                "capacity": r.capacity,
                "evaluated_at": now,
            }
            for r in records
        ]
        if not rows:
            return 0
        columns = list(rows[0])
        sql = f"INSERT OR IGNORE INTO results ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        with self._conn:
            before = self._conn.total_changes
            self._conn.executemany(sql, rows)
            return self._conn.total_changes - before

    def settings(self) -> list[tuple[Setting, int]]:
        """Every setting present with its number of architectures, the default (see :meth:`records`) first."""
        cur = self._conn.execute(
            "SELECT checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs, COUNT(*), MAX(evaluated_at) "
            "FROM results GROUP BY checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs"
        )
        rows = [
            (Setting(int(a), int(b), int(c), int(d), int(p), str(k)), int(n), float(t))
            for a, b, c, d, p, k, n, t in cur
        ]
        rows.sort(key=lambda x: (x[0].checkpoint_step, x[1], x[2]), reverse=True)
        return [(s, n) for s, n, _ in rows]

    def records(self, setting: Setting | None = None) -> list[ArchRecord]:
        """The rows of ``setting``, in architecture-space order.

        Without a setting: the latest checkpoint step evaluated, and within it the setting with the most
        architectures (ties: the most recently written).
        """
        if setting is None:
            found = self.settings()
            if not found:
                return []
            setting = found[0][0]
        where, params = setting.where
        cur = self._conn.execute(
            "SELECT arch, arch_index, checkpoint, returns, lengths, success_rate, params, bytes, capacity "
            f"FROM results WHERE {where} ORDER BY arch_index",
            params,
        )
        return [
            ArchRecord(
                arch=parse_arch(key),
                arch_index=int(idx),
                setting=setting,
                returns=tuple(float(x) for x in json.loads(rets)),
                lengths=tuple(int(x) for x in json.loads(lens)),
                success_rate=None if succ is None else float(succ),
                params=int(params),
                bytes=int(nbytes),
                capacity=int(cap),
                checkpoint=str(ckpt),
            )
            for key, idx, ckpt, rets, lens, succ, params, nbytes, cap in cur
        ]


def _check(conn: sqlite3.Connection, path: Path, run_id: str) -> None:
    """Refuse a file that is not ours: not SQLite, not a ghp results file, another run or another schema."""
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        raise ValueError(f"{path} is not a ghp results file ({e}); move it away and evaluate again") from None
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise ValueError(
            f"{path} has results schema version {version}, this ghp reads version {SCHEMA_VERSION}: "
            "move the file away and evaluate again"
        )
    if meta.get("run_id") != run_id:
        raise ValueError(
            f"{path} belongs to run {meta.get('run_id')}, not to run {run_id}: move it away or evaluate the run "
            "it belongs to"
        )


@dataclass(frozen=True)
class SettingFilter:
    """Which evaluations to read when a run holds several settings (``--checkpoint`` / ``--env-kwargs`` of report
    and search). Unset fields match anything; among the matches the default rule picks (:meth:`ResultsStore.records`).
    """

    checkpoint_step: int | None = None
    """Only this checkpoint's evaluations."""
    env_kwargs: str | None = None
    """Only evaluations with these env kwargs (canonical JSON: the run's with ``--env-kwargs`` on top)."""

    def matches(self, s: Setting) -> bool:
        """True if ``s`` passes the filter."""
        return (self.checkpoint_step is None or s.checkpoint_step == self.checkpoint_step) and (
            self.env_kwargs is None or s.env_kwargs == self.env_kwargs
        )

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
    """The filter of ``--checkpoint step_N`` (or ``N``) and ``--env-kwargs`` (on top of the run's own).

    Raises:
        ValueError: a checkpoint name that is not ``step_<N>``.
    """
    from ghp.envs import canonical_kwargs

    step = None
    if checkpoint is not None:
        step = checkpoint_step(checkpoint)
        if step is None:
            raise ValueError(f"checkpoint {checkpoint!r}: give a name like step_20000")
    kw = None if env_kwargs is None else canonical_kwargs({**(run_env_kwargs or {}), **env_kwargs})
    return SettingFilter(step, kw)


def read_records(
    run_dir: str | Path, run_id: str, setting: Setting | None = None, where: SettingFilter | None = None
) -> list[ArchRecord]:
    """The default setting's rows of a run's results, or an empty list when it has no results file.

    ``where``: pick the default among the settings it matches only.

    Raises:
        ValueError: ``where`` matches none of the evaluated settings (the message lists them).
    """
    p = results_path(run_dir)
    if not p.exists():
        return []
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        if setting is None and where is not None and where.active:
            found = store.settings()
            setting = next((s for s, _ in found if where.matches(s)), None)
            if setting is None:
                have = "; ".join(f"{s.describe()} ({n} archs)" for s, n in found) or "none"
                raise ValueError(f"no evaluation of {run_dir} at {where.describe()}; evaluated: {have}")
        return store.records(setting)


def read_progress(
    run_dir: str | Path,
    run_id: str,
    eval_seed: int | None = None,
    episodes: int | None = None,
    env_kwargs: str | None = None,
) -> dict[int, list[ArchRecord]]:
    """Every evaluated checkpoint's rows, keyed by checkpoint step (ascending).

    Per step: the setting with the most architectures (ties: the most recent), among those with ``eval_seed`` /
    ``episodes`` / ``env_kwargs`` (canonical JSON) when given. Empty when the run has no results file.
    """
    p = results_path(run_dir)
    if not p.exists():
        return {}
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        chosen: dict[int, Setting] = {}
        for s, _ in store.settings():  # most architectures first within a step
            if (
                (eval_seed is None or s.eval_seed == eval_seed)
                and (episodes is None or s.episodes == episodes)
                and (env_kwargs is None or s.env_kwargs == env_kwargs)
            ):
                chosen.setdefault(s.checkpoint_step, s)
        return {step: store.records(chosen[step]) for step in sorted(chosen)}


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
