"""Helpers shared by the commands: option parsing and error translation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click

from cli.errors import GHPError

T = TypeVar("T")


def int_list(text: str, name: str) -> tuple[int, ...]:
    """Parse ``"4,8,16"`` into a tuple of ints for option ``name``."""
    try:
        return tuple(int(t) for t in text.replace(" ", "").split(",") if t != "")
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint=name) from None


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
