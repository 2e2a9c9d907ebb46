"""``egoexo-sql shell``: an interactive SQL shell over a catalog (prompt_toolkit).

In the tradition of pgcli and litecli:

- statements may span lines and run when the input ends with ``;`` (outside strings
  and comments); Alt-Enter (or Esc, Enter) runs the input as it is;
- history persists in :func:`history_path` (``$EGOEXO_SQL_HISTORY``, else
  ``$XDG_DATA_HOME/egoexo-sql/history``, else ``~/.local/share/egoexo-sql/history``);
- Tab completes SQL keywords and functions (DuckDB's own lists), the catalog's views
  and their columns (``alias.`` completes the columns of the aliased view), and the
  arguments of dot commands; the input is highlighted with pygments' SQL lexer;
- dot commands: ``.tables``, ``.schema [VIEW]``, ``.mode table|csv|json|ndjson``,
  ``.output [FILE]``, ``.timer on|off``, ``.maxrows N``, ``.help``, ``.quit``;
- results are written by :mod:`egoexo_sql.output` (aligned table with a row count by
  default), followed by the time taken while ``.timer`` is on (the default); on the
  terminal a table shows its first ``.maxrows`` rows (100) with the count of all, its
  long cells cut so that it fits the terminal's width; ``.output FILE`` gets every row;
- Ctrl-C while a query runs cancels it (``connection.interrupt()``) and the shell
  goes on; Ctrl-C at the prompt clears the input; Ctrl-D or ``.quit`` leaves;
- an error is one line: ``error: Binder Error: ... (line 1, column 8)``.

User SQL runs through the same sandbox as ``egoexo-sql query``
(``Catalog.open(path, sandbox=True)``): one read-only query per statement.

:class:`Shell` can be driven without a terminal: give it prompt_toolkit ``input``
and ``output`` objects (``create_pipe_input()``, ``DummyOutput()``) and text streams
for ``stdout`` and ``stderr``; :meth:`Shell.handle` and :meth:`Shell.run_script`
take text directly.
"""

from __future__ import annotations

from .completion import CatalogWords, SQLCompleter
from .session import HISTORY_ENV, Shell, history_path
from .syntax import DOT_COMMANDS, is_complete, one_line, split_statements

__all__ = [
    "CatalogWords",
    "DOT_COMMANDS",
    "HISTORY_ENV",
    "SQLCompleter",
    "Shell",
    "history_path",
    "is_complete",
    "one_line",
    "split_statements",
]
