"""``ghp export`` writes only into its own folder (issue 26 item 3): a folder it created, an empty one, or one that
holds its manifest; it never replaces a file it did not write, never writes through a symlink, writes atomically."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from export.api import ExportConfig, export_policy
from export.outdir import MANIFEST, OutDir
from ghp.policy.file import save_policy
from tests.unit.test_export import policy

CF = "ghp/CrazyflieHover-v0"
APP = ["Makefile", "README.md", "Kbuild", "app-config", "src/Kbuild", "src/ghp_controller.c", "src/policy.h"]


def ghp(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def cf_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("pol") / "cf.npz"
    save_policy(path, policy("8", obs=22, act=4, seed=1, low=-1.0, high=1.0), {"env_id": CF})
    return path


def project(folder: Path) -> dict[str, str]:
    """A user's project folder: their own Makefile, README, Kbuild, app-config."""
    files = {"Makefile": "all:\n\techo mine\n", "README.md": "# my project\n", "Kbuild": "obj-y += me.o\n"}
    files["app-config"] = "CONFIG_MINE=y\n"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return files


def test_crazyflie_export_from_a_project_folder_refuses_and_touches_nothing(cf_policy, tmp_path, monkeypatch):
    files = project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path / "proj")
    r = ghp("export", "--policy", cf_policy, "--target", "crazyflie", "--out", ".")
    assert r.exit_code == 2, r.output
    assert "ghp did not write" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert {p.name: p.read_text() for p in (tmp_path / "proj").iterdir()} == files


def test_default_out_is_a_new_folder_not_the_current_one(cf_policy, tmp_path, monkeypatch):
    files = project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path / "proj")
    r = ghp("export", "--policy", cf_policy, "--target", "crazyflie")
    assert r.exit_code == 0, r.output
    assert {p.name: p.read_text() for p in (tmp_path / "proj").iterdir() if p.is_file()} == files
    out = tmp_path / "proj" / "ghp-export"
    for rel in APP:
        assert (out / rel).is_file(), rel
    assert "ghp-export" in ghp("export", "--help").output


def test_reexport_into_its_own_folder_works_and_the_manifest_lists_every_file(cf_policy, tmp_path):
    out = tmp_path / "app"
    for _ in range(2):
        r = ghp("export", "--policy", cf_policy, "--target", "crazyflie", "--out", out)
        assert r.exit_code == 0, r.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(APP)
    # An empty existing folder is accepted too (and gets a manifest).
    (tmp_path / "empty").mkdir()
    r = ghp("export", "--policy", cf_policy, "--out", tmp_path / "empty")
    assert r.exit_code == 0 and (tmp_path / "empty" / MANIFEST).is_file(), r.output


def test_a_foreign_file_in_its_folder_is_never_overwritten(tmp_path):
    w = policy("8", obs=3, act=1)
    out = tmp_path / "o"
    export_policy(w, ExportConfig(out=out, name="a"), "Pendulum-v1")
    (out / "b.h").write_text("mine")  # a file of the user's, with the name the next export wants
    with pytest.raises(ValueError, match="was not written by ghp"):
        export_policy(w, ExportConfig(out=out, name="b"), "Pendulum-v1")
    assert (out / "b.h").read_text() == "mine"
    # A file ghp wrote and the user then edited is theirs now.
    (out / "a.h").write_text((out / "a.h").read_text() + "/* my note */\n")
    with pytest.raises(ValueError, match="changed since ghp wrote it"):
        export_policy(w, ExportConfig(out=out, name="a"), "Pendulum-v1")
    assert (out / "a.h").read_text().endswith("/* my note */\n")


def test_a_symlink_is_never_written_through(tmp_path):
    w = policy("8", obs=3, act=1)
    out = tmp_path / "o"
    export_policy(w, ExportConfig(out=out), "Pendulum-v1")
    victim = tmp_path / "victim.h"
    victim.write_text("precious")
    (out / "policy.h").unlink()
    (out / "policy.h").symlink_to(victim)
    with pytest.raises(ValueError, match="symlink"):
        export_policy(w, ExportConfig(out=out), "Pendulum-v1")
    assert victim.read_text() == "precious"
    # A folder inside --out that is a symlink (src/ of a Crazyflie app) is refused the same way.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    app = tmp_path / "app"
    app.mkdir()
    (app / "src").symlink_to(elsewhere)
    (app / MANIFEST).write_text(json.dumps({"format": 1, "files": {}}))
    with pytest.raises(ValueError, match="symlink"):
        OutDir.open(app).claim("src/policy.h")
    assert list(elsewhere.iterdir()) == []


def test_writes_are_atomic_renames(tmp_path, monkeypatch):
    """A write goes to a temporary file renamed over the destination: a failed write leaves the old file whole."""
    w = policy("8", obs=3, act=1)
    out = tmp_path / "o"
    export_policy(w, ExportConfig(out=out), "Pendulum-v1")
    before = (out / "policy.h").read_bytes()
    inode = os.stat(out / "policy.h").st_ino

    real = os.replace

    def boom(src, dst):
        if Path(dst).name == "policy.h":
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr("ghp.io.atomic.os.replace", boom)
    with pytest.raises(OSError):
        export_policy(policy("8", obs=3, act=1, seed=9), ExportConfig(out=out), "Pendulum-v1")
    monkeypatch.undo()
    assert (out / "policy.h").read_bytes() == before and os.stat(out / "policy.h").st_ino == inode
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "policy.h"]  # no temporary file left behind


@pytest.mark.parametrize("target", ["onnx", "numpy", "c-source"])
def test_every_target_writes_through_the_manifest(tmp_path, target):
    w = policy("8", obs=3, act=1)
    out = tmp_path / "o"
    result = export_policy(w, ExportConfig(out=out, target=target, name="p"), "Pendulum-v1")
    files = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(files) == sorted(str(f.relative_to(out)) for f in result.files)
    export_policy(w, ExportConfig(out=out, target=target, name="p"), "Pendulum-v1")  # and re-exports


def test_a_broken_manifest_or_a_file_as_out_is_one_line(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / MANIFEST).write_text("not json")
    with pytest.raises(ValueError, match="not a ghp export manifest"):
        OutDir.open(tmp_path / "m")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        OutDir.open(tmp_path / "f")
    with pytest.raises(ValueError, match="not a file name inside"):
        OutDir.open(tmp_path / "n").claim("../escape.h")
