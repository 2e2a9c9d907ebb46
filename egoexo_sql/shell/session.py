"""The shell itself: :class:`Shell` (prompt, history, key bindings, running queries with
Ctrl-C to cancel, results fitted to the terminal, dot commands); see :mod:`egoexo_sql.shell`."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import completion_is_selected, has_focus, in_paste_mode
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from pygments.lexers.sql import SqlLexer

from .. import output as _output
from ..catalog import Catalog
from ..errors import EgoExoSQLError, QueryError
from .completion import CatalogWords, SQLCompleter
from .syntax import (
    DEFAULT_MAX_ROWS,
    DOT_ALIASES,
    DOT_COMMANDS,
    MODES,
    QUIT_WORDS,
    is_blank,
    is_complete,
    one_line,
    split_statements,
)

HISTORY_ENV = "EGOEXO_SQL_HISTORY"
PROMPT = "egoexo> "
CONTINUATION = "   ...> "
MIN_CELL = 8  # narrowest cut when fitting a table to the terminal


def history_path() -> Path:
    """Where the shell keeps its history: ``$EGOEXO_SQL_HISTORY``, else the user's data dir."""
    explicit = os.environ.get(HISTORY_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":  # pragma: no cover - not exercised on CI
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "egoexo-sql" / "history"


class _Quit(Exception):
    pass


class Shell:
    """An interactive SQL shell on one catalog, opened with the sandbox.

    ``catalog``: a :class:`~egoexo_sql.catalog.Catalog` (opened with ``sandbox=True``)
    or a catalog folder (``None``: ``$EGOEXO_SQL_CATALOG`` or ``./egoexo_catalog``).
    ``input``/``output``: prompt_toolkit's (``None``: the terminal). ``stdout``:
    where results and notes go; ``stderr``: where error lines go. ``history``: a
    path, a prompt_toolkit ``History``, ``False`` for none kept, ``None`` for
    :func:`history_path`.
    """

    def __init__(
        self,
        catalog: Catalog | str | os.PathLike[str] | None = None,
        *,
        input: Any = None,
        output: Any = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        history: History | str | os.PathLike[str] | bool | None = None,
        color: bool | None = None,
        complete_while_typing: bool = True,
    ):
        if isinstance(catalog, Catalog):
            if not catalog.sandboxed:
                raise ValueError(
                    "the shell runs user SQL on a sandboxed catalog: Catalog.open(path, sandbox=True)"
                )
            self.catalog = catalog
            self._owns_catalog = False
        else:
            self.catalog = Catalog.open(catalog, sandbox=True)
            self._owns_catalog = True
        self.input = input
        self.output = output
        self.stdout: TextIO = stdout if stdout is not None else sys.stdout
        self.stderr: TextIO = stderr if stderr is not None else sys.stderr
        self.history = history
        self.complete_while_typing = complete_while_typing
        if color is None:
            color = not os.environ.get("NO_COLOR") and getattr(self.stderr, "isatty", lambda: False)()
        self.color = color
        self.mode = "table"
        self.timer = True
        #: table mode on the terminal shows at most this many rows (0: all); the count is of all
        self.max_rows = DEFAULT_MAX_ROWS
        #: terminal width tables are fitted to; None: the terminal's, when stdout is one
        self.width: int | None = None
        self.output_path: str | None = None
        self._sink: TextIO | None = None
        self._words: CatalogWords | None = None
        self._cancel = threading.Event()
        self._running = False
        self.errors = 0

    # ------------------------------------------------------------------ set-up

    @property
    def words(self) -> CatalogWords:
        if self._words is None:
            self._words = CatalogWords.load(self.catalog)
        return self._words

    def _history(self) -> History:
        h = self.history
        if isinstance(h, History):
            return h
        if h is False:
            return InMemoryHistory()
        path = Path(h) if h is not None and h is not True else history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
        except OSError as e:
            self.note(f"history not kept: cannot write {path} ({e.strerror or e})")
            return InMemoryHistory()
        return FileHistory(str(path))

    def _bindings(self) -> KeyBindings:
        kb = KeyBindings()
        focused = has_focus(DEFAULT_BUFFER)

        @kb.add("enter", filter=focused & completion_is_selected)
        def _take_completion(event: KeyPressEvent) -> None:
            # Enter on a chosen completion keeps it and closes the menu; a dot command
            # (one line, nothing more to type) runs at once
            buf = event.current_buffer
            buf.complete_state = None
            if buf.text.lstrip().startswith("."):
                buf.validate_and_handle()

        @kb.add("enter", filter=focused & ~completion_is_selected)
        def _enter(event: KeyPressEvent) -> None:
            buf = event.current_buffer
            if is_complete(buf.text):
                buf.validate_and_handle()
            else:
                buf.newline(copy_margin=not in_paste_mode())

        @kb.add("escape", "enter", filter=focused)
        def _run_as_is(event: KeyPressEvent) -> None:
            event.current_buffer.validate_and_handle()

        return kb

    def session(self) -> PromptSession[str]:
        return PromptSession(
            message=PROMPT,
            multiline=True,
            prompt_continuation=lambda width, line_number, wrap_count: CONTINUATION.rjust(width),
            lexer=PygmentsLexer(SqlLexer),
            completer=SQLCompleter(self.words),
            complete_while_typing=self.complete_while_typing,
            history=self._history(),
            auto_suggest=AutoSuggestFromHistory(),
            enable_history_search=False,
            key_bindings=self._bindings(),
            input=self.input,
            output=self.output,
            include_default_pygments_style=True,
        )

    # ------------------------------------------------------------------ loops

    def banner(self) -> str:
        n = len(self.words.views)
        return (
            f"egoexo-sql shell on {self.catalog.path} ({n} views)\n"
            "End SQL with ';'. .help lists the commands; .quit or Ctrl-D leaves.\n"
        )

    def run(self) -> int:
        """The interactive loop; returns the exit code (0)."""
        session = self.session()
        self.stdout.write(self.banner())
        self.stdout.flush()
        try:
            while True:
                try:
                    text = session.prompt()
                except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the input
                    continue
                except EOFError:  # Ctrl-D
                    break
                try:
                    self.handle(text)
                except _Quit:
                    break
                except KeyboardInterrupt:  # a Ctrl-C that arrived between two steps
                    self.note("cancelled")
        finally:
            self.close()
        return 0

    def run_script(self, text: str) -> int:
        """Run SQL and dot commands from text (stdin not a terminal); 1 if any failed."""
        buffer = ""
        try:
            for line in text.splitlines(keepends=True):
                if not buffer.strip() and line.strip().startswith("."):
                    self.handle(line)
                    buffer = ""
                    continue
                buffer += line
                if is_complete(buffer):
                    self.handle(buffer)
                    buffer = ""
            if buffer.strip() and not is_blank(buffer):
                self.handle(buffer)
        except _Quit:
            pass
        finally:
            self.close()
        return 1 if self.errors else 0

    def handle(self, text: str) -> None:
        """One accepted input: a dot command, or SQL statements separated by ``;``.

        Raises ``_Quit`` for ``.quit``.
        """
        stripped = text.strip()
        if not stripped:
            return
        if stripped.startswith("."):
            self.dot(stripped)
            return
        if stripped.lower() in QUIT_WORDS:
            raise _Quit()
        statements, rest = split_statements(text)
        if not is_blank(rest):
            statements.append(rest.strip())
        for sql in statements:
            if not self.execute(sql):
                break  # later statements may depend on the failed one: stop, as psql -1 would

    # ------------------------------------------------------------------ output

    def note(self, message: str) -> None:
        self.stdout.write(message + "\n")
        self.stdout.flush()

    def error(self, message: str) -> None:
        self.errors += 1
        prefix = "\x1b[31merror:\x1b[0m" if self.color else "error:"
        self.stderr.write(f"{prefix} {message}\n")
        self.stderr.flush()

    @property
    def sink(self) -> TextIO:
        return self._sink if self._sink is not None else self.stdout

    def _write_rows(
        self, columns: list[str], types: list[str], rows: list[tuple[Any, ...]], *, max_cell: int
    ) -> None:
        if self.mode == "table" and self._sink is None:
            self.stdout.write(self._fit_table(columns, types, rows, max_cell))
        else:
            _output.write_text(self.mode, columns, types, [rows], self.sink, max_cell=max_cell)
        self.sink.flush()

    def _terminal_width(self) -> int | None:
        if self.width is not None:
            return self.width
        if getattr(self.stdout, "isatty", lambda: False)():
            import shutil

            return shutil.get_terminal_size().columns
        return None

    def _fit_table(
        self, columns: list[str], types: list[str], rows: list[tuple[Any, ...]], max_cell: int
    ) -> str:
        """The table as text, long cells cut (not below MIN_CELL) so that it fits the terminal."""
        import io

        def render(cut: int) -> str:
            buf = io.StringIO()
            _output.write_table(columns, types, [rows], buf, max_cell=cut)
            return buf.getvalue()

        text = render(max_cell)
        width = self._terminal_width()
        if not width or max(map(len, text.splitlines()), default=0) <= width:
            return text
        lo, hi = MIN_CELL, (max_cell or max(map(len, text.splitlines()))) - 1
        best = None
        while lo <= hi:  # the widest cut that fits
            mid = (lo + hi) // 2
            candidate = render(mid)
            if max(map(len, candidate.splitlines())) <= width:
                best, lo = candidate, mid + 1
            else:
                hi = mid - 1
        return best if best is not None else text  # too many columns to fit: let them wrap whole

    # ------------------------------------------------------------------ queries

    def interrupt(self) -> None:
        """Cancel the running query (safe from another thread or a signal handler)."""
        self._cancel.set()
        if self._running:
            try:
                self.catalog.connection.interrupt()
            except Exception:  # pragma: no cover - a closed connection
                pass

    def execute(self, sql: str) -> bool:
        """Run one statement and print its result; False if it failed or was cancelled.

        The query runs on a worker thread while this thread waits, so that Ctrl-C
        (KeyboardInterrupt here) can interrupt DuckDB and the shell stays usable.
        """
        self._cancel.clear()
        outcome: dict[str, Any] = {}
        started = time.perf_counter()

        def work() -> None:
            try:
                outcome["rows"] = self._run(sql)
            except BaseException as e:  # reported by the waiting thread
                outcome["error"] = e

        worker = threading.Thread(target=work, name="egoexo-sql-query", daemon=True)
        self._running = True
        try:
            worker.start()
            self._wait(worker)
        finally:
            self._wait(worker)  # a second Ctrl-C must not leave a worker behind on the connection
            self._running = False
        elapsed = time.perf_counter() - started

        if self._cancel.is_set():
            # on a terminal the line already holds the echoed ^C: write over it
            back = "\r" if getattr(self.stdout, "isatty", lambda: False)() else ""
            self.note(f"{back}query cancelled after {elapsed:.3f}s")
            return False
        err = outcome.get("error")
        if err is not None:
            if isinstance(err, EgoExoSQLError):
                self.error(one_line(str(err), sql))
            elif isinstance(err, BrokenPipeError) and self._sink is None:
                raise err  # stdout is a pipe whose reader left: the caller stops quietly
            elif isinstance(err, OSError):
                self.error(f"cannot write to {self.output_path or 'the terminal'}: {err.strerror or err}")
            else:
                import duckdb

                if isinstance(err, duckdb.Error):
                    self.error(one_line(str(err), sql))
                else:  # a bug of ours: say so in one line rather than end the session
                    self.error(f"internal error: {type(err).__name__}: {err}")
            return False
        n = outcome["rows"]
        if self._sink is not None:
            self.note(f"wrote {n} row{'' if n == 1 else 's'} ({self.mode}) to {self.output_path}")
        if self.timer:
            self.note(f"Time: {elapsed:.3f}s")
        return True

    def _wait(self, worker: threading.Thread) -> None:
        while worker.is_alive():
            try:
                worker.join(0.05)
            except KeyboardInterrupt:
                self.interrupt()
            if self._cancel.is_set() and worker.is_alive():
                # again and again: a Ctrl-C during the sandbox's check came before DuckDB's
                # query began, and DuckDB clears the interrupt when a query starts
                try:
                    self.catalog.connection.interrupt()
                except Exception:  # pragma: no cover - a closed connection
                    pass

    def _run(self, sql: str) -> int:
        import duckdb

        if self._cancel.is_set():
            return 0
        cur = self.catalog.execute(sql)
        columns = [d[0] for d in cur.description]
        types = [str(d[1]) for d in cur.description]

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            while not self._cancel.is_set():
                try:
                    batch = cur.fetchmany(10_000)
                except duckdb.Error as e:
                    raise QueryError(str(e)) from None
                if not batch:
                    return
                yield batch

        if self.mode == "table" and self._sink is None:
            # for people: the first max_rows rows, fitted to the terminal, and the count of all
            shown: list[tuple[Any, ...]] = []
            total = 0
            for batch in batches():
                room = (self.max_rows - len(shown)) if self.max_rows else len(batch)
                if room > 0:
                    shown.extend(batch[:room])
                total += len(batch)
            if self._cancel.is_set():
                return total
            text = self._fit_table(columns, types, shown, _output.MAX_CELL)
            if total > len(shown):
                body, _, _ = text.rstrip("\n").rpartition("\n")  # the writer's "(N rows)" line
                text = f"{body}\n({total} rows, first {len(shown)} shown; .maxrows 0 shows all)\n"
            self.stdout.write(text)
            self.stdout.flush()
            return total
        sink = self.sink
        n = _output.write_text(self.mode, columns, types, batches(), sink)
        sink.flush()
        return n

    # ------------------------------------------------------------------ dot commands

    def dot(self, line: str) -> None:
        parts = line.strip().rstrip(";").split(maxsplit=1)
        cmd = DOT_ALIASES.get(parts[0].lower(), parts[0].lower())
        arg = parts[1].strip() if len(parts) > 1 else ""
        handler = {
            ".tables": self._tables,
            ".schema": self._schema,
            ".mode": self._mode,
            ".output": self._output,
            ".timer": self._timer,
            ".maxrows": self._maxrows,
            ".help": self._help,
            ".quit": self._quit,
        }.get(cmd)
        if handler is None:
            self.error(f"unknown command {parts[0]}; .help lists the commands")
            return
        try:
            handler(arg)
        except EgoExoSQLError as e:
            self.error(one_line(str(e)))

    def _tables(self, arg: str) -> None:
        if arg:
            self.error(".tables takes no argument; .schema VIEW shows one view")
            return
        rows = self.catalog.table_rows()
        from ..catalog import TABLE_COLUMNS

        self._write_rows(
            TABLE_COLUMNS, ["VARCHAR", "VARCHAR", "BIGINT", "VARCHAR"], rows, max_cell=_output.MAX_CELL
        )

    def _schema(self, arg: str) -> None:
        from ..catalog import DESCRIBE_COLUMNS

        if not arg:
            for view in self.words.views:
                cols = ", ".join(self.words.columns.get(view, []))
                self.sink.write(f"{view}({cols})\n")
            self.sink.flush()
            return
        name = arg.rstrip(";").strip().strip('"')
        rows = self.catalog.describe_rows(name)
        about = self.catalog.table_description(name)
        if about and self.mode == "table":
            self.sink.write(f"{name}: {about}\n\n")
        self._write_rows(DESCRIBE_COLUMNS, ["VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR"], rows, max_cell=0)

    def _mode(self, arg: str) -> None:
        if not arg:
            self.note(f"mode: {self.mode}")
        elif arg.lower() in MODES:
            self.mode = arg.lower()
        else:
            self.error(f".mode {arg}: one of {', '.join(MODES)}")

    def _output(self, arg: str) -> None:
        if not arg or arg == "-":
            self._close_sink()
            return
        path = Path(arg).expanduser()
        if path.is_dir():
            self.error(f".output {arg} is a folder; give a file name")
            return
        try:
            f = open(path, "w", encoding="utf-8", newline="")
        except OSError as e:
            self.error(f".output {arg}: {e.strerror or e}")
            return
        self._close_sink()
        self._sink = f
        self.output_path = str(path)

    def _close_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
        self._sink = None
        self.output_path = None

    def _timer(self, arg: str) -> None:
        if not arg:
            self.note(f"timer: {'on' if self.timer else 'off'}")
        elif arg.lower() in ("on", "off"):
            self.timer = arg.lower() == "on"
        else:
            self.error(f".timer {arg}: on or off")

    def _maxrows(self, arg: str) -> None:
        if not arg:
            self.note(f"maxrows: {self.max_rows or 'all'}")
        elif arg.isdigit():
            self.max_rows = int(arg)
        else:
            self.error(f".maxrows {arg}: a number of rows, 0 for all")

    def _help(self, arg: str) -> None:
        state = {
            "mode": self.mode,
            "output": self.output_path or "terminal",
            "timer": "on" if self.timer else "off",
            "maxrows": self.max_rows or "all",
        }
        width = max(len(c) for c in DOT_COMMANDS)
        lines = [f"{cmd.ljust(width)}  {about.format(**state)}" for cmd, about in DOT_COMMANDS.items()]
        lines.append("")
        lines.append(
            "SQL: one read-only query per statement, ending with ';' (Alt-Enter runs the input as is)."
        )
        lines.append("Tab completes; Ctrl-C cancels a running query or clears the input; Ctrl-D leaves.")
        self.note("\n".join(lines))

    def _quit(self, arg: str) -> None:
        raise _Quit()

    def close(self) -> None:
        self._close_sink()
        if self._owns_catalog:
            self.catalog.close()
