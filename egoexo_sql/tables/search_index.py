"""The text search index: every text of the release -> search_docs, search_postings,
search_terms, search_stats (see :mod:`egoexo_sql.search` for what they hold).

The source ``uses`` the five text tables (atomic descriptions, expert commentary,
narrations, keystep segments, proficiency demonstration) as the catalog holds them, so
a document says exactly what its row in the source table says and no file is parsed
twice; it tokenises and counts in an in-memory DuckDB with the SQL of
``queries/search/``: ``tokenize.sql`` (the tokeniser macros), ``documents.sql`` (one
row per text), ``index.sql`` (documents with at least one term, postings, terms, stats).

The build runs it after those tables are written and rebuilds it when any of them is
rebuilt; its ``inputs`` (the text files) also trigger a rebuild when they change.
Commentary's per-commentary ``data.json`` files hold no text the index uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..schema import conform, get
from .metadata import TAKES_JSON
from .narrations import TRANSCRIPT_GLOB

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

TABLES = ("search_docs", "search_postings", "search_terms", "search_stats")

#: table the documents come from -> the input globs of the source that compiles it
TEXT_TABLES: dict[str, tuple[str, ...]] = {
    "atomic_descriptions": ("annotations/atomic_descriptions_*.json",),
    "expert_commentary": ("annotations/expert_commentary_*.json",),
    "narrations": (TRANSCRIPT_GLOB, TAKES_JSON),
    "keystep_segments": ("annotations/keystep_*.json",),
    "proficiency_demonstration": ("annotations/proficiency_demonstration_*.json",),
}
USES: tuple[str, ...] = tuple(TEXT_TABLES)
INPUTS: tuple[str, ...] = tuple(dict.fromkeys(g for globs in TEXT_TABLES.values() for g in globs))

#: the order of index.sql's statements that leave a table behind
ORDER_BY = {
    "search_docs": "doc_id",
    "search_postings": "term_id, doc_id",
    "search_terms": "term_id",
    "search_stats": "CASE source WHEN 'atomic' THEN 1 WHEN 'commentary' THEN 2 "
    "WHEN 'narration' THEN 3 WHEN 'keystep' THEN 4 ELSE 5 END",
}


def query_text(name: str) -> str:
    from ..resources import queries_dir

    return (queries_dir() / "search" / name).read_text(encoding="utf-8")


def index_tables(texts: dict[str, pa.Table]) -> dict[str, pa.Table]:
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


def compile_search_index(
    release: Release, files: list[Path], tables: Mapping[str, pa.Table]
) -> dict[str, pa.Table]:
    """The index from the text tables (``tables``: the source's ``uses``)."""
    return index_tables({name: tables[name] for name in TEXT_TABLES})
