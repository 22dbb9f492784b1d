"""Chromatic networks (``ghp chromatic``): ES on a handful of shared weights, with the weight-sharing partition
itself searched (chromatic-networks paper, Sections 3-4 and Appendix B).

- ``learned``: a controller proposes a colouring per ES direction; ES trains the shared values; the controller is
  rewarded with the return its colouring reached (ENAS's REINFORCE, entropy bonus, moving-average baseline). The
  paper's controller is an LSTM pointer network; here it is a factorised categorical (one softmax over the ``M``
  colours per edge), the simplest distribution over the same search space (:mod:`ghp.es.colouring`).
- ``random``: one random colouring fixed for the whole run (the paper's Section 4.3 ablation).
- ``toeplitz``: weights shared along the diagonals of each matrix (``a + b - 1`` values per ``a x b`` matrix).
- ``none``: every edge has its own weight (the unstructured baseline).

ES (paper Appendix B.3, ARS-style) is the engine's iteration (:func:`ghp.es.engine.antithetic`): antithetic Gaussian
directions, smoothing ``sigma = 0.1``, step ``0.01``, the top directions, reward normalisation by the standard
deviation of the used returns, and ARS observation normalisation (running mean / std of every state visited, fixed
within an iteration). What is chromatic: each direction's pair is rolled out under its own colouring's parameter
map, directions and colourings come from one generator seeded once (its state is saved), the best single rollout
is tracked (the paper's best worker), and the current policy (the most likely colouring) is evaluated every
``eval_every`` iterations. The run directory is :mod:`ghp.es.chromatic_run`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs import env_spec
from ghp.es.chromatic_run import (
    STATE_FILE,
    ChromaticState,
    Layout,
    append_history,
    prepare_run,
    trim_history,
    write_policy,
)
from ghp.es.colouring import (
    PARTITIONS,
    Controller,
    Counts,
    Topology,
    count,
    identity_colouring,
    n_values,
    random_colouring,
    toeplitz_colouring,
)
from ghp.es.engine import Perturbation, Rollouts, antithetic, drive, seed_of
from ghp.es.params import ObsStats
from ghp.es.rollout import RolloutPool
from ghp.io.progress import ProgressFn
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import parse_ints


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"41"``, ``"41,41"`` or ``"linear"`` (no hidden layer) as hidden widths.

    Raises:
        ValueError: anything else.
    """
    t = str(text).strip().lower()
    if t in ("", "linear", "none"):
        return ()
    try:
        return parse_ints(t)
    except ValueError:
        raise ValueError(f"expected hidden widths like 41 or 41,41 (or 'linear'), got {text!r}") from None


@dataclass(frozen=True)
class ChromaticConfig:
    """How to train a chromatic network (``ghp chromatic``'s options are generated from these fields)."""

    env_id: str = field(metadata={"flag": "--env"})
    """Gymnasium id of a task with a flat Box observation and Box actions, e.g. ``HalfCheetah-v5``."""
    hidden: tuple[int, ...] = field(default=(41,), metadata={"parse": parse_hidden, "show_default": "41"})
    """Hidden widths (tanh units): ``41``, ``41,41``, or ``linear`` for none (the paper's L, H41, H41,H41)."""
    colors: int = 17
    """M, the number of colours (shared weights) of ``learned`` and ``random`` partitions."""
    partition: str = field(default="learned", metadata={"choices": PARTITIONS})
    """learned (a controller proposes colourings), random (one fixed random colouring), toeplitz (weights shared
    along diagonals), none (every weight trained)."""
    iterations: int = 100
    """ES iterations; each rolls out 2 x directions episodes (plus one evaluation every eval-every)."""
    directions: int = 8
    """Antithetic direction pairs per iteration."""
    top: int = 0
    """Directions used in the update, the best by max(r+, r-) (ARS V2-t); 0 = all."""
    sigma: float = 0.1
    """ES smoothing (perturbation scale), paper Appendix B.3."""
    lr: float = 0.01
    """ES step size, paper Appendix B.3."""
    init_std: float = 0.1
    """Standard deviation of the initial shared values (biases start at 0)."""
    controller_lr: float = 0.02
    """Adam step of the controller's logits (learned)."""
    entropy: float = 0.01
    """Entropy bonus weight of the controller (learned), per edge."""
    baseline_decay: float = 0.9
    """Moving-average weight of the controller's reward baseline (the paper's 0.99 suits far longer runs)."""
    eval_every: int = 5
    """Roll out the current policy (the controller's most likely colouring) every this many iterations."""
    workers: int = 1
    """Rollout worker processes (1 = in this process with the local backend; with Ray, CPUs of the cluster),
    through the ES engine's pool."""
    backend: str = field(default="local", metadata={"choices": ("local", "ray")})
    """Where rollouts run: ``local`` (this machine) or ``ray`` (Ray tasks; ``pip install
    "graph-hyper-policies[ray]"``)."""
    ray_address: str | None = None
    """Ray cluster for the ray backend (``auto``, ``HOST:PORT``); None starts a local Ray instance."""
    max_episode_steps: int | None = None
    """Override of the environment's episode limit (None = its own, 1000 for MuJoCo locomotion)."""
    seed: int = 0
    """Seed of directions, colourings and environment resets."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {list(self.hidden)}")
        if self.partition not in PARTITIONS:
            raise ValueError(f"unknown partition {self.partition!r}: choose one of {', '.join(PARTITIONS)}")
        if self.colors < 2:
            raise ValueError(f"colors must be at least 2, got {self.colors}")
        for name in ("iterations", "directions", "eval_every", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {getattr(self, name)}")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"unknown backend {self.backend!r}: give local or ray")
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError("--ray-address needs --backend ray")
        if not 0 <= self.top <= self.directions:
            raise ValueError(f"top must be between 0 (all) and directions ({self.directions}), got {self.top}")
        for name in ("sigma", "lr", "controller_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.init_std < 0 or self.entropy < 0:
            raise ValueError("init-std and entropy must be non-negative")
        if not 0 <= self.baseline_decay < 1:
            raise ValueError(f"baseline-decay must be in [0, 1), got {self.baseline_decay}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(f"max-episode-steps must be positive, got {self.max_episode_steps}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")

    @property
    def n_top(self) -> int:
        """Directions used per update."""
        return self.top or self.directions


@dataclass
class Progress:
    """What one iteration did (appended to ``history.jsonl``; its fields are the progress event's figures)."""

    iteration: int
    """Iterations done so far."""
    env_steps: int
    """Environment steps so far (rollouts and evaluations)."""
    mean_return: float
    """Mean return of this iteration's 2 x directions rollouts (the paper's worker mean)."""
    max_return: float
    """Best rollout return of this iteration."""
    best_return: float
    """Best rollout return so far (the paper's best worker)."""
    eval_return: float | None
    """Return of the current policy (mode colouring, centre values), when evaluated this iteration."""
    entropy: float | None
    """Mean per-edge entropy of the controller (learned)."""
    seconds: float
    """Wall time so far, across resumes."""


@dataclass
class ChromaticResult:
    """What :func:`train_chromatic` produced."""

    path: Path
    policy: PolicyWeights
    counts: Counts
    summary: dict[str, Any] = field(default_factory=dict)


def fresh_state(config: ChromaticConfig, layout: Layout) -> ChromaticState:
    """The state before the first iteration: initial values from the run's generator, then (random partitions) the
    colouring, from the same generator."""
    top = layout.top
    rng = np.random.default_rng(config.seed)
    theta = np.concatenate([rng.normal(0.0, config.init_std, layout.nv), np.zeros(top.n_biases)])
    controller, fixed = None, None
    if config.partition == "learned":
        controller = Controller(top.n_edges, config.colors, config.controller_lr, config.entropy, config.baseline_decay)
    elif config.partition == "random":
        fixed = random_colouring(top, config.colors, rng)
    elif config.partition == "toeplitz":
        fixed = toeplitz_colouring(top)[0]
    else:
        fixed = identity_colouring(top)
    return ChromaticState(theta, ObsStats.empty(layout.spec.obs_dim), rng, fixed, controller)


@dataclass
class ChromaticSearch:
    """A chromatic run as a :class:`ghp.es.engine.Search`: one engine iteration per step, with the colourings drawn
    per direction, the controller's update, the best worker and the periodic evaluation; checkpoints into ``out``."""

    config: ChromaticConfig
    layout: Layout
    state: ChromaticState
    rollouts: Rollouts
    out: Path
    last: Progress | None = None

    @property
    def iteration(self) -> int:
        return self.state.iteration

    def figures(self) -> dict[str, Any]:
        """The progress figures: the last iteration's :class:`Progress` record as a dict (``iteration``,
        ``env_steps``, ``mean_return``, ``max_return``, ``best_return``, ``eval_return``, ``entropy``, ``seconds``)."""
        return {} if self.last is None else asdict(self.last)

    def step(self) -> None:
        cfg, s, n = self.config, self.state, self.config.directions
        t0 = time.perf_counter()
        deltas = s.rng.standard_normal((n, len(s.theta)))
        if s.controller is not None:
            cols = s.controller.sample(n, s.rng)
            maps = tuple(self.layout.chromatic_map(c) for c in cols)
        else:
            assert s.fixed is not None
            cols = np.broadcast_to(s.fixed, (n, self.layout.top.n_edges))
            maps = (self.layout.chromatic_map(s.fixed),) * n
        # Both members of an antithetic pair share the colouring and the starting state (common random numbers).
        pert = Perturbation(deltas, maps, tuple((seed_of(cfg.seed, s.iteration, k),) for k in range(n)))
        theta0 = s.theta
        out = antithetic(theta0, pert, cfg.sigma, cfg.n_top, cfg.lr, self.rollouts, s.stats)
        s.env_steps += out.env_steps
        s.theta = out.theta
        if s.controller is not None:
            # The controller's reward for a colouring: the best return it reached (the paper's R^max).
            s.controller.update(cols, np.maximum(out.r_plus, out.r_minus))
        k = int(np.argmax(out.returns))
        if out.returns[k] > s.best_return:
            s.best_return, s.best_colouring = float(out.returns[k]), cols[k % n].copy()
            s.best_theta = theta0 + cfg.sigma * deltas[k] if k < n else theta0 - cfg.sigma * deltas[k - n]
        s.best_mean = max(s.best_mean, float(out.returns.mean()))
        assert out.stats is not None
        s.stats = out.stats
        s.iteration += 1
        eval_return = self._evaluate() if s.iteration % cfg.eval_every == 0 or s.iteration == cfg.iterations else None
        s.seconds += time.perf_counter() - t0
        entropy = s.controller.entropy() if s.controller is not None else None
        mean, top = float(out.returns.mean()), float(out.returns.max())
        self.last = Progress(s.iteration, s.env_steps, mean, top, s.best_return, eval_return, entropy, s.seconds)

    def _evaluate(self) -> float:
        """One episode of the current policy (the most likely colouring, the centre values)."""
        s = self.state
        centre = self.layout.chromatic_map(s.mode_colouring())
        ev = self.rollouts.rows(centre, s.theta[None], [seed_of(self.config.seed + 1, s.iteration, 0)], s.stats)
        s.env_steps += int(ev.lengths.sum())
        s.last_eval = float(ev.returns[0])
        return s.last_eval

    def checkpoint(self) -> None:
        if self.last is not None:
            append_history(self.out, asdict(self.last))
        self.save()

    def save(self) -> None:
        """The state and the current policy's files."""
        self.state.save(self.out / STATE_FILE)
        write_policy(self.out, self.layout, self.state)


def _layout(config: ChromaticConfig) -> Layout:
    """The environment, topology and partition of ``config``.

    Raises:
        ValueError: a goal-conditioned task, or more colours than edges.
    """
    spec = env_spec(config.env_id)
    if spec.goal_conditioned:
        raise ValueError(f"{config.env_id} is goal-conditioned; chromatic networks need a flat Box observation")
    top = Topology((spec.obs_dim, *config.hidden, spec.act_dim))
    nv = n_values(top, config.partition, config.colors)
    if config.partition in ("learned", "random") and config.colors > top.n_edges:
        raise ValueError(f"{config.colors} colours for {top.n_edges} edges: give at most one colour per edge")
    return Layout(spec, top, config.partition, config.colors, nv)


def train_chromatic(
    config: ChromaticConfig,
    out: str | Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> ChromaticResult:
    """Train a chromatic network into the run directory ``out`` (see the module docstring).

    ``progress`` gets a ``ProgressEvent`` in iterations after every saved iteration, its figures the iteration's
    :class:`Progress` record (:meth:`ChromaticSearch.figures`).

    State is saved after every iteration (atomically), so an interruption (``KeyboardInterrupt``) loses at most the
    iteration in flight; ``resume=True`` continues from it, up to ``config.iterations`` (which may be raised).

    Raises:
        FileExistsError: ``out`` holds a run and ``resume`` is False.
        ValueError: bad configuration, an environment ghp cannot drive, or a resume with different settings.
    """
    from ghp.run.load import POLICY_FILE, STORED_SUMMARY_FILE

    out = Path(out)
    layout = _layout(config)
    cfg_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}
    prepare_run(out, cfg_dict, layout.spec, config.hidden, resume)
    state = fresh_state(config, layout)
    if resume and (out / STATE_FILE).exists():
        state.load(out / STATE_FILE)
    trim_history(out, state.iteration)
    workers = config.workers if config.workers > 1 or config.backend != "local" else 0
    pool = RolloutPool(workers, config.backend, config.ray_address)
    env_kwargs = {} if config.max_episode_steps is None else {"max_episode_steps": config.max_episode_steps}
    search = ChromaticSearch(config, layout, state, Rollouts(config.env_id, pool, env_kwargs), out)

    try:
        drive(search, config.iterations, progress)
    finally:
        pool.close()
    search.save()  # also rewrites the policy file of a finished run resumed with nothing left to do (format upgrades)
    policy = PolicyWeights.from_npz(out / POLICY_FILE)
    summary = json.loads((out / STORED_SUMMARY_FILE).read_text())
    counts = count(layout.top, config.partition, state.mode_colouring(), config.colors)
    return ChromaticResult(out, policy, counts, summary)
