"""The text search index: every text of the release -> search_docs, search_postings,
search_terms, search_stats (see :mod:`egoexo_sql.search` for what they hold).

The source reads the files of the five text tables (atomic descriptions, expert
commentary, transcripts, keystep, proficiency demonstration) with those tables' own
compilers, so a document says exactly what its row in the source table says, then
tokenises and counts in an in-memory DuckDB with the SQL of ``queries/search/``:
``tokenize.sql`` (the tokeniser macros), ``documents.sql`` (one row per text),
``index.sql`` (documents with at least one term, postings, terms, stats).

Re-reading the files costs a few seconds at full scale, once per build that changes a
text file; in exchange the build engine's rules apply unchanged (the index is rebuilt
when any of its inputs changes, like any other source). Commentary is read without the
per-commentary ``data.json`` files, which hold no text the index uses.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..schema import conform, get
from .atomic import compile_atomic
from .commentary import compile_commentary
from .keystep import compile_keystep
from .metadata import TAKES_JSON
from .narrations import TRANSCRIPT_GLOB, compile_narrations
from .proficiency import compile_demonstration

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

TABLES = ("search_docs", "search_postings", "search_terms", "search_stats")

#: table the documents come from -> (its input globs, its compiler)
TEXT_SOURCES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "atomic_descriptions": (("annotations/atomic_descriptions_*.json",), compile_atomic),
    "expert_commentary": (("annotations/expert_commentary_*.json",), compile_commentary),
    "narrations": ((TRANSCRIPT_GLOB, TAKES_JSON), compile_narrations),
    "keystep_segments": (("annotations/keystep_*.json",), compile_keystep),
    "proficiency_demonstration": (("annotations/proficiency_demonstration_*.json",), compile_demonstration),
}
INPUTS: tuple[str, ...] = tuple(dict.fromkeys(g for globs, _ in TEXT_SOURCES.values() for g in globs))

#: the order of index.sql's statements that leave a table behind
ORDER_BY = {"search_docs": "doc_id", "search_postings": "term_id, doc_id", "search_terms": "term_id",
            "search_stats": "CASE source WHEN 'atomic' THEN 1 WHEN 'commentary' THEN 2 "
                            "WHEN 'narration' THEN 3 WHEN 'keystep' THEN 4 ELSE 5 END"}


@cache
def _glob_re(pattern: str) -> re.Pattern[str]:
    """A release glob as a regex over relative paths (``*`` stays inside one folder)."""
    return re.compile("[^/]*".join(map(re.escape, pattern.split("*"))))


def _matching(release: "Release", files: list[Path], globs: tuple[str, ...]) -> list[Path]:
    pats = [_glob_re(g) for g in globs]
    return [f for f in files if any(p.fullmatch(release.rel(f)) for p in pats)]


def query_text(name: str) -> str:
    from ..resources import queries_dir

    return (queries_dir() / "search" / name).read_text(encoding="utf-8")


def index_tables(texts: dict[str, "pa.Table"]) -> dict[str, "pa.Table"]:
    """The four index tables from the five text tables (catalog name -> Arrow table)."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        try:  # DuckDB's bar would print over the build's own progress bar
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # inside Jupyter DuckDB refuses the change unless ipywidgets is installed
            pass
        for name, t in texts.items():
            con.register(name, t.append_column("_row", pa.array(range(t.num_rows), pa.int64())))
        con.execute(query_text("tokenize.sql"))
        con.execute("CREATE TEMP TABLE documents AS " + query_text("documents.sql"))
        con.execute(query_text("index.sql"))
        out = {}
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in get(table).column_names)
            arrow = con.sql(f"SELECT {cols} FROM {table} ORDER BY {ORDER_BY[table]}").to_arrow_table()
            out[table] = conform(table, arrow)
        return out
    finally:
        con.close()


def compile_search_index(release: "Release", files: list[Path]) -> dict[str, "pa.Table"]:
    texts = {}
    for table, (globs, compile_fn) in TEXT_SOURCES.items():
        texts[table] = compile_fn(release, _matching(release, files, globs))[table]
    return index_tables(texts)
