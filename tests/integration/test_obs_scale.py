"""``--obs-scale``: a fixed scale instead of running statistics, saved, kept on resume, folded into what is emitted."""

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.policy.normalize import load_vec_normalize, stats_path
from ghp.rl.config import TrainConfig, resolve
from ghp.rl.train import train
from ghp.run.load import load_run
from ghp.space.arch import Arch
from tests.integration.test_normalize import TINY, observations

SCALE = (2.0, 0.5, 0.25)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "scaled"
    return train(TrainConfig(out=str(out), obs_scale=SCALE, checkpoint_every=200, **TINY))


def test_the_scale_is_saved_unchanged_and_kept_on_resume(run_dir, tmp_path):
    import shutil

    for model in (run_dir / "model.zip", run_dir / "checkpoints" / "step_200.zip"):
        vn = load_vec_normalize(stats_path(model))
        np.testing.assert_array_equal(vn.obs_rms.mean, 0.0)  # frozen: 300 steps moved nothing
        np.testing.assert_allclose(np.sqrt(vn.obs_rms.var + vn.epsilon), 1 / np.array(SCALE), rtol=1e-12)
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    train(TrainConfig(out=str(copy), **{**TINY, "steps": 400}), resume=True)
    vn = load_vec_normalize(stats_path(copy / "model.zip"))
    np.testing.assert_array_equal(vn.obs_rms.mean, 0.0)
    np.testing.assert_allclose(np.sqrt(vn.obs_rms.var + vn.epsilon), 1 / np.array(SCALE), rtol=1e-12)


def test_emitted_policies_act_on_raw_observations(run_dir):
    run = load_run(run_dir)
    raw = dataclasses.replace(run, normalization=None)  # the actor as trained: on scaled inputs
    x = observations()
    scaled = np.clip(x * np.array(SCALE, np.float32), -10, 10)
    np.testing.assert_allclose(run.normalization.normalize(x), scaled, rtol=1e-6, atol=1e-6)
    for folded, plain in zip(run.emit([Arch((4,)), Arch((8, 4))]), raw.emit([Arch((4,)), Arch((8, 4))]), strict=True):
        np.testing.assert_allclose(folded.act(x), plain.act(scaled), atol=2e-5, rtol=0)


def test_bad_scales_are_one_line_errors(tmp_path):
    def ghp(*args: str) -> str:
        r = CliRunner().invoke(cli, ["train", "--env", "Pendulum-v1", "--steps", "200", "--out", str(tmp_path / "r"),
                                     "--quiet", *args])  # fmt: skip
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        return r.output

    assert "positive numbers" in ghp("--obs-scale", "10,-1,1")
    assert "positive numbers" in ghp("--obs-scale", "ten")
    assert "one number or one per input (3), got 2" in ghp("--obs-scale", "10,1")
    assert "not with --no-normalize" in ghp("--obs-scale", "10", "--no-normalize")
    assert resolve(TrainConfig(obs_scale=(10.0,))).normalize is True
