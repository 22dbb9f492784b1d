import numpy as np
import torch

from ghp.policy.weights import PolicyWeights, obs_vector
from ghp.space.arch import Arch, ArchSpace, sample_uniform
from ghp.space.counting import layer_shapes


def random_policy(arch: Arch, inp: int, act: int, rng: np.random.Generator) -> PolicyWeights:
    layers = [
        (rng.standard_normal((o, i)) * 0.3, rng.standard_normal(o) * 0.1) for i, o in layer_shapes(arch, inp, act)
    ]
    return PolicyWeights.from_arrays(arch, layers, -2 * np.ones(act), 3 * np.ones(act))


def test_numpy_and_torch_agree_and_respect_bounds(tmp_path):
    rng = np.random.default_rng(0)
    for arch in sample_uniform(ArchSpace(widths=(4, 8, 16), depths=(0, 1, 2, 3, 4)), 20, rng):
        p = random_policy(arch, 5, 2, rng)
        obs = rng.standard_normal((7, 5)).astype(np.float32) * 3
        a_np = p.act(obs)
        a_t = p.to_module()(torch.from_numpy(obs)).detach().numpy()
        np.testing.assert_allclose(a_np, a_t, atol=1e-6)
        assert (a_np >= -2).all() and (a_np <= 3).all()
        assert p.n_params == sum(w.size + b.size for w, b in p.layers)
        p.to_npz(tmp_path / "p.npz")
        q = PolicyWeights.from_npz(tmp_path / "p.npz")
        assert q.arch == p.arch and np.array_equal(q.act(obs), a_np)


def test_obs_vector_appends_desired_goal():
    obs = {"observation": np.arange(3), "achieved_goal": np.zeros(2), "desired_goal": np.array([7, 8])}
    assert obs_vector(obs).tolist() == [0, 1, 2, 7, 8]
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    assert obs_vector(batch).shape == (2, 5)


def test_policy_stack_is_the_batched_act():
    """``PolicyStack.actions`` (evaluation's padded in-out stack and ES's out-in one) is ``PolicyWeights.act`` of each
    member, for both activations and with an observation clip; padding changes nothing."""
    from ghp.policy.stack import PolicyStack

    rng = np.random.default_rng(1)
    for activation in ("relu", "tanh"):
        for arch in (Arch((4, 8)), Arch(())):
            pols = [random_policy(arch, 5, 2, rng) for _ in range(3)]
            clip = (-np.ones(5), np.ones(5))
            lo, hi = pols[0].action_low, pols[0].action_high
            pols = [PolicyWeights.from_arrays(arch, p.layers, lo, hi, activation, *clip) for p in pols]
            obs = (rng.standard_normal((3, 4, 5)) * 2).astype(np.float32)
            want = np.concatenate([p.act(o) for p, o in zip(pols, obs, strict=True)])
            padded = tuple(16 for _ in arch.hidden)
            for stack in (PolicyStack.of(pols, padded), PolicyStack.of(pols, layout="out-in")):
                np.testing.assert_allclose(stack.actions(obs), want, rtol=1e-5, atol=1e-6)
            kept = PolicyStack.of(pols, padded).select(np.array([0, 2]))
            kept_want = want.reshape(3, 4, 2)[[0, 2]].reshape(-1, 2)
            np.testing.assert_allclose(kept.actions(obs[[0, 2]]), kept_want, atol=1e-6)


def test_one_batched_forward():
    """Evaluation and ES step their episodes through ``ghp.policy.stack`` only: neither writes its own MLP forward
    (ES's own copy was merged; it was bit-identical to the stack's out-in layout, see the ES fingerprint)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "ghp"
    forward = re.compile(r"np\.matmul\(|np\.tanh\(|np\.maximum\(h")
    found = [
        f"{path.relative_to(root)}:{n}"
        for pkg in ("es", "rollout")
        for path in sorted((root / pkg).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if forward.search(line)
    ]
    assert not found, f"an MLP forward outside ghp.policy: {found}"
