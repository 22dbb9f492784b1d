"""Runs saved before a refactor still load, emit the same weights, evaluate the same returns and export the same
policy file (tests/fixtures/saved_runs: three tiny runs and what the code of their time computed from them).

The hypernetwork's emission is float32 matrix arithmetic whose last bits depend on the CPU's kernels (the fixtures
were written on one machine; an AMD EPYC differs by up to 3e-8 absolute, a few float32 ulps), so weights and returns
are compared to within round-off, far below any change of what the code computes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.saved_runs.make import EPISODES, HERE, RUNS, outputs

EXPECTED = json.loads((HERE / "expected.json").read_text())


@pytest.mark.parametrize("name", RUNS)
def test_saved_run_emits_and_evaluates_as_before(name, tmp_path):
    run_dir = tmp_path / name
    shutil.copytree(HERE / name, run_dir)  # evaluation must not need to write into the fixture
    arrays, returns = outputs(run_dir)
    want = np.load(HERE / f"{name}.expected.npz")
    assert sorted(arrays) == sorted(want.files)
    for k in want.files:
        if want[k].dtype.kind == "f":
            np.testing.assert_allclose(arrays[k], want[k], rtol=1e-5, atol=1e-7, err_msg=k)
        else:
            np.testing.assert_array_equal(arrays[k], want[k], err_msg=k)
    assert returns.keys() == EXPECTED["returns"][name].keys()
    for arch, got in returns.items():
        assert got == pytest.approx(EXPECTED["returns"][name][arch], rel=1e-4, abs=1e-4), arch
    assert all(len(r) == EPISODES for r in returns.values())


def test_saved_run_exports_the_same_policy_file(tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    run_dir = tmp_path / "run"
    shutil.copytree(HERE / "pendulum-small", run_dir)
    out = tmp_path / "export"
    r = CliRunner().invoke(cli, ["export", str(run_dir), "--arch", "4-4", "--target", "numpy", "--out", str(out)])
    assert r.exit_code == 0, r.output
    (npz,) = [p for p in Path(out).rglob("*.npz")]
    got = np.load(npz)
    want = np.load(HERE / "pendulum-small.expected.npz")
    for k in [f for f in want.files if f.startswith("4-4/")]:
        np.testing.assert_array_equal(got[k.split("/", 1)[1]], want[k], err_msg=k)
