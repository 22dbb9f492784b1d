"""Entry point of the ``ghp`` command. Heavy libraries are imported inside command bodies, so ``--help`` is instant."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.search_cmd import search


class GHPGroup(click.Group):
    """A group that reports every usage or input error as one line on stderr, with no traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("ghp: interrupted", err=True)
            sys.exit(130)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else "ghp"
            click.echo(f"{where}: error: {e.format_message()} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as e:
            click.echo(f"ghp: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=GHPGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graph-hyper-policies", prog_name="ghp")
def cli() -> None:
    """Find tiny neural network policies with graph hyper policies, and ship them to microcontrollers.

    \b
    Typical flow:
      ghp train --env Pendulum-v1 --out runs/pendulum
      ghp evaluate runs/pendulum
      ghp search --run runs/pendulum --max-params 500
      ghp export runs/pendulum --best --max-params 500 --target c-header --name policy --out build/
    """


cli.add_command(search)


def main() -> None:
    """Console-script entry point."""
    cli()
