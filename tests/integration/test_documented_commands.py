"""Every ``ghp train`` command of README.md and docs/ runs, with its documented defaults, in smoke form.

A default that crashes must not land again: the README's FetchReach command once died at its first periodic
evaluation (step 5,000) while every test and script ran with ``--eval-every 0`` or fewer steps than that. Here each
documented command runs as written except for its length: ``--steps`` is short, and the periodic evaluation and
checkpoints come *within* those steps (``--eval-every`` is never switched off), the random-action warm-up shorter
than the run so that gradient updates happen too. Everything else (environment, algorithm, normalisation, space,
hypernetwork, environment kwargs, config files) is the documented default.

Commands run in document order in one folder per document, so ``--resume`` and ``--config FILE`` find what the
commands before them wrote. Placeholders of seed loops (``--seed S``) become seed 0.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli
from ghp.envs import episode_limit, is_goal_env_id

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
STEPS = 96
"""Smoke length after the warm-up: a multiple of the default 8 environments."""
SHORTENED = {"--steps", "--eval-every", "--checkpoint-every", "--learning-starts", "--quiet"}
"""Options whose documented values set the length of a run, replaced by the smoke length."""
_PLACEHOLDER = re.compile(r"\.\.\.|\[|\bENV\b|^ghp train$|^ghp train --(env-kwargs|baseline|normalize|freeze)$")


def documented_train_commands(doc: Path) -> list[str]:
    """The ``ghp train`` commands of ``doc``, in order: lines of fenced code blocks (continuations joined, comments
    dropped) and inline code spans that are whole commands (not fragments such as ``ghp train --baseline``)."""
    text = doc.read_text()
    found: list[tuple[int, str]] = []
    for m in re.finditer(r"```[a-z]*\n(.*?)```", text, re.S):
        block = re.sub(r"\s*\\\n\s*", " ", m.group(1))
        for line in block.splitlines():
            line = re.split(r"\s+#\s", line.strip())[0].strip()
            if line.startswith("ghp train ") and "  " not in line:  # two spaces: a diagram, not a command
                found.append((m.start(), line))
    fenced = re.sub(r"```.*?```", lambda m: " " * len(m.group(0)), text, flags=re.S)
    for m in re.finditer(r"`(ghp train[^`]*)`", fenced):
        cmd = " ".join(m.group(1).split())
        if not _PLACEHOLDER.search(cmd) and "--env" in cmd.split():  # a whole command names its environment
            found.append((m.start(), cmd))
    return [cmd for _, cmd in sorted(found, key=lambda f: f[0])]


def smoke_args(cmd: str, runner: CliRunner, seen_steps: dict[str, int]) -> tuple[list[str], str | None]:
    """``cmd``'s arguments in smoke form, and the file its standard output is redirected to (``> FILE``).

    The warm-up is 32 random steps, or for DDPG + HER one finished episode per environment (its minimum), read from
    the command's resolved settings (``--print-config``); the run is 96 steps longer, evaluated halfway and at the end.
    """
    redirect = None
    if " > " in cmd:
        cmd, redirect = (s.strip() for s in cmd.split(" > ", 1))
    words = shlex.split(cmd)[2:]
    args: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in SHORTENED:
            i += 1 if w == "--quiet" else 2
            continue
        args.append("0" if (w == "S" and args[-1:] == ["--seed"]) else re.sub(r"-sS$", "-s0", w))
        i += 1
    if "--print-config" in args:
        return args, redirect
    printed = runner.invoke(cli, ["train", *[a for a in args if a != "--resume"], "--force", "--print-config"])
    assert printed.exit_code == 0, f"{cmd}: {printed.output}"
    resolved = yaml.safe_load(printed.output)
    warmup = 32
    if is_goal_env_id(resolved["env_id"]) and resolved["algo"] != "ars":
        warmup = resolved["n_envs"] * (episode_limit(resolved["env_id"]) or 0)
    out = args[args.index("--out") + 1] if "--out" in args else None
    steps = warmup + STEPS
    if "--resume" in args and out is not None:
        steps = seen_steps.get(out, steps) + STEPS
    if out is not None:
        seen_steps[out] = steps
    if "--resume" in args:  # the saved run's evaluation and checkpoint periods carry on
        return [*args, "--steps", str(steps), "--quiet"], redirect
    half = str(steps // 2)
    smoke = ["--steps", str(steps), "--eval-every", half, "--checkpoint-every", half, "--learning-starts", str(warmup)]
    return [*args, *smoke, "--quiet"], redirect


def _cases() -> list[tuple[str, list[str]]]:
    return [(doc.name, cmds) for doc in DOCS if (cmds := documented_train_commands(doc))]


def test_the_documents_hold_train_commands():
    names = {name for name, _ in _cases()}
    assert {"README.md", "train.md", "learning.md", "crazyflie.md"} <= names
    readme = dict(_cases())["README.md"]
    assert "ghp train --env FetchReach-v4 --out runs/fetchreach" in readme
    assert "ghp train --env ghp/CrazyflieHover-v0 --out runs/hover" in readme


@pytest.mark.parametrize(("doc", "commands"), _cases(), ids=[name for name, _ in _cases()])
def test_documented_train_commands_run_with_their_defaults(doc, commands, tmp_path, monkeypatch):
    pytest.importorskip("gymnasium_robotics")
    monkeypatch.chdir(tmp_path)
    seen: dict[str, int] = {}
    runner = CliRunner()
    for cmd in commands:
        args, redirect = smoke_args(cmd, runner, seen)
        out = args[args.index("--out") + 1] if "--out" in args else None
        if out is not None and "--resume" not in args and (tmp_path / out).exists():
            args.append("--force")  # a later command of the document reuses a folder name
        r = runner.invoke(cli, ["train", *args])
        assert r.exit_code == 0, f"{doc}: {cmd}\n-> ghp train {shlex.join(args)}\n{r.output}"
        if redirect is not None:
            Path(redirect).write_text(r.output)
        elif out is not None:
            assert (tmp_path / out / "eval.jsonl").is_file(), f"{doc}: {cmd}: no periodic evaluation ran"
