"""`train(config, callback=...)`: SB3 callbacks chained with ghp's own; evaluations reach the progress report."""

import json

import pytest
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

from ghp.rl.config import TrainConfig
from ghp.rl.train import train

TINY = dict(env_id="Pendulum-v1", steps=300, n_envs=2, widths=(4, 8), depths=(1,), learning_starts=100)


class Counter(BaseCallback):
    def __init__(self):
        super().__init__()
        self.started = False

    def _on_training_start(self) -> None:
        self.started = True

    def _on_step(self) -> bool:
        return True


def test_callbacks_run_beside_ghp_and_evaluations_reach_the_progress_report(tmp_path):
    from stable_baselines3.common.env_util import make_vec_env

    counters = [Counter(), Counter()]
    evaluator = EvalCallback(make_vec_env("Pendulum-v1", n_envs=1), n_eval_episodes=1, eval_freq=100, verbose=0)
    reports = []
    out = train(
        TrainConfig(out=str(tmp_path / "run"), checkpoint_every=200, **TINY),
        progress=reports.append,
        callback=[*counters, evaluator],
    )
    assert all(c.started and c.n_calls == 150 for c in counters)  # 300 steps of 2 environments
    assert (out / "checkpoints" / "step_200.zip").is_file()  # ghp's own callback still runs
    assert evaluator.n_calls == 150 and evaluator.last_mean_reward < 0  # Pendulum returns are negative
    assert reports[-1].figures["eval_return"] == pytest.approx(evaluator.last_mean_reward)
    assert reports[0].figures["eval_return"] is None  # no evaluation yet


def test_a_callback_returning_false_stops_and_saves(tmp_path):
    out = train(
        TrainConfig(out=str(tmp_path / "run"), **TINY),
        callback=lambda local, glob: local["self"].num_timesteps < 200,
    )
    assert json.loads((out / "config.json").read_text())["train"]["steps"] == 300
    assert (out / "checkpoints" / "step_200.zip").is_file() and not (out / "checkpoints" / "step_300.zip").exists()


def test_a_bad_callback_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="callback"):
        train(TrainConfig(out=str(tmp_path / "run"), **TINY), callback=[Counter(), 3])
    assert not (tmp_path / "run").exists()
