"""Every relative link of README.md and docs/*.md points at a file of the repository and, with ``#anchor``, at a
heading of that page (GitHub's anchors: the heading in lower case, punctuation dropped, spaces as hyphens)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of ``page``'s headings (outside code blocks)."""
    text = FENCE.sub("", page.read_text())
    out = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_relative_links_resolve() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(FENCE.sub("", page.read_text())):
            if re.match(r"[a-z]+:", target) or target.startswith("#") and not target[1:]:
                continue  # a web address
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_anchor_rule_matches_githubs() -> None:
    page = ROOT / "docs" / "crazyflie-results.md"
    assert "the-default-command-2026-12-07" in anchors(page)
    assert "goto-from-a-hover-run-on-three-seeds-screened-confirmed-and-exported-by-ghps-commands-2026-12-07" in (
        anchors(page)
    )
