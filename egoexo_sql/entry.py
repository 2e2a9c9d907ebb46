"""The ``egoexo-sql`` console script.

``egoexo-sql query ...`` is what scripts call in loops, so it starts without the
command-line framework: typer and the pydantic it imports cost about 0.2 s, as much
as the query itself. This module parses the query command's options with argparse,
from the same table the typer command is made from
(:data:`egoexo_sql.query_runner.QUERY_OPTIONS`), and calls the same
:func:`egoexo_sql.query_runner.run_query`. ``egoexo-sql build ...`` starts the same way
(:func:`egoexo_sql.build_runner.run_build`): those 0.2 s came before its scan. Anything
it does not recognise (``--help``, an unknown option, a bad value, several groups after
one ``--only``) goes to the typer application, which owns the messages and the help
text. Every other command goes there directly.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # the fast path does without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
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


def _parsed(parser: _Parser, argv: list[str]) -> argparse.Namespace | None:
    """The arguments; None for help and for anything the parser does not take."""
    if any(a in ("-h", "--help") for a in argv):
        return None
    try:
        return parser.parse_args(argv)
    except _NotForUs:
        return None


def fast_query(argv: list[str]) -> int | None:
    """Run ``query`` without typer; None when typer should handle these arguments."""
    ns = _parsed(_query_parser(), argv)
    if ns is None:
        return None
    from pathlib import Path

    from .build_runner import default_catalog
    from .query_runner import run_query

    catalog = default_catalog(ns.catalog)
    return _reporting_errors(
        lambda: run_query(
            ns.sql, Path(ns.file) if ns.file else None, ns.format, ns.output, catalog, ns.dialect
        )
    )


def _build_parser() -> _Parser:
    p = _Parser(add_help=False, allow_abbrev=False)
    p.add_argument("release_dir")
    p.add_argument("--catalog")
    p.add_argument("--only", action="append")  # one value each: typer takes several
    p.add_argument("--force", action="store_true")
    p.add_argument("--lenient", action="store_true")
    return p


def fast_build(argv: list[str]) -> int | None:
    """Run ``build`` without typer; None when typer should handle these arguments."""
    ns = _parsed(_build_parser(), argv)
    if ns is None:
        return None
    from pathlib import Path

    from .build_runner import run_build

    return _reporting_errors(
        lambda: run_build(Path(ns.release_dir), ns.catalog, ns.only, ns.force, ns.lenient)
    )


def _reporting_errors(run: Callable[[], object]) -> int:
    """The exit code of ``run()``; its error as the typer application reports it."""
    from .errors import EgoExoSQLError

    try:
        run()
    except EgoExoSQLError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `egoexo-sql ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def main() -> None:
    argv = sys.argv[1:]
    fast = {"query": fast_query, "build": fast_build}.get(argv[0]) if argv else None
    if fast is not None:
        code = fast(argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.exit(code)
    from .cli import main as cli_main

    cli_main(argv)
