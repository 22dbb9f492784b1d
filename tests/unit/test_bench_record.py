"""The benchmark of record: its Markdown table is rendered from the committed JSON, and the harness runs."""

import json

import pytest

from benchmarks.record import RECORD, TARGETS, lookup, main, render


def test_the_committed_table_is_rendered_from_the_committed_record():
    if not RECORD.is_file():
        pytest.skip("no record committed yet")
    assert RECORD.with_suffix(".md").read_text() == render(json.loads(RECORD.read_text()))


def test_render_marks_targets():
    record = {
        "date": "d",
        "commit": {"sha": "abc", "dirty": False},
        "machine": {
            "cpu": "c",
            "cores": 2,
            "load_average_at_start": [0, 0, 0],
            "torch": "t",
            "torch_cpu_capability": "x",
        },
        "results": {"train": {"ratio": 1.1}, "mcu": {"float32_insn_per_mac": 3.5}},
    }
    table = render(record)
    assert "| `train.ratio` | 1.1 | <= 1.2 | yes |" in table
    assert "| `mcu.float32_insn_per_mac` | 3.5 | <= 3 | no |" in table
    assert lookup(record["results"], "emit.seconds") is None and set(TARGETS) >= {"train.ratio", "emit.seconds"}


def test_the_harness_runs_quickly(capsys, tmp_path):
    main(["--quick", "--only", "crazyflie", "--out", str(tmp_path / "r.json")])
    assert "crazyflie.ratio" in capsys.readouterr().out and not (tmp_path / "r.json").exists()
