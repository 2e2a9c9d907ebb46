"""What ``egoexo-sql query`` does, without the command-line framework.

Both the typer command (:mod:`egoexo_sql.cli.query`) and the fast entry point
(:mod:`egoexo_sql.entry`) call :func:`run_query`, so a query started from a shell
does not pay for importing typer (and the pydantic it loads), nor sqlglot (see
egoexo_sql.sandbox.guard): only duckdb. Nothing heavier is imported here (pyarrow only
for ``--format parquet`` or TIMESTAMPTZ results).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from .dialects import DIALECTS
from .errors import UsageError

T = TypeVar("T")

FORMATS = ("table", "csv", "json", "ndjson", "parquet")
CATALOG_HELP = "Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog)."


class QueryOption(NamedTuple):
    """One argument of ``egoexo-sql query``: the typer command (egoexo_sql.cli.query) and
    the fast entry point's argparse parser (egoexo_sql.entry) are both made from
    :data:`QUERY_OPTIONS`, so the two cannot drift apart."""

    name: str  # the run_query() parameter
    flags: tuple[str, ...]  # () for the positional argument
    help: str
    choices: tuple[str, ...] | None = None
    default: str | None = None
    is_path: bool = False


QUERY_OPTIONS: tuple[QueryOption, ...] = (
    QueryOption("sql", (), "One read-only SQL query ('-': read stdin)."),
    QueryOption("file", ("--file", "-f"), "Read the SQL from this file ('-': stdin).", is_path=True),
    QueryOption("format", ("--format",), "Output format.", FORMATS, "table"),
    QueryOption("output", ("--output", "-o"), "Write to this file instead of stdout (parquet needs one)."),
    QueryOption("catalog", ("--catalog",), CATALOG_HELP),
    QueryOption(
        "dialect",
        ("--dialect",),
        "Print the query transpiled for this engine (sqlglot) instead of running it.",
        DIALECTS,
    ),
)


@contextmanager
def sink(output: str | None, binary: bool = False) -> Iterator[Any]:  # a text or (binary) byte stream
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


def read_sql(sql: str | None, file: Path | None) -> str:
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
        raise UsageError('no SQL given: egoexo-sql query "SELECT ..." (or --file F, or SQL on stdin)')
    return sql


def fetch(fn: Callable[[], T]) -> T:
    """Errors raised while results stream (a cast failing on row 10,000) are query errors."""
    import duckdb

    from .errors import QueryError

    try:
        return fn()
    except duckdb.Error as e:
        raise QueryError(str(e)) from None


def print_transpiled(text: str, dialect: str, output: str | None) -> None:
    """``--dialect``: the query in another engine's SQL (see egoexo_sql.engines); nothing runs."""
    from .engines import Dialect, transpile

    d = Dialect(dialect)
    result = transpile(text, d)
    with sink(output) as f:
        f.write(result.sql + "\n")
    for msg in result.warnings:
        print(f"warning: {d.value}: {msg}", file=sys.stderr)


def run_query(
    sql: str | None,
    file: Path | None,
    fmt: str,
    output: str | None,
    catalog: str,
    dialect: str | None = None,
) -> None:
    """Run one sandboxed query and write the result; raises EgoExoSQLError subclasses."""
    text = read_sql(sql, file)
    if not text.strip():
        raise UsageError("the SQL is empty")
    if dialect is not None:
        print_transpiled(text, dialect, output)
        return
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet needs --output FILE (or --output - into a pipe)")
    if fmt == "parquet" and output == "-" and sys.stdout.isatty():
        raise UsageError("refusing to write Parquet to a terminal; use --output FILE or a pipe")

    from . import output as out
    from .catalog import Catalog

    cat = Catalog.open(catalog, sandbox=True)
    try:
        if fmt == "parquet":
            rel = cat.relation(text)
            assert rel is not None  # the sandbox runs only queries with a result
            reader = fetch(lambda: rel.to_arrow_reader(100_000))
            with sink(output, binary=True) as f:
                n = fetch(lambda: out.write_parquet(reader, f))
        else:
            cur = cat.execute(text)
            columns = [d[0] for d in cur.description]
            types = [str(d[1]) for d in cur.description]
            if any("WITH TIME ZONE" in t for t in types):
                # DuckDB turns TIMESTAMPTZ into Python values through pytz; Arrow
                # (zoneinfo) does without. Rare (now(), a cast), so pyarrow only then.
                cur.abort()
                tz_rel = cat.relation(text)
                assert tz_rel is not None  # the sandbox runs only queries with a result
                reader = fetch(lambda: tz_rel.to_arrow_reader(10_000))
                batches = out.arrow_row_batches(reader)
            else:
                batches = out.batches_of(cur)
            with sink(output) as f:
                n = fetch(lambda: out.write_text(fmt, columns, types, batches, f))
        if output not in (None, "-"):
            print(f"wrote {n} row{'' if n == 1 else 's'} ({fmt}) to {output}", file=sys.stderr)
    finally:
        cat.close()
