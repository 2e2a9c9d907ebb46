"""egoexo-sql shell: driven through a pseudo-terminal as a person would use it, and as a library.

The terminal tests start the real command (``python -m egoexo_sql shell``) on a
pseudo-terminal with pexpect, feed everything it prints to a VT100 emulator (pyte),
and assert on what the emulated screen shows, colours included. The emulator
answers prompt_toolkit's cursor-position requests like a real terminal.

The unit tests drive :class:`egoexo_sql.shell.Shell` with prompt_toolkit's pipe
input and DummyOutput, or call its methods directly.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from egoexo_sql.catalog import Catalog
from egoexo_sql.shell import (
    CatalogWords,
    Shell,
    SQLCompleter,
    history_path,
    is_complete,
    one_line,
    split_statements,
)

LONG_QUERY = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b;"
TIMEOUT = 30


@pytest.fixture(scope="module")
def counts(demo_catalog) -> dict[str, int]:
    """Rows per view of the demo catalog, as DuckDB counts them (the ground truth here)."""
    with Catalog.open(demo_catalog) as cat:
        return {name: n for name, _, n, _ in cat.table_rows()}


# =========================================================================== the terminal


class Terminal:
    """A child process on a pseudo-terminal whose output is rendered by a VT100 emulator."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, cols: int = 160, rows: int = 50):
        pexpect = pytest.importorskip("pexpect")
        pyte = pytest.importorskip("pyte")
        self._pexpect = pexpect

        class Screen(pyte.HistoryScreen):
            child = None

            def write_process_input(self, data: str) -> None:  # answers to DSR / CPR requests
                if self.child is not None:
                    self.child.send(data)

        self.screen = Screen(cols, rows, history=10_000)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(cwd), dimensions=(rows, cols))
        self.screen.child = self.child

    def pump(self, timeout: float = 0.05) -> None:
        try:
            while True:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=timeout))
                timeout = 0.01
        except (self._pexpect.TIMEOUT, self._pexpect.EOF):
            pass

    def lines(self) -> list[str]:
        """The visible lines."""
        return [line.rstrip() for line in self.screen.display]

    def all_lines(self) -> list[str]:
        """Lines scrolled off the top, then the visible ones."""
        cols = self.screen.columns
        gone = ["".join(row[x].data for x in range(cols)).rstrip() for row in self.screen.history.top]
        return gone + self.lines()

    def text(self) -> str:
        return "\n".join(self.all_lines()).rstrip()

    def wait(self, what, timeout: float = TIMEOUT) -> str:
        """Pump output until the screen shows ``what`` (text, compiled regex or predicate)."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            screen = self.text()
            if callable(what):
                ok = what(screen)
            elif isinstance(what, re.Pattern):
                ok = what.search(screen) is not None
            else:
                ok = what in screen
            if ok:
                return screen
            if time.monotonic() > deadline or not self.child.isalive() and not ok:
                self.pump()
                raise AssertionError(f"the screen never showed {what!r}; it shows:\n{self.text()}")

    def prompts(self) -> int:
        return sum(1 for line in self.all_lines() if line.startswith("egoexo>"))

    def at_prompt(self) -> bool:
        """The cursor is on an empty prompt: whatever ran before has finished."""
        return self.lines()[self.screen.cursor.y] == "egoexo>"

    def run(self, text: str, done=None) -> str:
        """Type ``text`` and Enter; wait for a new, empty prompt (and ``done`` if given)."""
        before = self.prompts()
        self.child.send(text + "\r")
        return self.wait(
            lambda s: self.prompts() > before and self.at_prompt() and (done is None or done in s)
        )

    def send(self, data: str) -> None:
        self.child.send(data)

    def quit(self) -> int:
        self.child.send(".quit\r")
        self.child.expect(self._pexpect.EOF, timeout=TIMEOUT)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def shell_env(tmp_path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PROMPT_TOOLKIT", "NO_COLOR", "EGOEXO_SQL"))
    }
    env.update(TERM="xterm-256color", EGOEXO_SQL_HISTORY=str(tmp_path / "history"), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def terminal(demo_catalog, shell_env, tmp_path):
    """Start ``egoexo-sql shell`` on the demo catalog; returns a function so a test can start two."""
    started: list[Terminal] = []

    def start() -> Terminal:
        t = Terminal(
            [sys.executable, "-m", "egoexo_sql", "shell", "--catalog", str(demo_catalog)], shell_env, tmp_path
        )
        started.append(t)
        t.wait(lambda s: t.prompts() >= 1)
        return t

    yield start
    for t in started:
        t.close()


def after_last(screen: str, marker: str) -> str:
    return screen[screen.rindex(marker) :]


def test_multiline_query_shows_aligned_table_with_row_count_and_time(terminal, counts):
    t = terminal()
    screen = t.text()
    assert "egoexo-sql shell on" in screen and f"({len(counts)} views)" in screen
    t.send("SELECT scenario, count(*) AS n\r")
    t.send("FROM takes\r")
    t.wait("...> FROM takes")  # a continuation prompt: no ';' yet, nothing ran
    assert t.prompts() == 1
    screen = t.run("GROUP BY ALL ORDER BY n DESC, scenario LIMIT 3;", done="Time:")
    out = after_last(screen, "LIMIT 3;").splitlines()[1:]
    assert re.fullmatch(r"scenario +n", out[0])
    assert re.fullmatch(r"-+  -+", out[1])
    rows = out[2:5]
    widths = {len(r) for r in rows}
    assert len(widths) == 1, f"numbers are right-aligned in one column: {rows}"
    assert sum(int(r.split()[-1]) for r in rows) <= counts["takes"]
    assert out[5] == "(3 rows)"
    assert re.fullmatch(r"Time: \d+\.\d{3}s", out[6])
    assert out[7].startswith("egoexo>")

    t.run(".timer off")
    screen = t.run("SELECT 42 AS answer;", done="(1 row)")
    tail = after_last(screen, "SELECT 42 AS answer;")
    assert "Time:" not in tail
    assert re.search(r"answer\n------\n    42\n\(1 row\)\negoexo>", tail)
    assert t.quit() == 0


def test_tables_and_schema(terminal, counts):
    t = terminal()
    screen = t.run(".tables", done=f"({len(counts)} rows)")
    tail = after_last(screen, ".tables")
    for name in ("takes", "keystep_segments", "take_summary"):
        assert re.search(rf"^{name} +(table|view) +{counts[name]}  \S", tail, re.M), name
    screen = t.run(".schema takes", done="take_uid")
    tail = after_last(screen, ".schema takes")
    assert tail.splitlines()[1].startswith("takes: One row per take")
    assert re.search(r"^column +type +nullable +description$", tail, re.M)
    assert re.search(r"^take_uid +VARCHAR +false +The take's id", tail, re.M)
    assert re.search(r"^duration_sec +DOUBLE +true", tail, re.M)
    screen = t.run(".schema no_such_view")
    assert re.search(r"^error: no table or view 'no_such_view' in \S+; known: ", screen, re.M)
    assert t.quit() == 0


def test_mode_csv_json_and_output_to_a_file(terminal, tmp_path):
    t = terminal()
    t.run(".mode csv")
    screen = t.run("SELECT 1 AS a, 'x,y' AS b, NULL AS c;", done="Time:")
    tail = after_last(screen, "NULL AS c;").splitlines()
    assert tail[1:3] == ["a,b,c", '1,"x,y",']
    t.run(".mode json")
    screen = t.run("SELECT 2 AS a;", done="Time:")
    assert re.search(r'^\[\n\{"a":2\}\n\]$', after_last(screen, "SELECT 2 AS a;"), re.M)

    target = tmp_path / "out.csv"
    t.run(".mode csv")
    t.run(f".output {target}")
    screen = t.run("SELECT scenario FROM takes ORDER BY scenario LIMIT 2;", done="wrote 2 rows (csv)")
    assert f"wrote 2 rows (csv) to {target}" in screen
    t.run(".output")
    screen = t.run("SELECT 'back' AS here;", done="Time:")
    assert "here\nback\n" in after_last(screen, "AS here;")
    lines = target.read_text().splitlines()
    assert lines[0] == "scenario" and len(lines) == 3
    screen = t.run(".mode xml")
    assert "error: .mode xml: one of table, csv, json, ndjson" in screen
    assert t.quit() == 0


def test_tab_completes_views_columns_and_dot_commands(terminal):
    t = terminal()
    t.send("SELECT k.step_name FROM keystep_segm")
    t.wait("FROM keystep_segm")
    time.sleep(0.3)  # a person pauses before Tab; the menu has come up meanwhile
    t.send("\t")
    t.wait("FROM keystep_segments")
    t.send(" k WHERE k.is_ess")
    t.wait("k.is_ess")
    time.sleep(0.3)
    t.send("\t")  # the alias k is keystep_segments: its column
    t.wait("WHERE k.is_essential")
    screen = t.run(" LIMIT 1;", done="(1 row)")
    assert "egoexo> SELECT k.step_name FROM keystep_segments k WHERE k.is_essential LIMIT 1;" in screen
    assert re.search(r"step_name\n-+\n\S.*\n\(1 row\)", screen)

    t.send(".sch")
    t.wait(".sch")
    time.sleep(0.3)
    t.send("\t")
    t.wait(".schema")
    t.send(" take_su")
    time.sleep(0.3)
    t.send("\t")
    t.wait(".schema take_summary")
    screen = t.run("", done="has_keystep")
    assert "take_summary: One row per take" in screen
    assert t.quit() == 0


def test_ctrl_c_cancels_a_running_query_and_the_shell_goes_on(terminal):
    t = terminal()
    t.send(LONG_QUERY + "\r")
    t.wait(LONG_QUERY)
    time.sleep(1.0)
    t.pump()
    assert t.prompts() == 1, "the long query is still running"
    started = time.monotonic()
    t.child.sendintr()
    screen = t.wait(lambda s: t.prompts() >= 2)
    assert time.monotonic() - started < 10
    assert re.search(r"^query cancelled after \d+\.\d{3}s$", screen, re.M)
    assert t.child.isalive()
    screen = t.run("SELECT 6 * 7 AS answer;", done="(1 row)")
    assert re.search(r"answer\n------\n    42\n\(1 row\)", screen)
    # Ctrl-C at the prompt drops the half-typed input, Ctrl-D leaves
    t.send("SELECT half typed")
    t.wait("SELECT half typed")
    t.send("\x03")
    t.wait(lambda s: t.prompts() >= 3)
    t.send("\x04")
    t.child.expect(t._pexpect.EOF, timeout=TIMEOUT)
    t.child.close()
    assert t.child.exitstatus == 0


def test_errors_are_one_readable_line(terminal):
    t = terminal()
    screen = t.run("SELECT foo\nFROM takes;", done="error:")
    tail = after_last(screen, "FROM takes;").splitlines()
    assert re.fullmatch(
        r'error: Binder Error: Referenced column "foo" not found in FROM clause!.* \(line 1, column 8\)',
        tail[1],
    )
    assert tail[2].startswith("egoexo>")
    screen = t.run("COPY takes TO 'stolen.csv';", done="refused")
    tail = after_last(screen, "stolen.csv';").splitlines()
    assert tail[1].startswith("error: refused COPY") and tail[2].startswith("egoexo>")
    screen = t.run("SELECT * FROM read_csv('/etc/passwd');", done="read_csv()")
    tail = after_last(screen, "/etc/passwd');").splitlines()
    assert tail[1].startswith("error: refused read_csv()") and tail[2].startswith("egoexo>")
    screen = t.run(".frobnicate")
    assert "error: unknown command .frobnicate; .help lists the commands" in screen
    assert t.quit() == 0


def test_history_is_kept_across_sessions(terminal, shell_env):
    first = terminal()
    first.run("SELECT 'remember me' AS note;", done="(1 row)")
    assert first.quit() == 0
    saved = Path(shell_env["EGOEXO_SQL_HISTORY"]).read_text()
    assert "SELECT 'remember me' AS note;" in saved

    second = terminal()
    assert "remember me" not in second.text()
    second.send("\x1b[A")  # Up: the previous session's last input is .quit, then the query
    second.wait(re.compile(r"egoexo> \.quit$", re.M))
    second.send("\x1b[A")
    second.wait("egoexo> SELECT 'remember me' AS note;")
    screen = second.run("", done="(1 row)")
    assert re.search(r"note\n-+\nremember me\n\(1 row\)", screen)
    assert second.quit() == 0


def test_input_is_syntax_highlighted(terminal):
    t = terminal()
    t.send("SELECT 'text' FROM takes")
    t.wait("SELECT 'text' FROM takes")
    time.sleep(0.3)
    t.pump()
    y = next(i for i, line in enumerate(t.lines()) if line.startswith("egoexo> SELECT"))
    row = t.screen.buffer[y]
    x0 = len("egoexo> ")
    keyword = {row[x0 + i].fg for i in range(len("SELECT"))}
    string = {row[x0 + 7 + i].fg for i in range(len("'text'"))}
    plain = row[0].fg
    assert len(keyword) == 1 and len(string) == 1
    assert keyword != {"default"} and string != {"default"} and keyword != string, (keyword, string, plain)
    t.send("\x03")
    assert t.quit() == 0


def test_help_lists_every_command(terminal):
    t = terminal()
    screen = t.run(".help", done=".quit")
    for cmd in (".tables", ".schema", ".mode", ".output", ".timer", ".maxrows", ".help", ".quit"):
        assert re.search(rf"^{re.escape(cmd)} ", screen, re.M), cmd
    assert "(now: table)" in screen and "(now: on)" in screen
    assert t.quit() == 0


def test_tables_fit_a_narrow_terminal_and_long_results_are_cut(demo_catalog, shell_env, tmp_path, counts):
    t = Terminal(
        [sys.executable, "-m", "egoexo_sql", "shell", "--catalog", str(demo_catalog)],
        shell_env,
        tmp_path,
        cols=80,
        rows=40,
    )
    try:
        t.wait(lambda s: t.prompts() >= 1)
        screen = t.run(".tables", done="(20 rows)".replace("20", str(len(counts))))
        tail = after_last(screen, ".tables").splitlines()[1:-1]
        assert max(len(line) for line in tail) <= 80
        assert re.search(r"^takes +table +\d+  One row per take.*…$", "\n".join(tail), re.M)
        screen = t.run("SELECT take_uid FROM takes ORDER BY take_uid;", done="Time:")
        tail = after_last(screen, "ORDER BY take_uid;").splitlines()
        assert len(tail) == 1 + 2 + 100 + 2 + 1
        assert tail[-3] == f"({counts['takes']} rows, first 100 shown; .maxrows 0 shows all)"
        assert t.quit() == 0
    finally:
        t.close()


# =========================================================================== the command


def test_help_does_not_import_prompt_toolkit():
    code = (
        "import sys\n"
        "from egoexo_sql.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('prompt_toolkit', 'egoexo_sql.shell') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "shell" in out.stdout
    assert "LOADED []" in out.stdout


def test_stdin_not_a_terminal_runs_a_script(demo_catalog, tmp_path, shell_env):
    script = ".mode csv\nSELECT 1 AS a;\nSELECT nope;\nSELECT 'x;y' AS b\n;\n"
    out = subprocess.run(
        [sys.executable, "-m", "egoexo_sql", "shell", "--catalog", str(demo_catalog)],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env=shell_env,
        cwd=tmp_path,
    )
    assert out.stdout == "a\n1\nb\nx;y\n"
    assert out.stderr.startswith('error: Binder Error: Referenced column "nope"')
    assert out.stderr.count("\n") == 1
    assert out.returncode == 1


def test_a_script_piped_into_head_stops_quietly(demo_catalog, tmp_path, shell_env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "egoexo_sql", "shell", "--catalog", str(demo_catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=shell_env,
        cwd=tmp_path,
    )
    proc.stdin.write(b"SELECT * FROM range(300000);\nSELECT 1;\n")
    proc.stdin.close()
    assert proc.stdout.readline().strip() == b"range"
    proc.stdout.close()  # like `| head -1`
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


def test_missing_catalog_is_one_line_and_exit_2(tmp_path, shell_env):
    out = subprocess.run(
        [sys.executable, "-m", "egoexo_sql", "shell", "--catalog", str(tmp_path / "nothing")],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env=shell_env,
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: no catalog at ") and out.stderr.count("\n") == 1


# =========================================================================== the Shell class


@pytest.fixture
def make_shell(demo_catalog):
    shells: list[Shell] = []

    def make(**kw) -> tuple[Shell, io.StringIO, io.StringIO]:
        out, err = io.StringIO(), io.StringIO()
        kw.setdefault("history", False)
        sh = Shell(demo_catalog, stdout=out, stderr=err, **kw)
        shells.append(sh)
        return sh, out, err

    yield make
    for sh in shells:
        sh.close()


def test_shell_driven_through_pipe_input(make_shell, counts, tmp_path):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    hist = tmp_path / "hist"
    with create_pipe_input() as pipe:
        sh, out, err = make_shell(input=pipe, output=DummyOutput(), history=hist)
        pipe.send_text("SELECT count(*) AS n\r")
        pipe.send_text("FROM takes\r;\r")  # Enter without ';' continues the statement
        pipe.send_text(".mode csv\r")
        pipe.send_text("SELECT 1 AS a; SELECT 2 AS b;\r")  # two statements in one input
        pipe.send_text("SELECT oops\x03")  # Ctrl-C drops the input
        pipe.send_text("SELECT nope;\r")
        pipe.send_text("\x04")  # Ctrl-D leaves
        assert sh.run() == 0
    text = out.getvalue()
    assert re.search(rf"^ *n\n-+\n *{counts['takes']}\n\(1 row\)\nTime: ", text, re.M)
    assert "a\n1\nTime:" in text and "b\n2\nTime:" in text
    assert "oops" not in text + err.getvalue()
    assert err.getvalue().startswith('error: Binder Error: Referenced column "nope"')
    assert err.getvalue().count("\n") == 1
    saved = hist.read_text()
    assert "+SELECT count(*) AS n\n+FROM takes\n+;" in saved
    assert "SELECT oops" not in saved


def test_quit_ends_the_loop(make_shell):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    with create_pipe_input() as pipe:
        sh, out, _ = make_shell(input=pipe, output=DummyOutput())
        pipe.send_text(".quit\rSELECT 'never' AS x;\r")
        assert sh.run() == 0
    assert "never" not in out.getvalue()


def test_dot_commands_as_a_library(make_shell, tmp_path, counts):
    sh, out, err = make_shell()
    sh.handle(".tables;")  # a habitual ';' after a dot command is forgiven
    assert f"({len(counts)} rows)" in out.getvalue()
    sh.handle(".mode json")
    sh.handle(".timer off")
    out.truncate(0), out.seek(0)
    sh.handle("SELECT scenario, count(*) AS n FROM takes GROUP BY ALL ORDER BY scenario;")
    got = json.loads(out.getvalue())
    assert sum(r["n"] for r in got) == counts["takes"]
    sh.handle(".mode ndjson")
    target = tmp_path / "rows.ndjson"
    sh.handle(f".output {target}")
    sh.handle("SELECT take_uid FROM takes LIMIT 5;")
    sh.handle(".output")
    assert len(target.read_text().splitlines()) == 5
    assert sh.output_path is None
    sh.handle(f".output {tmp_path}")
    assert "is a folder" in err.getvalue()
    sh.handle(".timer maybe")
    assert "error: .timer maybe: on or off" in err.getvalue()
    sh.handle(".schema")
    assert re.search(r"^takes\(take_uid, take_name, ", out.getvalue(), re.M)
    with pytest.raises(Exception) as quit_:
        sh.handle(".exit")
    assert type(quit_.value).__name__ == "_Quit"


def test_interrupt_from_another_thread_cancels_and_the_connection_still_works(make_shell):
    sh, out, err = make_shell()
    timer = threading.Timer(0.5, sh.interrupt)
    timer.start()
    started = time.monotonic()
    assert sh.execute(LONG_QUERY.rstrip(";")) is False
    assert time.monotonic() - started < 10
    assert "query cancelled after" in out.getvalue()
    assert sh.execute("SELECT 1") is True


def test_maxrows_and_fitting_as_a_library(make_shell, counts, tmp_path):
    sh, out, err = make_shell()
    sh.timer = False
    sh.handle(".maxrows 2")
    sh.handle("SELECT range AS i FROM range(5);")
    assert out.getvalue() == "i\n-\n0\n1\n(5 rows, first 2 shown; .maxrows 0 shows all)\n"
    target = tmp_path / "all.txt"
    sh.handle(f".output {target}")  # a file gets every row
    sh.handle("SELECT range AS i FROM range(5);")
    sh.handle(".output")
    assert target.read_text().endswith("3\n4\n(5 rows)\n")
    sh.handle(".maxrows 0")
    out.truncate(0), out.seek(0)
    sh.width = 60
    sh.handle("SELECT repeat('x', 50) AS a, repeat('y', 50) AS b;")
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 60 and lines[2].startswith("xxxxxxxx") and "…" in lines[2]
    sh.handle(".maxrows many")
    assert "error: .maxrows many: a number of rows, 0 for all" in err.getvalue()


def test_ctrl_c_before_duckdb_starts_the_query_still_cancels_it(make_shell, monkeypatch):
    """Ctrl-C while the sandbox checks the SQL: DuckDB clears an interrupt when a query
    begins, so the shell must keep interrupting until the worker is done."""
    sh, out, err = make_shell()
    execute = sh.catalog.execute

    def interrupted_first(sql, *a, **kw):
        sh.interrupt()
        return execute(sql, *a, **kw)

    monkeypatch.setattr(sh.catalog, "execute", interrupted_first)
    started = time.monotonic()
    assert sh.execute(LONG_QUERY.rstrip(";")) is False
    assert time.monotonic() - started < 10
    assert "query cancelled" in out.getvalue()
    monkeypatch.setattr(sh.catalog, "execute", execute)
    assert sh.execute("SELECT 1") is True


def test_a_failing_statement_stops_the_rest_of_the_input(make_shell):
    sh, out, err = make_shell()
    sh.handle("SELECT 1 AS first; SELECT nope; SELECT 3 AS third;")
    assert "first" in out.getvalue() and "third" not in out.getvalue()
    assert err.getvalue().count("error:") == 1


def test_the_shell_refuses_an_unsandboxed_catalog(demo_catalog):
    with Catalog.open(demo_catalog) as cat, pytest.raises(ValueError, match="sandbox"):
        Shell(cat)


# =========================================================================== pieces


@pytest.mark.parametrize(
    "text, statements, rest",
    [
        ("SELECT 1;", ["SELECT 1"], ""),
        ("SELECT 1; SELECT 2", ["SELECT 1"], " SELECT 2"),
        ("SELECT ';' AS s;", ["SELECT ';' AS s"], ""),
        ("SELECT 'it''s;' AS s;", ["SELECT 'it''s;' AS s"], ""),
        ("SELECT E'a\\';' AS s;", ["SELECT E'a\\';' AS s"], ""),
        ('SELECT 1 AS "a;b";', ['SELECT 1 AS "a;b"'], ""),
        ("SELECT 1 -- no; not yet\n", [], "SELECT 1 -- no; not yet\n"),
        ("SELECT /* ; */ 1;", ["SELECT /* ; */ 1"], ""),
        ("SELECT $$a;b$$;", ["SELECT $$a;b$$"], ""),
        ("SELECT $x$a;b$x$ AS s;", ["SELECT $x$a;b$x$ AS s"], ""),
        ("; ;SELECT 1;", ["SELECT 1"], ""),
        ("-- only a comment;\n;", [], ""),
    ],
)
def test_split_statements(text, statements, rest):
    assert split_statements(text) == (statements, rest)


@pytest.mark.parametrize(
    "text, complete",
    [
        ("", True),
        ("  ", True),
        (".tables", True),
        (".schema takes", True),
        ("quit", True),
        ("SELECT 1", False),
        ("SELECT 1;", True),
        ("SELECT 1;  -- done", True),
        ("SELECT ';", False),
        ("SELECT 1; SELECT", False),
        ("SELECT /* ; ", False),
    ],
)
def test_is_complete(text, complete):
    assert is_complete(text) is complete


def test_one_line():
    msg = (
        'Binder Error: Referenced column "foo" not found in FROM clause!\nCandidate bindings: "root_dir"'
        "\n\nLINE 1: select foo from takes\n               ^^^"
    )
    assert one_line(msg, "select foo from takes") == (
        'Binder Error: Referenced column "foo" not found in FROM clause! Candidate bindings: "root_dir"'
        " (line 1, column 8)"
    )
    # an excerpt that is not the statement's line (DuckDB cut it): no column
    assert one_line(msg, "select   foo from takes").endswith("(line 1)")
    assert (
        one_line("refused COPY at line 1, column 1: only one query")
        == "refused COPY at line 1, column 1: only one query"
    )


def test_history_path(monkeypatch, tmp_path):
    monkeypatch.setenv("EGOEXO_SQL_HISTORY", str(tmp_path / "h"))
    assert history_path() == tmp_path / "h"
    monkeypatch.delenv("EGOEXO_SQL_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform != "win32":
        assert history_path() == tmp_path / "data" / "egoexo-sql" / "history"


@pytest.fixture(scope="module")
def completer(demo_catalog) -> SQLCompleter:
    with Catalog.open(demo_catalog, sandbox=True) as cat:
        return SQLCompleter(CatalogWords.load(cat))


def complete(completer: SQLCompleter, text: str) -> list[str]:
    """Completions with the cursor at ``|`` (else at the end)."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    cursor = text.index("|") if "|" in text else len(text)
    doc = Document(text.replace("|", ""), cursor)
    return [c.text for c in completer.get_completions(doc, CompleteEvent(completion_requested=True))]


def test_completion_of_views_columns_keywords(completer):
    assert complete(completer, "SELECT * FROM keystep_")[:6] == [
        "keystep_benchmark_segments",
        "keystep_context",
        "keystep_labels",
        "keystep_segments",
        "keystep_taxonomy",
        "keystep_vocabulary",
    ]
    assert complete(completer, "SELECT * FROM takes t JOIN capt")[:2] == ["capture_cameras", "captures"]
    # columns of the views in the statement come first
    assert complete(completer, "SELECT dur| FROM takes")[0] == "duration_sec"
    assert complete(completer, "SELECT * FROM takes WHERE scen")[:2] == ["scenario", "scenario_id"]
    # alias.column
    assert complete(completer, "SELECT k.step_n| FROM keystep_segments k") == ["step_name"]
    assert complete(completer, "SELECT keystep_segments.is_e") == ["is_essential"]
    # keywords follow the case typed; functions are DuckDB's, file readers left out
    assert "group" in complete(completer, "SELECT 1 FROM takes gro")
    assert "GROUP" in complete(completer, "SELECT 1 FROM takes GRO")
    assert "regexp_matches" in complete(completer, "SELECT regexp_m")
    assert not any(f.startswith("read_") for f in complete(completer, "SELECT * FROM read_"))
    assert "range" in complete(completer, "SELECT * FROM ran")
    # no menu after a space while typing; Tab (completion requested) offers everything
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    typing = CompleteEvent(text_inserted=True)
    assert list(completer.get_completions(Document("SELECT "), typing)) == []
    assert len(complete(completer, "SELECT * FROM ")) >= 20
    # dot commands and their arguments
    assert complete(completer, ".sch") == [".schema"]
    assert complete(completer, ".schema take_s") == ["take_summary"]
    assert complete(completer, ".mode c") == ["csv"]
    assert complete(completer, ".timer o") == ["on", "off"]
