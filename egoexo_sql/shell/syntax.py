"""What the shell reads and how it reports: SQL statements ended by ``;`` (outside
strings and comments), dot commands and quit words, and DuckDB's errors on one line.
No terminal here (see :mod:`egoexo_sql.shell`)."""

from __future__ import annotations

import re

from ..output import TEXT_FORMATS

MODES = TEXT_FORMATS  # table, csv, json, ndjson
DEFAULT_MAX_ROWS = 100

DOT_COMMANDS: dict[str, str] = {
    ".tables": "list the catalog's views with row counts",
    ".schema": "[VIEW]  columns of VIEW (types, nullability, descriptions); all views without one",
    ".mode": "table|csv|json|ndjson  how results are printed (now: {mode})",
    ".output": "[FILE]  write results to FILE; without FILE, back to the terminal (now: {output})",
    ".timer": "on|off  show the time each query took (now: {timer})",
    ".maxrows": "N  rows a table shows on the terminal, 0 for all (now: {maxrows})",
    ".help": "this list",
    ".quit": "leave the shell (also .exit, Ctrl-D)",
}
DOT_ALIASES = {".exit": ".quit", ".q": ".quit", ".h": ".help"}
QUIT_WORDS = {"quit", "exit", "\\q"}


# --------------------------------------------------------------------------- splitting SQL


def split_statements(text: str) -> tuple[list[str], str]:
    """Complete statements of ``text`` (without their ``;``) and the rest after the last ``;``.

    A ``;`` inside a string (``'..'``, ``E'..'``, ``$tag$..$tag$``), a quoted name
    (``".."``) or a comment (``--``, ``/* */``) does not end a statement. Statements
    holding only blanks and comments are dropped.
    """
    statements: list[str] = []
    start = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            escapes = (
                i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            )
            i += 1
            while i < n:
                if escapes and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            while end != -1 and text.startswith('""', end):
                end = text.find('"', end + 2)
            i = n if end == -1 else end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif (
            c == "$"
            and (m := re.match(r"\$([A-Za-z_]\w*)?\$", text[i:]))
            and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))
        ):
            tag = m.group(0)
            end = text.find(tag, i + len(tag))
            i = n if end == -1 else end + len(tag)
        elif c == ";":
            statements.append(text[start:i])
            start = i + 1
            i += 1
        else:
            i += 1
    return [s.strip() for s in statements if not is_blank(s)], text[start:]


def is_blank(sql: str) -> bool:
    """Only whitespace and complete comments (an unterminated string is not blank)."""
    rest = re.sub(r"--[^\n]*(\n|$)|/\*.*?\*/", " ", sql, flags=re.S)
    return not rest.strip()


def is_complete(text: str) -> bool:
    """Whether Enter should run ``text``: it ends with ``;``, is a dot command, or is empty."""
    stripped = text.strip()
    if not stripped or stripped.startswith(".") or stripped.lower() in QUIT_WORDS:
        return True
    statements, rest = split_statements(text)
    return bool(statements) and is_blank(rest)


# --------------------------------------------------------------------------- errors


_LINE = re.compile(r"^LINE (\d+): ?(.*)$")


def one_line(message: str, statement: str | None = None) -> str:
    """DuckDB's multi-line error text as one line: ``Binder Error: ... (line 1, column 8)``.

    The ``LINE n: ...`` excerpt and its caret become a position; the column is given
    only when the excerpt is the statement's whole line (DuckDB cuts long lines).
    """
    lines = [ln.rstrip() for ln in str(message).splitlines()]
    where = ""
    kept: list[str] = []
    k = 0
    while k < len(lines):
        ln = lines[k]
        m = _LINE.match(ln)
        if m:
            where = f"line {m.group(1)}"
            caret = lines[k + 1] if k + 1 < len(lines) else ""
            if "^" in caret and statement is not None:
                prefix = len(ln) - len(m.group(2))
                src = statement.splitlines()
                row = int(m.group(1)) - 1
                if 0 <= row < len(src) and src[row].rstrip() == m.group(2).rstrip():
                    where += f", column {caret.index('^') - prefix + 1}"
            k += 2 if "^" in caret else 1
            continue
        if ln.strip():
            kept.append(ln.strip())
        k += 1
    text = " ".join(kept) if kept else str(message).strip()
    return f"{text} ({where})" if where else text
