"""Building what SB3 trains: the vectorised environments and the model (SAC, DDPG + HER, TD3, ARS) of a TrainConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghp.envs import EnvSpec, make_env
from ghp.policy.normalize import freeze_scale, load_vec_normalize
from ghp.rl.config import TrainConfig, ent_coef_value
from ghp.run.load import BASELINE_ARCH

_ARS_CLIP_OBS = 1e8
"""VecNormalize's observation clip for ARS, high enough never to act, so that folding the normalisation into the
first layer is exact."""


def make_vec_env(c: TrainConfig, stats: Path | None = None) -> Any:
    """The training environments; with ``normalize``, inside a ``VecNormalize`` (restored from ``stats`` if given)."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    env_id, kwargs = c.env_id, dict(c.env_kwargs)

    def factory() -> Any:
        return Monitor(make_env(env_id, **kwargs))

    assert c.n_envs is not None  # resolved
    fns = [factory for _ in range(c.n_envs)]
    venv = SubprocVecEnv(fns) if c.vec_env == "subproc" and c.n_envs > 1 else DummyVecEnv(fns)
    if c.algo == "ars":
        # ARS's observation normalisation (Mania et al., V2), no reward normalisation.
        return VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=_ARS_CLIP_OBS)
    if not c.normalize:
        return venv
    if stats is not None:
        env = load_vec_normalize(stats, venv)  # not VecNormalize.load: that unpickles anything
        env.training, env.norm_reward = c.obs_scale is None, c.normalize_reward  # a fixed scale stays fixed
        return env
    # Monitor sits inside, so the progress bar and TensorBoard report raw returns.
    assert c.normalize_clip is not None and c.gamma is not None  # resolved
    env = VecNormalize(venv, norm_obs=True, norm_reward=c.normalize_reward, clip_obs=c.normalize_clip, gamma=c.gamma)
    if c.obs_scale is not None:
        freeze_scale(env, c.obs_scale)
    return env


def build_model(c: TrainConfig, spec: EnvSpec, env: Any, tb: Path) -> Any:
    """The SB3 model of ``c`` on ``env`` (TensorBoard logs in ``tb``), with its learning-rate schedule."""
    return with_lr_schedule(_construct(c, spec, env, tb), c)


def _construct(c: TrainConfig, spec: EnvSpec, env: Any, tb: Path) -> Any:
    import numpy as np
    from stable_baselines3 import DDPG, SAC, TD3
    from stable_baselines3.common.noise import NormalActionNoise

    from ghp.hypernet.policies import GHPSACPolicy, GHPTD3Policy

    assert c.lr is not None and c.actor_lr is not None and c.steps is not None
    if c.algo == "ars":
        from sb3_contrib import ARS

        # MlpPolicy with no hidden layer is linear + tanh, scaled to the action bounds: exactly ghp's deployed
        # form (ARSLinearPolicy clips instead and does not save its bias / squash flags).
        return ARS(
            "MlpPolicy",
            env,
            n_delta=c.ars_n_delta,
            n_top=c.ars_n_top,
            delta_std=c.ars_delta_std,
            alive_bonus_offset=c.ars_alive_bonus,
            learning_rate=c.lr,
            policy_kwargs={"net_arch": list(c.arch or ())},
            tensorboard_log=str(tb),
            seed=c.seed,
            device="cpu",
            verbose=0,
        )
    common: dict[str, Any] = dict(
        env=env,
        learning_rate=c.lr,
        buffer_size=buffer_capacity(c),
        learning_starts=c.learning_starts,
        batch_size=c.batch_size,
        tau=c.tau,
        gamma=c.gamma,
        train_freq=1,
        gradient_steps=c.gradient_steps,
        tensorboard_log=str(tb),
        seed=c.seed,
        device=c.device,
        verbose=0,
        policy_kwargs=policy_kwargs(c, spec),
        **her_kwargs(c, spec),
    )
    policy: Any = "MultiInputPolicy" if spec.goal_conditioned else "MlpPolicy"
    if c.algo == "sac":
        return SAC(policy if c.baseline else GHPSACPolicy, ent_coef=ent_coef_value(c.ent_coef), **common)
    noise = (
        NormalActionNoise(np.zeros(spec.act_dim), c.action_noise * np.ones(spec.act_dim)) if c.action_noise else None
    )
    # TD3 is DDPG with twin critics, delayed actor updates and target policy smoothing (SB3's defaults: 2, 0.2).
    algo = TD3 if c.algo == "td3" else DDPG
    return algo(policy if c.baseline else GHPTD3Policy, action_noise=noise, **common)


def with_lr_schedule(model: Any, c: TrainConfig) -> Any:
    """``model`` with ``c.lr_schedule`` as its learning-rate schedule (SB3 applies it to every optimizer before each
    update; the hypernetwork's scales it by ``actor_lr / lr``). Set after construction and again after a resume's load:
    the saved ``learning_rate`` stays the number ``lr``, which is what ghp's loader reads."""
    from stable_baselines3.common.utils import FloatSchedule, LinearSchedule

    assert c.lr is not None
    model.lr_schedule = LinearSchedule(c.lr, 0.0, 1.0) if c.lr_schedule == "linear" else FloatSchedule(c.lr)
    return model


def policy_kwargs(c: TrainConfig, spec: EnvSpec) -> dict[str, Any]:
    """SB3's ``policy_kwargs``: the critic (and a baseline's actor) sizes, the goal extractor, ghp's policy config."""
    from ghp.hypernet.policies import GoalExtractor

    pi = list(c.arch) if c.arch is not None else list(BASELINE_ARCH.hidden)
    assert c.critic is not None  # resolved
    kwargs: dict[str, Any] = {"net_arch": {"pi": pi, "qf": list(c.critic)}}
    if spec.goal_conditioned:
        kwargs["features_extractor_class"] = GoalExtractor  # the actor sees observation ++ desired goal
    if not c.baseline:
        kwargs["ghp"] = policy_config(c).to_dict()
    return kwargs


def her_kwargs(c: TrainConfig, spec: EnvSpec) -> dict[str, Any]:
    """The HER replay buffer for goal-conditioned tasks (``future`` goals, as the paper's DDPG + HER); else none."""
    if not spec.goal_conditioned:
        return {}
    from stable_baselines3 import HerReplayBuffer

    return {
        "replay_buffer_class": HerReplayBuffer,
        "replay_buffer_kwargs": {"n_sampled_goal": c.her_goals, "goal_selection_strategy": "future"},
    }


def policy_config(c: TrainConfig) -> Any:
    """The ghp policy's settings (``policy_kwargs["ghp"]``) from a resolved training config."""
    from ghp.hypernet.policies import GHPPolicyConfig

    assert c.lr is not None and c.actor_lr is not None and c.resample_every is not None and c.n_envs is not None
    return GHPPolicyConfig(
        hypernet=c.hypernet,
        space=c.space,
        meta_batch=c.n_envs,
        resample_every=c.resample_every,
        sampling=c.sampling,
        arch_seed=c.seed,
        actor_lr_scale=c.actor_lr / c.lr,
        actor_weight_decay=c.weight_decay,
        mlp_mode=c.mlp_mode,
        action_l2=c.action_l2 if c.algo in ("ddpg", "td3") else 0.0,
        action_penalty=c.action_penalty,
    )


def buffer_capacity(c: TrainConfig) -> int:
    """Replay buffer capacity: ``buffer_size``, capped at the run's total steps (a larger one is never filled)."""
    assert c.steps is not None
    return max(1, min(c.buffer_size, c.steps))
