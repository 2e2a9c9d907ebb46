"""The ``egoexo-sql`` command line (typer).

Thin by design: each command parses its arguments, calls the library and formats
the result. Commands live in one module per concern (``cli/demo.py``,
``cli/build.py``, ``cli/query.py`` ...) and register themselves on :data:`app` (``cli/app.py``).
Heavy libraries are imported inside the command functions so that ``--help`` and
``query`` start fast.
"""

from __future__ import annotations

import sys

import typer

from ..errors import EgoExoSQLError
from ..names import GROUPS, HAS_KINDS
from .app import app

__all__ = ["app", "main", "expand_multi_options", "MULTI_VALUE_OPTIONS"]

# Command modules register on `app` when imported, in this order in --help.
from . import demo  # noqa: E402,F401,I001
from . import build  # noqa: E402,F401
from . import query  # noqa: E402,F401
from . import takes  # noqa: E402,F401
from . import search  # noqa: E402,F401
from . import validate  # noqa: E402,F401
from . import shell  # noqa: E402,F401
from . import export  # noqa: E402,F401
from . import serve  # noqa: E402,F401


# Options that take several values after one flag, as the docs write them
# (`--only metadata splits keystep`). Click options take one value each, so the
# command line is rewritten to `--only metadata --only splits --only keystep`.
# A value set limits what is consumed (so a positional after the list survives);
# None means "every following token that does not start with '-'".
MULTI_VALUE_OPTIONS: dict[str, frozenset[str] | None] = {
    "--only": frozenset(GROUPS),
    "--parts": None,
    "--cams": None,
    "--per": None,
    "--in": frozenset(("atomic", "commentary", "narration", "keystep", "demonstration")),
    # export subtitles
    "--take": None,
    "--source": frozenset(("atomic", "commentary", "keystep", "narration")),
    "--has": frozenset(HAS_KINDS),
}


def expand_multi_options(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        out.append(arg)
        i += 1
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in MULTI_VALUE_OPTIONS and i < len(argv):
            allowed = MULTI_VALUE_OPTIONS[arg]
            out.append(argv[i])  # the first value, whatever it is (typer validates it)
            i += 1
            while i < len(argv) and not argv[i].startswith("-") and (allowed is None or argv[i] in allowed):
                out.extend([arg, argv[i]])
                i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    args = expand_multi_options(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="egoexo-sql")
    except EgoExoSQLError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
