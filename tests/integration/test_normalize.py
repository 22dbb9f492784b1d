"""``--normalize`` end to end: statistics saved with every checkpoint, frozen in evaluation, folded into the export."""

import dataclasses
import pickle

import numpy as np
import pytest

from export.api import ExportConfig, export_policy
from export.reference import check_tolerance
from export.toolchain import missing_tools
from ghp.policy.normalize import load_vec_normalize, stats_path
from ghp.rl.config import TrainConfig
from ghp.rl.train import train
from ghp.rollout.evaluate import EvalConfig, evaluate
from ghp.run.load import load_run
from ghp.space.arch import Arch
from tests.integration.test_evaluate import reference_returns

TINY = dict(env_id="Pendulum-v1", steps=300, n_envs=2, widths=(4, 8), depths=(1, 2), learning_starts=100)
TOOLS = missing_tools("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", "newlib", "qemu-system-arm")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "norm"
    return train(TrainConfig(out=str(out), normalize=True, checkpoint_every=200, **TINY))


def observations(n=64, seed=0):
    rng = np.random.default_rng(seed)
    theta, speed = rng.uniform(-np.pi, np.pi, n), rng.uniform(-8, 8, n)
    return np.stack([np.cos(theta), np.sin(theta), speed], 1).astype(np.float32)


def test_statistics_are_saved_with_every_model_file(run_dir):
    models = [run_dir / "model.zip", *sorted((run_dir / "checkpoints").glob("step_*.zip"))]
    assert len(models) == 3  # model.zip, step_200, step_300
    for m in models:
        assert stats_path(m).is_file(), m
    early = load_vec_normalize(stats_path(models[1]))
    late = load_vec_normalize(stats_path(models[0]))
    assert early.obs_rms.count < late.obs_rms.count  # each checkpoint keeps its own statistics
    assert late.clip_obs == 10.0 and not late.norm_reward


def test_frozen_statistics_are_what_sb3_fed_the_actor(run_dir):
    run = load_run(run_dir)
    vn = load_vec_normalize(stats_path(run_dir / "model.zip"))
    x = observations()
    np.testing.assert_allclose(run.normalization.normalize(x), vn.normalize_obs(x), atol=1e-6)
    assert load_run(run_dir, "step_200").normalization.mean.tolist() != run.normalization.mean.tolist()


def test_emitted_policies_act_on_raw_observations(run_dir):
    run = load_run(run_dir)
    raw = dataclasses.replace(run, normalization=None)  # the actor as trained: on normalised inputs
    archs = [Arch((4,)), Arch((8, 4))]
    x = np.concatenate([observations(), observations()[:4] * 50])  # some beyond the clip
    for folded, plain in zip(run.emit(archs), raw.emit(archs), strict=True):
        assert folded.clipped and not plain.clipped
        np.testing.assert_allclose(folded.act(x), plain.act(run.normalization.normalize(x)), atol=2e-5, rtol=0)


def test_evaluation_uses_the_frozen_folded_policy(run_dir):
    run = load_run(run_dir)
    archs = [Arch((4,)), Arch((8, 8))]
    _, records = evaluate(run, archs, EvalConfig(episodes=2, in_process=True, seed=3, max_episode_steps=60))
    weights = dict(zip(archs, run.emit(archs), strict=True))
    for rec in records:
        rets, _, _ = reference_returns(weights[rec.arch], 2, 3, "Pendulum-v1", max_steps=60)
        np.testing.assert_allclose(rec.returns, rets, rtol=1e-4)


def test_resume_continues_the_statistics(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    before = pickle.loads(stats_path(copy / "model.zip").read_bytes()).obs_rms.count
    train(TrainConfig(out=str(copy), **{**TINY, "steps": 400}), resume=True)
    after = load_vec_normalize(stats_path(copy / "model.zip")).obs_rms.count
    assert after == pytest.approx(before + 100, abs=2)  # continued, not restarted


@pytest.mark.skipif(bool(TOOLS), reason=f"missing {', '.join(TOOLS)} (CI: make toolchain)")
def test_exported_c_with_the_normalisation_folded_in_matches_torch_on_host_and_qemu(run_dir, tmp_path):
    run = load_run(run_dir)
    [w] = run.emit([Arch((8, 4))])
    result = export_policy(w, ExportConfig(out=tmp_path, name="pend", check=True), env_id="Pendulum-v1")
    text = (tmp_path / "pend.h").read_text()
    assert "ghp_clip(obs, pend_clip_low, pend_clip_high, pend_xc, 3u);" in text
    assert result.check.ok, result.check.steps
    f = result.check.figures
    assert f["host_max_err"] <= check_tolerance(w) and f["qemu_vs_host_max_diff"] <= 1e-6
    # The self-test's +-1000 edge vectors sit far outside the clip: the clip is exercised on the device too.
    assert np.all(w.clip_high < 1000) and np.all(w.clip_low > -1000)
