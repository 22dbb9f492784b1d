"""``ghp export``: write a run's chosen policy as C, ONNX or NumPy, and optionally verify it."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import user_errors


class CheckError(click.ClickException):
    """The export was written but a check failed (exit status 1)."""

    exit_code = 1


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--arch", help="Architecture to export, e.g. 8-4-4-4 (hidden widths).")
@click.option("--best", is_flag=True, help="Export the best architecture under --max-params / --max-bytes.")
@click.option("--max-params", type=click.IntRange(min=1), help="Parameter budget for --best.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Byte budget for --best (at --dtype).")
@click.option(
    "--target",
    type=click.Choice(["c-header", "c-source", "onnx", "numpy", "crazyflie"]),
    default="c-header",
    show_default=True,
    help="c-header: one NAME.h; c-source: NAME.c + NAME.h; onnx: NAME.onnx; numpy: NAME.npz; crazyflie: an "
    "out-of-tree controller app for the Crazyflie firmware (Crazyflie runs only).",
)
@click.option("--name", default="policy", show_default=True, help="C identifier: symbol prefix and file name.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("."), show_default=True, help="Output directory.")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "int8"]),
    default="float32",
    show_default=True,
    help="int8: int8 weights with one float scale per output row (C targets).",
)
@click.option("--check", is_flag=True, help="Verify: host gcc vs torch, arm-none-eabi-gcc sizes, QEMU self-test.")
@click.option("--checkpoint", help="Export from this checkpoint of the run instead of its latest model.")
@click.option(
    "--rollouts", type=click.IntRange(min=1), default=12, show_default=True, help="Self-test vectors from rollouts."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the self-test rollouts.")
@click.option(
    "--firmware",
    type=click.Path(path_type=Path),
    help="crazyflie --check: the crazyflie-firmware checkout to build into (default $CRAZYFLIE_FIRMWARE, then "
    "../shared/crazyflie-firmware; build and SIL are skipped when none is found).",
)
@click.option(
    "--sil-episodes",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="crazyflie --check: software-in-the-loop episodes flown by the generated C and by torch (same seeds).",
)
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="crazyflie --check: make -jN.")
def export(
    run: Path,
    arch: str | None,
    best: bool,
    max_params: int | None,
    max_bytes: int | None,
    target: str,
    name: str,
    out: Path,
    dtype: str,
    check: bool,
    checkpoint: str | None,
    rollouts: int,
    seed: int,
    firmware: Path | None,
    sil_episodes: int,
    jobs: int,
) -> None:
    """Export one policy of a trained run for deployment, e.g. on a Crazyflie.

    \b
    Examples:
      ghp export runs/pendulum --arch 8-4-4-4 --target c-header --name policy --out build/ --check
      ghp export runs/hopper --best --max-params 500 --target c-source --name hopper --out build/
      ghp export runs/pendulum --arch 16-16 --dtype int8 --name tiny --out build/
      ghp export runs/pendulum --arch 16-16 --target onnx --out build/
      ghp export runs/cf --best --max-params 2000 --target crazyflie --out build/cf --check \\
          --firmware ../crazyflie-firmware

    The C is exactly the trained policy's deterministic action (ReLU hidden layers, tanh, scaling to the action
    bounds), with static buffers only and embedded self-test vectors (NAME_selftest(tol) == 0).

    --target crazyflie writes a whole out-of-tree controller app (Makefile, app-config, Kbuild, src/NAME.h,
    src/ghp_controller.c, README.md); --check then also builds it into the firmware (flash / RAM) and flies the
    simulated Crazyflie with the generated C against torch (software in the loop).
    """
    from rich.console import Console

    from export.api import ExportConfig, export_policy, policy_from_run

    with user_errors():
        if best and arch is not None:
            raise ValueError("give either --arch or --best, not both")
        if best and max_params is None and max_bytes is None:
            raise ValueError("--best needs a budget: --max-params N (or --max-bytes B)")
        if not best and (max_params is not None or max_bytes is not None):
            raise ValueError("--max-params / --max-bytes go with --best")
        if not best and arch is None:
            raise ValueError("choose the policy with --arch W-W-... or with --best --max-params N")
        config = ExportConfig(
            out=out,
            name=name,
            target=target,
            dtype=dtype,
            check=check,
            n_rollout=rollouts,
            seed=seed,
            firmware=firmware,
            sil_episodes=sil_episodes,
            jobs=jobs,
        )
        chosen = policy_from_run(run, arch, max_params, max_bytes, dtype, checkpoint)
        status = "exporting"
        if target == "crazyflie" and check:
            status = "exporting and checking: host, Cortex-M4, the whole firmware build (minutes), software in the loop"
        try:
            with Console(stderr=True).status(status):
                result = export_policy(chosen.weights, config, chosen.env_id, chosen.source, chosen.env_kwargs)
        except RuntimeError as e:
            raise CheckError(str(e).splitlines()[0]) from e

    console = Console(highlight=False, soft_wrap=True)
    w = chosen.weights
    console.print(
        f"exported {result.arch} ({result.n_params} params, {result.n_bytes} bytes {dtype}, obs {w.obs_dim}, "
        f"act {w.act_dim}) from {run}"
    )
    for f in result.files:
        console.print(f"  wrote {f}")
    if result.n_vectors:
        console.print(f"  self-test: {result.n_vectors} embedded vectors; call {name}_selftest(1e-5f) on the device")
    if result.int8_max_err is not None:
        console.print(f"  int8: largest action error against float32 on the test vectors {result.int8_max_err:.3g}")
    for note in result.notes:
        console.print(f"  {note}")
    if result.check is not None:
        for step in result.check.steps:
            mark = {"ok": "[green]ok[/]", "failed": "[red]FAILED[/]", "skipped": "[yellow]skipped[/]"}[step.status]
            console.print(f"  check {step.name}: {mark} {step.detail}")
        if not result.check.ok:
            failed = ", ".join(s.name for s in result.check.steps if s.status == "failed")
            raise CheckError(f"the export was written but its check failed ({failed}); see above")
