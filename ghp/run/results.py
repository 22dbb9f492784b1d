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
from collections.abc import Iterable
from pathlib import Path

from ghp.run.records import ArchRecord, Setting, SettingFilter, records_by_key
from ghp.space.arch import parse_arch

RESULTS_FILE = "results.sqlite"
SCHEMA_VERSION = 5
"""Version of the table layout and of what its numbers mean. 2: every architecture is evaluated from the same initial
states (``ghp.rollout.engine.reset_seed``). 3: the padding width (``pad_to``, it changes the matmul shapes and so the
rounding) is part of the setting, and a run's weights are emitted in fixed blocks of the space
(``ghp.run.load.EMIT_BLOCK``). 4: the env kwargs the episodes ran with are part of the setting. 5: a row's ``kind``
(``screen`` or ``confirm``: held-out starts, ``ghp evaluate --confirm``) is part of the setting."""
READABLE_VERSIONS: tuple[int, ...] = (4, SCHEMA_VERSION)
"""Versions this ghp reads. A version 4 file holds screening rows only (its numbers mean what they meant): it is
read as is, and opened for writing it is upgraded to version 5 in one transaction (every row becomes a ``screen``
row). Older versions are refused: their numbers mean something else."""
KINDS: tuple[str, ...] = ("screen", "confirm")
"""Kinds of evaluation: ``screen`` (the starts every architecture is ranked on) and ``confirm`` (held-out starts,
disjoint from every screening start, for the candidates a screening picked)."""

_META_TABLE = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_RESULTS_TABLE = """
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
    kind TEXT NOT NULL DEFAULT 'screen', -- 'screen', or 'confirm' (held-out starts, ghp evaluate --confirm)
    PRIMARY KEY (arch, checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs, kind)
);
"""
_SCHEMA = _META_TABLE + _RESULTS_TABLE
_RESULTS_COLUMNS = (
    "arch, arch_index, depth, widths, checkpoint_step, checkpoint, eval_seed, episodes, max_steps, pad_to, env_kwargs, "
    "mean_return, std_return, min_return, max_return, success_rate, mean_length, returns, lengths, params, bytes, "
    "capacity, evaluated_at"
)
"""The columns of a version 4 ``results`` table (version 5 adds ``kind``)."""


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
            version = _check(conn, p, run_id) if exists else SCHEMA_VERSION
            if readonly and version == 4:
                # A version 4 file is read as it is: a view adds the kind its rows have (all screening).
                conn.execute("CREATE TEMP VIEW results AS SELECT *, 'screen' AS kind FROM main.results")
            if not readonly:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                if version == 4:
                    _upgrade_from_4(conn)
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
                "kind": r.setting.kind,
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

    def settings(self, kind: str | None = "screen") -> list[tuple[Setting, int]]:
        """Every setting of ``kind`` (None: any kind) present with its number of architectures, the default (see
        :meth:`records`) first."""
        group = "checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs, kind"
        cur = self._conn.execute(f"SELECT {group}, COUNT(*), MAX(evaluated_at) FROM results GROUP BY {group}")
        rows = [
            (Setting(int(a), int(b), int(c), int(d), int(p), str(k), str(kd)), int(n), float(t))
            for a, b, c, d, p, k, kd, n, t in cur
            if kind is None or kd == kind
        ]
        # More episodes measure the same architectures more precisely: a 30-episode screening outranks a later
        # 10-episode sweep of the same checkpoint.
        rows.sort(key=lambda x: (x[0].checkpoint_step, x[1], x[0].episodes, x[2]), reverse=True)
        return [(s, n) for s, n, _ in rows]

    def confirmed(self, screening: Setting) -> dict[str, ArchRecord]:
        """The confirmations of the model ``screening`` evaluated (``Setting.same_model``), by architecture key.

        An architecture confirmed under several settings (other seeds or episode counts) has its record with the
        most episodes (ties: the most recently written setting).
        """
        out: dict[str, ArchRecord] = {}
        found = [s for s, _ in self.settings("confirm") if s.same_model(screening)]
        for s in sorted(found, key=lambda s: s.episodes):  # stable: the most recent wins among equal episodes
            out.update(records_by_key(self.records(s)))
        return out

    def records(self, setting: Setting | None = None) -> list[ArchRecord]:
        """The rows of ``setting``, in architecture-space order.

        Without a setting: the latest checkpoint step screened, and within it the screening setting with the most
        architectures (ties: the most episodes, then the most recently written). Confirmations are never the default.
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


def _check(conn: sqlite3.Connection, path: Path, run_id: str) -> int:
    """Refuse a file that is not ours: not SQLite, not a ghp results file, another run or an unreadable schema.

    Returns:
        The file's schema version (one of ``READABLE_VERSIONS``).
    """
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        raise ValueError(f"{path} is not a ghp results file ({e}); move it away and evaluate again") from None
    version = meta.get("schema_version")
    if version not in {str(v) for v in READABLE_VERSIONS}:
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise ValueError(
            f"{path} has results schema version {version}, this ghp reads versions {readable}: "
            "move the file away and evaluate again"
        )
    if meta.get("run_id") != run_id:
        raise ValueError(
            f"{path} belongs to run {meta.get('run_id')}, not to run {run_id}: move it away or evaluate the run "
            "it belongs to"
        )
    return int(str(version))


def _upgrade_from_4(conn: sqlite3.Connection) -> None:
    """Version 4 -> 5 in one transaction: the same rows, each a ``screen`` row, under the key that has ``kind``."""
    # DDL does not open a transaction implicitly: BEGIN it, so a crash leaves the version 4 file as it was.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE results RENAME TO results_v4")
        conn.execute(_RESULTS_TABLE)
        conn.execute(f"INSERT INTO results ({_RESULTS_COLUMNS}) SELECT {_RESULTS_COLUMNS} FROM results_v4")
        conn.execute("DROP TABLE results_v4")
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def read_records(
    run_dir: str | Path, run_id: str, setting: Setting | None = None, where: SettingFilter | None = None
) -> list[ArchRecord]:
    """The default setting's rows of a run's results, or an empty list when it has no results file.

    ``where``: pick the default among the settings it matches only, those with its preferred env kwargs (the
    run's own) first.

    Raises:
        ValueError: ``where`` matches none of the evaluated settings (the message lists them).
    """
    p = results_path(run_dir)
    if not p.exists():
        return []
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        if setting is None and where is not None:
            found = store.settings()
            setting = next(iter(where.order([s for s, _ in found])), None)
            if setting is None and where.active:
                have = "; ".join(f"{s.describe()} ({n} archs)" for s, n in found) or "none"
                raise ValueError(f"no evaluation of {run_dir} at {where.describe()}; evaluated: {have}")
        return store.records(setting)


def read_progress(
    run_dir: str | Path,
    run_id: str,
    eval_seed: int | None = None,
    episodes: int | None = None,
    env_kwargs: str | None = None,
    prefer_env_kwargs: str | None = None,
) -> dict[int, list[ArchRecord]]:
    """Every evaluated checkpoint's rows, keyed by checkpoint step (ascending).

    Per step: the setting with the most architectures (ties: the most episodes, then the most recent), among those
    with ``eval_seed`` / ``episodes`` / ``env_kwargs`` (canonical JSON) when given; a setting with
    ``prefer_env_kwargs`` (the run's own) before any other. Empty when the run has no results file.
    """
    p = results_path(run_dir)
    if not p.exists():
        return {}
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        chosen: dict[int, Setting] = {}
        found = [s for s, _ in store.settings()]  # most architectures first within a step
        if env_kwargs is None and prefer_env_kwargs is not None:
            found.sort(key=lambda s: s.env_kwargs != prefer_env_kwargs)  # stable: keeps that order within each group
        for s in found:
            if (
                (eval_seed is None or s.eval_seed == eval_seed)
                and (episodes is None or s.episodes == episodes)
                and (env_kwargs is None or s.env_kwargs == env_kwargs)
            ):
                chosen.setdefault(s.checkpoint_step, s)
        return {step: store.records(chosen[step]) for step in sorted(chosen)}


def read_settings(run_dir: str | Path, run_id: str, kind: str | None = "screen") -> list[Setting]:
    """Every evaluated setting of ``kind`` of a run (:meth:`ResultsStore.settings`'s order); empty without results."""
    p = results_path(run_dir)
    if not p.exists():
        return []
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        return [s for s, _ in store.settings(kind)]


def read_confirmed(run_dir: str | Path, run_id: str, screening: Setting) -> dict[str, ArchRecord]:
    """The confirmations (``ghp evaluate --confirm``) of the model a screening evaluated, by architecture key; empty
    when there are none (or no results file). See :meth:`ResultsStore.confirmed`."""
    p = results_path(run_dir)
    if not p.exists():
        return {}
    with ResultsStore.open(p, run_id, create=False, readonly=True) as store:
        return store.confirmed(screening)
