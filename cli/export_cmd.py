"""``ghp export``: write a run's chosen policy as C, ONNX or NumPy, and optionally verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.common import rank_order_option, user_errors
from cli.options import ConfigCommand, build_config


class CheckError(click.ClickException):
    """The export was written but a check failed (exit status 1)."""

    exit_code = 1


@click.command(cls=ConfigCommand, config="export.api:ExportConfig")
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
def export(
    run: Path | None,
    arch: str | None,
    best: bool,
    max_params: int | None,
    max_bytes: int | None,
    by: str,
    checkpoint: str | None,
    policy: Path | None,
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

    from export.api import ExportConfig, export_policy, policy_from_file, policy_from_run

    with user_errors():
        if policy is not None and (arch is not None or best or checkpoint is not None):
            raise ValueError("--policy exports that file: leave out --arch, --best and --checkpoint")
        if policy is None and run is None:
            raise ValueError("give the run to export from (ghp export RUN --arch ...) or --policy FILE")
        if best and arch is not None:
            raise ValueError("give either --arch or --best, not both")
        if best and max_params is None and max_bytes is None:
            raise ValueError("--best needs a budget: --max-params N (or --max-bytes B)")
        if not best and (max_params is not None or max_bytes is not None):
            raise ValueError("--max-params / --max-bytes go with --best")
        if not best and by != "auto" and not (arch is not None and checkpoint == "best"):
            raise ValueError("--by goes with --best (or with --arch A --checkpoint best)")
        if not best and arch is None and policy is None:
            raise ValueError("choose the policy with --arch W-W-... or with --best --max-params N")
        config = build_config(ExportConfig, options)
        codebook = None
        if policy is not None:
            chosen, codebook = policy_from_file(policy, run)
        else:
            assert run is not None
            budget_dtype = "float32" if config.dtype == "codebook" else config.dtype
            chosen = policy_from_run(run, arch, max_params, max_bytes, budget_dtype, checkpoint, by)
        status = "exporting"
        if config.target == "crazyflie" and config.check:
            status = "exporting and checking: host, Cortex-M4, the whole firmware build (minutes), software in the loop"
        try:
            with Console(stderr=True).status(status):
                result = export_policy(
                    chosen.weights, config, chosen.env_id, chosen.source, codebook, env_kwargs=chosen.env_kwargs
                )
        except RuntimeError as e:
            raise CheckError(str(e).splitlines()[0]) from e

    console = Console(highlight=False, soft_wrap=True)
    w = chosen.weights
    console.print(
        f"exported {result.arch} ({result.n_params} params, {result.n_bytes} bytes {config.dtype}, obs {w.obs_dim}, "
        f"act {w.act_dim}) from {policy if policy is not None else run}"
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
    if result.check is not None:
        for step in result.check.steps:
            mark = {"ok": "[green]ok[/]", "failed": "[red]FAILED[/]", "skipped": "[yellow]skipped[/]"}[step.status]
            console.print(f"  check {step.name}: {mark} {step.detail}")
        if not result.check.ok:
            failed = ", ".join(s.name for s in result.check.steps if s.status == "failed")
            raise CheckError(f"the export was written but its check failed ({failed}); see above")
