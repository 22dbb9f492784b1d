"""Training runs end to end on tiny configs: run directory, reload, determinism, resume, baseline, HER, Fetch."""

import json

import numpy as np
import pytest
import torch

import ghp.hypernet.policies  # noqa: F401  (policy classes importable for SB3's loader)
from ghp.policy.weights import obs_vector
from ghp.rl.config import TrainConfig
from ghp.rl.train import train
from ghp.run.load import load_run
from ghp.space.arch import Arch

TINY = dict(env_id="Pendulum-v1", steps=300, n_envs=2, widths=(4, 8), depths=(1, 2), learning_starts=100)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train(TrainConfig(out=str(tmp_path_factory.mktemp("runs") / "tiny"), checkpoint_every=200, **TINY))


def test_run_directory_and_config(tiny_run):
    assert (tiny_run / "model.zip").is_file()
    assert sorted(p.name for p in (tiny_run / "checkpoints").glob("step_*.zip")) == ["step_200.zip", "step_300.zip"]
    assert any((tiny_run / "tb").rglob("events.out.tfevents*"))
    cfg = json.loads((tiny_run / "config.json").read_text())
    assert cfg["format_version"] == 1 and len(cfg["run_id"]) == 32
    assert set(cfg["versions"]) == {"ghp", "sb3", "torch"}
    assert cfg["algo"] == "sac" and cfg["baseline"] is False
    assert cfg["env"]["obs_dim"] == 3 and cfg["space"] == {"widths": [4, 8], "depths": [1, 2]}
    assert cfg["train"]["lr"] == 1e-3 and cfg["train"]["resample_every"] == 50  # resolved defaults recorded
    assert cfg["hypernet"]["decoder"] == "factorised"


def test_load_run_emit_and_policy(tiny_run):
    run = load_run(tiny_run)
    assert run.algo == "sac" and not run.baseline and run.timesteps == 300 and run.spec.act_dim == 1
    archs = [Arch((4,)), Arch((8, 4)), Arch((8, 8))]
    weights = run.emit(archs, batch_size=2)
    obs = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    for a, w in zip(archs, weights, strict=False):
        assert w.arch == a and w.act_dim == 1 and w.layers[-1][0].shape == (1, a.hidden[-1])
        act = w.act(obs)
        assert np.all(np.abs(act) <= 2)
        torch.testing.assert_close(run.policy(a)(torch.from_numpy(obs)).detach(), torch.from_numpy(act))
    with pytest.raises(ValueError, match="outside the run's space"):
        run.emit([Arch((16,))])
    assert load_run(tiny_run, checkpoint="step_200").timesteps == 200


def test_stock_sac_load_gives_the_same_actions(tiny_run):
    from stable_baselines3 import SAC

    model = SAC.load(tiny_run / "model.zip", device="cpu")
    actor = model.policy.actor
    run = load_run(tiny_run)
    obs = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    # rows are split across the meta batch: row i acts with architecture i
    actions, _ = model.predict(obs, deterministic=True)
    for i, arch in enumerate(actor.archs):
        np.testing.assert_allclose(actions[i], run.emit([arch])[0].act(obs[i]), atol=1e-5)
    single, _ = model.predict(obs[0], deterministic=True)  # one observation: architecture 0
    np.testing.assert_allclose(single, run.emit([actor.archs[0]])[0].act(obs[0]), atol=1e-5)


def test_load_run_errors(tmp_path, tiny_run):
    with pytest.raises(FileNotFoundError, match="not a ghp run"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        load_run(tiny_run, checkpoint="step_999")


def test_same_seed_same_weights_and_resume(tmp_path):
    a = train(TrainConfig(out=str(tmp_path / "a"), **TINY))
    b = train(TrainConfig(out=str(tmp_path / "b"), **TINY))
    c = train(TrainConfig(out=str(tmp_path / "c"), **{**TINY, "seed": 1}))
    arch = Arch((8, 4))
    wa, wb, wc = (load_run(p).emit([arch])[0] for p in (a, b, c))
    for x, y in zip(wa.layers, wb.layers, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
    assert not np.array_equal(wa.layers[0][0], wc.layers[0][0])
    with pytest.raises(FileExistsError, match="--resume"):
        train(TrainConfig(out=str(a), **TINY))
    train(TrainConfig(out=str(a), **{**TINY, "steps": 400}), resume=True)
    run = load_run(a)
    assert run.timesteps == 400
    assert json.loads((a / "config.json").read_text())["train"]["steps"] == 400


def test_baseline_run_loads_as_one_architecture(tmp_path):
    out = train(TrainConfig(out=str(tmp_path / "base"), baseline=True, **TINY))
    run = load_run(out)
    assert run.baseline and run.space.archs == (Arch((256, 256)),)
    (w,) = run.emit([Arch((256, 256))])
    obs = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    expected, _ = run.model.predict(obs, deterministic=True)
    np.testing.assert_allclose(w.act(obs), expected, atol=1e-5)
    with pytest.raises(ValueError):
        run.emit([Arch((64, 64))])


def test_td3_trains_saves_resumes_and_emits(tmp_path):
    # --algo td3: SB3's TD3 (twin critics, an actor update every second critic update) with the hypernetwork actor;
    # the run loads as TD3, its emitted MLPs act as the model does, it resumes, and a baseline is SB3's own TD3.
    from stable_baselines3 import TD3

    from ghp.hypernet.policies import GHPTD3Policy

    out = train(TrainConfig(out=str(tmp_path / "td3"), algo="td3", **TINY))
    run = load_run(out)
    assert run.algo == "td3" and isinstance(run.model, TD3) and isinstance(run.model.policy, GHPTD3Policy)
    assert run.model.policy_delay == 2 and len(run.model.critic.q_networks) == 2
    assert run.model.policy.ghp.action_l2 == 1.0  # the action penalty applies as to DDPG
    obs = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    expected, _ = run.model.predict(obs, deterministic=True)  # row i acts with architecture i of the meta batch
    for i, w in enumerate(run.emit(list(run.model.policy.actor.archs))):
        np.testing.assert_allclose(w.act(obs[i : i + 1])[0], expected[i], atol=1e-5)
    assert (
        load_run(train(TrainConfig(out=str(out), algo="td3", **{**TINY, "steps": 400}), resume=True)).timesteps == 400
    )
    base = load_run(train(TrainConfig(out=str(tmp_path / "td3-base"), algo="td3", baseline=True, arch=(8,), **TINY)))
    assert isinstance(base.model, TD3) and base.baseline and len(base.emit([Arch((8,))])[0].layers) == 2


def test_ddpg_her_on_bit_flipping():
    from stable_baselines3 import DDPG, HerReplayBuffer
    from stable_baselines3.common.envs import BitFlippingEnv
    from stable_baselines3.common.vec_env import DummyVecEnv

    from ghp.hypernet.policies import GHPTD3Policy, HyperActor, actor_input

    env = DummyVecEnv([lambda: BitFlippingEnv(n_bits=4, continuous=True, max_steps=4)] * 3)
    model = DDPG(
        GHPTD3Policy,
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs=dict(n_sampled_goal=4, goal_selection_strategy="future"),
        learning_starts=48,
        batch_size=32,
        policy_kwargs=dict(
            space={"widths": [4, 8], "depths": [1, 2]}, meta_batch=3, resample_every=4, net_arch=[32, 32]
        ),
        seed=0,
        device="cpu",
    )
    before = [p.detach().clone() for p in model.actor.parameters()]
    model.learn(120)
    assert isinstance(model.actor_target, HyperActor)
    assert model.actor.archs == model.actor_target.archs  # actor and target always share the meta batch
    assert any(not torch.equal(a, p) for a, p in zip(before, model.actor.parameters(), strict=False))
    # environment i acts with architecture i of the meta batch
    obs = env.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (3, 4)
    x = actor_input({k: torch.as_tensor(v) for k, v in obs.items()})
    with torch.no_grad():
        for i, layers in enumerate(model.actor.hypernet(model.actor.archs)):
            h = x[i]
            for j, (w, b) in enumerate(layers):
                h = w @ h + b
                h = torch.relu(h) if j < len(layers) - 1 else torch.tanh(h)
            np.testing.assert_allclose(actions[i], h.numpy(), atol=1e-6)


def test_fetch_reach_resets_and_steps(tmp_path):
    pytest.importorskip("gymnasium_robotics")
    seen = []
    out = train(
        TrainConfig(
            env_id="FetchReach-v4",
            steps=200,
            n_envs=2,
            widths=(4, 8),
            depths=(1,),
            learning_starts=100,
            out=str(tmp_path / "fetch"),
        ),
        progress=seen.append,
    )
    run = load_run(out)
    assert run.algo == "ddpg" and run.spec.goal_conditioned and run.spec.obs_dim == 13
    assert run.timesteps == 200 and seen[-1].done == 200 and seen[-1].unit == "steps"
    last = seen[-1].figures  # 50-step episodes ended
    assert last["recent_return"] is not None and last["success_rate"] is not None
    # the env really resets and steps: an emitted policy drives it through an episode
    from ghp.envs import make_env

    env = make_env("FetchReach-v4")
    obs, _ = env.reset(seed=0)
    (w,) = run.emit([Arch((8,))])
    start = obs["achieved_goal"].copy()
    for _ in range(10):
        obs, *_ = env.step(w.act(obs_vector(obs)))
    assert obs["observation"].shape == (10,)
    assert not np.allclose(start, obs["achieved_goal"])  # the gripper moved
    env.close()


def test_resampling_every_n_updates_sweeps_the_space():
    from stable_baselines3 import SAC

    from ghp.hypernet.policies import GHPSACPolicy

    model = SAC(
        GHPSACPolicy,
        "Pendulum-v1",
        policy_kwargs=dict(
            space={"widths": [4, 8], "depths": [1, 2]}, meta_batch=2, resample_every=2, sampling="sweep", net_arch=[16]
        ),
        seed=0,
        device="cpu",
    )
    actor = model.policy.actor
    seen = [actor.archs]
    for _ in range(4):
        actor.optimizer.step()  # the step hook counts actor updates
        seen.append(actor.archs)
    assert seen[1] == seen[0] and seen[3] == seen[2]  # unchanged between resamples
    assert sorted(a for archs in (seen[0], seen[2], seen[4]) for a in archs) == sorted(actor.space.archs)


def _sampler(path):
    from stable_baselines3 import SAC

    model = SAC.load(path / "model.zip", device="cpu")
    return model.policy.sampler_state(), model.policy.actor.archs


def test_interrupted_and_resumed_run_samples_the_same_architectures(tmp_path):
    # Sweep sampling: its state is the RNG and the rest of the current shuffled pass, both must survive.
    cfg = {**TINY, "sampling": "sweep", "resample_every": 3, "checkpoint_every": 10**6}
    straight = train(TrainConfig(out=str(tmp_path / "straight"), **{**cfg, "steps": 400}))
    first = train(TrainConfig(out=str(tmp_path / "resumed"), **{**cfg, "steps": 200}))
    mid = _sampler(first)[0]
    assert mid["actor_steps"] > 0 and mid["actor_steps"] < _sampler(straight)[0]["actor_steps"]
    resumed = train(TrainConfig(out=str(first), **{**cfg, "steps": 400}), resume=True)
    assert _sampler(resumed) == _sampler(straight)


def test_resume_grows_the_replay_buffer_to_the_new_total(tmp_path):
    from stable_baselines3 import SAC

    out = train(TrainConfig(out=str(tmp_path / "run"), **{**TINY, "steps": 200}))
    model = SAC.load(out / "model.zip", device="cpu")
    model.load_replay_buffer(out / "checkpoints" / "replay_buffer.pkl")
    first = model.replay_buffer
    assert first.buffer_size == 100 and first.full  # 200 steps: 100 slots of 2 environments
    notes = []
    train(TrainConfig(out=str(out), **{**TINY, "steps": 400}), resume=True, notice=notes.append)
    assert any("replay buffer capacity 200 -> 400 transitions" in n for n in notes), notes
    model.load_replay_buffer(out / "checkpoints" / "replay_buffer.pkl")
    grown = model.replay_buffer
    assert grown.buffer_size == 200 and grown.full
    order = np.r_[first.pos : 100, 0 : first.pos]
    np.testing.assert_array_equal(grown.observations[:100], first.observations[order])  # nothing was overwritten


def test_resume_applies_or_refuses_changed_settings(tmp_path):
    out = train(TrainConfig(out=str(tmp_path / "run"), **{**TINY, "steps": 200}))
    for change in ({"seed": 1}, {"lr": 0.01}, {"widths": (4,)}):
        with pytest.raises(ValueError, match="cannot change") as e:
            train(TrainConfig(out=str(out), **{**TINY, "steps": 300, **change}), resume=True)
        assert "--" + next(iter(change)) in str(e.value)
    notes = []
    train(
        TrainConfig(out=str(out), **{**TINY, "steps": 300, "batch_size": 64, "gamma": 0.9}),
        resume=True,
        notice=notes.append,
    )
    assert any("--batch-size 64 (was 256)" in n and "--gamma 0.9" in n for n in notes), notes
    saved = json.loads((out / "config.json").read_text())["train"]
    assert saved["batch_size"] == 64 and saved["gamma"] == 0.9 and saved["steps"] == 300
    from stable_baselines3 import SAC

    model = SAC.load(out / "model.zip", device="cpu")
    assert model.batch_size == 64 and model.gamma == 0.9


def test_resume_without_a_replay_buffer_says_so(tmp_path):
    out = train(TrainConfig(out=str(tmp_path / "run"), **{**TINY, "steps": 200}))
    (out / "checkpoints" / "replay_buffer.pkl").unlink()
    notes = []
    train(TrainConfig(out=str(out), **{**TINY, "steps": 300}), resume=True, notice=notes.append)
    assert any("empty replay buffer" in n for n in notes), notes


def test_her_resume_without_a_replay_buffer_refills_before_updating(tmp_path):
    # HER cannot sample before an episode has ended: SB3 raised on the first update after such a resume.
    pytest.importorskip("gymnasium_robotics")
    kw = dict(env_id="FetchReach-v4", n_envs=2, widths=(4, 8), depths=(1,), learning_starts=100)
    out = train(TrainConfig(steps=200, out=str(tmp_path / "fetch"), **kw))
    (out / "checkpoints" / "replay_buffer.pkl").unlink()
    notes = []
    train(TrainConfig(steps=300, out=str(out), **kw), resume=True, notice=notes.append)
    assert any("refilled with 100 random-action steps" in n for n in notes), notes
    assert load_run(out).timesteps == 300


def test_progress_never_exceeds_the_steps_asked(tmp_path):
    seen = []
    train(
        TrainConfig(out=str(tmp_path / "run"), **{**TINY, "steps": 10, "n_envs": 8, "learning_starts": 0}),
        progress=seen.append,
    )
    assert seen and all(p.done <= p.total == 10 for p in seen), seen


def test_emitted_weights_do_not_depend_on_what_else_is_emitted(tiny_run):
    run = load_run(tiny_run)
    archs = list(run.space.archs)
    together = run.emit(archs[::-1], batch_size=2)[::-1]
    for a, w in zip(archs, together, strict=True):
        alone = run.emit([a])[0]
        for (w1, b1), (w2, b2) in zip(alone.layers, w.layers, strict=True):
            assert np.array_equal(w1, w2) and np.array_equal(b1, b2), a.key  # bit for bit


def test_a_sample_of_the_papers_space_emits_the_bits_of_the_whole_space(train_tiny):
    # Evaluation asks for a few architectures per emission block and decodes only those: their layers must be the
    # bits of the whole space's emission, small output layers (Pendulum's one action row) included.
    run = load_run(train_tiny("paper-space", widths=(4, 8, 16, 32, 64, 128, 256, 512), depths=(1, 2, 3, 4)))
    archs = list(run.space.archs)
    assert len(archs) == 4680
    everything = dict(zip(archs, run.emit(archs), strict=True))
    sample = [archs[i] for i in np.random.default_rng(0).choice(len(archs), size=300, replace=False)]
    for a, w in [*zip(sample, run.emit(sample), strict=True), *((a, run.emit([a])[0]) for a in sample[:20])]:
        for (w1, b1), (w2, b2) in zip(everything[a].layers, w.layers, strict=True):
            assert np.array_equal(w1, w2) and np.array_equal(b1, b2), a.key  # bit for bit


def test_critic_widths_are_built_recorded_and_kept_on_resume(tmp_path):
    from stable_baselines3 import SAC

    from ghp.rl.config import resolve
    from ghp.rl.defaults import LEGACY_CRITIC

    out = train(TrainConfig(out=str(tmp_path / "run"), critic=(16, 8), **{**TINY, "steps": 200}))
    saved = json.loads((out / "config.json").read_text())["train"]
    assert saved["critic"] == [16, 8]
    model = SAC.load(out / "model.zip", device="cpu")
    widths = [m.out_features for m in model.critic.qf0 if isinstance(m, torch.nn.Linear)]
    assert widths == [16, 8, 1] and len(model.critic.q_networks) == 2
    with pytest.raises(ValueError, match="--critic"):
        train(TrainConfig(out=str(out), critic=(32, 32), **{**TINY, "steps": 300}), resume=True)
    # A config saved before the option has no critic key: it was trained with SB3's [256, 256].
    old = {k: v for k, v in saved.items() if k != "critic"}
    assert TrainConfig.from_dict(old).critic == LEGACY_CRITIC == (256, 256)
    assert resolve(TrainConfig(env_id="Pendulum-v1")).critic == (256, 256)
    assert resolve(TrainConfig(env_id="ghp/CrazyflieHover-v0")).critic == (64, 64)  # docs/crazyflie-results.md
    with pytest.raises(ValueError, match="--critic wants positive"):
        resolve(TrainConfig(env_id="Pendulum-v1", critic=(0,)))


def test_linear_lr_schedule_decays_to_zero_and_continues_on_resume(tmp_path):
    # --lr-schedule linear: every optimizer (critic, hypernetwork, entropy coefficient) follows lr * (1 - t / steps),
    # the hypernetwork's scaled by actor_lr / lr; a resumed run continues where the schedule was, toward its new end.
    from stable_baselines3.common.callbacks import BaseCallback

    class Rates(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[int, float, float]] = []

        def _on_step(self) -> bool:
            p = self.model.policy
            self.seen.append((self.num_timesteps, p.critic.optimizer.param_groups[0]["lr"], p.actor.optimizer.lr_scale))
            return True

    cfg = dict(TINY, lr=1e-3, actor_lr=2e-3, lr_schedule="linear")
    rates = Rates()
    out = train(TrainConfig(out=str(tmp_path / "lin"), **cfg), callback=rates)
    assert json.loads((out / "config.json").read_text())["train"]["lr_schedule"] == "linear"
    updated = [(t, lr, scale) for t, lr, scale in rates.seen if t > TINY["learning_starts"] + 2]
    assert all(scale == 2.0 for _, _, scale in updated)
    for t, lr, _ in updated:  # SB3 sets the rate before each update from the progress of the step before
        assert lr == pytest.approx(1e-3 * (1 - (t - TINY["n_envs"]) / TINY["steps"]), abs=1e-5)
    assert updated[-1][1] < 0.02e-3
    again = Rates()
    train(TrainConfig(out=str(out), **{**cfg, "steps": 600}), resume=True, callback=again)
    t, lr, _ = again.seen[-1]
    assert t == 600 and lr == pytest.approx(1e-3 * (1 - (t - TINY["n_envs"]) / 600), abs=1e-5)
    constant = Rates()
    train(TrainConfig(out=str(tmp_path / "const"), **{**cfg, "lr_schedule": "constant"}), callback=constant)
    assert {lr for t, lr, _ in constant.seen if t > TINY["learning_starts"] + 2} == {1e-3}
