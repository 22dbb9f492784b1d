"""Where parallel work runs: this process, local worker processes, or a Ray cluster, behind one small interface.

A *work unit* is a call ``fn(shared, payload)`` of a picklable module-level function. ``shared`` is what every unit
of one :meth:`Backend.run` call needs (an environment spec, the current ES parameters) and ``payload`` is the
unit's own data (a chunk of emitted weights, a slice of perturbation seeds). The backends differ only in where the
calls run; a unit's result depends only on its arguments, so results never depend on the backend or on how many
workers there are.

- :class:`SerialBackend`: in this process, one unit at a time (tests, debugging).
- :class:`LocalBackend`: worker processes of this machine (``concurrent.futures.ProcessPoolExecutor``, spawn).
- :class:`RayBackend`: Ray tasks on a local Ray instance or an existing cluster; ``shared`` and every ``payload``
  go through Ray's object store once (a retried unit reuses them).

Faults: a unit whose worker process dies (killed, out of memory, a lost node) is run again, up to ``max_retries``
times, and yielded once; an exception raised by ``fn`` itself is the caller's and propagates at once. If the Ray
cluster itself is lost, :class:`BackendLost` is raised: what the caller already received stays valid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, Literal, Protocol, TypeVar

S = TypeVar("S")
P = TypeVar("P")
R = TypeVar("R")
K = TypeVar("K")

BackendName = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = ("local", "ray")

# One BLAS thread per worker: the workers already use every core (multi-threaded BLAS on a [5, 512] @ [512, 512]
# product was 25x slower on a busy 2-core machine).
_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerLost(RuntimeError):
    """A work unit's worker died more often than the backend retries."""


class BackendLost(RuntimeError):
    """The backend itself is gone (a lost Ray head): nothing more can run, what finished before is valid."""


class Backend(Protocol):
    """Runs work units ``fn(shared, payload)`` in parallel and hands back each result once, as it finishes."""

    name: str
    workers: int
    """Units that run at once."""

    def run(
        self, fn: Callable[[S, P], R], shared: S, units: Iterable[tuple[K, P]], max_inflight: int | None = None
    ) -> Generator[tuple[K, R]]:
        """Yield ``(key, fn(shared, payload))`` for every ``(key, payload)`` of ``units``, in order of completion.

        ``units`` is drawn lazily, so that at most ``max_inflight`` (default: twice :attr:`workers`) are submitted
        and not yet yielded; the caller can produce the next payloads while workers run. Keys stay in this process.
        Closing the iterator early (or an exception in the caller, Ctrl-C included) cancels the units in flight.
        """
        ...

    def warm(self, fn: Callable[[S, None], object], shared: S) -> None:
        """Start the workers now and have each run ``fn(shared, None)`` (imports, environments), without waiting.

        The caller prepares its first payloads meanwhile; a failure here is ignored (the units will meet it).
        """
        ...

    def close(self) -> None:
        """Release the workers once what runs has finished (idempotent)."""
        ...

    def abort(self) -> None:
        """Release the workers now, abandoning what runs (idempotent)."""
        ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, exc_type: object, *exc: object) -> None: ...


def map_ordered(backend: Backend, fn: Callable[[S, P], R], shared: S, payloads: Iterable[P]) -> list[R]:
    """``[fn(shared, p) for p in payloads]`` on ``backend``, in the order of ``payloads``."""
    out: dict[int, R] = dict(backend.run(fn, shared, enumerate(payloads)))
    return [out[i] for i in range(len(out))]


def make_backend(
    name: str = "local", workers: int = 0, ray_address: str | None = None, max_retries: int = 3
) -> Backend:
    """The backend called ``name`` (``local`` or ``ray``).

    Args:
        name: ``local`` (worker processes of this machine) or ``ray``.
        workers: units that run at once; 0 = every CPU core of this machine (local, or the local Ray instance
            started when ``ray_address`` is None) or every CPU of the Ray cluster at ``ray_address``.
        ray_address: a running Ray cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); None starts a local
            Ray instance for the lifetime of the backend. Only with ``name="ray"``.
        max_retries: times a unit whose worker died is run again before :class:`WorkerLost` is raised.

    Raises:
        ValueError: an unknown name, ``ray_address`` without Ray, or Ray not installed.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: give one of {', '.join(BACKENDS)}")
    if workers < 0:
        raise ValueError(f"workers must be 0 (all cores) or positive, got {workers}")
    if name == "local":
        if ray_address is not None:
            raise ValueError("--ray-address needs --backend ray")
        return LocalBackend(workers, max_retries)
    return RayBackend(workers, ray_address, max_retries)


class _BackendBase:
    name = "base"
    workers = 1

    def warm(self, fn: Callable[[Any, None], object], shared: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Stop at once, abandoning what runs (after an error or Ctrl-C)."""
        self.close()

    def __enter__(self) -> Backend:
        return self  # type: ignore[return-value]

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class SerialBackend(_BackendBase):
    """Every unit in this process, one at a time, in order."""

    name = "serial"

    def run(
        self, fn: Callable[[S, P], R], shared: S, units: Iterable[tuple[K, P]], max_inflight: int | None = None
    ) -> Generator[tuple[K, R]]:
        for key, payload in units:
            yield key, fn(shared, payload)


def _worker_init() -> None:
    # The parent handles Ctrl-C (it cancels what runs after keeping what finished).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call(fn: Callable[[S, P], R], shared: S, payload: P) -> R:
    return fn(shared, payload)


class LocalBackend(_BackendBase):
    """Worker processes of this machine: a spawn-context ``ProcessPoolExecutor`` whose workers run BLAS on one
    thread and ignore Ctrl-C. A worker that dies breaks the pool; a new pool then runs the units in flight again."""

    name = "local"

    def __init__(self, workers: int = 0, max_retries: int = 3) -> None:
        self.workers = workers or (os.cpu_count() or 1)
        self.max_retries = max_retries
        self.restarts = 0
        """Pools replaced after a worker died."""
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing as mp

            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
        return self._pool

    def _submit(self, fn: Callable[..., Any], shared: Any, payload: Any) -> Future[Any]:
        # Workers start on demand, inheriting the environment at that moment: BLAS variables set only meanwhile.
        saved = {v: os.environ.get(v) for v in _BLAS_VARS}
        os.environ.update({v: "1" for v in _BLAS_VARS})
        try:
            return self._executor().submit(_call, fn, shared, payload)
        finally:
            for v, old in saved.items():
                if old is None:
                    os.environ.pop(v, None)
                else:
                    os.environ[v] = old

    def warm(self, fn: Callable[[Any, None], object], shared: Any) -> None:
        """Spawn every worker now (a pool spawns them one per submitted call) and run ``fn(shared, None)`` there.

        Spawning a worker (a fresh interpreter, its imports, its environments) took about half a second, in the
        critical path of a short evaluation when it waited for the first payload."""
        for _ in range(self.workers):
            self._submit(fn, shared, None)

    def abort(self) -> None:
        """Stop the pool now: running units are abandoned (their workers are terminated)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        # concurrent.futures waits for running calls; a long rollout must not delay Ctrl-C (Python 3.14 has
        # ProcessPoolExecutor.terminate_workers for this).
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(5)

    def run(
        self, fn: Callable[[S, P], R], shared: S, units: Iterable[tuple[K, P]], max_inflight: int | None = None
    ) -> Generator[tuple[K, R]]:
        limit = max_inflight or 2 * self.workers
        it = iter(units)
        inflight: dict[Future[Any], tuple[K, P, int]] = {}  # -> (key, payload, times lost with a worker)
        ok = False
        try:
            while True:
                for key, payload in islice(it, limit - len(inflight)):  # refill up to the limit
                    inflight[self._submit(fn, shared, payload)] = (key, payload, 0)
                if not inflight:
                    break
                # A timeout so Ctrl-C is seen promptly.
                done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    if isinstance(fut.exception(), BrokenProcessPool):
                        broken = True
                        continue
                    key = inflight.pop(fut)[0]
                    yield key, fut.result()
                if broken:
                    self._restart(fn, shared, inflight)
            ok = True
        finally:
            if not ok:
                self.abort()

    def _restart(self, fn: Callable[..., Any], shared: Any, inflight: dict[Future[Any], tuple[Any, Any, int]]) -> None:
        """A worker died: every unit that had not finished runs again on a fresh pool (which unit's worker died is
        unknown, so each of them counts the loss)."""
        self.abort()
        self.restarts += 1
        lost = list(inflight.values())
        inflight.clear()
        if any(n >= self.max_retries for _, _, n in lost):
            raise WorkerLost(f"worker processes died {self.max_retries + 1} times while one work unit ran; giving up")
        for key, payload, n in lost:
            inflight[self._submit(fn, shared, payload)] = (key, payload, n + 1)

    def close(self) -> None:
        """Tell the workers to exit once what runs has finished, without waiting for them: a worker's exit (its
        interpreter tearing down numpy, MuJoCo and its environments) took 0.3 s at the end of a 7 s evaluation, after
        every result was in. The pool still reaps them (and an exiting interpreter waits for them)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class RayBackend(_BackendBase):
    """Ray tasks (one CPU each) on a local Ray instance started here, or on the cluster at ``address``.

    Ray retries a task whose worker died (``max_retries``); ``shared`` and each payload are put in the object store
    once, so a retry ships nothing again. A thread checks that the head's GCS port still answers: once it has not
    for ``head_timeout`` seconds, :meth:`run` raises :class:`BackendLost` (Ray itself would end this process, with
    no word to the caller, after a minute without its head).
    """

    name = "ray"

    def __init__(
        self, workers: int = 0, address: str | None = None, max_retries: int = 3, head_timeout: float = 5.0
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError(
                'the ray backend needs Ray: pip install "graph-hyper-policies[ray]" (or pip install ray)'
            ) from None
        self._ray = ray
        self.address = address
        self.max_retries = max_retries
        self.head_timeout = head_timeout
        self._owned = False
        self._lost: str | None = None
        self._on_term: Any = None
        if not ray.is_initialized():
            import logging

            kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
            if address is None:
                # A local instance with exactly the requested CPUs; its workers run BLAS on one thread each.
                kwargs.update(num_cpus=workers or (os.cpu_count() or 1), include_dashboard=False)
                kwargs["runtime_env"] = {"env_vars": {v: "1" for v in _BLAS_VARS}}
            if address is not None:
                _check_reachable(address)
            # ray.init replaces the SIGTERM handler with sys.exit; the caller's (save on SIGTERM) is put back, here
            # and again by every run() (Ray's start-up threads may still be installing theirs).
            main = threading.current_thread() is threading.main_thread()
            self._on_term = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(address=address, **kwargs)
            except ConnectionError as e:
                raise ValueError(f"cannot reach a Ray cluster at {address!r}: {' '.join(str(e).split())}") from None
            finally:
                self._restore_sigterm()
            self._owned = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        self._task: Any = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_call)
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_head, name="ghp-ray-head", daemon=True)
        self._watch.start()

    def _restore_sigterm(self) -> None:
        if self._on_term is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_term)

    def _watch_head(self) -> None:
        try:
            host, port = str(self._ray.get_runtime_context().gcs_address).rsplit(":", 1)
        except Exception:  # noqa: BLE001 - Ray Client connections have no GCS address here: no watch
            return
        last_ok = time.monotonic()
        while not self._stop.wait(1.0):
            try:
                socket.create_connection((host, int(port)), timeout=2.0).close()
                last_ok = time.monotonic()
            except OSError as e:
                if time.monotonic() - last_ok > self.head_timeout:
                    self._lost = f"its head ({host}:{port}) has not answered for {self.head_timeout:.0f} s ({e})"
                    return

    def _check(self) -> None:
        if self._lost is not None:
            where = self.address or "the local Ray instance"
            raise BackendLost(f"lost the Ray cluster {where}: {self._lost}")

    def run(
        self, fn: Callable[[S, P], R], shared: S, units: Iterable[tuple[K, P]], max_inflight: int | None = None
    ) -> Generator[tuple[K, R]]:
        ray = self._ray
        limit = max_inflight or 2 * self.workers
        it = iter(units)
        inflight: dict[Any, K] = {}
        ok = False
        self._restore_sigterm()
        try:
            self._check()
            shared_ref = ray.put(shared)
            while True:
                for key, payload in islice(it, limit - len(inflight)):  # refill up to the limit
                    inflight[self._task.remote(fn, shared_ref, ray.put(payload))] = key
                if not inflight:
                    break
                done, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                self._check()
                for ref in done:
                    key = inflight.pop(ref)
                    yield key, self._get(ref)
            ok = True
        finally:
            if not ok and self._lost is None and not self._owned and inflight:
                # On a shared cluster, stop what still runs. (An instance started here is shut down instead:
                # force-cancelling tasks that finish meanwhile crashed Ray 2.60's driver, "Tried to complete task
                # that was not pending".)
                with contextlib.suppress(Exception):
                    _, running = ray.wait(list(inflight), num_returns=len(inflight), timeout=0)
                    for ref in running:
                        ray.cancel(ref)

    def _get(self, ref: Any) -> Any:
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            # The unit's own exception, as the local backends raise it.
            if isinstance(e.cause, Exception):
                raise e.cause from None
            raise
        except ray.exceptions.WorkerCrashedError as e:
            raise WorkerLost(f"a Ray worker died {self.max_retries + 1} times running one work unit") from e
        except ray.exceptions.RaySystemError as e:
            self._check()
            raise BackendLost(f"lost the Ray cluster: {' '.join(str(e).split())[:200]}") from e

    def close(self) -> None:
        self._stop.set()
        # Without its head, ray.shutdown would wait for it: leave the process to exit instead.
        if self._owned and self._lost is None and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False


def _check_reachable(address: str) -> None:
    """A ``HOST:PORT`` that does not answer is refused at once (Ray itself retries for minutes)."""
    if address == "auto" or "://" in address or ":" not in address:
        return
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except (OSError, ValueError) as e:
        raise ValueError(  # noqa: B904 - the socket error is in the message
            f"cannot reach a Ray cluster at {address!r} ({e}); start one with 'ray start --head'"
        ) from None
