import numpy as np
import pytest

from ghp.space.arch import Arch, ArchSpace, SweepSampler, parse_arch, parse_ints, sample_uniform, sweep_order


def test_paper_space_has_4680_archs():
    space = ArchSpace()
    assert len(space) == 4680
    assert [sum(1 for a in space if a.depth == d) for d in (1, 2, 3, 4)] == [8, 64, 512, 4096]
    assert len(set(space.archs)) == 4680


def test_enumeration_is_deterministic_and_ordered():
    a, b = ArchSpace(), ArchSpace()
    assert a.archs == b.archs
    assert a.archs[0] == Arch((4,)) and a.archs[8] == Arch((4, 4)) and a.archs[-1] == Arch((512,) * 4)
    assert a.index(Arch((8, 4, 4, 4))) == a.archs.index(Arch((8, 4, 4, 4)))


def test_configurable_space_with_linear():
    space = ArchSpace(widths=(4, 8), depths=(0, 1, 2))
    assert [a.key for a in space] == ["linear", "4", "8", "4-4", "4-8", "8-4", "8-8"]
    assert Arch(()) in space and Arch((16,)) not in space
    with pytest.raises(ValueError, match="outside the space"):
        space.index(Arch((16,)))


@pytest.mark.parametrize(
    "text,key",
    [
        ("8,4,4,4", "8-4-4-4"),
        ("8-4-4-4", "8-4-4-4"),
        ("[256, 256]", "256-256"),
        ("linear", "linear"),
        (" 16 ", "16"),
        ("64-", "64"),
        ("8-4-", "8-4"),
        ("()", "linear"),
        ("[]", "linear"),
    ],
)
def test_parse_arch(text, key):
    assert parse_arch(text).key == key
    assert parse_arch(parse_arch(text).key) == parse_arch(text)


@pytest.mark.parametrize("bad", ["", "8,,4", "a-b", "8-0", "8;4", "-8", "8--", "-"])
def test_parse_arch_rejects_malformed(bad):
    with pytest.raises(ValueError):
        parse_arch(bad)


def test_arch_is_hashable_and_frozen():
    a = Arch((8, 4))
    assert {a: 1}[Arch((8, 4))] == 1
    with pytest.raises(AttributeError):
        a.hidden = (1,)  # type: ignore[misc]
    assert Arch([8, 4]) == a  # lists are normalised to tuples


def test_bad_spaces():
    for kw in ({"widths": ()}, {"widths": (0, 4)}, {"depths": (-1,)}, {"widths": (4, 4)}):
        with pytest.raises(ValueError):
            ArchSpace(**kw)


def test_sampling_is_seeded():
    space = ArchSpace()
    s1 = sample_uniform(space, 32, np.random.default_rng(0))
    s2 = sample_uniform(space, 32, np.random.default_rng(0))
    assert s1 == s2 and all(a in space for a in s1)
    assert sample_uniform(space, 32, np.random.default_rng(1)) != s1


def test_sweep_covers_space_once():
    space = ArchSpace(widths=(4, 8, 16), depths=(1, 2))
    order = sweep_order(space, np.random.default_rng(0))
    assert sorted(order) == sorted(space.archs) and order != list(space.archs)
    sampler = SweepSampler(space, np.random.default_rng(0))
    first = sampler.take(len(space))
    assert sorted(first) == sorted(space.archs)
    # Next sweep starts fresh; batches straddle sweeps without losing coverage.
    second = sampler.take(5) + sampler.take(len(space) - 5)
    assert sorted(second) == sorted(space.archs)


def test_depth_balanced_sampling():
    from ghp.space.arch import sample_by_depth

    space = ArchSpace()
    draws = sample_by_depth(space, 4000, np.random.default_rng(0))
    counts = np.bincount([a.depth for a in draws], minlength=5)[1:]
    assert all(a in space for a in draws)
    assert counts.min() > 850  # about 1000 each; uniform draws would give depth 1 about 7
    assert draws == sample_by_depth(space, 4000, np.random.default_rng(0))


@pytest.mark.parametrize("text,ints", [("4,8,16", (4, 8, 16)), (" 4, 8 ,16 ", (4, 8, 16)), ("4,,8,", (4, 8)), ("", ())])
def test_parse_ints(text, ints):
    assert parse_ints(text) == ints


@pytest.mark.parametrize("bad", ["4-8", "a", "4;8", "4.5"])
def test_parse_ints_rejects(bad):
    with pytest.raises(ValueError, match="comma-separated integers"):
        parse_ints(bad)


def test_int_lists_have_one_parser():
    """``parse_ints`` is the one int-list parser: the options that take lists accept and refuse what it does, and no
    module parses such a list itself again (the copies in chromatic, cli/common and cli/options were merged)."""
    import re
    from pathlib import Path

    import click

    from cli.common import int_list
    from cli.options import IntList
    from ghp.es.chromatic import parse_hidden

    for text in ("4,8,16", " 4, 8 ,16 ", "4,,8,"):
        assert int_list(text, "--widths") == IntList().convert(text, None, None) == parse_ints(text)
        assert parse_hidden(text) == parse_ints(text)
    assert parse_hidden("linear") == parse_hidden("none") == ()
    with pytest.raises(click.BadParameter, match="comma-separated integers"):
        int_list("4-8", "--widths")
    with pytest.raises(ValueError, match="hidden widths like 41"):
        parse_hidden("41-41")
    root = Path(__file__).resolve().parents[2]
    copy = re.compile(r"int\(\w+\) for \w+ in .*split\(['\"],")
    found = [
        f"{path.relative_to(root)}:{n}"
        for pkg in ("ghp", "search", "export", "cli", "benchmarks")
        for path in sorted((root / pkg).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if copy.search(line) and path != root / "ghp/space/arch.py"
    ]
    assert not found, f"int lists parsed outside ghp.space.arch.parse_ints: {found}"
