"""Entry point of the ``ghp`` command.

Commands live in their own modules and are imported only when run (or when ``--help`` lists them); the modules
import only click at top level, so ``ghp --help`` never loads torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys
from typing import Any

import click

# name -> "module:attribute"; a command whose module is absent is simply not listed.
COMMANDS: dict[str, str] = {
    "train": "cli.train_cmd:train",
    "evaluate": "cli.evaluate_cmd:evaluate",
    "report": "cli.report_cmd:report",
    "search": "cli.search_cmd:search",
    "export": "cli.export_cmd:export",
    "play": "cli.play_cmd:play",
    "tune": "cli.tune_cmd:tune",
    "chromatic": "cli.chromatic_cmd:chromatic",
}


class GHPGroup(click.Group):
    """Lazily loaded commands; every usage or input error is one line on stderr, with no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, t in COMMANDS.items() if importlib.util.find_spec(t.split(":")[0]) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or importlib.util.find_spec(target.split(":")[0]) is None:
            return None
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from cli.common import sigterm_as_interrupt

        kwargs["standalone_mode"] = False
        # Every command stops on SIGTERM as on Ctrl-C (exit 143, 130); the long ones (train, evaluate, tune) catch
        # it themselves first, to say what was saved.
        with sigterm_as_interrupt() as interruption:
            try:
                rv = super().main(*args, **kwargs)
            except click.exceptions.Abort:
                how = " (SIGTERM)" if interruption.signal == signal.SIGTERM else ""
                click.echo(f"ghp: interrupted{how}", err=True)
                sys.exit(interruption.exit_code)
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


def main() -> None:
    """Console-script entry point."""
    cli()
