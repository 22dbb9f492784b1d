"""The execution backends: same results everywhere, each unit once, dead workers' units run again."""

import os
import signal
from pathlib import Path

import pytest

from ghp.rollout.backend import LocalBackend, SerialBackend, WorkerLost, make_backend, map_ordered


def square_plus(shared: int, x: int) -> int:
    return x * x + shared


def die_once(marker_dir: str, x: int) -> int:
    """Kill this worker process the first time unit 3 runs (the marker file says it already died once)."""
    if x == 3:
        try:
            os.close(os.open(Path(marker_dir) / "died", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return x * 10


def always_die(shared: None, x: int) -> int:
    if x == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def fail(shared: None, x: int) -> int:
    if x == 2:
        raise ValueError("unit 2 is bad")
    return x


def test_serial_and_local_give_the_same_ordered_results():
    want = [x * x + 7 for x in range(20)]
    assert map_ordered(SerialBackend(), square_plus, 7, range(20)) == want
    with make_backend("local", workers=2) as b:
        assert map_ordered(b, square_plus, 7, range(20)) == want
        # The pool is reused by a second call, with another shared value.
        assert map_ordered(b, square_plus, 1, range(3)) == [1, 2, 5]


def test_units_are_drawn_lazily_with_bounded_inflight():
    drawn = []

    def units():
        for i in range(12):
            drawn.append(i)
            yield i, i

    with LocalBackend(workers=2) as b:
        it = b.run(square_plus, 0, units(), max_inflight=3)
        first = next(it)
        assert len(drawn) <= 4  # three in flight, then one more once the first is taken out
        rest = list(it)
    assert sorted([first, *rest]) == [(i, i * i) for i in range(12)]


def test_a_killed_worker_has_its_unit_run_again_once(tmp_path):
    with LocalBackend(workers=2) as b:
        got = list(b.run(die_once, str(tmp_path), ((i, i) for i in range(8))))
        assert b.restarts == 1
    assert (tmp_path / "died").exists()
    assert sorted(got) == [(i, 10 * i) for i in range(8)]  # every unit exactly once


def test_a_unit_that_always_kills_its_worker_gives_up():
    with LocalBackend(workers=1, max_retries=2) as b, pytest.raises(WorkerLost):
        list(b.run(always_die, None, ((i, i) for i in range(3))))


def test_a_units_own_exception_propagates_unchanged():
    with LocalBackend(workers=2) as b, pytest.raises(ValueError, match="unit 2 is bad"):
        list(b.run(fail, None, ((i, i) for i in range(5))))


def test_bad_backend_choices():
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("dask")
    with pytest.raises(ValueError, match="needs --backend ray"):
        make_backend("local", ray_address="auto")
