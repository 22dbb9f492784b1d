"""The periodic evaluation during training: fixed architectures, logged, and equal to `evaluate` of the checkpoint."""

import json

import pytest

from ghp.rl.callbacks import EVAL_LOG, eval_archs
from ghp.rl.config import TrainConfig
from ghp.rl.train import train
from ghp.rollout.evaluate import EvalConfig, evaluate
from ghp.run.load import load_run
from ghp.space.arch import ArchSpace
from ghp.space.counting import deploy_params

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
    assert seen[-1].figures["eval"] is not None and seen[-1].figures["eval"]["step"] == 300
    run = load_run(out, "step_200")
    archs = eval_archs(run.space, 3, run.spec.obs_dim, run.spec.act_dim)
    _, recs = evaluate(run, archs, EvalConfig(episodes=1, seed=0, in_process=True))
    assert {r.arch.key: r.mean_return for r in recs} == pytest.approx(lines[1]["archs"], rel=1e-6)
    assert any(p.name.startswith("events") for p in (out / "tb").rglob("*"))


def _periodic_matches_evaluate_of_the_checkpoint(out, step: int, n_archs: int, episodes: int) -> None:
    """The periodic evaluation logged at ``step`` equals ``ghp evaluate`` of the checkpoint saved at that step (the
    default evaluation settings, in worker processes as the command runs them)."""
    lines = {x["step"]: x for x in map(json.loads, (out / EVAL_LOG).read_text().splitlines())}
    run = load_run(out, f"step_{step}")
    archs = eval_archs(run.space, n_archs, run.spec.obs_dim, run.spec.act_dim)
    _, recs = evaluate(run, archs, EvalConfig(episodes=episodes, seed=0, workers=1))
    assert {r.arch.key: r.mean_return for r in recs} == pytest.approx(lines[step]["archs"], rel=1e-5, abs=1e-6)
    if lines[step]["success_by_arch"] is not None:
        assert {r.arch.key: r.success_rate for r in recs} == lines[step]["success_by_arch"]


@pytest.mark.parametrize("normalize", [False, True])
def test_periodic_eval_uses_the_runs_normalisation(tmp_path, normalize):
    # Under --normalize the periodic evaluation once ran the actor on raw, unclipped observations (Box tasks) and
    # crashed on Dict ones: it must see exactly what `ghp evaluate` of the same checkpoint sees.
    cfg = TrainConfig(
        out=str(tmp_path / "r"),
        checkpoint_every=100,
        eval_every=100,
        eval_archs=3,
        eval_episodes=1,
        normalize=normalize,
        **TINY,
    )
    out = train(cfg)
    for step in (100, 300):  # 300: the last step, evaluated after the final update
        _periodic_matches_evaluate_of_the_checkpoint(out, step, 3, 1)


def test_periodic_eval_of_a_goal_task_with_its_defaults(tmp_path):
    # FetchReach's defaults: DDPG + HER behind VecNormalize of a Dict observation, a periodic evaluation below --steps.
    pytest.importorskip("gymnasium_robotics")
    cfg = TrainConfig(
        env_id="FetchReach-v4",
        steps=200,
        n_envs=2,
        widths=(4, 8),
        depths=(1,),
        learning_starts=100,
        checkpoint_every=100,
        eval_every=100,
        eval_archs=2,
        eval_episodes=1,
        out=str(tmp_path / "fetch"),
    )
    out = train(cfg)
    assert json.loads((out / "config.json").read_text())["train"]["normalize"] is True  # the family's default
    _periodic_matches_evaluate_of_the_checkpoint(out, 200, 2, 1)


def test_periodic_eval_of_ars_folds_its_normaliser(tmp_path):
    cfg = TrainConfig(
        env_id="Pendulum-v1",
        algo="ars",
        steps=800,
        checkpoint_every=400,
        eval_every=400,
        eval_episodes=1,
        out=str(tmp_path / "ars"),
    )
    out = train(cfg)
    logged = [json.loads(x)["step"] for x in (out / EVAL_LOG).read_text().splitlines()]
    for step in logged:  # ARS evaluates and counts steps per iteration
        _periodic_matches_evaluate_of_the_checkpoint(out, step, 1, 1)


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
