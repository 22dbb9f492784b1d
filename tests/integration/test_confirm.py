"""Screening, then confirmation, through the evaluation engine: a lucky screening winner, resumption, seeds."""

import gymnasium as gym
import numpy as np
import pytest

from ghp.envs import EnvSpec, env_spec
from ghp.policy.weights import PolicyWeights
from ghp.rollout.engine import reset_seed
from ghp.rollout.evaluate import EvalConfig, evaluate
from ghp.run.results import ResultsStore
from ghp.space.arch import ArchSpace, parse_arch
from ghp.space.counting import layer_shapes
from search.confirm import candidates, confirm_run

ENV = "GhpTest/HiddenTarget-v0"


class HiddenTarget(gym.Env):
    """One step: the reward is 1 - (action - t)^2 for a target t ~ U(-1, 1) drawn at reset and never observed.

    The best policy on average is the constant 0 (expected reward 2/3); a constant equal to the mean of a few starts'
    targets beats it on those starts and loses on others: the winner's curse, in one line.
    """

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = float(self.np_random.uniform(-1.0, 1.0))
        return np.zeros(1, np.float32), {"target": self.target}

    def step(self, action):
        return np.zeros(1, np.float32), 1.0 - (float(action[0]) - self.target) ** 2, True, False, {}


if ENV not in gym.registry:
    gym.register(ENV, entry_point=HiddenTarget)


def targets(seed, episodes, kind="screen"):
    env = HiddenTarget()
    return [env.reset(seed=reset_seed(seed, e, kind))[1]["target"] for e in range(episodes)]


class ConstantRun:
    """A stand-in run whose architectures each act a constant: ``actions[arch key]`` (0 for the others)."""

    def __init__(self, actions):
        self.spec: EnvSpec = env_spec(ENV)
        self.space = ArchSpace(widths=(4, 8, 16), depths=(1,))
        self.run_id = "constant"
        self.timesteps = 500
        self.actions = actions

    def emit(self, archs, batch_size=1024):
        out = []
        for a in archs:
            shapes = layer_shapes(a, self.spec.obs_dim, self.spec.act_dim)
            layers = [(np.zeros((o, i)), np.zeros(o)) for i, o in shapes]
            layers[-1][1][:] = np.arctanh(self.actions.get(a.key, 0.0))  # tanh squashing: the action itself
            out.append(PolicyWeights.from_arrays(a, layers, self.spec.action_low, self.spec.action_high))
        return out


def test_the_screening_winner_loses_on_confirmation(tmp_path):
    # An evaluation seed whose 3 screening starts have targets far from 0 on average (a lucky screening).
    seed = next(s for s in range(100) if abs(np.mean(targets(s, 3))) > 0.3)
    lucky = float(np.mean(targets(seed, 3)))
    run = ConstantRun({"4": lucky, "16": 0.9})  # 8 acts 0: the best policy on average
    cfg = EvalConfig(episodes=3, in_process=True, seed=seed)
    with ResultsStore.open(tmp_path, run.run_id) as st:
        evaluate(run, list(run.space.archs), cfg, st)
        screened = {r.arch.key: r.mean_return for r in st.records()}
        assert max(screened, key=screened.get) == "4"  # 4 wins the screening
        plan, summary = confirm_run(run, EvalConfig(confirm=2, confirm_episodes=400, in_process=True, seed=seed), st)
        assert plan.metric == "return" and [a.key for a in plan.top] == ["4", "8"] and summary.evaluated == 2
        assert summary.setting.kind == "confirm" and summary.setting.episodes == 400
        confirmed = {k: r.mean_return for k, r in st.confirmed(st.records()[0].setting).items()}
    assert set(confirmed) == {"4", "8"}
    assert confirmed["8"] > confirmed["4"]  # ... and loses on held-out starts
    assert screened["4"] - confirmed["4"] > 0.02  # the winner's curse, made visible
    # The confirmation ran on other starts: its targets are not the screening's.
    assert not set(targets(seed, 400, "confirm")) & set(targets(seed, 3))


def test_candidates_are_the_top_k_and_the_report_picks():
    from ghp.run.results import ArchRecord, Setting

    def rec(key, ret, params):
        a = parse_arch(key)
        return ArchRecord(a, 0, Setting(1, 0, 1), (ret,), (1,), None, params, 4 * params, 1)

    recs = [rec("64", 10.0, 500), rec("32", 9.5, 200), rec("4", 9.2, 20), rec("8", 8.1, 40), rec("16", 1.0, 90)]
    top, picks = candidates(recs, 2)
    # max = 64, 90% (>= 9.1 above the worst, 1.0) = 4, 80% (>= 8.2) = 4: one more candidate beside the top 2.
    assert [a.key for a in top] == ["64", "32"] and [a.key for a in picks] == ["4"]
    with pytest.raises(ValueError, match="confirm"):
        candidates(recs, 0)
    # Under a budget (the later `export --best --max-params 100`): the top 2 of those that fit, plus every pick.
    from search.confirm import plan

    p = plan(recs, EvalConfig(confirm=2, confirm_max_params=100, confirm_episodes=3))
    assert [a.key for a in p.top] == ["4", "8"] and [a.key for a in p.picks] == ["64"]
    with pytest.raises(ValueError, match="at most 10 parameters"):
        plan(recs, EvalConfig(confirm=2, confirm_max_params=10))
    with pytest.raises(ValueError, match="goes with --confirm"):
        EvalConfig(confirm_max_params=100)


def test_an_interrupted_confirmation_resumes_to_the_same_rows(tmp_path):
    run = ConstantRun({"4": 0.3, "8": -0.2, "16": 0.1})
    screen = EvalConfig(episodes=2, in_process=True)
    cfg = EvalConfig(confirm=3, confirm_episodes=30, in_process=True, chunk_size=1, emit_batch=1)
    rows = {}
    for name in ("full", "resumed"):
        (tmp_path / name).mkdir()
        with ResultsStore.open(tmp_path / name, run.run_id) as st:
            evaluate(run, list(run.space.archs), screen, st)
            if name == "resumed":
                calls = []

                def stop_after_one(event, calls=calls):
                    calls.append(event.done)
                    if len(calls) == 2:  # the initial call, then one finished chunk
                        raise KeyboardInterrupt

                with pytest.raises(KeyboardInterrupt):
                    confirm_run(run, cfg, st, stop_after_one)
                assert len(st.confirmed(st.records()[0].setting)) == 1
                _, summary = confirm_run(run, cfg, st)
                assert summary.skipped == 1 and summary.evaluated == 2
            else:
                confirm_run(run, cfg, st)
            rows[name] = {k: r.returns for k, r in st.confirmed(st.records()[0].setting).items()}
            assert len(st.records()) == 3  # the screening is untouched
    assert rows["full"] == rows["resumed"] and len(rows["full"]) == 3
