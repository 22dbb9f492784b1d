"""Stable-Baselines3 policies whose actor is the graph hypernetwork (paper, Section III-C).

Plugged in through SB3's own extension points: ``make_actor`` builds a :class:`HyperActor` instead of SB3's MLP
actor, ``_get_constructor_parameters`` makes a stock ``SAC.load`` / ``DDPG.load`` rebuild it (import this module, or
just ``ghp``'s run loader, first), the hypernetwork optimizer's step resamples the architectures, and ``make_critic``
builds SB3's twin-Q critic as :class:`~ghp.hypernet.critic.ActionGradCritic` (the same modules; the actor's loss skips
its unused weight gradients). SB3's training loop is untouched.

Meta batch (Section III-C): the actor holds ``meta_batch`` architectures (``meta_batch = n_envs``). Row ``r`` of every
batch it sees goes to architecture ``r mod meta_batch`` (:func:`row_order`): a rollout batch of ``n_envs`` rows gives
environment ``i`` architecture ``i``; a single observation (``predict`` on one env) uses architecture 0; a training
minibatch of 256 rows is dealt out like cards, so each architecture gets an even share of every part of it. That
matters for HER: SB3's ``HerReplayBuffer.sample`` returns the real transitions first and the relabelled ones after,
and contiguous chunks would give architecture 0 only real goals and the last ones only relabelled goals.

The hypernetwork's weights are emitted once per parameter update and reused: SAC calls the actor on the minibatch's
observations (with gradients) and then on its next observations (without), so the second call costs only the MLPs.
The cache is keyed on an update counter ghp owns (:meth:`HyperActor.invalidate`, called after every optimizer step of
the actor, which is also when TD3/DDPG's soft target update follows), not only on torch's ``_version`` counters: a
fused Adam step and SB3's ``polyak_update`` (it writes through ``.data``) leave those unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy

from ghp.hypernet.config import ACTION_PENALTIES
from ghp.hypernet.critic import ActionGradCritic
from ghp.hypernet.network import Emission, GraphHypernet, HypernetConfig
from ghp.hypernet.optim import HyperAdam, fused_adam
from ghp.hypernet.squashed import SquashedSample, sample_log_prob_closed, split
from ghp.policy.mlp import LayerWeights
from ghp.policy.weights import GOAL_KEYS
from ghp.space.arch import SAMPLINGS, Arch, ArchSpace, SweepSampler, sample_by_depth, sample_uniform


def row_order(rows: int, meta_batch: int) -> torch.Tensor | None:
    """Permutation that groups rows by architecture when row ``r`` belongs to architecture ``r mod meta_batch``.

    ``x[perm]`` is ``meta_batch`` contiguous chunks of :func:`ghp.policy.mlp.split_sizes` sizes (chunk ``i`` holds rows
    ``i, i + meta_batch, ...``), the layout the batched MLP code expects. ``None`` when it is the identity (at most one
    row per architecture).
    """
    if rows <= meta_batch:
        return None
    return torch.cat([torch.arange(i, rows, meta_batch) for i in range(meta_batch)])


def actor_input_dim(observation_space: spaces.Space) -> int:
    """Size of the actor's input: the Box observation, or observation ++ desired_goal for a Dict."""
    if isinstance(observation_space, spaces.Dict):
        return sum(int(observation_space[k].shape[0]) for k in GOAL_KEYS)  # type: ignore[index,misc]
    return int(np.prod(observation_space.shape or (1,)))


def actor_input(obs: PyTorchObs) -> torch.Tensor:
    """The actor's input tensor (``ghp.policy.weights.obs_vector`` on torch batches)."""
    if isinstance(obs, dict):
        return torch.cat([obs[k].float() for k in GOAL_KEYS], dim=-1)
    return obs.float().flatten(1)


class GoalExtractor(BaseFeaturesExtractor):
    """Features of a goal-conditioned Dict observation: observation ++ desired_goal (the paper's actor input)."""

    def __init__(self, observation_space: gym.spaces.Dict) -> None:
        super().__init__(observation_space, actor_input_dim(observation_space))

    def forward(self, observations: PyTorchObs) -> torch.Tensor:
        return actor_input(observations)


class HyperActor(BasePolicy):
    """SB3 actor whose network is the hypernetwork-emitted MLP of each architecture in the meta batch.

    ``stochastic``: SAC's squashed Gaussian (the MLP outputs mean and log-std, log-std clamped to [-6, 0]);
    otherwise TD3/DDPG's deterministic ``tanh(mlp(obs))``.
    """

    arch_index: torch.Tensor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        hypernet: dict[str, Any],
        space: dict[str, Any],
        meta_batch: int,
        stochastic: bool,
        mlp_mode: str = "auto",
        action_l2: float = 0.0,
        normalize_images: bool = False,
        action_penalty: str = "preactivation",
    ) -> None:
        super().__init__(observation_space, action_space, normalize_images=False, squash_output=True)
        if action_penalty not in ACTION_PENALTIES:
            raise ValueError(f"unknown action penalty {action_penalty!r}: choose one of {', '.join(ACTION_PENALTIES)}")
        self.action_l2 = float(action_l2)
        self.action_penalty = action_penalty
        self.hypernet_config = dict(hypernet)
        self.space_config = dict(space)
        self.meta_batch = int(meta_batch)
        self.stochastic = bool(stochastic)
        self.mlp_mode = mlp_mode
        self.space = ArchSpace.from_dict(space)
        self.in_dim = actor_input_dim(observation_space)
        self.act_dim = int(action_space.shape[0])
        out_width = 2 * self.act_dim if stochastic else self.act_dim
        self.hypernet = GraphHypernet(
            HypernetConfig.from_dict(hypernet), self.in_dim, out_width, self.space.max_width, self.space.max_depth
        )
        self.register_buffer("arch_index", torch.zeros(self.meta_batch, dtype=torch.long))
        if stochastic:
            self.action_dist = SquashedDiagGaussianDistribution(self.act_dim)
        self._cache: tuple[Any, Emission] | None = None
        self._updates = 0
        self._orders: dict[int, tuple[torch.Tensor, torch.Tensor] | None] = {}

    def invalidate(self) -> None:
        """Forget the cached emission: the hypernetwork's parameters have changed (optimizer step, target update)."""
        self._updates += 1
        self._cache = None

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            hypernet=self.hypernet_config,
            space=self.space_config,
            meta_batch=self.meta_batch,
            stochastic=self.stochastic,
            mlp_mode=self.mlp_mode,
            action_l2=self.action_l2,
            action_penalty=self.action_penalty,
        )
        return data

    @property
    def archs(self) -> tuple[Arch, ...]:
        """The meta batch's current architectures (architecture ``i`` drives environment ``i``)."""
        return tuple(self.space.archs[i] for i in self.arch_index.tolist())

    def set_archs(self, archs: list[Arch]) -> None:
        """Switch the meta batch to ``archs`` (exactly ``meta_batch`` of them, all inside the space)."""
        if len(archs) != self.meta_batch:
            raise ValueError(f"need {self.meta_batch} architectures, got {len(archs)}")
        idx = torch.tensor([self.space.index(a) for a in archs], dtype=torch.long)
        self.arch_index.copy_(idx.to(self.arch_index.device))
        self._cache = None

    def emission(self) -> Emission:
        """The meta batch's emitted weights; reused while parameters and architectures are unchanged.

        A call with gradients always emits afresh (its graph is consumed by one backward); a call without reuses the
        last emission when no update happened since (:meth:`invalidate`, and torch's version counters for in-place
        writes such as ``load_state_dict``): SAC's next-state actions within one gradient step and rollouts between
        updates cost only the MLPs.
        """
        archs = self.archs
        key = (archs, self._updates, tuple(p._version for p in self.hypernet.parameters()))
        if self._cache is not None and self._cache[0] == key and not torch.is_grad_enabled():
            return self._cache[1]
        em = self.hypernet.emit(archs)
        self._cache = (key, em)
        return em

    def _row_order(self, rows: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor] | None:
        if rows not in self._orders:
            perm = row_order(rows, self.meta_batch)
            self._orders[rows] = None if perm is None else (perm, torch.argsort(perm))
        order = self._orders[rows]
        if order is None or order[0].device == device:
            return order
        order = (order[0].to(device), order[1].to(device))
        self._orders[rows] = order
        return order

    def mlp_out(self, obs: PyTorchObs) -> torch.Tensor:
        """Raw MLP outputs ``[rows, out_width]``; row ``r`` runs architecture ``r mod meta_batch``."""
        x = actor_input(obs)
        emission = self.emission()
        if self.mlp_mode in ("auto", "factorised-loop"):
            out = self.hypernet.run_dealt(emission, x)  # the dealt layout as it is: no permutation
            if out is not None:
                return out
        order = self._row_order(x.shape[0], x.device)
        if order is None:
            return self.hypernet.run(emission, x, self.mlp_mode)
        perm, inverse = order
        return self.hypernet.run(emission, x[perm], self.mlp_mode)[inverse]

    def get_action_dist_params(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Mean and clamped log-std of the squashed Gaussian (SAC)."""
        mean, log_std = split(self.mlp_out(obs), self.act_dim)
        return mean, log_std, {}

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> torch.Tensor:
        if not self.stochastic:
            out = self.mlp_out(obs)
            act = torch.tanh(out)
            if self.action_l2 > 0 and out.requires_grad:
                # An action penalty action_l2 * mean(x^2), added to the gradient of whatever loss SB3 backpropagates
                # (its loss and loop stay untouched). "preactivation": x is the pre-tanh output, which keeps a
                # deterministic actor out of tanh saturation, where DDPG's gradient vanishes; "action": x is the
                # squashed action over its bound, as in the HER baselines (a weaker pull, zero gradient once
                # saturated). Measured against each other on FetchReach-v4 in docs/train.md.
                x = out if self.action_penalty == "preactivation" else act
                ref = x.detach()
                scale = 2.0 * self.action_l2 / ref.numel()
                x.register_hook(lambda g: g + scale * ref)
            return act
        mean, log_std, kwargs = self.get_action_dist_params(obs)
        return self.action_dist.actions_from_params(mean, log_std, deterministic=deterministic, **kwargs)

    def action_log_prob(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor]:
        """SAC's reparametrised action and its log-probability: SB3's
        ``SquashedDiagGaussianDistribution.log_prob_from_params`` without building a ``torch.distributions.Normal``.

        The same random draw as SB3. With gradients (the actor's loss) the same ops in the same order, so actions and
        log-probabilities are SB3's bits, as one autograd node with the analytic backward
        (:class:`ghp.hypernet.squashed.SquashedSample`: SB3's gradients up to round-off, in a fraction of the time);
        without (SAC's target actions) the log-probability's closed form, SB3's values up to round-off.
        """
        out = self.mlp_out(obs)
        noise = torch.empty(out.shape[0], self.act_dim, dtype=out.dtype, device=out.device).normal_()  # rsample's draw
        if torch.is_grad_enabled() and out.requires_grad:
            return SquashedSample.apply(out, self.act_dim, noise, self.action_dist.epsilon)
        return sample_log_prob_closed(out, self.act_dim, noise, self.action_dist.epsilon)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> torch.Tensor:
        return self(observation, deterministic)

    def deterministic_weights(self, archs: list[Arch]) -> list[LayerWeights]:
        """Action-mean weights of ``archs`` (no grad): the log-std rows of a SAC output layer are dropped."""
        with torch.no_grad():
            out = self.hypernet(archs)
        a = self.act_dim
        return [[*layers[:-1], (layers[-1][0][:a], layers[-1][1][:a])] for layers in out]

    def deterministic_numpy(self, archs: list[Arch], keep: list[int] | None = None) -> list[list[tuple[Any, Any]]]:
        """:meth:`deterministic_weights` as float32 numpy arrays (``GraphHypernet.numpy_layers``: for deployment),
        of the architectures at positions ``keep`` (None: all)."""
        return self.hypernet.numpy_layers(archs, out_rows=self.act_dim, keep=keep)


@dataclass(frozen=True)
class GHPPolicyConfig:
    """Everything the ghp policies add to SB3's SAC / TD3 policies: one value in ``policy_kwargs["ghp"]``.

    SB3 saves a policy's constructor parameters with the model, so a stock ``SAC.load`` rebuilds the policy from
    :meth:`to_dict`; the keywords of earlier runs (one per field, at the top level of ``policy_kwargs``) still load.
    """

    hypernet: HypernetConfig = field(default_factory=HypernetConfig)
    """The graph hypernetwork (width, decoder, rank, frozen parts)."""
    space: ArchSpace = field(default_factory=ArchSpace)
    """The architecture space the meta batch is drawn from."""
    meta_batch: int = 8
    """Architectures trained at once (= vectorised environments: environment ``i`` acts with architecture ``i``)."""
    resample_every: int = 50
    """New architectures every this many actor updates (authors: 50 SAC, 4 DDPG + HER)."""
    sampling: str = "uniform"
    """``uniform``, ``sweep`` or ``depth`` (:data:`ghp.space.arch.SAMPLINGS`)."""
    arch_seed: int = 0
    """Seed of the architecture sampler."""
    actor_lr_scale: float = 1.0
    """Hypernetwork learning rate as a multiple of the learning rate SB3 schedules (the critic's)."""
    actor_weight_decay: float = 0.0
    """Hypernetwork Adam weight decay."""
    mlp_mode: str = "auto"
    """How the meta batch's MLPs run (:meth:`ghp.hypernet.network.GraphHypernet.run`)."""
    action_l2: float = 0.0
    """DDPG: weight of the action penalty (0 disables; SAC ignores it)."""
    action_penalty: str = "preactivation"
    """DDPG: what the penalty squares, the pre-tanh output or the squashed action (:data:`ACTION_PENALTIES`)."""

    def __post_init__(self) -> None:
        if isinstance(self.hypernet, dict):
            object.__setattr__(self, "hypernet", HypernetConfig.from_dict(self.hypernet))
        if isinstance(self.space, dict):
            object.__setattr__(self, "space", ArchSpace.from_dict(self.space))
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {self.sampling!r}: choose one of {', '.join(SAMPLINGS)}")
        if self.meta_batch < 1 or self.resample_every < 1:
            raise ValueError("meta_batch and resample_every must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what SB3 stores with the model)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        return d | {"hypernet": self.hypernet.to_dict(), "space": self.space.to_dict()}

    @classmethod
    def from_kwargs(
        cls, ghp: GHPPolicyConfig | dict[str, Any] | None, kwargs: dict[str, Any], **defaults: Any
    ) -> GHPPolicyConfig:
        """The config of a policy constructor call: ``ghp`` (a config or its dict), or the per-field keywords of
        runs saved before the config existed (taken out of ``kwargs``); ``defaults`` are the algorithm's own."""
        if isinstance(ghp, GHPPolicyConfig):
            return ghp
        legacy = {f.name: kwargs.pop(f.name) for f in fields(cls) if f.name in kwargs}
        return cls(**{**defaults, **(ghp or {}), **{k: v for k, v in legacy.items() if v is not None}})


class _GHPMixin:
    """What the SAC and TD3 policies share: building the hyper actor, its optimizer, resampling."""

    observation_space: Any
    action_space: Any
    device: Any
    actor: Any
    critic: Any
    optimizer_class: Any
    optimizer_kwargs: dict[str, Any]
    ghp: GHPPolicyConfig

    stochastic: bool
    """SAC's squashed Gaussian actor (True) or TD3/DDPG's deterministic one."""
    ghp_defaults: dict[str, Any] = {}
    """The algorithm's own defaults for :class:`GHPPolicyConfig` fields."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        ghp: GHPPolicyConfig | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._ghp_setup(GHPPolicyConfig.from_kwargs(ghp, kwargs, **self.ghp_defaults))
        if isinstance(observation_space, spaces.Dict):
            kwargs.setdefault("features_extractor_class", GoalExtractor)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)  # type: ignore[call-arg]

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> HyperActor:
        """SB3's hook: the hyper actor instead of SB3's MLP actor (built twice, actor and target, by TD3)."""
        return self._make_hyper_actor(stochastic=self.stochastic)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ActionGradCritic:
        """SB3's hook: its twin-Q critic, less the actor loss's unused critic weight gradients (ghp.hypernet.critic)."""
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)  # type: ignore[attr-defined]
        return ActionGradCritic(**critic_kwargs).to(self.device)

    def _ghp_setup(self, config: GHPPolicyConfig) -> None:
        # Runs before nn.Module.__init__ (SB3 builds the actor inside its constructor): plain attributes only.
        self.ghp = config
        self._arch_space = config.space
        self._arch_rng = np.random.default_rng(config.arch_seed)
        self._sweep = SweepSampler(self._arch_space, self._arch_rng)
        self._actor_steps = 0

    def _make_hyper_actor(self, stochastic: bool) -> HyperActor:
        k = self.ghp
        return HyperActor(
            self.observation_space,
            self.action_space,
            hypernet=k.hypernet.to_dict(),
            space=k.space.to_dict(),
            meta_batch=k.meta_batch,
            stochastic=stochastic,
            mlp_mode=k.mlp_mode,
            action_l2=0.0 if stochastic else k.action_l2,
            action_penalty=k.action_penalty,
        ).to(self.device)

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        self._fuse_critic_optimizer(lr_schedule(1))
        self._hyper_optimizer(lr_schedule(1))

    def _fuse_critic_optimizer(self, lr: float) -> None:
        """SB3's critic optimizer rebuilt with the fused kernel where :func:`fused_adam` can (it says when not)."""
        params = [p for g in self.critic.optimizer.param_groups for p in g["params"]]
        fused = fused_adam(self.optimizer_class, params, lr, self.optimizer_kwargs)
        if fused is not None:
            self.critic.optimizer = fused

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        return data | {"ghp": self.ghp.to_dict()}

    def _hyper_optimizer(self, lr: float) -> None:
        kwargs = {kk: v for kk, v in self.optimizer_kwargs.items() if kk != "weight_decay"}
        opt = HyperAdam(
            [p for p in self.actor.parameters() if p.requires_grad],  # frozen parts (--freeze) are left out
            lr=lr,
            lr_scale=self.ghp.actor_lr_scale,
            weight_decay=self.ghp.actor_weight_decay,
            **kwargs,
        )
        opt.on_step = self._after_actor_step
        self.actor.optimizer = opt
        self.resample()

    def _after_actor_step(self) -> None:
        # The actor's parameters changed; TD3/DDPG's soft target update follows every actor step in SB3's train()
        # before the target actor runs again, so the target's emission is stale from here on too.
        self.actor.invalidate()
        target = getattr(self, "actor_target", None)
        if isinstance(target, HyperActor):
            target.invalidate()
        self._actor_steps += 1
        if self._actor_steps % self.ghp.resample_every == 0:
            self.resample()

    def sample_archs(self) -> list[Arch]:
        """Next meta batch of architectures (uniform, a shuffled sweep over the space, or depth-balanced)."""
        n = self.ghp.meta_batch
        if self.ghp.sampling == "sweep":
            return self._sweep.take(n)
        if self.ghp.sampling == "depth":
            return sample_by_depth(self._arch_space, n, self._arch_rng)
        return sample_uniform(self._arch_space, n, self._arch_rng)

    def sampler_state(self) -> dict[str, Any]:
        """The architecture sampler's state: RNG state, what is left of the current sweep, actor steps so far."""
        return {
            "rng": self._arch_rng.bit_generator.state,
            "sweep": [self._arch_space.index(a) for a in self._sweep._order],
            "actor_steps": self._actor_steps,
        }

    def load_sampler_state(self, state: dict[str, Any]) -> None:
        """Continue sampling from ``state`` (:meth:`sampler_state`)."""
        self._arch_rng.bit_generator.state = state["rng"]
        self._sweep._order = [self._arch_space.archs[i] for i in state["sweep"]]
        self._actor_steps = int(state["actor_steps"])

    # The sampler state travels in the policy's state_dict (torch's "extra state", a JSON string, which SB3's
    # weights-only loader accepts), so every checkpoint SB3 saves carries it and a resumed run samples the same
    # architecture sequence as an uninterrupted one.
    def get_extra_state(self) -> Any:
        return json.dumps(self.sampler_state())

    def set_extra_state(self, state: Any) -> None:
        self.load_sampler_state(json.loads(state))

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # A policy saved before the sampler state was: keep the freshly seeded sampler instead of failing.
        state_dict.setdefault(prefix + "_extra_state", self.get_extra_state())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)  # type: ignore[misc]

    def resample(self) -> None:
        """Draw a new meta batch for the actor (and the target actor, TD3/DDPG)."""
        self.set_archs(self.sample_archs())

    def set_archs(self, archs: list[Arch]) -> None:
        """Use ``archs`` in the actor and, where there is one, the target actor."""
        self.actor.set_archs(archs)
        target = getattr(self, "actor_target", None)
        if isinstance(target, HyperActor):
            target.set_archs(archs)


class GHPSACPolicy(_GHPMixin, SACPolicy):  # type: ignore[misc]
    """SAC policy whose actor is the graph hypernetwork (squashed Gaussian); SB3's twin-Q critic."""

    stochastic = True


class GHPTD3Policy(_GHPMixin, TD3Policy):  # type: ignore[misc]
    """TD3/DDPG policy whose actor (and target actor) is the graph hypernetwork, ``tanh`` output."""

    stochastic = False
    ghp_defaults = {"resample_every": 4, "action_l2": 1.0}
    """DDPG + HER's own defaults (authors: resample every 4 updates; the HER baselines' action penalty)."""
