"""Crazyflie runs through the pipeline: env kwargs recorded and reused, the vectorised evaluation path, CLI errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.envs import canonical_kwargs, env_spec, make_env
from ghp.rollout.engine import reset_seed
from ghp.rollout.evaluate import EvalConfig, evaluate
from ghp.run.results import ResultsStore
from ghp.space.arch import ArchSpace
from tests.integration.evalfakes import FakeRun

HOVER = "ghp/CrazyflieHover-v0"


def _fake(**env_kwargs: object) -> FakeRun:
    run = FakeRun(HOVER, ArchSpace(widths=(4, 16, 64), depths=(1, 2)), scale=0.3)
    run.spec = env_spec(HOVER, dict(env_kwargs))  # the input size follows the options (action_history)
    return run


def _reference(weights, episodes, seed, kwargs):
    env = make_env(HOVER, **kwargs)
    rets, lens, succ = [], [], []
    for e in range(episodes):
        obs, _ = env.reset(seed=reset_seed(seed, e))
        total, n, done, info = 0.0, 0, False, {}
        while not done:
            obs, r, term, trunc, info = env.step(weights.act(obs))
            total, n, done = total + float(r), n + 1, term or trunc
        rets.append(total)
        lens.append(n)
        succ.append(bool(info["is_success"]))
    return rets, lens, succ


@pytest.mark.parametrize("kwargs", [{"start_tilt_deg": 5.0}, {"start_tilt_deg": 5.0, "action_history": 4}])
def test_vectorised_evaluation_matches_single_episodes(kwargs: dict) -> None:
    run = _fake(**kwargs)
    assert run.spec.obs_dim == 18 + 4 * int(kwargs.get("action_history", 1))
    archs = list(run.space.archs)
    _, records = evaluate(run, archs, EvalConfig(episodes=3, seed=2, in_process=True, envs_per_worker=9))
    weights = {w.arch: w for w in run.emit(archs)}
    for rec in records:
        rets, lens, succ = _reference(weights[rec.arch], 3, 2, kwargs)
        assert list(rec.lengths) == lens
        np.testing.assert_allclose(rec.returns, rets, rtol=1e-5)
        assert rec.success_rate == pytest.approx(sum(succ) / 3)


def test_env_kwargs_override_is_its_own_setting(tmp_path) -> None:
    run = _fake(start_tilt_deg=5.0)
    archs = list(run.space.archs)[:2]
    with ResultsStore.open(tmp_path / "results.sqlite", run.run_id) as store:
        cfg = EvalConfig(episodes=2, in_process=True, max_episode_steps=30)
        s1, _ = evaluate(run, archs, cfg, store)
        s2, _ = evaluate(run, archs, dataclasses.replace(cfg, env_kwargs={"nominal": True}), store)
        assert s2.evaluated == 2 and s1.setting != s2.setting
        assert s2.setting.env_kwargs == canonical_kwargs({"start_tilt_deg": 5.0, "nominal": True})
        assert {s.env_kwargs for s, _ in store.settings()} == {s1.setting.env_kwargs, s2.setting.env_kwargs}
        again, _ = evaluate(run, archs, cfg, store)
        assert again.skipped == 2


def test_worker_processes_rebuild_the_env_with_its_kwargs() -> None:
    run = _fake(start_tilt_deg=5.0)
    archs = list(run.space.archs)[:3]
    cfg = EvalConfig(episodes=2, seed=1, workers=1, max_episode_steps=50)
    _, pooled = evaluate(run, archs, cfg)
    _, local = evaluate(run, archs, dataclasses.replace(cfg, in_process=True))
    assert sorted((r.arch.key, r.returns) for r in pooled) == sorted((r.arch.key, r.returns) for r in local)


def test_train_records_env_kwargs_and_evaluate_reuses_them(tmp_path) -> None:
    out = tmp_path / "run"
    args = ["train", "--env", HOVER, "--env-kwargs", "nominal=true start_tilt_deg=5", "--env-kwargs", "substeps=2"]
    args += ["--steps", "200", "--n-envs", "2", "--widths", "4", "--depths", "1", "--learning-starts", "100"]
    res = CliRunner().invoke(cli, [*args, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((out / "config.json").read_text())
    pinned = {"yaw_weight": 0.0, "yaw_frame": True, "position_weight": 8.0}
    kw = {"nominal": True, "start_tilt_deg": 5, "substeps": 2, **pinned}
    assert cfg["train"]["env_kwargs"] == kw and cfg["env"]["env_kwargs"] == kw
    res = CliRunner().invoke(cli, ["evaluate", str(out), "--episodes", "2", "--workers", "1"])
    assert res.exit_code == 0, res.output
    with ResultsStore.open(out, cfg["run_id"]) as store:
        [(setting, n)] = store.settings()
        assert n == 1 and json.loads(setting.env_kwargs) == kw
        assert store.records(setting)[0].success_rate is not None


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ("mass=3", "unknown Crazyflie option"),
        ("mass_range=-1,1.1", "mass_range"),
        ("thrust_to_weight_range=0.5,0.9", "thrust_to_weight"),
        ("nominal", "KEY=VALUE"),
        ("action_history=-1", "action_history must be 0 or more past actions"),
        ("action_history=2.5", "action_history takes a whole number"),
        ("action_history=many", "action_history takes a whole number"),
    ],
)
def test_bad_env_kwargs_are_one_line_exit_2(tmp_path, kwargs: str, needle: str) -> None:
    args = ["train", "--env", HOVER, "--env-kwargs", kwargs, "--steps", "100", "--out", str(tmp_path / "r")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    lines = [ln for ln in res.output.strip().splitlines() if ln]
    assert len(lines) == 1 and needle in lines[0]
    assert not (tmp_path / "r").exists()


def test_export_self_test_rollouts_use_the_env_kwargs() -> None:
    from export.vectors import test_vectors as export_vectors

    [w] = _fake().emit([ArchSpace(widths=(4,), depths=(1,)).archs[0]])
    tv = export_vectors(w, HOVER, 6, 0, env_kwargs={"nominal": True, "start_rest_share": 1.0})
    assert tv.obs.shape[1] == 22
    rest = [o for o, label in zip(tv.obs, tv.labels, strict=True) if label == "rollout 0 step 0"]
    assert rest and np.abs(rest[0][:3]).max() == 0.0  # started at rest on the target: the kwargs were used
    with pytest.raises(ValueError, match="unknown Crazyflie option"):
        export_vectors(w, HOVER, 6, 0, env_kwargs={"mass": 1.0})
