"""The figure tables of docs/ are rendered from the committed data under docs/results/ (docs/render.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _render():
    spec = importlib.util.spec_from_file_location("docs_render", ROOT / "docs" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_tables_match_committed_data(capsys):
    assert _render().main(["--check"]) == 0, capsys.readouterr().err


def test_every_table_is_used_once():
    render = _render()
    found = []
    for page in render.PAGES:
        found += [m.group("name") for m in render.MARKER.finditer((ROOT / "docs" / page).read_text())]
    assert sorted(found) == sorted(render.TABLES), "each table in TABLES sits between markers in exactly one page"


def test_check_names_a_drifted_table(tmp_path, monkeypatch, capsys):
    render = _render()
    page = tmp_path / "results.md"
    text = (ROOT / "docs" / "results.md").read_text()
    page.write_text(text.replace("| Pendulum-v1 (10k, seed 0) | -142.0", "| Pendulum-v1 (10k, seed 0) | -140.0", 1))
    monkeypatch.setattr(render, "DOCS", tmp_path)
    monkeypatch.setattr(render, "PAGES", ("results.md",))
    assert render.main(["--check"]) == 1
    assert "table-i" in capsys.readouterr().err


def test_unknown_table_is_an_error():
    with pytest.raises(ValueError, match="unknown table"):
        _render().render_text("<!-- table: no-such-table -->\n<!-- /table -->\n")


def test_check_names_a_drifted_table_on_every_page(tmp_path, monkeypatch, capsys):
    """A hand edit of a rendered figure on any page (here the ES table of tune.md) is caught, not only on results.md."""
    render = _render()
    page = tmp_path / "tune.md"
    text = (ROOT / "docs" / "tune.md").read_text()
    edited = text.replace("| 4-64 (401) | float32 | -507.3 ± 458.9 |", "| 4-64 (401) | float32 | -500.0 ± 458.9 |", 1)
    assert edited != text
    page.write_text(edited)
    monkeypatch.setattr(render, "DOCS", tmp_path)
    monkeypatch.setattr(render, "PAGES", ("tune.md",))
    assert render.main(["--check"]) == 1
    assert "tune-tradeoff" in capsys.readouterr().err


@pytest.mark.parametrize(
    "page",
    ["README.md"]
    + [f"docs/{p}.md" for p in ("results", "learning", "chromatic", "train", "evaluate", "export", "distributed")]
    + [f"docs/{p}.md" for p in ("tune", "related", "security")],
)
def test_docs_cite_no_files_users_do_not_have(page):
    """The development machine's reference notes, paper copies and ../shared checkout are not in the repository."""
    text = (ROOT / page).read_text()
    for private in ("REFERENCE.md", "papers/", "../shared", "/work/shared"):
        assert private not in text, f"{page} cites {private}"
