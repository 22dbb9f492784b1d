"""Chromatic networks: ES on a handful of shared weights, with the weight-sharing partition itself searched.

Method (chromatic-networks paper, Sections 3-4 and Appendix B):

- A fixed topology ``obs -> hidden... -> act`` (linear, or tanh hidden layers of 41). Its edges (every entry of every
  weight matrix) are coloured with at most ``M`` colours; edges of one colour share one weight, so the policy is the
  vector of ``M`` shared values plus the biases (the compactification does not act on biases).
- ``learned``: a controller proposes a colouring per ES direction; ES trains the shared values; the controller is
  rewarded with the return its colouring reached (ENAS's REINFORCE, entropy bonus, moving-average baseline). The
  paper's controller is an LSTM pointer network; here it is a factorised categorical (one softmax over the ``M``
  colours per edge), the simplest distribution over the same search space.
- ``random``: one random colouring fixed for the whole run (the paper's Section 4.3 ablation).
- ``toeplitz``: weights shared along the diagonals of each matrix (``a + b - 1`` values per ``a x b`` matrix).
- ``none``: every edge has its own weight (the unstructured baseline).

ES (paper Appendix B.3, ARS-style): antithetic Gaussian directions, smoothing ``sigma = 0.1``, step ``0.01``, the
top directions, reward normalisation by the standard deviation of the used returns, and ARS observation
normalisation (running mean / std of every state visited, fixed within an iteration). For export the normalisation
is folded into the first layer (``W' = W / std``, ``b' = b - W' mean``); the run also keeps the colouring, the shared
values and the normalisation apart (``chromatic.npz``), from which a codebook export rebuilds the shared weights.

Counting (paper, Table 2): parameters = distinct weights + biases; bits = ``32 x (distinct weights + biases) +
edges x ceil(log2 M)`` for a coloured policy (the colouring is stored as one ``ceil(log2 M)``-bit index per edge),
``32 x (weights + biases)`` for Toeplitz and unstructured policies, whose structure needs no index table.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ghp.envs import EnvSpec, env_spec
from ghp.es.core import ObsStats, RolloutPool, RolloutResult, RolloutUnit, ars_update, fold, seed_of
from ghp.io.atomic import write_npz, write_text
from ghp.policy.weights import PolicyWeights
from ghp.run.layout import POLICY_FILE, STORED_SUMMARY_FILE
from ghp.space.arch import Arch, ArchSpace

PARTITIONS: tuple[str, ...] = ("learned", "random", "toeplitz", "none")
STATE_FILE = "state.npz"
HISTORY_FILE = "history.jsonl"
CHROMATIC_FILE = "chromatic.npz"
STATE_VERSION = 1


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"41"``, ``"41,41"`` or ``"linear"`` (no hidden layer) as hidden widths.

    Raises:
        ValueError: anything else.
    """
    t = str(text).strip().lower()
    if t in ("", "linear", "none"):
        return ()
    try:
        return tuple(int(w) for w in t.replace(" ", "").split(",") if w != "")
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


# ---------------------------------------------------------------------------------------------------------------
# Topology and colourings (pure functions)


@dataclass(frozen=True)
class Topology:
    """Layer sizes ``obs, hidden..., act`` of a chromatic network; edges are numbered layer by layer, row-major
    within ``W[out, in]``."""

    dims: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.dims) < 2 or any(d < 1 for d in self.dims):
            raise ValueError(f"a topology needs an input and an output size, all positive, got {list(self.dims)}")

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(out, in)`` of every weight matrix, input to output."""
        return list(zip(self.dims[1:], self.dims[:-1], strict=True))

    @property
    def n_edges(self) -> int:
        """Weights of the dense network (edges of the graph)."""
        return sum(o * i for o, i in self.shapes)

    @property
    def n_biases(self) -> int:
        """Biases (one per non-input unit)."""
        return sum(self.dims[1:])

    @property
    def arch(self) -> Arch:
        """The hidden widths as an :class:`~ghp.space.arch.Arch`."""
        return Arch(tuple(self.dims[1:-1]))


def random_colouring(top: Topology, colors: int, rng: np.random.Generator) -> np.ndarray:
    """Every edge an independent uniform colour in ``[0, colors)`` (int64, ``[n_edges]``)."""
    return rng.integers(0, colors, size=top.n_edges).astype(np.int64)


def toeplitz_colouring(top: Topology) -> tuple[np.ndarray, int]:
    """Colouring that shares weights along the diagonals of every matrix, and the number of values it uses.

    Entry ``W[r, c]`` of an ``a x b`` matrix takes value ``c - r + a - 1`` of that layer's ``a + b - 1`` (paper,
    Appendix E); layers use consecutive ranges.
    """
    out, offset = [], 0
    for o, i in top.shapes:
        r, c = np.meshgrid(np.arange(o), np.arange(i), indexing="ij")
        out.append((c - r + o - 1 + offset).ravel())
        offset += o + i - 1
    return np.concatenate(out).astype(np.int64), offset


def identity_colouring(top: Topology) -> np.ndarray:
    """Every edge its own value (the unstructured network)."""
    return np.arange(top.n_edges, dtype=np.int64)


def n_values(top: Topology, partition: str, colors: int) -> int:
    """Length of the shared-value vector a partition trains."""
    if partition in ("learned", "random"):
        return colors
    if partition == "toeplitz":
        return toeplitz_colouring(top)[1]
    if partition == "none":
        return top.n_edges
    raise ValueError(f"unknown partition {partition!r}: choose one of {', '.join(PARTITIONS)}")


@dataclass(frozen=True)
class Counts:
    """Size of a chromatic policy as the paper's Table 2 counts it."""

    edges: int
    """Weights of the dense network."""
    distinct_weights: int
    """Distinct weight values actually used (colours present in the colouring)."""
    biases: int
    params: int
    """distinct_weights + biases."""
    bits: int
    """32 x params, plus edges x ceil(log2 M) index bits for a learned / random colouring."""


def count(top: Topology, partition: str, colouring: np.ndarray, colors: int) -> Counts:
    """Parameters and bits of a policy with ``colouring`` (see the module docstring)."""
    distinct = int(len(np.unique(colouring)))
    params = distinct + top.n_biases
    bits = 32 * params
    if partition in ("learned", "random"):
        bits += top.n_edges * math.ceil(math.log2(colors))
    return Counts(top.n_edges, distinct, top.n_biases, params, bits)


def layers_of(top: Topology, colouring: np.ndarray, values: np.ndarray, biases: np.ndarray) -> list[tuple[Any, Any]]:
    """``(W[out, in], b[out])`` per layer of one policy: ``W.flat[e] = values[colouring[e]]``."""
    w = np.asarray(values, np.float32)[colouring]
    out, e0, b0 = [], 0, 0
    for o, i in top.shapes:
        out.append((w[e0 : e0 + o * i].reshape(o, i), np.asarray(biases[b0 : b0 + o], np.float32)))
        e0 += o * i
        b0 += o
    return out


# ---------------------------------------------------------------------------------------------------------------
# The controller (learned partitions)


class Controller:
    """A factorised categorical over colourings: one softmax over ``colors`` per edge, trained with REINFORCE.

    The ENAS update of the paper (Section 3): maximise ``E[(R - baseline) log p(P)] + entropy x H``, with a moving
    average of the rewards as the baseline, by Adam on the logits.
    """

    def __init__(self, n_edges: int, colors: int, lr: float, entropy: float, decay: float) -> None:
        self.logits = np.zeros((n_edges, colors))
        self.lr, self.entropy_weight, self.decay = lr, entropy, decay
        self.m = np.zeros_like(self.logits)
        self.v = np.zeros_like(self.logits)
        self.t = 0
        self.baseline: float | None = None

    def probs(self) -> np.ndarray:
        """``[n_edges, colors]`` softmax of the logits."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` colourings ``[n, n_edges]`` (Gumbel-max sampling)."""
        g = rng.gumbel(size=(n, *self.logits.shape))
        return np.argmax(self.logits[None] + g, axis=2).astype(np.int64)

    def mode(self) -> np.ndarray:
        """The most likely colouring."""
        return np.argmax(self.logits, axis=1).astype(np.int64)

    def entropy(self) -> float:
        """Mean per-edge entropy (nats); ``log(colors)`` when uniform."""
        p = self.probs()
        return float(-(p * np.log(p + 1e-12)).sum(axis=1).mean())

    def update(self, colourings: np.ndarray, rewards: np.ndarray) -> None:
        """One REINFORCE step from ``colourings [n, n_edges]`` and the rewards they reached ``[n]``."""
        rewards = np.asarray(rewards, np.float64)
        mean = float(rewards.mean())
        self.baseline = mean if self.baseline is None else self.decay * self.baseline + (1 - self.decay) * mean
        adv = (rewards - self.baseline) / (rewards.std() + 1e-8)
        p = self.probs()
        n, n_edges = colourings.shape
        # d/dlogits of mean_k adv_k log p(P_k) = mean_k adv_k (onehot(P_k) - p).
        grad = -adv.sum() / n * p
        rows = np.arange(n_edges)
        for k in range(n):
            grad[rows, colourings[k]] += adv[k] / n
        # d/dlogits of the per-edge entropy H_e: -p (log p + H_e).
        logp = np.log(p + 1e-12)
        h = -(p * logp).sum(axis=1, keepdims=True)
        grad += self.entropy_weight * (-p * (logp + h))
        # Adam ascent.
        self.t += 1
        b1, b2 = 0.9, 0.999
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad**2
        mhat = self.m / (1 - b1**self.t)
        vhat = self.v / (1 - b2**self.t)
        self.logits += self.lr * mhat / (np.sqrt(vhat) + 1e-8)

    def state(self) -> dict[str, Any]:
        """Arrays to save."""
        return {
            "ctrl_logits": self.logits,
            "ctrl_m": self.m,
            "ctrl_v": self.v,
            "ctrl_t": np.int64(self.t),
            "ctrl_baseline": np.float64(np.nan if self.baseline is None else self.baseline),
        }

    def load(self, z: Any) -> None:
        """Restore from :meth:`state`'s arrays."""
        self.logits, self.m, self.v = (np.array(z[k], np.float64) for k in ("ctrl_logits", "ctrl_m", "ctrl_v"))
        self.t = int(z["ctrl_t"])
        b = float(z["ctrl_baseline"])
        self.baseline = None if math.isnan(b) else b


# ---------------------------------------------------------------------------------------------------------------
# Rollouts go through the ES engine (ghp.es.core): a parameter map per colouring, work units, the engine's pool


@dataclass(frozen=True, eq=False)
class ChromaticMap:
    """ES parameters of a chromatic policy with a fixed colouring: ``theta = shared values ++ biases``
    (a ``ghp.es.ParamMap``, picklable, so it travels in the engine's work units)."""

    top: Topology
    colouring: np.ndarray
    """``[n_edges]`` value index of every edge."""
    nv: int
    """Length of the shared-value vector."""
    action_low: np.ndarray
    action_high: np.ndarray

    @property
    def size(self) -> int:
        return self.nv + self.top.n_biases

    def weights(self, theta: np.ndarray) -> PolicyWeights:
        """The tanh policy (on normalised observations) that ``theta`` stands for."""
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameters, got shape {theta.shape}")
        layers = layers_of(self.top, self.colouring, theta[: self.nv], theta[self.nv :])
        return PolicyWeights.from_arrays(self.top.arch, layers, self.action_low, self.action_high, activation="tanh")


def _roll(
    pool: RolloutPool,
    maps: Sequence[ChromaticMap],
    thetas: np.ndarray,
    seeds: Sequence[int],
    env_id: str,
    env_kwargs: dict[str, Any],
    stats: ObsStats,
    collect: bool,
) -> RolloutResult:
    """Roll out row ``i`` (parameters ``thetas[i]``, colouring ``maps[i]``) from ``seeds[i]``, through the engine.

    Rows that share a colouring form one work unit (one stacked matmul per layer per step); the pool maps the units
    (in this process, worker processes, or another backend behind the same ``map``).
    """
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(maps):
        groups.setdefault(id(m), []).append(i)
    order = [rows for rows in groups.values()]
    if len(order) == 1 and pool.slots > 1:
        # One colouring: cut its rows over the workers, as the engine does for a dense policy.
        rows = order[0]
        q = -(-len(rows) // pool.slots)
        order = [rows[k : k + q] for k in range(0, len(rows), q)]
    units = [
        RolloutUnit(
            maps[rows[0]],
            thetas[rows],
            tuple(int(seeds[i]) for i in rows),
            env_id,
            env_kwargs,
            stats.shift,
            stats.std,
            collect,
        )
        for rows in order
    ]
    results = pool.map(units)
    n = len(thetas)
    returns, lengths = np.zeros(n), np.zeros(n, np.int64)
    row_stats: list[ObsStats | None] = [None] * n
    for rows, res in zip(order, results, strict=True):
        returns[rows], lengths[rows] = res.returns, res.lengths
        for i, st in zip(rows, res.stats, strict=False):
            row_stats[i] = st
    return RolloutResult(returns, lengths, tuple(st for st in row_stats if st is not None))


# ---------------------------------------------------------------------------------------------------------------
# Training


@dataclass
class Progress:
    """What one iteration did (handed to the progress callback and appended to ``history.jsonl``)."""

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


def _atomic_savez(path: Path, **arrays: Any) -> None:
    write_npz(path, arrays)


def _atomic_write(path: Path, text: str) -> None:
    write_text(path, text)


def train_chromatic(
    config: ChromaticConfig,
    out: str | Path,
    resume: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> ChromaticResult:
    """Train a chromatic network into the run directory ``out`` (see the module docstring).

    State is saved after every iteration (atomically), so an interruption (``KeyboardInterrupt``) loses at most the
    iteration in flight; ``resume=True`` continues from it, up to ``config.iterations`` (which may be raised).

    Raises:
        FileExistsError: ``out`` holds a run and ``resume`` is False.
        ValueError: bad configuration, an environment ghp cannot drive, or a resume with different settings.
    """
    from ghp import __version__
    from ghp.run.layout import CONFIG_FILE, FORMAT_VERSION, STORED_POLICY_ALGO, read_config

    out = Path(out)
    spec = env_spec(config.env_id)
    if spec.goal_conditioned:
        raise ValueError(f"{config.env_id} is goal-conditioned; chromatic networks need a flat Box observation")
    top = Topology((spec.obs_dim, *config.hidden, spec.act_dim))
    nv = n_values(top, config.partition, config.colors)
    if config.partition in ("learned", "random") and config.colors > top.n_edges:
        raise ValueError(f"{config.colors} colours for {top.n_edges} edges: give at most one colour per edge")
    cfg_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}
    state_file = out / STATE_FILE
    if (out / CONFIG_FILE).exists():
        if not resume:
            raise FileExistsError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
        old = read_config(out)
        prev = dict(old.get("chromatic", {}))
        for k in cfg_dict:
            if k not in ("iterations", "workers", "backend", "ray_address") and prev.get(k, cfg_dict[k]) != cfg_dict[k]:
                raise ValueError(f"--resume with a different {k.replace('_', '-')} ({prev.get(k)} != {cfg_dict[k]})")
        run_id = str(old["run_id"])
    else:
        out.mkdir(parents=True, exist_ok=True)
        run_id = uuid.uuid4().hex[:12]
    space = ArchSpace(widths=config.hidden[:1] or (1,), depths=(len(config.hidden),))
    if config.hidden and len(set(config.hidden)) > 1:
        raise ValueError("hidden layers of different widths are not supported: give one width (e.g. 41 or 41,41)")
    _atomic_write(
        out / CONFIG_FILE,
        json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "run_id": run_id,
                "algo": STORED_POLICY_ALGO,
                "versions": {"ghp": __version__, "numpy": np.__version__},
                "env": spec.to_dict(),
                "space": space.to_dict(),
                "chromatic": cfg_dict,
                "counts_rule": "params = distinct weights + biases; bits = 32 x params (+ edges x ceil(log2 M))",
            },
            indent=2,
        ),
    )

    rng = np.random.default_rng(config.seed)
    theta = np.concatenate([rng.normal(0.0, config.init_std, nv), np.zeros(top.n_biases)])
    stat = ObsStats.empty(spec.obs_dim)
    controller = None
    if config.partition == "learned":
        controller = Controller(top.n_edges, config.colors, config.controller_lr, config.entropy, config.baseline_decay)
        fixed = None
    elif config.partition == "random":
        fixed = random_colouring(top, config.colors, rng)
    elif config.partition == "toeplitz":
        fixed = toeplitz_colouring(top)[0]
    else:
        fixed = identity_colouring(top)
    it, env_steps, seconds = 0, 0, 0.0
    best: dict[str, Any] = {"return": -np.inf}
    best_mean, last_eval = -np.inf, None
    if resume and state_file.exists():
        with np.load(state_file) as z:
            if int(z["state_version"]) != STATE_VERSION:
                raise ValueError(f"{state_file} is from another ghp version; start a new run")
            theta = np.array(z["theta"])
            stat = ObsStats(int(z["obs_n"]), np.array(z["obs_mean"]), np.array(z["obs_m2"]))
            it, env_steps, seconds = int(z["iteration"]), int(z["env_steps"]), float(z["seconds"])
            rng.bit_generator.state = json.loads(str(z["rng"]))
            if fixed is not None:
                fixed = np.array(z["fixed"])
            if controller is not None:
                controller.load(z)
            best = {"return": float(z["best_return"]), "colouring": np.array(z["best_colouring"])}
            best["theta"] = np.array(z["best_theta"])
            best_mean = float(z["best_mean"])
            last_eval = None if math.isnan(float(z["last_eval"])) else float(z["last_eval"])
    # The history keeps exactly the iterations the state holds (an interrupted iteration left no line).
    hist = out / HISTORY_FILE
    lines = hist.read_text().splitlines() if hist.exists() else []
    _atomic_write(hist, "".join(line + "\n" for line in lines[:it]))

    def mode_colouring() -> np.ndarray:
        return controller.mode() if controller is not None else fixed  # type: ignore[return-value]

    def save() -> None:
        _atomic_savez(
            state_file,
            state_version=np.int64(STATE_VERSION),
            theta=theta,
            obs_n=np.int64(stat.count),
            obs_mean=stat.mean,
            obs_m2=stat.m2,
            iteration=np.int64(it),
            env_steps=np.int64(env_steps),
            seconds=np.float64(seconds),
            rng=np.asarray(json.dumps(rng.bit_generator.state)),
            fixed=fixed if fixed is not None else np.zeros(0, np.int64),
            best_return=np.float64(best["return"]),
            best_colouring=best.get("colouring", np.zeros(0, np.int64)),
            best_theta=best.get("theta", np.zeros(0)),
            best_mean=np.float64(best_mean),
            last_eval=np.float64(np.nan if last_eval is None else last_eval),
            **(controller.state() if controller is not None else {}),
        )
        _write_policy(
            out, spec, top, config, mode_colouring(), theta, nv, stat, best, best_mean, last_eval, it, env_steps
        )

    pool = RolloutPool(
        config.workers if config.workers > 1 or config.backend != "local" else 0, config.backend, config.ray_address
    )
    env_kwargs = {} if config.max_episode_steps is None else {"max_episode_steps": config.max_episode_steps}
    low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)
    n = config.directions
    try:
        while it < config.iterations:
            t0 = time.perf_counter()
            deltas = rng.standard_normal((n, len(theta)))
            if controller is not None:
                cols = controller.sample(n, rng)
                maps = [ChromaticMap(top, c, nv, low, high) for c in cols]
            else:
                assert fixed is not None
                cols = np.broadcast_to(fixed, (n, top.n_edges))
                maps = [ChromaticMap(top, fixed, nv, low, high)] * n
            thetas = np.concatenate([theta + config.sigma * deltas, theta - config.sigma * deltas])
            colourings = np.concatenate([cols, cols])
            # Both members of an antithetic pair share the colouring and the starting state (common random numbers).
            seeds = [seed_of(config.seed, it, k % n) for k in range(2 * n)]
            res = _roll(pool, maps + maps, thetas, seeds, config.env_id, env_kwargs, stat, True)
            env_steps += int(res.lengths.sum())
            r_plus, r_minus = res.returns[:n], res.returns[n:]
            theta = theta + ars_update(r_plus, r_minus, deltas, config.n_top, config.lr)[0]
            if controller is not None:
                # The controller's reward for a colouring: the best return it reached (the paper's R^max).
                controller.update(cols, np.maximum(r_plus, r_minus))
            k_best = int(np.argmax(res.returns))
            if res.returns[k_best] > best["return"]:
                best = {"return": float(res.returns[k_best]), "colouring": colourings[k_best].copy()}
                best["theta"] = thetas[k_best].copy()
            best_mean = max(best_mean, float(res.returns.mean()))
            for st in res.stats:  # in row order (ARS V2: every state the perturbed rollouts visited)
                stat = stat.merge(st)
            it += 1
            eval_return = None
            if it % config.eval_every == 0 or it == config.iterations:
                centre = ChromaticMap(top, mode_colouring(), nv, low, high)
                ev = _roll(
                    pool,
                    [centre],
                    theta[None],
                    [seed_of(config.seed + 1, it, 0)],
                    config.env_id,
                    env_kwargs,
                    stat,
                    False,
                )
                env_steps += int(ev.lengths.sum())
                eval_return = last_eval = float(ev.returns[0])
            seconds += time.perf_counter() - t0
            p = Progress(
                it,
                env_steps,
                float(res.returns.mean()),
                float(res.returns.max()),
                float(best["return"]),
                eval_return,
                controller.entropy() if controller is not None else None,
                seconds,
            )
            with hist.open("a") as f:
                f.write(json.dumps(asdict(p)) + "\n")
            save()
            if progress is not None:
                progress(p)
    finally:
        pool.close()
    save()  # also rewrites the policy file of a finished run resumed with nothing left to do (format upgrades)
    policy = PolicyWeights.from_npz(out / POLICY_FILE)
    summary = json.loads((out / STORED_SUMMARY_FILE).read_text())
    counts = count(top, config.partition, mode_colouring(), config.colors)
    return ChromaticResult(out, policy, counts, summary)


def _write_policy(
    out: Path,
    spec: EnvSpec,
    top: Topology,
    config: ChromaticConfig,
    colouring: np.ndarray,
    theta: np.ndarray,
    nv: int,
    stat: ObsStats,
    best: dict[str, Any],
    best_mean: float,
    last_eval: float | None,
    it: int,
    env_steps: int,
) -> None:
    """The run's policy file, its colouring and values, and a summary with its counts.

    ``policy.npz`` is a ``ghp.policy.file`` policy file: dense weights with the normalisation folded in (what
    evaluation and float32 / int8 exports use) and, when the values fit 8-bit indices, its codebook (one network-wide
    book of shared values, the colour of every edge, the biases and the input normalisation kept apart) for
    ``ghp export --policy RUN/policy.npz --dtype codebook``.
    """
    from ghp.policy.codebook import MAX_COLORS, CodebookPolicy
    from ghp.policy.file import save_policy

    mean, std = stat.shift, stat.std
    low, high = np.asarray(spec.action_low, np.float32), np.asarray(spec.action_high, np.float32)
    cmap = ChromaticMap(top, colouring, nv, low, high)
    cb = None
    if nv <= MAX_COLORS:
        colors, e0 = [], 0
        for o, i in top.shapes:
            colors.append(np.asarray(colouring[e0 : e0 + o * i], np.uint8).reshape(o, i))
            e0 += o * i
        normed = cmap.weights(theta)
        cb = CodebookPolicy(
            top.arch,
            tuple(colors),
            (theta[:nv].astype(np.float32),),
            tuple(b for _, b in normed.layers),
            low,
            high,
            nv,
            "network",
            "tanh",
            mean.astype(np.float32),
            (1.0 / std).astype(np.float32),
        )
        policy = cb.dense()
    else:
        policy = fold(cmap.weights(theta), mean, std)
    provenance = {
        "env_id": spec.env_id,
        "method": f"chromatic-es ({config.partition})",
        "run_id": json.loads((out / "config.json").read_text())["run_id"],
        "iterations": it,
        "checkpoint_step": env_steps,
    }
    save_policy(out / POLICY_FILE, policy, provenance, cb)
    _atomic_savez(
        out / CHROMATIC_FILE,
        dims=np.asarray(top.dims, np.int64),
        partition=np.asarray(config.partition),
        colors=np.int64(config.colors),
        colouring=np.asarray(colouring, np.int64),
        values=theta[:nv].astype(np.float32),
        biases=theta[nv:].astype(np.float32),
        obs_mean=mean.astype(np.float32),
        obs_std=std.astype(np.float32),
    )
    c = count(top, config.partition, colouring, config.colors)
    summary = {
        "partition": config.partition,
        "topology": list(top.dims),
        "colors": config.colors if config.partition in ("learned", "random") else None,
        "iterations": it,
        "env_steps": env_steps,
        **asdict(c),
        "best_worker_return": None if not np.isfinite(best["return"]) else best["return"],
        "best_mean_return": None if not np.isfinite(best_mean) else best_mean,
        "last_eval_return": last_eval,
    }
    _atomic_write(out / STORED_SUMMARY_FILE, json.dumps(summary, indent=2))


def read_summary(path: str | Path) -> dict[str, Any]:
    """A chromatic run's ``summary.json`` (counts and returns)."""
    return dict(json.loads((Path(path) / STORED_SUMMARY_FILE).read_text()))


def read_history(path: str | Path) -> list[dict[str, Any]]:
    """A chromatic run's per-iteration records."""
    f = Path(path) / HISTORY_FILE
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []
