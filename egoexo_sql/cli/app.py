"""The typer application every command registers on, and what the commands share:
the catalog folder option, one-line errors with their exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ..errors import EgoExoSQLError

app = typer.Typer(
    name="egoexo-sql",
    help="Query the Ego-Exo4D metadata and annotations with SQL: compile the release's JSON "
    "into a typed Parquet catalog with DuckDB views, select takes, and hand exact take "
    "lists to the official `egoexo` downloader.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def catalog_dir(option: str | None) -> str:
    """--catalog, else $EGOEXO_SQL_CATALOG, else ./egoexo_catalog (catalog-contract.md)."""
    from ..build_runner import default_catalog

    return default_catalog(option)


def fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


from ..query_runner import CATALOG_HELP as CATALOG_HELP  # noqa: E402 - re-exported: the commands take it from here


@contextmanager
def command_errors() -> Iterator[None]:
    """Our errors as one line on stderr and their exit code; a closed pipe ends quietly."""
    try:
        yield
    except EgoExoSQLError as e:
        fail(str(e), e.exit_code)
    except BrokenPipeError:
        # `egoexo-sql query ... | head`: stop writing, exit cleanly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0)  # noqa: B904


def report_written(n: int, output: str | None, fmt: str) -> None:
    """``wrote N rows (FORMAT) to FILE`` on stderr when the rows went to a file."""
    if output not in (None, "-"):
        typer.echo(f"wrote {n} row{'' if n == 1 else 's'} ({fmt}) to {output}", err=True)
