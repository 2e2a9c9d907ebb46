"""``egoexo-sql query``, ``tables`` and ``describe``.

``query`` is on the fast path: nothing heavier than duckdb and sqlglot is imported
(no polars, pandas, pyarrow or great_expectations; pyarrow only for ``--format
parquet``); rows come from DuckDB's cursor in batches and are formatted by
:mod:`egoexo_sql.output`.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..engines import Dialect
from .app import CATALOG_HELP, app, catalog_dir, command_errors


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    parquet = "parquet"


class TextFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


@app.command()
def query(
    sql: Optional[str] = typer.Argument(None, help="One read-only SQL query ('-': read stdin)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the SQL from this file ('-': stdin)."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout (parquet needs one)."),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=CATALOG_HELP),
    dialect: Optional[Dialect] = typer.Option(None, "--dialect", help="Print the query transpiled for this engine (sqlglot) instead of running it."),
) -> None:
    """Run one read-only SQL query against the catalog (sandboxed: no files, no extensions)."""
    from ..query_runner import run_query

    with command_errors():
        run_query(sql, file, format.value, output, catalog_dir(catalog), dialect.value if dialect else None)


@app.command()
def tables(
    format: TextFormat = typer.Option(TextFormat.table, "--format", help="Output format."),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """List the catalog's views with row counts and descriptions."""
    with command_errors():
        from .. import output as out
        from ..catalog import TABLE_COLUMNS, Catalog

        with Catalog.open(catalog_dir(catalog)) as cat:
            rows = cat.table_rows()
        types = ["VARCHAR", "VARCHAR", "BIGINT", "VARCHAR"]
        out.write_text(format.value, TABLE_COLUMNS, types, [rows], sys.stdout, max_cell=0)


@app.command()
def describe(
    table: str = typer.Argument(..., help="A view of the catalog, e.g. takes."),
    format: TextFormat = typer.Option(TextFormat.table, "--format", help="Output format."),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Columns of a view: types, nullability and descriptions."""
    with command_errors():
        from .. import output as out
        from ..catalog import DESCRIBE_COLUMNS, Catalog

        with Catalog.open(catalog_dir(catalog)) as cat:
            rows = cat.describe_rows(table)
            about = cat.table_description(table)
        if format.value == "table" and about:
            sys.stdout.write(f"{table}: {about}\n\n")
        types = ["VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR"]
        out.write_text(format.value, DESCRIBE_COLUMNS, types, [rows], sys.stdout, max_cell=0)
