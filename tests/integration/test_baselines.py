"""Baselines that read like any run: one fixed MLP trained with plain SB3 (--arch), linear ARS (--algo ars)."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from ghp.rl.config import TrainConfig, resolve
from ghp.run.load import load_run
from ghp.space.arch import Arch, ArchSpace


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def train(rd, *args: str) -> dict:
    """``ghp train --env Pendulum-v1 ARGS`` into ``rd``; the run's config.json."""
    r = run("train", "--env", "Pendulum-v1", *args, "--out", str(rd), "--quiet")
    assert r.exit_code == 0, r.output
    return json.loads((rd / "config.json").read_text())


def test_fixed_arch_run_evaluates_reports_and_exports(tmp_path):
    rd = tmp_path / "small"
    cfg = train(rd, "--arch", "8-4", "--steps", "300", "--n-envs", "2", "--learning-starts", "100",
                "--batch-size", "32", "--eval-every", "0")  # fmt: skip
    assert cfg["baseline"] is True and cfg["train"]["arch"] == [8, 4] and cfg["hypernet"] is None
    assert ArchSpace.from_dict(cfg["space"]).archs == (Arch((8, 4)),)
    loaded = load_run(rd)
    (w,) = loaded.emit([Arch((8, 4))])
    obs = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    expected, _ = loaded.model.predict(obs, deterministic=True)
    np.testing.assert_allclose(w.act(obs), expected, atol=1e-6)
    assert run("evaluate", str(rd), "--episodes", "1").exit_code == 0
    r = run("report", str(rd), "--json", "--no-plots")
    assert r.exit_code == 0 and json.loads(r.output)["selection"][0]["key"] == "8-4", r.output
    r = run("report", str(rd), "--no-plots")  # one policy: no Table II of 5000 ties
    assert r.exit_code == 0 and "Table II: needs several architectures; this run has one" in r.output, r.output
    assert "wins" not in r.output
    r = run("export", str(rd), "--arch", "8-4", "--target", "numpy", "--out", str(tmp_path / "e"))
    assert r.exit_code == 0, r.output


def test_ars_linear_run_folds_the_normalisation(tmp_path):
    rd = tmp_path / "ars"
    cfg = train(rd, "--algo", "ars", "--steps", "600", "--n-envs", "1", "--ars-n-delta", "1",
                "--checkpoint-every", "400", "--eval-every", "400")  # fmt: skip
    assert cfg["algo"] == "ars" and cfg["train"]["arch"] == [] and cfg["space"]["fixed"] == []
    loaded = load_run(rd)
    norm = loaded.normalization
    assert norm is not None and norm.clip is None and loaded.space.archs == (Arch(()),)
    assert not np.allclose(norm.mean, 0)  # the normaliser has seen observations
    # Non-trivial weights: the folded export must equal SB3's predict on normalised observations.
    with torch.no_grad():
        for p in loaded.model.policy.parameters():
            p.copy_(torch.randn_like(p))
    (w,) = loaded.emit([Arch(())])
    assert w.layers[0][0].shape == (1, 3) and not w.clipped
    obs = (np.random.default_rng(1).standard_normal((64, 3)) * 3).astype(np.float32)
    mean, std = norm.mean, norm.std
    expected, _ = loaded.model.predict(((obs - mean) / std).astype(np.float32), deterministic=True)
    np.testing.assert_allclose(w.act(obs), expected, atol=1e-6)
    assert run("evaluate", str(rd), "--episodes", "1", "--checkpoints", "all").exit_code == 0
    r = run("export", str(rd), "--arch", "linear", "--target", "numpy", "--out", str(tmp_path / "e"))
    assert r.exit_code == 0, r.output


def test_baseline_config_errors():
    with pytest.raises(ValueError, match="goal-conditioned"):
        resolve(TrainConfig(env_id="FetchReach-v4", algo="ars"))
    assert resolve(TrainConfig(env_id="Pendulum-v1", baseline=True)).arch == (256, 256)
    c = resolve(TrainConfig(env_id="Pendulum-v1", arch=(8, 4, 4, 4)))
    assert c.baseline and c.out is not None and c.out.endswith("Pendulum-v1-sac-arch8-4-4-4")
    r = run("train", "--env", "Pendulum-v1", "--arch", "8-x")
    assert r.exit_code == 2 and "--arch" in r.output
