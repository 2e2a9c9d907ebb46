"""The ``egoexo-sql`` console script.

``egoexo-sql query ...`` is what scripts call in loops, so it starts without the
command-line framework: typer and the pydantic it imports cost about 0.2 s, as much
as the query itself. This module parses the query command's options with argparse,
from the same table the typer command is made from
(:data:`egoexo_sql.query_runner.QUERY_OPTIONS`), and calls the same
:func:`egoexo_sql.query_runner.run_query`. Anything it does not recognise (``--help``,
an unknown option, a bad value) goes to the typer application, which owns the
messages and the help text. Every other command goes there directly.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # the fast path does without importing typing
if TYPE_CHECKING:
    from typing import NoReturn


class _NotForUs(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse API
        raise _NotForUs(message)


def _query_parser() -> _Parser:
    from .query_runner import QUERY_OPTIONS

    p = _Parser(add_help=False, allow_abbrev=False)
    for o in QUERY_OPTIONS:
        if o.flags:
            p.add_argument(*o.flags, dest=o.name, default=o.default, choices=o.choices)
        else:
            p.add_argument(o.name, nargs="?")
    return p


def fast_query(argv: list[str]) -> int | None:
    """Run ``query`` without typer; None when typer should handle these arguments."""
    if any(a in ("-h", "--help") for a in argv):
        return None
    try:
        ns = _query_parser().parse_args(argv)
    except _NotForUs:
        return None
    from pathlib import Path

    from .errors import EgoExoSQLError
    from .query_runner import run_query

    catalog = ns.catalog or os.environ.get("EGOEXO_SQL_CATALOG") or "egoexo_catalog"
    try:
        run_query(ns.sql, Path(ns.file) if ns.file else None, ns.format, ns.output, catalog, ns.dialect)
    except EgoExoSQLError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `egoexo-sql query ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["query"]:
        code = fast_query(argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from .cli import main as cli_main

    cli_main(argv)
