"""The periodic evaluation during training: fixed architectures, logged, and equal to `evaluate` of the checkpoint."""

import json

import pytest

from ghp.arch import ArchSpace
from ghp.counting import deploy_params
from ghp.evaluate import EvalConfig, evaluate
from ghp.run import load_run
from ghp.train import EVAL_LOG, TrainConfig, eval_archs, train

TINY = dict(env_id="Pendulum-v1", steps=300, n_envs=2, widths=(4, 8), depths=(1, 2), learning_starts=100)


def test_eval_archs_span_the_sizes():
    space = ArchSpace(widths=(4, 8, 16, 32, 64, 128, 256, 512), depths=(1, 2, 3, 4))
    archs = eval_archs(space, 4, 11, 3)
    params = [deploy_params(a, 11, 3) for a in archs]
    all_params = [deploy_params(a, 11, 3) for a in space.archs]
    assert len(archs) == 4 and params == sorted(params)
    assert params[0] == min(all_params) and params[-1] == max(all_params)
    assert eval_archs(space, 4, 11, 3) == archs  # fixed
    assert len(eval_archs(ArchSpace(widths=(4,), depths=(1,)), 4, 3, 1)) == 1


def test_periodic_eval_is_logged_and_matches_evaluate(tmp_path):
    seen = []
    cfg = TrainConfig(
        out=str(tmp_path / "r"), checkpoint_every=100, eval_every=100, eval_archs=3, eval_episodes=1, **TINY
    )
    out = train(cfg, progress=seen.append)
    lines = [json.loads(x) for x in (out / EVAL_LOG).read_text().splitlines()]
    assert [x["step"] for x in lines] == [100, 200, 300]
    assert all(len(x["archs"]) == 3 and x["best"] == max(x["archs"].values()) for x in lines)
    assert seen[-1]["eval"] is not None and seen[-1]["eval"]["step"] == 300
    run = load_run(out, "step_200")
    archs = eval_archs(run.space, 3, run.spec.obs_dim, run.spec.act_dim)
    _, recs = evaluate(run, archs, EvalConfig(episodes=1, seed=0, in_process=True))
    assert {r.arch.key: r.mean_return for r in recs} == pytest.approx(lines[1]["archs"], rel=1e-6)
    assert any(p.name.startswith("events") for p in (out / "tb").rglob("*"))


def test_eval_every_zero_disables_and_bad_values(tmp_path):
    out = train(TrainConfig(out=str(tmp_path / "r"), eval_every=0, **TINY))
    assert not (out / EVAL_LOG).exists()
    with pytest.raises(ValueError, match="--eval-archs"):
        train(TrainConfig(out=str(tmp_path / "x"), eval_archs=0, **TINY))


def test_freeze_keeps_parts_at_init_and_out_of_the_optimizer(tmp_path):
    snowflake = ("bias", "decoder", "encoder", "message")
    out = train(TrainConfig(out=str(tmp_path / "r"), checkpoint_every=200, eval_every=0, freeze=snowflake, **TINY))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["freeze"] == list(snowflake) and cfg["hypernet"]["freeze"] == list(snowflake)
    a, b = (load_run(out, n).model.policy.actor.hypernet for n in ("step_200", "step_300"))
    pb = dict(b.named_parameters())
    for n, p in a.named_parameters():
        assert p.requires_grad == n.startswith("gru.")  # frozen again after loading
        assert p.equal(pb[n]) != n.startswith("gru."), n  # only the update function trained
    opt = load_run(out).model.policy.actor.optimizer
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(b.gru.parameters()))
    with pytest.raises(ValueError, match="unknown hypernetwork part"):
        train(TrainConfig(out=str(tmp_path / "x"), freeze=("gnn",), **TINY))
