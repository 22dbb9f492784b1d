"""``ghp export --target crazyflie``: an out-of-tree controller app for the real Crazyflie firmware, and its checks.

- :mod:`.layout`: the Crazyflie task's observation / action layout from :mod:`ghp.envs.crazyflie`, as C;
- :mod:`.app`: the app folder (Makefile, app-config, Kbuild, ``src/ghp_controller.c``, README);
- :mod:`.firmware`: building the app into the whole firmware (``make``), warnings and memory;
- :mod:`.sil`: software in the loop, the generated C flying the simulated drone against torch.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ghp.policy.weights import PolicyWeights

from ..cost import InferenceCost, inference_cost

if TYPE_CHECKING:
    from ..check import CheckReport
    from ..job import ExportJob, ExportResult
    from ..outdir import OutDir
    from .layout import TaskLayout


BUILDABLE_PATH = re.compile(r"^[A-Za-z0-9/._+-]*$")
"""Paths the firmware's build takes literally (``tools/make/oot.mk`` passes the app folder to the shell unquoted and
kbuild splits it on spaces); the app's Makefile stops with an error on any other (``templates/Makefile``)."""


def buildable_path(path: Path) -> bool:
    """True when the firmware's build can take ``path`` (absolute) as an app folder or firmware tree."""
    return BUILDABLE_PATH.match(str(Path(path).resolve())) is not None


SAFE_SHARE = 0.5
"""Largest share of one stabilizer call a policy step may take. The policy runs inside one call of the 1 kHz
stabilizer loop (a 100 Hz policy: one call in ten), which must also run the state estimator and finish in its 1 ms;
the firmware's rate supervisor warns when the loop falls under 997 Hz. So the limit is half of that call: 500 us, 5%
of a 10 ms control period."""


@dataclass(frozen=True)
class Timing:
    """A policy's inference cost against the Crazyflie's control loop."""

    cost: InferenceCost
    """Instructions, cycles and microseconds of one inference."""
    period_us: float
    """The control period (1 / the policy rate of the task)."""
    call_us: float
    """One stabilizer call, which the inference runs inside."""

    @property
    def limit_us(self) -> float:
        """The most an inference may take: :data:`SAFE_SHARE` of one stabilizer call."""
        return SAFE_SHARE * self.call_us

    @property
    def fits(self) -> bool:
        """The inference fits in the limit."""
        return self.cost.us <= self.limit_us

    def describe(self) -> str:
        """One line: the cost against the period, the call and the limit."""
        return (
            f"{self.cost.describe()}: {100 * self.cost.us / self.period_us:.1f}% of the {self.period_us / 1000:g} ms "
            f"control period, {100 * self.cost.us / self.call_us:.0f}% of the {self.call_us / 1000:g} ms stabilizer "
            f"call it runs in (limit {100 * SAFE_SHARE:.0f}%, {self.limit_us:.0f} us)"
        )


def crazyflie_timing(
    w: PolicyWeights, dtype: str, qemu_insn: float | None = None, qemu_cycles: float | None = None
) -> Timing:
    """The inference cost of ``w`` (QEMU's count and traced cycles when given, else the estimates from its MACs)
    against the loop."""
    from .layout import STABILIZER_HZ, task_layout

    cost = inference_cost(w.arch, w.obs_dim, w.act_dim, dtype, qemu_insn, qemu_cycles)
    return Timing(cost, 1e6 / task_layout().policy_hz, 1e6 / STABILIZER_HZ)


def check_timing(timing: Timing, allow_slow: bool) -> None:
    """Refuse (one-line ``ValueError``) an inference over the limit, unless ``allow_slow``."""
    if timing.fits or allow_slow:
        return
    c = timing.cost
    how = "counted by QEMU" if c.measured else f"estimated from {c.macs:,} MACs"
    raise ValueError(
        f"this policy needs about {c.us:,.0f} us per inference ({c.instructions:,.0f} instructions, {how}), over "
        f"the {timing.limit_us:.0f} us it may take of the {timing.call_us / 1000:g} ms stabilizer call it runs in: "
        "choose a smaller architecture or --dtype int8, or export it anyway with --allow-slow"
    )


def check_crazyflie_env(env_id: str | None) -> None:
    """Refuse (``ValueError``) a policy that does not come from a Crazyflie task, before anything is written."""
    from .layout import task_layout

    ids = task_layout().env_ids
    if env_id not in ids:
        raise ValueError(
            f"--target crazyflie needs a run trained on a Crazyflie task ({', '.join(ids)}); "
            f"this one is {env_id or 'of no known environment'}"
        )


def export_crazyflie(job: ExportJob, result: ExportResult) -> ExportResult:
    """Write the app into ``job.out`` (``src/NAME.h`` through the c-header export); check it when ``config.check``.

    The checks are the c-header's own (host gcc vs torch, Cortex-M4 compile, QEMU self-test), then
    ``firmware`` (the whole firmware built with the app) and ``sil`` (software in the loop).

    Raises:
        ValueError: the policy does not come from a Crazyflie task, or ``--firmware`` is not a firmware tree.
    """
    from ..check import CheckReport
    from ..cwrite import write_c
    from .app import write_app
    from .firmware import find_firmware
    from .layout import task_layout

    w, config, env_id, out = job.weights, job.config, job.env_id, job.out
    check_crazyflie_env(env_id)
    # The run's environment options shape the observation (action_history): the app is built for them.
    layout = task_layout(job.env_kwargs)
    firmware, where = find_firmware(config.firmware) if config.check else (None, "")
    dest = job.writer()
    header = replace(config, out=out / "src", target="c-header", firmware=None, allow_slow=False)
    # The controller clips the observation before the policy sees it, so the self-test vectors are clipped too.
    box = (layout.obs_low, layout.obs_high)
    result = write_c(replace(job, config=header, out=out / "src", dest=dest, prefix="src/"), result, obs_box=box)
    timing = crazyflie_timing(w, config.dtype)
    check_timing(timing, config.allow_slow)
    result.notes.append(f"inference: {timing.describe()}")
    if not timing.fits:
        result.notes.append("over the limit: exported because of --allow-slow")
    result.files += write_app(
        dest, w, layout, config.name, job.source, selftest_tol=result.selftest_tol, timing=timing.describe()
    )
    if not buildable_path(out):
        result.notes.append(
            f"the app's folder {out.resolve()} has characters the firmware's build cannot take (spaces, quotes, ;, $, "
            "...): its Makefile stops with an error there; move it to a path of letters, digits and / . _ + -"
        )
    if not config.check:
        return result
    report = result.check if result.check is not None else CheckReport()
    result.check = report
    _check_app(job, layout, firmware, where, report, dest)
    return result


def _check_app(
    job: ExportJob, layout: TaskLayout, firmware: Path | None, where: str, report: CheckReport, dest: OutDir
) -> None:
    """The app's own checks after the c-header's: inference time, the firmware build, software in the loop; the
    results go into the app's README."""
    from .firmware import build_app, missing_build_tools

    if "qemu_insn" in report.figures:
        measured = crazyflie_timing(
            job.weights, job.config.dtype, report.figures["qemu_insn"], report.figures.get("qemu_cycles")
        )
        report.figures["inference_us"] = measured.cost.us
        ok = measured.fits or job.config.allow_slow
        over = "" if measured.fits else " (over the limit: --allow-slow)" if ok else " (over the limit)"
        report.add("timing", "ok" if ok else "failed", measured.describe() + over)
    if firmware is None:
        report.add("firmware", "skipped", where)
    elif missing_build_tools():
        report.add("firmware", "skipped", f"missing {', '.join(missing_build_tools())}")
    else:
        build = build_app(job.out, firmware, jobs=job.config.jobs)
        for kind, (used, total) in build.memory.items():
            report.figures[f"firmware_{kind.lower()}_used"] = used
            report.figures[f"firmware_{kind.lower()}_total"] = total
        report.add("firmware", "ok" if build.ok else "failed", f"{build.detail} (firmware from {where})")
        if not build.ok:
            dest.write_text("build/ghp_build.log", build.log)
    if firmware is None:
        report.add("sil", "skipped", f"the host build needs the firmware's headers: {where}")
    else:
        _sil(job, layout, firmware, report)
    readme = dest.claim("README.md").read_text(encoding="utf-8")
    rows = "".join(f"| {s.name} | {s.status} | {s.detail.replace('|', '/')} |\n" for s in report.steps)
    table = "\n## Check results (`ghp export --check`)\n\n| step | result | detail |\n|---|---|---|\n" + rows
    dest.write_text("README.md", readme + table)


def _sil(job: ExportJob, layout: TaskLayout, firmware: Path, report: CheckReport) -> None:
    """Fly the simulated drone with the app's C against torch (software in the loop)."""
    from .sil import SilError, build_library, fly

    config, env_id = job.config, str(job.env_id)  # a Crazyflie task's id (export_crazyflie checked it)
    with tempfile.TemporaryDirectory(prefix="ghp-sil-") as tmp:
        try:
            lib, _warnings = build_library(job.out, firmware, config.name, Path(tmp) / "libghp_sil.so")
            sil = fly(job.weights, layout, lib, env_id, config.sil_episodes, config.seed, job.env_kwargs, config.dtype)
        except SilError as e:
            report.add("sil", "failed", str(e).splitlines()[0])
            return
    report.figures |= {
        "sil_c_success": sum(sil.c_success) / len(sil.seeds),
        "sil_torch_success": sum(sil.torch_success) / len(sil.seeds),
        "sil_max_action_diff": sil.max_action_diff,
        "sil_max_obs_diff": sil.max_obs_diff,
        "sil_episodes": len(sil.seeds),
    }
    against = " (int8: against the int8 arithmetic's reference)" if config.dtype == "int8" else ""
    report.add("sil", "ok" if sil.ok else "failed", sil.summary() + against)


__all__ = ["export_crazyflie"]
