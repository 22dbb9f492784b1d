"""In what order an evaluation's architectures run, and how they are cut into chunks
(:func:`ghp.rollout.evaluate.evaluate`).

Class order by default: architectures of one depth and shape class next to each other, so that a chunk's policies
share their padded shapes (:func:`ghp.rollout.engine.shape_class`). A sparse selection from a source that emits in
blocks (a sample of the space from a run's ``emit_block``) runs in block order instead, each block emitted once. The
chunks are emitted lazily, the first one alone, so that the workers get work before the rest is emitted. Results do
not depend on any of this (an architecture's arithmetic depends only on itself): it decides only how soon the workers
are busy and how many architectures share a matmul.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ghp.policy.weights import PolicyWeights
from ghp.rollout.engine import shape_class
from ghp.run.records import Setting
from ghp.space.arch import Arch

if TYPE_CHECKING:
    from ghp.run.results import ResultsStore

Emit = Callable[..., list[PolicyWeights]]
"""A source's ``emit(archs, batch_size=...)`` (:class:`ghp.rollout.evaluate.EvalSource`)."""


def run_order(
    archs: Sequence[Arch],
    index: dict[Arch, int],
    pad_to: int,
    chunk_size: int,
    setting: Setting,
    store: ResultsStore | None,
    block: int | None,
) -> tuple[list[Arch], int | None]:
    """The architectures of ``archs`` still to run (:func:`to_run`), in the order they run, and the emission block
    the chunks follow: the source's ``block`` for a sparse selection (:func:`is_sparse`), else None (class order)."""
    pending_archs = to_run(archs, pad_to, setting, store)
    if block is not None and is_sparse([index[a] for a in pending_archs], block, chunk_size):
        per_block = block
        return to_run(pending_archs, pad_to, setting, None, lambda a: index[a] // per_block), block
    return (
        pending_archs,
        None,
    )  # dense: class order (bigger groups) costs fewer steps than the blocks emitted again save


def to_run(
    archs: Sequence[Arch],
    pad_to: int,
    setting: Setting,
    store: ResultsStore | None,
    block_of: Callable[[Arch], int] | None = None,
) -> list[Arch]:
    """The architectures of ``archs`` that ``store`` does not hold under ``setting`` yet, once each, in the order they
    run: by depth and shape class, so that a chunk's policies share their padded shapes; first by emission block
    (``block_of``) when the source emits in blocks, so that each block is emitted once and the first chunks come
    out after a few blocks, not after the whole space (a uniform sample of 300 touches every block of the paper's
    space: its first chunk waited for 5 blocks and the second for all 19, while a worker idled)."""
    done = store.finished(setting) if store is not None else set()
    pending = [a for a in dict.fromkeys(archs) if a.key not in done]

    def by_class(a: Arch) -> tuple[Any, ...]:
        return (a.depth, shape_class(a, pad_to), a.hidden)

    pending.sort(key=by_class if block_of is None else lambda a: (block_of(a), *by_class(a)))
    return pending


def is_sparse(indices: Iterable[int], block: int, chunk_size: int) -> bool:
    """Whether a selection holds less than a chunk per emission block it touches (a sample of the space, not all of
    it): then the block order of :func:`to_run` costs little grouping (its chunks hold few architectures of a
    class anyway) and saves waiting for emission. With the whole space in class order, chunks held 5.7 architectures
    per class, in block order 3.4, and Pendulum's evaluation of all 4680 took 58 s against 68 s in block order."""
    per_block: dict[int, int] = {}
    for i in indices:
        per_block[i // block] = per_block.get(i // block, 0) + 1
    return bool(per_block) and sum(per_block.values()) < chunk_size * len(per_block)


def chunk_len(n: int, workers: int, chunk_size: int, wide: int | None = None) -> int:
    """Architectures per chunk: ``chunk_size``, or fewer so that every worker gets about four chunks.

    Chunks are the unit of load balancing: 300 architectures in chunks of 64 on 2 workers were 5 chunks, and the
    last ran alone on one worker for a fifth of the time while the other idled. A vectorised environment steps
    ``wide`` architectures at once (:data:`ghp.rollout.engine.BATCH_ROWS` rows): its chunks hold that many, down to
    two per worker. Results do not depend on chunking.
    """
    per = max(1, workers)
    if wide is not None:
        return max(1, min(max(chunk_size, wide), math.ceil(n / (2 * per))))
    return max(1, min(chunk_size, math.ceil(n / (4 * per))))


def chunks(
    emit: Emit,
    pending: list[Arch],
    index: dict[Arch, int],
    emit_batch: int,
    size: int,
    block: int | None = None,
) -> Iterator[tuple[list[PolicyWeights], list[int]]]:
    """Emit weights ``emit_batch`` architectures at a time and cut them into chunks of ``size``, lazily.

    The first emission is one chunk only, so the workers get work before the rest is emitted. With ``block`` (the
    source's emission block, for a sparse selection: :func:`is_sparse`; ``pending`` is then in block order) the source
    is asked for whole blocks, each once: as many as fill the next chunk, the architectures left over going into the
    chunk after."""
    if block is not None:
        yield from _block_chunks(emit, pending, index, emit_batch, size, block)
        return
    starts = [0, *range(min(size, len(pending)), len(pending), max(emit_batch, size))]
    for i, end in zip(starts, [*starts[1:], len(pending)], strict=True):
        batch = pending[i:end]
        if not batch:
            continue
        weights = emit(batch, batch_size=emit_batch)
        for j in range(0, len(batch), size):
            yield weights[j : j + size], [index[a] for a in batch[j : j + size]]


def _block_chunks(
    emit: Emit, pending: list[Arch], index: dict[Arch, int], emit_batch: int, size: int, block: int
) -> Iterator[tuple[list[PolicyWeights], list[int]]]:
    """:func:`chunks` for a source that emits whole blocks: each call asks for the pending architectures of whole
    blocks (at least one, more while they fill less than a chunk and stay within ``emit_batch``)."""
    held: list[tuple[PolicyWeights, int]] = []
    groups = [list(g) for _, g in itertools.groupby(pending, key=lambda a: index[a] // block)]
    at = 0
    while at < len(groups):
        ask = groups[at]
        at += 1
        while at < len(groups) and len(held) + len(ask) < size and len(ask) + len(groups[at]) <= emit_batch:
            ask = ask + groups[at]
            at += 1
        held.extend(zip(emit(ask, batch_size=emit_batch), [index[a] for a in ask], strict=True))
        while len(held) >= size or (held and at == len(groups)):
            chunk, held = held[:size], held[size:]
            yield [w for w, _ in chunk], [i for _, i in chunk]
