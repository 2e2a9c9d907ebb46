"""``egoexo-sql query``, ``tables`` and ``describe``.

``query`` is on the fast path: nothing heavier than duckdb and sqlglot is imported
(no polars, pandas, pyarrow or great_expectations; pyarrow only for ``--format
parquet``); rows come from DuckDB's cursor in batches and are formatted by
:mod:`egoexo_sql.output`.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer

from ..engines import Dialect
from ..errors import EgoExoSQLError, UsageError
from . import app, catalog_dir, fail


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


CATALOG_HELP = "Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog)."


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors as one line on stderr and their exit code; a closed pipe ends quietly."""
    try:
        yield
    except EgoExoSQLError as e:
        fail(str(e), e.exit_code)
    except BrokenPipeError:
        # `egoexo-sql query ... | head`: stop writing, exit cleanly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0)


@contextmanager
def _sink(output: Optional[str], binary: bool = False):
    """stdout, or a temporary file beside OUTPUT renamed over it once complete."""
    if output is None or output == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    target = Path(output)
    if target.is_dir():
        raise UsageError(f"--output {output} is a folder; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"--output {output}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if binary:
            with open(tmp, "wb") as f:
                yield f
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                yield f
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _read_sql(sql: Optional[str], file: Optional[Path]) -> str:
    if sql is not None and file is not None:
        raise UsageError("give the SQL as an argument or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"--file {file}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"--file {file} is a folder, not a SQL file") from None
        except UnicodeDecodeError as e:
            raise UsageError(f"--file {file}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if sql == "-" or (sql is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    if sql is None:
        raise UsageError("no SQL given: egoexo-sql query \"SELECT ...\" (or --file F, or SQL on stdin)")
    return sql


def _done(n: int, output: Optional[str], fmt: str) -> None:
    if output not in (None, "-"):
        typer.echo(f"wrote {n} row{'' if n == 1 else 's'} ({fmt}) to {output}", err=True)


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
    with _errors():
        fmt = format.value
        text = _read_sql(sql, file)
        if not text.strip():
            raise UsageError("the SQL is empty")
        if dialect is not None:
            _print_transpiled(text, dialect, output)
            return
        if fmt == "parquet" and output is None:
            raise UsageError("--format parquet needs --output FILE (or --output - into a pipe)")
        if fmt == "parquet" and output == "-" and sys.stdout.isatty():
            raise UsageError("refusing to write Parquet to a terminal; use --output FILE or a pipe")

        from .. import output as out
        from ..catalog import Catalog

        cat = Catalog.open(catalog_dir(catalog), sandbox=True)
        try:
            if fmt == "parquet":
                rel = cat.relation(text)
                reader = _fetch(lambda: rel.to_arrow_reader(100_000))
                with _sink(output, binary=True) as f:
                    n = _fetch(lambda: out.write_parquet(reader, f))
            else:
                cur = cat.execute(text)
                columns = [d[0] for d in cur.description]
                types = [str(d[1]) for d in cur.description]
                if any("WITH TIME ZONE" in t for t in types):
                    # DuckDB turns TIMESTAMPTZ into Python values only with pytz; Arrow
                    # (zoneinfo) does without. Rare (now(), a cast), so pyarrow only then.
                    cur.abort()
                    reader = _fetch(lambda: cat.relation(text).to_arrow_reader(10_000))
                    batches = out.arrow_row_batches(reader)
                else:
                    batches = out.batches_of(cur)
                with _sink(output) as f:
                    n = _fetch(lambda: out.write_text(fmt, columns, types, batches, f))
            _done(n, output, fmt)
        finally:
            cat.close()


def _print_transpiled(text: str, dialect: Dialect, output: Optional[str]) -> None:
    """``--dialect``: the query in another engine's SQL (see egoexo_sql.engines); nothing runs."""
    from ..engines import transpile

    result = transpile(text, dialect)
    with _sink(output) as f:
        f.write(result.sql + "\n")
    for msg in result.warnings:
        typer.echo(f"warning: {dialect.value}: {msg}", err=True)


def _fetch(fn):
    """Errors raised while results stream (a cast failing on row 10,000) are query errors."""
    import duckdb

    from ..errors import QueryError

    try:
        return fn()
    except duckdb.Error as e:
        raise QueryError(str(e)) from None


@app.command()
def tables(
    format: TextFormat = typer.Option(TextFormat.table, "--format", help="Output format."),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """List the catalog's views with row counts and descriptions."""
    with _errors():
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
    with _errors():
        from .. import output as out
        from ..catalog import DESCRIBE_COLUMNS, Catalog

        with Catalog.open(catalog_dir(catalog)) as cat:
            rows = cat.describe_rows(table)
            about = cat.table_description(table)
        if format.value == "table" and about:
            sys.stdout.write(f"{table}: {about}\n\n")
        types = ["VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR"]
        out.write_text(format.value, DESCRIBE_COLUMNS, types, [rows], sys.stdout, max_cell=0)
