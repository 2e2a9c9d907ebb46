"""Every file family of the release has tables or a written reason why not.

The families come from the format reference (tests/fixtures/release_layout.txt, one
example path per family); egoexo_sql/tables/families.py says what the catalog makes of
each. Where the reference itself is at hand (../shared/egoexo-format.md, beside the
checkout in CI), the fixture is checked against its release layout too.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from egoexo_sql import schema
from egoexo_sql.tables import all_sources
from egoexo_sql.tables.families import FAMILIES, family_of, matches

HERE = Path(__file__).parent
LAYOUT = HERE / "fixtures" / "release_layout.txt"
REFERENCE = HERE.parent.parent / "shared" / "egoexo-format.md"


def _layout() -> list[str]:
    return [ln.strip() for ln in LAYOUT.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


@pytest.mark.parametrize("path", _layout())
def test_every_documented_file_has_tables_or_a_reason(path):
    found = family_of(path)
    assert found, f"{path}: no family in egoexo_sql/tables/families.py (give it tables or a reason)"
    assert len(found) == 1, f"{path}: matched by several families: {[f.pattern for f in found]}"
    f = found[0]
    assert f.tables or f.reason.strip(), f"{f.pattern}: neither tables nor a reason"


def test_family_tables_exist_and_a_source_reads_each_family():
    schemas = schema.load_schemas()
    sources = all_sources()
    for f in FAMILIES:
        assert matches(f.example, f.pattern), f"{f.pattern}: its example {f.example} does not match"
        if not f.tables:
            continue
        for t in f.tables:
            assert t in schemas, f"{f.pattern}: table {t} has no schema"
        readers = [s for s in sources if any(matches(f.example, p) for p in s.inputs)]
        assert readers, f"{f.pattern}: said to give {f.tables}, but no source reads {f.example}"
        made = {t for s in readers for t in s.tables}
        assert set(f.tables) <= made, (
            f"{f.pattern}: {set(f.tables) - made} not made by {[s.name for s in readers]}"
        )


def test_every_catalog_table_comes_from_a_family():
    """The reverse: each compiled table traces back to a family of the release."""
    from_files = {t for f in FAMILIES for t in f.tables}
    derived = {"rejects", "ego_pose_takes", "search_docs", "search_postings", "search_stats", "search_terms"}
    for name, sch in schema.load_schemas().items():
        if sch.kind == "table" and name not in derived:
            assert name in from_files, f"table {name} is not listed under any family"


def _expand(token: str) -> list[str]:
    m = re.search(r"\{([^{}]*)\}", token)
    if not m:
        return [token]
    return [
        x
        for alt in m.group(1).split(",")
        for x in _expand(token[: m.start()] + alt.strip() + token[m.end() :])
    ]


@pytest.mark.skipif(
    not REFERENCE.is_file(),
    reason="the format reference ../shared/egoexo-format.md is not beside this checkout",
)
def test_fixture_holds_the_reference_layout():
    text = REFERENCE.read_text()
    block = text.split("**Release layout.**", 1)[1].split("```", 2)[1]
    names: list[str] = []
    for line in block.splitlines():
        line = re.sub(r"\(part [^)]*\)", "", line)
        prefix = ""
        for token in re.split(r"\s{2,}", line.strip()):
            token = token.replace("<out-dir>/", "").strip()
            if not token:
                continue
            if (
                token.startswith("annotations/")
                or token.startswith("takes/")
                or token.startswith("captures/")
            ):
                prefix = ""
            elif line.startswith("  "):
                prefix = "annotations/"
            for name in _expand(prefix + token):
                if name.endswith("/..."):
                    continue
                names.append(name.rstrip("/"))
    layout = _layout()
    for name in names:
        # a folder of the tree (timesync/, trajectory/) is covered by a path inside it
        pattern = (
            name.replace("<take_uid>", "*")
            .replace("<take_name>", "*")
            .replace("<expert_uid>", "*")
            .replace("<capture_name>", "*")
            .replace("<n>", "*")
        )
        assert any(
            fnmatchcase(p, pattern) or p.startswith(name.replace("<capture_name>", "<capture_name>") + "/")
            for p in layout
        ), f"{name} (reference release layout) is not in {LAYOUT.name}"
