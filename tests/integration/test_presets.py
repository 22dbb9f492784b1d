"""Settings presets (the authors' and RL Zoo's) and exact step accounting: ``--steps N`` takes N environment steps."""

import importlib.util
import json
import sys

import gymnasium as gym
import pytest

import ghp.rl.build as build_mod
from ghp.rl.config import TrainConfig, resolve
from ghp.rl.presets import SB3_DEFAULTS, rlzoo
from ghp.rl.train import train

# Found, not imported: importing rl_zoo3 patches gymnasium's TimeLimit for the whole process (rl_zoo3.gym_patches),
# after which every gym.make in the test session returns its PatchedTimeLimit, and ghp evaluate's batched Pendulum and
# Hopper forms (which accept only gymnasium's own wrappers) are refused. ghp reads RL Zoo's files without importing it.
if importlib.util.find_spec("rl_zoo3") is None:
    pytest.skip("rl_zoo3 is not installed", allow_module_level=True)


def test_rlzoo_reads_the_tasks_entry_and_falls_back_to_older_versions_and_sb3_defaults():
    hopper = rlzoo("Hopper-v5", "sac")
    assert "rl_zoo3" not in sys.modules  # its files are read, the package (and its gymnasium patch) not imported
    assert "hyperparams/sac.yml: Hopper-v4" in hopper.source  # RL Zoo lists Hopper-v4
    assert hopper.settings["learning_starts"] == 10_000 and hopper.settings["n_envs"] == 1
    ars = rlzoo("Hopper-v5", "ars")
    assert ars.settings["ars_alive_bonus"] == -1.0 and ars.settings["ars_n_top"] == 4 and ars.settings["arch"] == ()
    reach = rlzoo("FetchReach-v4", "sac")
    assert "FetchReach-v1" in reach.source and reach.settings["arch"] == (64, 64) and reach.settings["normalize"]
    lunar = rlzoo("LunarLanderContinuous-v3", "sac")  # RL Zoo's lin_7.3e-4: a linear decay from 7.3e-4
    assert lunar.settings["lr"] == 7.3e-4 and lunar.settings["lr_schedule"] == "linear"
    assert hopper.settings["lr_schedule"] == "constant"
    none = rlzoo("ghp/CrazyflieHover-v0", "sac")
    assert "no entry" in none.source and none.settings == SB3_DEFAULTS["sac"]


def test_the_preset_fills_what_is_not_given_and_the_user_wins():
    c = resolve(TrainConfig(env_id="Hopper-v5", baseline=True, preset="rlzoo", steps=1000))
    assert (c.n_envs, c.ent_coef, c.lr, c.actor_lr, c.arch, c.gradient_steps) == (1, "auto", 3e-4, 3e-4, (256, 256), 1)
    authors = resolve(TrainConfig(env_id="Hopper-v5", baseline=True, steps=1000))
    assert (authors.n_envs, authors.ent_coef) == (8, "0.2")
    mine = resolve(TrainConfig(env_id="Hopper-v5", baseline=True, preset="rlzoo", steps=1000, lr=1e-3, batch_size=64))
    assert mine.lr == 1e-3 and mine.batch_size == 64
    goal = resolve(TrainConfig(env_id="FetchReach-v4", baseline=True, preset="rlzoo", steps=2000))
    assert goal.algo == "sac" and goal.arch == (64, 64) and goal.gamma == 0.95
    assert goal.critic == (64, 64)  # RL Zoo's net_arch [64, 64] is SB3's for both networks


def test_the_rlzoo_preset_has_sb3s_critic_where_a_task_default_differs():
    # The Crazyflie's own default critic is 64,64 (l2f's size); a user of SB3's defaults trains a 256,256 one.
    cf = dict(env_id="ghp/CrazyflieHover-v0", baseline=True, steps=1000)
    assert resolve(TrainConfig(**cf, preset="rlzoo")).critic == (256, 256)
    assert resolve(TrainConfig(**cf)).critic == (64, 64)
    assert resolve(TrainConfig(**cf, preset="rlzoo", critic=(32, 32))).critic == (32, 32)  # the user wins


def test_the_preset_is_recorded_in_the_run(tmp_path):
    out = train(TrainConfig(env_id="Pendulum-v1", baseline=True, preset="rlzoo", steps=200, out=str(tmp_path / "r")))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["preset"]["name"] == "rlzoo" and "sac.yml: Pendulum-v1" in cfg["preset"]["source"]
    assert cfg["train"]["n_envs"] == 1 and cfg["train"]["lr"] == 1e-3


def test_ars_refuses_several_environments():
    with pytest.raises(ValueError, match="one environment"):
        resolve(TrainConfig(env_id="Pendulum-v1", algo="ars", n_envs=8))


class _Counting(gym.Wrapper):
    steps = 0

    def step(self, action):
        _Counting.steps += 1
        return super().step(action)


@pytest.mark.parametrize(
    "settings",
    [
        dict(env_id="Pendulum-v1", widths=(4,), depths=(1,), n_envs=4, learning_starts=100),
        dict(env_id="Pendulum-v1", baseline=True, preset="rlzoo"),
        dict(env_id="Pendulum-v1", algo="ars"),
        dict(env_id="Pendulum-v1", algo="ars", preset="rlzoo"),
        dict(env_id="FetchReach-v4", widths=(4,), depths=(1,), n_envs=2, learning_starts=100),
    ],
    ids=["sac-ghp", "sac-rlzoo", "ars", "ars-rlzoo", "ddpg-her"],
)
def test_steps_consume_exactly_the_steps_asked(settings, tmp_path, monkeypatch):
    # Every environment step taken is counted, and counted once: N asked -> N taken, up to one ARS iteration (its
    # candidates' episodes) or one step of all environments.
    if settings["env_id"].startswith("Fetch"):
        pytest.importorskip("gymnasium_robotics")
    real = build_mod.make_env
    monkeypatch.setattr(build_mod, "make_env", lambda env_id, **kw: _Counting(real(env_id, **kw)))
    _Counting.steps = 0
    steps = 400
    out = train(TrainConfig(steps=steps, out=str(tmp_path / "r"), eval_every=0, **settings))
    c = resolve(TrainConfig(steps=steps, **settings))
    done = json.loads((out / "config.json").read_text())
    from ghp.run.load import load_run

    taken = load_run(out).timesteps
    assert taken == _Counting.steps, (taken, _Counting.steps)  # counted == stepped
    slack = 2 * c.ars_n_delta * 200 if c.algo == "ars" else (c.n_envs or 1)  # Pendulum episodes are 200 steps
    assert steps <= taken < steps + slack
    assert done["train"]["steps"] == steps


def test_an_ars_run_with_rl_zoos_settings_resumes(tmp_path):
    # RL Zoo's ARS files say normalize: ARS always normalises with its own statistics, which a resume reloads.
    cfg = TrainConfig(env_id="Pendulum-v1", algo="ars", preset="rlzoo", arch=(), steps=800, out=str(tmp_path / "a"))
    out = train(cfg)
    again = train(TrainConfig(env_id="Pendulum-v1", algo="ars", preset="rlzoo", arch=(), steps=1600, out=str(out)),
                  resume=True)  # fmt: skip
    from ghp.run.load import load_run

    assert load_run(again).timesteps >= 1600
