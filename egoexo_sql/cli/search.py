"""``egoexo-sql search "QUERY"``: ranked (BM25) text search over the annotations' text.

Prints one hit a line: score, source, take_uid, take_name, time in seconds, snippet
(``--format`` table, csv, json or ndjson give every column of a hit instead). Runs
``queries/search/bm25.sql`` on the catalog's DuckDB connection (``--engine sql``, no
index loaded first), or the in-memory engine (``--engine memory``). Only duckdb and the
standard library are imported (no polars, pandas or numpy on the default path).
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any, TextIO

import typer

from .app import CATALOG_HELP, app, catalog_dir, command_errors


class SearchSource(str, Enum):
    atomic = "atomic"
    commentary = "commentary"
    narration = "narration"
    keystep = "keystep"
    demonstration = "demonstration"


class SearchFormat(str, Enum):
    lines = "lines"
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


class Engine(str, Enum):
    sql = "sql"
    memory = "memory"


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def write_lines(rows: list[tuple[Any, ...]], terms: list[str], out: TextIO, width: int = 80) -> None:
    """score, source, take_uid, take_name, time (s), snippet; aligned, one hit a line."""
    from ..search import HIT_COLUMNS, snippet

    if not rows:
        return
    col = {c: i for i, c in enumerate(HIT_COLUMNS)}
    cells = [
        (
            _num(r[col["score"]], ".3f"),
            r[col["source"]],
            r[col["take_uid"]] or "-",
            r[col["take_name"]] or "-",
            _num(r[col["time"]], ".2f"),
            snippet(r[col["text"]], terms, width),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for c in cells:
        out.write(
            "  ".join(
                [
                    c[0].rjust(widths[0]),
                    c[1].ljust(widths[1]),
                    c[2].ljust(widths[2]),
                    c[3].ljust(widths[3]),
                    c[4].rjust(widths[4]),
                    c[5],
                ]
            ).rstrip()
            + "\n"
        )


@app.command()
def search(
    query: str = typer.Argument(
        ..., help='Words to look for, e.g. "cracks an egg" (any of them; see --all).'
    ),
    sources: list[SearchSource] | None = typer.Option(
        None,
        "--in",
        help="Search only these sources: atomic commentary narration keystep demonstration.",
        show_default=False,
    ),
    scenario: list[str] | None = typer.Option(
        None,
        "--scenario",
        help="Only takes of this scenario, e.g. Cooking (repeatable: any of them).",
        show_default=False,
    ),
    limit: int = typer.Option(20, "--limit", min=1, help="Hits to print."),
    all_terms: bool = typer.Option(False, "--all", help="Only texts that contain every word of the query."),
    format: SearchFormat = typer.Option(SearchFormat.lines, "--format", help="Output format."),
    engine: Engine = typer.Option(
        Engine.sql,
        "--engine",
        help="sql: bm25.sql over the Parquet; memory: load the index first (faster when searching a lot).",
    ),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Ranked (BM25) text search over atomic descriptions, expert commentary, narrations,
    keystep steps and demonstration comments: score, source, take, time (s), snippet."""
    with command_errors():
        from ..catalog import Catalog
        from ..search import HIT_COLUMNS, HIT_TYPES, query_terms
        from ..search import search as run

        terms = query_terms(query)
        with Catalog.open(catalog_dir(catalog)) as cat:
            rows = run(
                cat,
                query,
                sources=[s.value for s in sources] if sources else None,
                scenarios=scenario or None,
                limit=limit,
                all_terms=all_terms,
                engine=engine.value,
            )
        if format is SearchFormat.lines:
            write_lines(rows, terms, sys.stdout)
        else:
            from .. import output as out

            out.write_text(format.value, list(HIT_COLUMNS), list(HIT_TYPES), [rows], sys.stdout)
        if not rows:
            typer.echo(f"no hits for {query!r}", err=True)
