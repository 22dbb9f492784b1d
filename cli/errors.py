"""User-facing errors of the command line."""

from __future__ import annotations

import click


class GHPError(click.ClickException):
    """A user error: printed as one line on stderr by the ``ghp`` group, exit code 2."""

    exit_code = 2
