"""The generated docs (issue 7.3): nothing undocumented, nothing stale.

docs/data-dictionary.md, docs/cookbook.md and docs/cli-reference.md are written by
`python -m egoexo_sql.docs`; these tests regenerate them in memory (the cookbook on a
demo catalog built at the generator's fixed scale and seed) and compare. When they
fail because the docs are stale, run `python -m egoexo_sql.docs` and commit docs/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from egoexo_sql import docs
from egoexo_sql.catalog import Catalog
from egoexo_sql.resources import queries_dir
from egoexo_sql.schema import load_schemas

DOCS = Path(__file__).resolve().parent.parent / "docs"
REGENERATE = "the docs are stale: run `python -m egoexo_sql.docs` and commit docs/"


@pytest.fixture(scope="module")
def docs_catalog(tmp_path_factory) -> Path:
    """The demo catalog the cookbook's results come from (DEMO_SCALE, DEMO_SEED)."""
    return docs.demo_catalog(tmp_path_factory.mktemp("docs"))


@pytest.fixture(scope="module")
def generated(docs_catalog) -> dict[str, str]:
    return docs.generate(docs_catalog)


def _section(text: str, heading: str) -> str:
    """The body of `## heading` up to the next `## `."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"no section '## {heading}'"
    return m.group(1)


# --------------------------------------------------------------------------- stale


@pytest.mark.parametrize("name", docs.FILES)
def test_generated_docs_are_current(generated, name):
    committed = DOCS / name
    assert committed.is_file(), f"docs/{name} is missing; {REGENERATE}"
    assert committed.read_text(encoding="utf-8") == generated[name], f"docs/{name}: {REGENERATE}"


def test_generation_is_deterministic(generated, docs_catalog):
    again = docs.cookbook(docs_catalog)
    assert again == generated["cookbook.md"]
    assert docs.data_dictionary() == generated["data-dictionary.md"]


def test_check_mode_reports_stale_files(docs_catalog, tmp_path):
    args = ["--out-dir", str(tmp_path), "--catalog", str(docs_catalog)]
    assert docs.main(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(docs.FILES)
    assert docs.main(args + ["--check"]) == 0
    (tmp_path / "cookbook.md").write_text("old\n", encoding="utf-8")
    assert docs.main(args + ["--check"]) == 1
    assert (tmp_path / "cookbook.md").read_text(encoding="utf-8") == "old\n"


# --------------------------------------------------------------------------- views and columns


def test_every_schema_view_and_column_is_described():
    missing = []
    for name, s in load_schemas().items():
        if not s.description.strip():
            missing.append(f"{name}: no description")
        if not s.grain.strip():
            missing.append(f"{name}: no grain")
        missing += [f"{name}.{c.name}: no description" for c in s.columns if not c.description.strip()]
    assert not missing, "undocumented in schemas/: " + "; ".join(missing)


def test_every_catalog_view_and_column_is_in_the_dictionary(docs_catalog):
    text = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    with Catalog.open(docs_catalog) as cat:
        views = cat.views()
        assert "takes" in views and "take_summary" in views
        for view in views:
            assert f"\n## {view}\n" in text, f"view {view} is not in docs/data-dictionary.md; {REGENERATE}"
            section = _section(text, view)
            for column, typ, _null, description in cat.describe_rows(view):
                assert description.strip(), f"{view}.{column} has no description in schemas/{view}.toml"
                row = re.search(rf"^\| `{re.escape(column)}` \| `([^`]+)` \|", section, re.M)
                assert row, f"{view}.{column} is not in docs/data-dictionary.md; {REGENERATE}"
                assert row.group(1) == typ, f"{view}.{column}: documented as {row.group(1)}, is {typ}"


def test_dictionary_shows_keys_and_partitioning():
    text = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    ks = _section(text, "keystep_segments")
    assert "**Primary key:** `take_uid`, `segment_idx`" in ks
    cp = _section(text, "camera_poses")
    assert "**Partitioned by:** `split` (`data/camera_poses/split=<value>/part-0.parquet`)" in cp
    assert "→ `takes.take_uid` in [`takes`](#takes)" in ks
    assert "**Defined by:** `queries/views/take_summary.sql`" in _section(text, "take_summary")


# --------------------------------------------------------------------------- commands


def test_every_command_is_documented():
    text = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    found = docs.commands()
    names = [n for n, _ in found]
    assert {"demo", "build", "query", "tables", "describe", "export-views"} <= set(names)
    assert "docs" not in names  # hidden
    problems = []
    for name, cmd in found:
        if not (cmd.help or "").strip():
            problems.append(f"`egoexo-sql {name}` has no help text (docstring)")
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not (getattr(p, "help", "") or "").strip():
                problems.append(f"`egoexo-sql {name}` option {'/'.join(p.opts)} has no help")
        if f"\n## egoexo-sql {name}\n" not in text:
            problems.append(f"`egoexo-sql {name}` is not in docs/cli-reference.md ({REGENERATE})")
    assert not problems, "; ".join(problems)


def test_cli_reference_holds_the_help_text():
    text = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    query = _section(text, "egoexo-sql query")
    assert "Usage: egoexo-sql query" in query and "--dialect" in query
    assert "Usage: egoexo-sql export-views" in _section(text, "egoexo-sql export-views")
    assert not re.search(r"\x1b\[", text), "colour codes leaked into the reference"
    assert all(len(line) <= docs.HELP_WIDTH for line in text.split("```text")[1].splitlines())


def test_docs_command_is_hidden_and_checks(tmp_path):
    r = subprocess.run([sys.executable, "-m", "egoexo_sql", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "export-views" in r.stdout
    assert not re.search(r"^\W*docs\s", r.stdout, re.M)
    r = subprocess.run([sys.executable, "-m", "egoexo_sql", "docs", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--check" in r.stdout


# --------------------------------------------------------------------------- cookbook


def test_examples_have_a_title_and_a_question():
    items = docs.examples()
    assert 8 <= len(items) <= 15
    for e in items:
        assert e.title and not e.title.endswith(".")
        assert e.question.endswith("?") or e.question.endswith(".)"), (
            f"{e.name}: the question should end with '?'"
        )


def test_examples_run_in_the_sandbox_like_egoexo_sql_query(docs_catalog):
    with Catalog.open(docs_catalog, sandbox=True) as cat:
        for e in docs.examples():
            cur = cat.execute(e.sql)
            rows = cur.fetchall()
            assert rows, f"queries/examples/{e.name}.sql returns no rows on the demo release"


def test_cookbook_has_every_example_with_its_result():
    text = (DOCS / "cookbook.md").read_text(encoding="utf-8")
    for i, e in enumerate(docs.examples(), 1):
        section = _section(text, f"{i}. {e.title}")
        assert e.question in section
        assert f"```sql\n{e.sql}\n```" in section
        assert re.search(r"^\| --", section, re.M), f"{e.name}: no result table"
        assert re.search(r"^\*\d+ rows?", section, re.M)


def test_read_example_rejects_files_without_title_or_question(tmp_path):
    f = tmp_path / "x.sql"
    f.write_text("SELECT 1;\n", encoding="utf-8")
    with pytest.raises(ValueError, match="title"):
        docs.read_example(f)
    f.write_text("-- Title only\nSELECT 1;\n", encoding="utf-8")
    with pytest.raises(ValueError, match="question"):
        docs.read_example(f)
    f.write_text("-- Title\n-- What is one?\n\nSELECT 1;\n", encoding="utf-8")
    e = docs.read_example(f)
    assert (e.title, e.question, e.sql) == ("Title", "What is one?", "SELECT 1;")


def test_format_value():
    import datetime as dt
    from decimal import Decimal

    assert docs.format_value(None) == "NULL"
    assert docs.format_value(True) == "true"
    assert docs.format_value(3.0) == "3"
    assert docs.format_value(0.1 + 0.2) == "0.3"
    assert docs.format_value(-0.00001) == "0"
    assert docs.format_value(Decimal("2.50")) == "2.5"
    assert docs.format_value(["a", 1.5, None]) == "[a, 1.5, NULL]"
    assert docs.format_value(dt.datetime(2023, 1, 2, 3, 4, 5)) == "2023-01-02 03:04:05"
    assert len(docs.format_value("x" * 200)) == docs.MAX_CELL


def test_examples_dir_is_the_one_shipped():
    assert (queries_dir() / "examples").is_dir()
    assert [e.name for e in docs.examples()] == sorted(
        p.stem for p in (queries_dir() / "examples").glob("*.sql")
    )
