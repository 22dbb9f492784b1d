"""Every command stops on SIGTERM as on Ctrl-C: one line on stderr, exit 143 (130 for Ctrl-C), no traceback."""

import os
import signal
import time

import pytest
from click.testing import CliRunner

import search.budget
from cli.main import cli


@pytest.mark.parametrize(("signum", "code", "line"), [(signal.SIGTERM, 143, "ghp: interrupted (SIGTERM)"),
                                                      (signal.SIGINT, 130, "ghp: interrupted")])  # fmt: skip
def test_a_signal_stops_a_command_with_the_shells_exit_code(monkeypatch, signum, code, line):
    def killed(*args, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # interrupted long before
        raise AssertionError("the signal did not interrupt")

    def unhandled(*args):  # without ghp's own handler the test fails here, instead of the test run being killed
        raise RuntimeError("SIGTERM reached the default handler")

    monkeypatch.setattr(search.budget, "search_architectures", killed)
    before = signal.signal(signal.SIGTERM, unhandled)
    try:
        t0 = time.perf_counter()
        r = CliRunner().invoke(cli, ["search", "--obs-dim", "3", "--act-dim", "1", "--max-params", "100"])
        assert signal.getsignal(signal.SIGTERM) is unhandled  # the handler is put back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert time.perf_counter() - t0 < 4
    assert r.exit_code == code, r.output
    assert r.output.strip().splitlines()[-1] == line and "Traceback" not in r.output
