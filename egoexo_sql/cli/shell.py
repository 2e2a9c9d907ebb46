"""``egoexo-sql shell``: the interactive SQL shell (:mod:`egoexo_sql.shell`).

prompt_toolkit and pygments are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys

import typer

from ..errors import EgoExoSQLError
from .app import app, catalog_dir, fail


@app.command()
def shell(
    catalog: str | None = typer.Option(
        None, "--catalog", help="Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog)."
    ),
) -> None:
    """Interactive SQL shell on the catalog: multi-line SQL ending with ';', completion,
    history ($EGOEXO_SQL_HISTORY, else ~/.local/share/egoexo-sql/history), dot commands
    (.help). Ctrl-C cancels a running query. With stdin not a terminal, runs it as a script."""
    try:
        from ..shell import Shell

        sh = Shell(catalog_dir(catalog))
        if sys.stdin.isatty() and sys.stdout.isatty():
            code = sh.run()
        else:  # a script: results only, as `egoexo-sql query` prints them
            sh.timer = False
            sh.max_rows = 0
            code = sh.run_script(sys.stdin.read())
    except EgoExoSQLError as e:
        fail(str(e), e.exit_code)
    except BrokenPipeError:  # `egoexo-sql shell < q.sql | head`: stop writing, exit cleanly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0)  # noqa: B904
    if code:
        raise typer.Exit(code)
