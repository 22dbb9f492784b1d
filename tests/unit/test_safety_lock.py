"""A run has one writer at a time: the lock file of ghp.io.lock (issue 26, item 8)."""

import os
import subprocess
import sys
import time

import pytest

from ghp.io.lock import RunLocked, acquire, lock_path, run_lock


def test_a_second_writer_is_refused_with_the_holder(tmp_path):
    with run_lock(tmp_path, "train --resume"):
        with pytest.raises(RunLocked) as e:
            acquire(tmp_path, "train --resume")
        msg = str(e.value)
        assert f"process {os.getpid()}" in msg and "train --resume" in msg and "delete" in msg
        assert "\n" not in msg
    assert not lock_path(tmp_path).exists()  # released and removed
    with run_lock(tmp_path, "again"):
        pass


def test_resources_lock_separately(tmp_path):
    with run_lock(tmp_path, "train"), run_lock(tmp_path, "evaluate", resource="results"):
        assert lock_path(tmp_path).exists() and lock_path(tmp_path, "results").exists()
    with pytest.raises(ValueError):
        lock_path(tmp_path, "../x")


def test_a_lock_left_by_a_killed_process_is_taken_again(tmp_path):
    code = (
        "import sys, time; from ghp.io.lock import acquire; acquire(sys.argv[1], 'train'); "
        "print('held', flush=True); time.sleep(60)"
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=f"process {p.pid}"):
            acquire(tmp_path, "train")
    finally:
        p.kill()
        p.wait()
    assert lock_path(tmp_path).exists()  # left behind by the killed process: stale
    t0 = time.monotonic()
    with run_lock(tmp_path, "train"):
        assert str(os.getpid()) in lock_path(tmp_path).read_text()
    assert time.monotonic() - t0 < 5
