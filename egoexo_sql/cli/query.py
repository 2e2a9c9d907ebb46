"""``egoexo-sql query``, ``tables`` and ``describe``.

``query`` is on the fast path: nothing heavier than duckdb and sqlglot is imported
(no polars, pandas, pyarrow or great_expectations; pyarrow only for ``--format
parquet``); rows come from DuckDB's cursor in batches and are formatted by
:mod:`egoexo_sql.output`.
"""

from __future__ import annotations

import inspect
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from ..query_runner import QUERY_OPTIONS
from .app import CATALOG_HELP, app, catalog_dir, command_errors


class TextFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


def query(**options: object) -> None:
    """Run one read-only SQL query against the catalog (sandboxed: no files, no extensions)."""
    from ..query_runner import run_query

    def value(name: str) -> Any:
        v = options.get(name)
        return v.value if isinstance(v, Enum) else v

    with command_errors():
        run_query(
            value("sql"),
            value("file"),
            value("format"),
            value("output"),
            catalog_dir(value("catalog")),
            value("dialect"),
        )


def _query_signature() -> inspect.Signature:
    """The typer parameters of ``query``, made from the one option table
    (:data:`egoexo_sql.query_runner.QUERY_OPTIONS`) the fast entry point parses with."""
    params = []
    for o in QUERY_OPTIONS:
        annotation: object = Optional[Path] if o.is_path else Optional[str]  # noqa: UP045
        if not o.flags:
            default: object = typer.Argument(None, help=o.help)
        elif o.choices:
            choice = Enum(o.name.title(), {c: c for c in o.choices}, type=str)  # type: ignore[misc]
            annotation = choice if o.default is not None else Optional[choice]  # noqa: UP045
            default = typer.Option(
                choice(o.default) if o.default is not None else None, *o.flags, help=o.help
            )
        else:
            default = typer.Option(None, *o.flags, help=o.help)
        params.append(
            inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    return inspect.Signature(params, return_annotation=None)


query.__signature__ = _query_signature()  # type: ignore[attr-defined]
query.__annotations__ = {}
app.command()(query)


@app.command()
def tables(
    format: TextFormat = typer.Option(TextFormat.table, "--format", help="Output format."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
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
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
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
