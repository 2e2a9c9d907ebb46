"""Tab completion in the shell: SQL keywords and functions (DuckDB's own lists, only
what the sandbox lets run), the catalog's views and their columns (``alias.``
completes the columns of the aliased view), and the arguments of dot commands."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..catalog import Catalog
from .syntax import DEFAULT_MAX_ROWS, DOT_ALIASES, DOT_COMMANDS, MODES


@dataclass
class CatalogWords:
    """What completion offers, read once from the catalog's connection."""

    views: list[str] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)  # view -> columns in order
    functions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, cat: Catalog) -> CatalogWords:
        from .. import sandbox

        con = cat.connection
        words = cls(views=cat.views())
        rows = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = 'main' ORDER BY table_name, column_index",
            [sandbox.CATALOG_ALIAS],
        ).fetchall()
        for table, column in rows:
            words.columns.setdefault(table, []).append(column)
        macros = set(sandbox.table_macros(con))
        # only what the sandbox lets run: no file readers, no table functions off its list
        rows = con.execute(
            "SELECT DISTINCT function_name, function_type FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate', 'table')"
        ).fetchall()
        names = set(macros)
        for name, kind in rows:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                continue
            if name in sandbox.FILE_FUNCTIONS or name.startswith(sandbox.FILE_FUNCTION_PREFIXES):
                continue
            if kind == "table" and not (
                name in sandbox.SAFE_TABLE_FUNCTIONS or name.startswith(sandbox.SAFE_TABLE_FUNCTION_PREFIXES)
            ):
                continue
            names.add(name)
        words.functions = sorted(names)
        try:
            words.keywords = [
                r[0].upper()
                for r in con.execute("SELECT keyword_name FROM duckdb_keywords() ORDER BY 1").fetchall()
            ]
        except Exception:  # pragma: no cover - an engine without duckdb_keywords()
            words.keywords = list(_FALLBACK_KEYWORDS)
        return words

    def all_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for cols in self.columns.values():
            for c in cols:
                seen.setdefault(c, None)
        return list(seen)


_FALLBACK_KEYWORDS = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "INNER",
    "OUTER",
    "CROSS",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "ASC",
    "DESC",
    "QUALIFY",
    "DESCRIBE",
    "SUMMARIZE",
    "SHOW",
    "VALUES",
    "CAST",
    "TRUE",
    "FALSE",
)
_CLAUSES = re.compile(
    r"\b(SELECT|FROM|JOIN|WHERE|ON|USING|GROUP|ORDER|BY|HAVING|QUALIFY|LIMIT|DESCRIBE|SUMMARIZE|"
    r"UNION|EXCEPT|INTERSECT|WITH|AND|OR|NOT|SET)\b",
    re.I,
)
_TABLE_CONTEXT = {"FROM", "JOIN", "DESCRIBE", "SUMMARIZE"}
_FROM_ITEM = re.compile(r"(?:\bFROM|\bJOIN|,)\s+([A-Za-z_]\w*)(?:\s+(?:AS\s+)?([A-Za-z_]\w*))?", re.I)


class SQLCompleter(Completer):
    """Keywords, functions, views and columns; dot commands and their arguments."""

    def __init__(self, words: CatalogWords):
        self.words = words
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        if before.lstrip().startswith(".") and "\n" not in before.strip():
            yield from self._dot(before.lstrip(), complete_event)
            return
        m = re.search(r"([A-Za-z_]\w*)\.(\w*)$", before)
        if m:  # alias.column or view.column
            target = self._resolve(m.group(1), document.text)
            yield from self._match(
                m.group(2), self.words.columns.get(target or "", []), f"column of {target}", keep_case=True
            )
            return
        tail_word = re.search(r"\w*$", before)  # always matches, maybe the empty word
        word = tail_word.group() if tail_word else ""
        if not word and not complete_event.completion_requested:
            return  # no menu after every space while typing; Tab asks for everything
        if before[: len(before) - len(word)].rstrip().endswith("."):
            return  # after a qualifier the regex above did not take (e.g. a quoted name)
        clause = self._clause(before[: len(before) - len(word)])
        in_scope = self._views_in(document.text)
        if in_scope:
            columns = [(c, f"column of {v}") for v in in_scope for c in self.words.columns.get(v, [])]
        else:
            columns = [(c, "column") for c in self.words.all_columns()]
        groups: list[Iterable[tuple[str, str]]]
        views = [(v, "view") for v in self.words.views]
        funcs = [(f, "function") for f in self.words.functions]
        keys = [(k, "keyword") for k in self.words.keywords]
        if clause in _TABLE_CONTEXT:
            groups = [views, keys, funcs]
        else:
            groups = [columns, funcs, keys, views]
        seen: set[str] = set()
        for group in groups:
            for text, meta in group:
                if text.lower() in seen:
                    continue
                for c in self._match(word, [text], meta, keep_case=meta != "keyword"):
                    seen.add(text.lower())
                    yield c

    @staticmethod
    def _match(word: str, candidates: Iterable[str], meta: str, *, keep_case: bool) -> Iterator[Completion]:
        low = word.lower()
        for cand in candidates:
            if cand.lower().startswith(low) and cand != word:
                text = cand if keep_case or not word or not word.islower() else cand.lower()
                yield Completion(text, start_position=-len(word), display_meta=meta)

    def _clause(self, text: str) -> str:
        # strip strings and comments so keywords inside them do not count
        text = re.sub(r"'(?:[^']|'')*'?|--[^\n]*|/\*.*?(\*/|$)", " ", text, flags=re.S)
        found = _CLAUSES.findall(text)
        if not found:
            return ""
        last: str = found[-1].upper()
        # FROM a, b  -> still a table context after the comma; FROM a x -> not
        if last in _TABLE_CONTEXT:
            tail = text[[m.end() for m in _CLAUSES.finditer(text)][-1] :]
            if re.fullmatch(r"\s*", tail) or re.search(r",\s*$", tail):
                return last
            return "AFTER_TABLE"
        return last

    def _views_in(self, text: str) -> list[str]:
        known = {v.lower(): v for v in self.words.views}
        out: list[str] = []
        for ident in re.findall(r"[A-Za-z_]\w*", text):
            v = known.get(ident.lower())
            if v is not None and v not in out:
                out.append(v)
        return out

    def _resolve(self, qualifier: str, text: str) -> str | None:
        known = {v.lower(): v for v in self.words.views}
        if qualifier.lower() in known:
            return known[qualifier.lower()]
        for m in _FROM_ITEM.finditer(text):
            name, alias = m.group(1), m.group(2)
            if alias and alias.lower() == qualifier.lower() and name.lower() in known:
                return known[name.lower()]
        return None

    def _dot(self, before: str, event: CompleteEvent) -> Iterator[Completion]:
        parts = before.split(maxsplit=1)
        if len(parts) == 1 and not before.endswith(" "):
            for cmd, about in DOT_COMMANDS.items():
                if cmd.startswith(parts[0].lower()) and cmd != parts[0]:
                    yield Completion(cmd, start_position=-len(parts[0]), display_meta=about.split("  ")[0])
            return
        cmd = DOT_ALIASES.get(parts[0].lower(), parts[0].lower())
        arg = parts[1] if len(parts) > 1 else ""
        choices = {
            ".schema": self.words.views,
            ".mode": list(MODES),
            ".timer": ["on", "off"],
            ".maxrows": ["0", str(DEFAULT_MAX_ROWS), "1000"],
        }.get(cmd)
        if choices is not None:
            yield from self._match(arg.strip(), choices, cmd[1:], keep_case=True)
        elif cmd == ".output":
            yield from self._paths.get_completions(Document(arg.lstrip(), len(arg.lstrip())), event)
