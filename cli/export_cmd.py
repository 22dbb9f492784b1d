"""``ghp export``: write a run's chosen policy as C, ONNX or NumPy, and optionally verify it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import rank_order_option, user_errors
from cli.options import ConfigCommand, build_config, echo_json, json_option

if TYPE_CHECKING:
    from export.api import ExportConfig, ExportResult


class CheckError(click.ClickException):
    """The export was written but a check failed (exit status 1)."""

    exit_code = 1


_MARKS = {"ok": "[green]ok[/]", "failed": "[red]FAILED[/]", "skipped": "[yellow]skipped[/]"}
"""How a check step's status is shown."""


@click.command(cls=ConfigCommand, config="export.job:ExportConfig")
@click.argument("run", type=click.Path(path_type=Path), required=False)
@click.option("--arch", help="Architecture to export, e.g. 8-4-4-4 (hidden widths).")
@click.option("--best", is_flag=True, help="Export the best architecture under --max-params / --max-bytes.")
@click.option("--max-params", type=click.IntRange(min=1), help="Parameter budget for --best.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Byte budget for --best (at --dtype).")
@rank_order_option("What --best ranks by")
@click.option(
    "--checkpoint",
    help="Export from this checkpoint (step_20000) instead of the latest model; 'best': the best evaluated "
    "(architecture, checkpoint) pair (ghp evaluate RUN --checkpoints all first).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Export this policy file (e.g. RUN/tuned/NAME.npz from 'ghp tune') instead of an architecture of RUN.",
)
@json_option("the export (files, sizes, checks)")
def export(
    run: Path | None,
    arch: str | None,
    best: bool,
    max_params: int | None,
    max_bytes: int | None,
    by: str,
    checkpoint: str | None,
    policy: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Export one policy of a trained run for deployment, e.g. on a Crazyflie.

    \b
    Examples:
      ghp export runs/pendulum --arch 8-4-4-4 --target c-header --name policy --out build/ --check
      ghp export runs/hopper --best --max-params 500 --target c-source --name hopper --out build/
      ghp export runs/pendulum --arch 16-16 --dtype int8 --name tiny --out build/
      ghp export runs/pendulum --arch 16-16 --target onnx --out build/
      ghp export runs/fetchreach --best --max-params 500 --checkpoint best --out build/
      ghp export runs/cf --best --max-params 2000 --by success --target crazyflie --out build/cf
      ghp export --policy runs/pendulum/tuned/16-16-es.npz --name tuned --out build/ --check
      ghp export --policy runs/pendulum/tuned/16-16-es-c8-layer.npz --dtype codebook --out build/ --check
      ghp export runs/pendulum --arch 16-16 --dtype codebook --colors 8 --out build/
      ghp export runs/cf --best --max-params 2000 --target crazyflie --out build/cf --check \\
          --firmware ../crazyflie-firmware

    The C is exactly the trained policy's deterministic action (ReLU hidden layers, tanh, scaling to the action
    bounds), with static buffers only and embedded self-test vectors (NAME_selftest(tol) == 0).

    --target crazyflie writes a whole out-of-tree controller app (Makefile, app-config, Kbuild, src/NAME.h,
    src/ghp_controller.c, README.md); --check then also builds it into the firmware (flash / RAM) and flies the
    simulated Crazyflie with the generated C against torch (software in the loop).
    """
    from rich.console import Console

    from export.api import ExportConfig
    from search.choose import PolicyChoice, export_run_policy

    with user_errors():
        if policy is None and run is None:
            raise ValueError("give the run to export from (ghp export RUN --arch ...) or --policy FILE")
        choice = PolicyChoice(arch, best, max_params, max_bytes, by=by, checkpoint=checkpoint, policy_file=policy)
        config = build_config(ExportConfig, options)
        status = "exporting"
        if config.target == "crazyflie" and config.check:
            status = "exporting and checking: host, Cortex-M4, the whole firmware build (minutes), software in the loop"
        try:
            with Console(stderr=True).status(status):
                result = export_run_policy(run, choice, config)
        except RuntimeError as e:
            raise CheckError(str(e).splitlines()[0]) from e
    _render(result, config, policy if policy is not None else run, as_json)


def _render(result: ExportResult, config: ExportConfig, origin: Path | None, as_json: bool) -> None:
    """What was written and checked; a failed check exits 1 once everything is shown."""
    from rich.console import Console

    if as_json:
        echo_json(result)
    else:
        console = Console(highlight=False, soft_wrap=True)
        console.print(
            f"exported {result.arch} ({result.n_params} params, {result.n_bytes} bytes {config.dtype}, obs "
            f"{result.obs_dim}, act {result.act_dim}) from {origin}"
        )
        for f in result.files:
            console.print(f"  wrote {f}")
        if result.n_vectors:
            selftest = f"{config.name}_selftest({result.selftest_tol:.2g}f)"
            console.print(f"  self-test: {result.n_vectors} embedded vectors; call {selftest} on the device")
        if result.int8_max_err is not None:
            console.print(f"  int8: largest action error against float32 on the test vectors {result.int8_max_err:.3g}")
        if result.codebook_max_err is not None:
            console.print(
                "  codebook: largest action error against the float32 policy on the test vectors "
                f"{result.codebook_max_err:.3g}"
            )
        for note in result.notes:
            console.print(f"  {note}")
        for step in result.check.steps if result.check is not None else []:
            console.print(f"  check {step.name}: {_MARKS[step.status]} {step.detail}")
    if result.check is not None and not result.check.ok:
        failed = ", ".join(s.name for s in result.check.steps if s.status == "failed")
        raise CheckError(f"the export was written but its check failed ({failed}); see above")
