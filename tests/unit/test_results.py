import sqlite3

import pytest

from ghp.run.records import ArchRecord, Setting
from ghp.run.results import SCHEMA_VERSION, ResultsStore, read_records
from ghp.space.arch import Arch

S = Setting(checkpoint_step=100, eval_seed=0, episodes=2)


def rec(key: tuple[int, ...], idx: int, rets=(1.0, 3.0), setting=S, success=None) -> ArchRecord:
    return ArchRecord(
        arch=Arch(key),
        arch_index=idx,
        setting=setting,
        returns=rets,
        lengths=(10, 20),
        success_rate=success,
        params=7 * idx + 1,
        bytes=4 * (7 * idx + 1),
        capacity=idx + 3,
    )


def test_roundtrip_resume_and_no_double_counting(tmp_path):
    with ResultsStore.open(tmp_path, "run-a") as st:
        assert st.finished(S) == set()
        assert st.add([rec((4,), 0), rec((8,), 1, success=0.5)]) == 2
        # The same rows again (a resumed chunk): nothing is added, nothing counted twice.
        assert st.add([rec((4,), 0, rets=(9.0, 9.0))]) == 0
        assert st.finished(S) == {"4", "8"}
        assert st.finished(Setting(100, 1, 2)) == set()
    rows = read_records(tmp_path, "run-a")
    assert [r.arch.key for r in rows] == ["4", "8"]
    r4, r8 = rows
    assert r4.returns == (1.0, 3.0) and r4.mean_return == 2.0 and r4.std_return == 1.0
    assert r4.mean_length == 15 and r4.success_rate is None and r8.success_rate == 0.5
    assert r8.params == 8 and r8.capacity == 4 and r8.setting == S
    con = sqlite3.connect(tmp_path / "results.sqlite")
    assert con.execute("SELECT COUNT(*) FROM results").fetchone() == (2,)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert dict(con.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)


def test_default_setting_is_latest_checkpoint(tmp_path):
    with ResultsStore.open(tmp_path, "r") as st:
        st.add([rec((4,), 0), rec((8,), 1)])
        st.add([rec((4,), 0, rets=(5.0, 5.0), setting=Setting(200, 0, 2))])
        assert [s for s, _ in st.settings()] == [Setting(200, 0, 2), S]
        assert [r.mean_return for r in st.records()] == [5.0]
        assert len(st.records(S)) == 2


def test_among_equal_screenings_of_a_step_the_one_with_more_episodes_is_the_default(tmp_path):
    # A 30-episode screening stays the default after a later 10-episode sweep of the same checkpoint and architectures
    # (ghp evaluate --checkpoints after the screening): more episodes, the more precise figure.
    long, short = Setting(100, 0, 30), Setting(100, 0, 10)
    with ResultsStore.open(tmp_path, "r") as st:
        st.add([rec((4,), 0, rets=(3.0,) * 30, setting=long)])
        st.add([rec((4,), 0, rets=(1.0,) * 10, setting=short)])
        assert [s for s, _ in st.settings()] == [long, short]
        assert [r.mean_return for r in st.records()] == [3.0]


def test_reader_sees_rows_while_writer_is_open(tmp_path):
    st = ResultsStore.open(tmp_path, "r")
    st.add([rec((4,), 0)])
    reader = ResultsStore.open(tmp_path, "r", create=False, readonly=True)
    assert [r.arch.key for r in reader.records()] == ["4"]
    st.add([rec((8,), 1)])
    assert [r.arch.key for r in reader.records()] == ["4", "8"]
    reader.close()
    st.close()


def snapshot(path):
    return {p.name: p.read_bytes() for p in path.iterdir()}


def refused_untouched(path, run_id, match):
    """Opening ``path`` for ``run_id`` fails with ``match`` and leaves every file there as it was."""
    before = snapshot(path)
    with pytest.raises(ValueError, match=match):
        ResultsStore.open(path, run_id)
    assert snapshot(path) == before


def test_refuses_other_run_older_schema_and_garbage_without_touching_them(tmp_path):
    with ResultsStore.open(tmp_path, "run-a") as st:
        st.add([rec((4,), 0)])
    refused_untouched(tmp_path, "run-b", "belongs to run run-a")

    old = tmp_path / "old"
    old.mkdir()
    with ResultsStore.open(old, "run-a") as st:
        st.add([rec((4,), 0)])
    con = sqlite3.connect(old / "results.sqlite")
    with con:
        con.execute("UPDATE meta SET value='0' WHERE key='schema_version'")
    con.close()
    refused_untouched(old, "run-a", "schema version 0")

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    refused_untouched(bad, "run-a", "not a ghp results file")
    assert (bad / "results.sqlite").read_bytes() == b"this is not sqlite" * 100

    with pytest.raises(FileNotFoundError):
        ResultsStore.open(tmp_path / "nope", "run-a", create=False)
    assert read_records(tmp_path / "nothing", "x") == []


def test_pad_to_is_part_of_the_setting_key(tmp_path):
    from ghp.run.records import ArchRecord, Setting
    from ghp.run.results import ResultsStore
    from ghp.space.arch import Arch

    a = Setting(100, 0, 2, 0, pad_to=32)
    b = Setting(100, 0, 2, 0, pad_to=8)
    rec = dict(arch=Arch((4,)), arch_index=0, returns=(1.0, 2.0), lengths=(3, 3), success_rate=None)
    sizes = dict(params=1, bytes=4, capacity=1)
    with ResultsStore.open(tmp_path, "run") as store:
        assert store.add([ArchRecord(setting=a, **rec, **sizes)]) == 1
        assert store.add([ArchRecord(setting=b, **{**rec, "returns": (5.0, 5.0)}, **sizes)]) == 1
        assert store.finished(a) == {"4"} and store.finished(b) == {"4"}
        assert store.records(b)[0].returns == (5.0, 5.0) and store.records(a)[0].returns == (1.0, 2.0)
        assert {s for s, _ in store.settings()} == {a, b}


V4_RESULTS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE results (
    arch TEXT NOT NULL, arch_index INTEGER NOT NULL, depth INTEGER NOT NULL, widths TEXT NOT NULL,
    checkpoint_step INTEGER NOT NULL, checkpoint TEXT NOT NULL, eval_seed INTEGER NOT NULL,
    episodes INTEGER NOT NULL, max_steps INTEGER NOT NULL, pad_to INTEGER NOT NULL, env_kwargs TEXT NOT NULL,
    mean_return REAL NOT NULL, std_return REAL NOT NULL, min_return REAL NOT NULL, max_return REAL NOT NULL,
    success_rate REAL, mean_length REAL NOT NULL, returns TEXT NOT NULL, lengths TEXT NOT NULL,
    params INTEGER NOT NULL, bytes INTEGER NOT NULL, capacity INTEGER NOT NULL, evaluated_at REAL NOT NULL,
    PRIMARY KEY (arch, checkpoint_step, eval_seed, episodes, max_steps, pad_to, env_kwargs)
);
INSERT INTO meta VALUES ('schema_version', '4'), ('run_id', 'run-a'), ('created', '0');
INSERT INTO results VALUES ('4', 0, 1, '[4]', 100, 'latest', 0, 2, 0, 32, '{}', 2.0, 1.0, 1.0, 3.0, NULL, 15.0,
    '[1.0, 3.0]', '[10, 20]', 1, 4, 3, 0.0);
"""


def v4_file(tmp_path):
    """A results file as ghp wrote it before confirmations (schema version 4, no kind column)."""
    con = sqlite3.connect(tmp_path / "results.sqlite")
    con.executescript(V4_RESULTS)
    con.close()
    return tmp_path / "results.sqlite"


def test_version_4_files_are_read_as_screening_and_upgraded_when_written(tmp_path):
    p = v4_file(tmp_path)
    before = p.read_bytes()
    (r,) = read_records(tmp_path, "run-a")  # read-only: the file is not changed
    assert r.arch.key == "4" and r.returns == (1.0, 3.0) and r.setting == S and r.setting.kind == "screen"
    assert p.read_bytes() == before
    confirm = Setting(100, 0, 3, kind="confirm")
    with ResultsStore.open(tmp_path, "run-a") as st:  # writable: upgraded in place, every row kept as screening
        assert st.finished(S) == {"4"}
        assert st.add([rec((4,), 0, rets=(0.0, 1.0, 2.0), setting=confirm)]) == 1
        assert st.confirmed(S)["4"].returns == (0.0, 1.0, 2.0)
    con = sqlite3.connect(p)
    assert dict(con.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)
    assert sorted(con.execute("SELECT kind, episodes FROM results")) == [("confirm", 3), ("screen", 2)]


def test_confirmations_are_never_the_default_setting_and_pair_with_their_screening(tmp_path):
    confirm = Setting(100, 0, 50, kind="confirm")
    more = Setting(100, 4, 80, kind="confirm")
    other_model = Setting(200, 0, 50, kind="confirm")
    with ResultsStore.open(tmp_path, "run-a") as st:
        st.add([rec((4,), 0)])
        # More confirmed architectures than screened ones: still not the default.
        st.add([rec((4,), 0, setting=confirm), rec((8,), 1, setting=confirm), rec((16,), 2, setting=confirm)])
        st.add([rec((8,), 1, rets=(5.0,) * 80, setting=more), rec((4,), 0, setting=other_model)])
        assert [s for s, _ in st.settings()] == [S]
        assert {s.kind for s, _ in st.settings(None)} == {"screen", "confirm"}
        got = st.confirmed(S)
        assert set(got) == {"4", "8", "16"} and got["8"].setting == more and got["4"].setting == confirm
    assert [r.arch.key for r in read_records(tmp_path, "run-a")] == ["4"]
