"""Helpers shared by the commands: option parsing and error translation."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli.errors import GHPError

if TYPE_CHECKING:
    from ghp.io.progress import ProgressEvent

T = TypeVar("T")


DIRECTORY = click.Path(file_okay=False, path_type=str)
"""A directory (a run, an output folder), passed on as a str."""
run_argument = click.argument("run_dir", metavar="RUN", type=DIRECTORY)
"""The trained run a command works on."""


def directory_option(*decls: str, help: str) -> Callable[[T], T]:
    """An optional directory option (``None`` when not given)."""
    return click.option(*decls, type=DIRECTORY, default=None, help=help)


def rank_order_option(what: str) -> Callable[[T], T]:
    """``--by``: the order of ``search.budget.rank_run``; ``what`` says what is ranked.

    The choices repeat ``search.budget.RANK_BY`` (importing it would load ``ghp`` at every CLI start);
    ``tests/unit/test_cli_options.py`` keeps the two equal.
    """
    return click.option(
        "--by",
        type=click.Choice(["auto", "return", "success", "capacity", "size"]),
        default="auto",
        show_default=True,
        help=f"{what}: measured return, measured success rate (then return; tasks that report is_success: Fetch, the "
        "Crazyflie), capacity, size; auto = return when results exist, else capacity.",
    )


results_filter_options = click.option(
    "--env-kwargs",
    "env_kwargs",
    multiple=True,
    metavar="KEY=VALUE ...",
    help="Read the evaluations made with these env kwargs (on top of the run's own: as given to ghp evaluate "
    "--env-kwargs), e.g. nominal=false.",
)
"""``--env-kwargs KEY=VALUE ...`` of report and search: which of a run's evaluations to read (a filter; each
command's own ``--checkpoint`` narrows it further)."""


def parse_env_kwargs_option(items: tuple[str, ...]) -> dict[str, Any] | None:
    """The ``--env-kwargs`` items as a dict, or None when none were given (no filter)."""
    from ghp.envs import parse_env_kwargs

    return parse_env_kwargs(items) if items else None


def int_list(text: str, name: str) -> tuple[int, ...]:
    """Parse ``"4,8,16"`` into a tuple of ints for option ``name`` (:func:`ghp.space.arch.parse_ints`)."""
    from ghp.space.arch import parse_ints

    try:
        return parse_ints(text)
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint=name) from None


class Exclusive(click.Option):
    """An option that cannot be combined with the options named in ``excludes`` (their parameter names).

    click checks it while parsing, so the rule lives with the option and the error is a usage error (exit 2).
    """

    def __init__(self, *args: Any, excludes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.excludes = excludes

    def handle_parse_result(self, ctx: click.Context, opts: Mapping[str, Any], args: list[str]) -> Any:
        if opts.get(self.name or "") is not None:
            clash = [n for n in self.excludes if opts.get(n) is not None]
            if clash:
                others = " / ".join("--" + n.replace("_", "-") for n in clash)
                raise click.UsageError(f"{self.opts[0]} cannot be combined with {others}", ctx)
        return super().handle_parse_result(ctx, opts, args)


def progress_bar(title: str, fields: str, eta: bool = True, **kwargs: Any) -> Any:
    """A rich progress bar on stderr: ``title``, the bar, done / total, ``fields`` (a template over the task's fields,
    e.g. ``"{task.fields[rate]}"``), the elapsed time and, with ``eta``, the time remaining.

    ``kwargs`` go to ``rich.progress.Progress`` (e.g. ``disable``); its ``console`` prints above the bar.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn(f"[bold]{title}"), BarColumn(), MofNCompleteColumn(), TextColumn(fields), TimeElapsedColumn()]
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=Console(stderr=True), **kwargs)


class ProgressBar:
    """The one adapter from the library's progress protocol (``ghp.io.progress.ProgressEvent``) to a rich bar.

    Called with each event, it starts the bar on the first one (so that an input error stays the only line on stderr),
    adds a task there at ``done`` of ``total`` and then moves it; ``show`` turns an event into the task's text fields
    (the ``{task.fields[...]}`` of the bar's columns), ``initial`` are fields the first event may lack.
    :meth:`next_task` starts a new task (one per checkpoint); :meth:`stop` ends the bar if it was started.
    """

    def __init__(
        self,
        bar: Any,
        show: Callable[[ProgressEvent], dict[str, Any]],
        label: str = "",
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        self.bar, self.show, self.label, self.initial = bar, show, label, dict(initial or {})
        self.task: Any = None
        self.started = False

    @property
    def console(self) -> Any:
        """The bar's console: what it prints goes above the bar."""
        return self.bar.console

    def __call__(self, event: ProgressEvent) -> None:
        fields = self.show(event)
        if not self.started:
            self.bar.start()
            self.started = True
        if self.task is None:
            fields = {**self.initial, **fields}
            self.task = self.bar.add_task(self.label, total=event.total, completed=event.done, **fields)
        else:
            self.bar.update(self.task, completed=event.done, total=event.total, **fields)

    def next_task(self, label: str) -> None:
        """The next event starts a new task labelled ``label``."""
        self.task, self.label = None, label

    def stop(self) -> None:
        """Stop the bar (leaving its last state on screen), if an event started it."""
        if self.started:
            self.bar.stop()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's ``ValueError`` / ``FileNotFoundError`` into one-line CLI errors (exit code 2)."""
    try:
        yield
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError) as e:
        raise GHPError(" ".join(str(e).split())) from e  # one line, even for multi-line library messages


def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Call a library function, translating user errors."""
    with user_errors():
        return fn(*args, **kwargs)


@dataclass
class Interruption:
    """Which signal interrupted a long command (``None`` while none has)."""

    signal: int | None = None

    @property
    def name(self) -> str:
        """``SIGTERM`` or ``Ctrl-C``."""
        return "SIGTERM" if self.signal == signal.SIGTERM else "Ctrl-C"

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.signal or signal.SIGINT)


@contextmanager
def sigterm_as_interrupt() -> Iterator[Interruption]:
    """Treat SIGTERM (Slurm, Kubernetes, ``timeout``) like Ctrl-C inside the block: it raises ``KeyboardInterrupt``.

    Only the first signal interrupts; later ones are ignored so the work saved on the way out is not cut short.
    The previous handlers are restored on exit.
    """
    import threading

    state = Interruption()
    if threading.current_thread() is not threading.main_thread():  # signal handlers can only be set there
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if state.signal is not None:
            return
        state.signal = signum
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, handler)
    old_int = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
