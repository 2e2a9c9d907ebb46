"""The guard for user SQL: one read-only query, on a connection that cannot reach files.

Two independent layers, each enough on its own for the common attacks:

1. :func:`guard` (what ``egoexo-sql query`` and a sandboxed
   :class:`~egoexo_sql.catalog.Catalog` run) asks DuckDB's own parser: exactly one
   statement, of type SELECT; then walks DuckDB's serialized tree of it
   (``json_serialize_sql``) and refuses a second statement, COPY, ATTACH, INSTALL/LOAD,
   PRAGMA, SET, CREATE/INSERT/UPDATE/DELETE/DROP/..., table functions that read files or
   run SQL from strings (``read_csv``, ``read_parquet``, ``read_json``, ``read_text``,
   ``glob``, ``query`` ...) anywhere in the tree, table functions not on a short
   allow-list, and table names that look like file paths (``FROM 'x.csv'``).
   A refusal is a :class:`Refused` naming what was refused and its line and column.
   sqlglot (about 0.15 s to import) is not on this path: only when there is something
   to refuse does :func:`check`, the same rules over sqlglot's tree, word the message;
   :func:`check` is also what the docs' examples are checked with.

2. :func:`connect` opens the catalog on a fresh in-memory DuckDB instance (never the
   process-wide shared instance of the file, so locking it cannot leak into another
   connection) with ``catalog.duckdb`` attached READ_ONLY and these settings, set
   before ``lock_configuration = true`` freezes them:

   - ``enable_external_access = false``: no file, network, extension or Python-object
     access, except
   - ``allowed_directories = ['<catalog>/data/']``: files the views resolve to;
   - ``allowed_paths = [<the relative paths the views read, e.g. 'data/takes/*.parquet'>]``:
     DuckDB checks a relative path as given (made absolute against the working
     directory), before ``file_search_path`` resolves it to the catalog folder; every
     file the glob then yields must still be under ``<catalog>/data/``. Only paths
     that start with ``data/`` and have no ``..`` are allowed, so a view that reads
     outside the folder fails here. Because these are absolute against the working
     directory at open time, :class:`~egoexo_sql.catalog.Catalog` reconnects when the
     working directory changes;
   - ``file_search_path = '<catalog>'``: the views' relative paths resolve there;
   - ``temp_directory = ''``: no spill folder (it would be writable);
   - ``autoload_known_extensions = false``, ``autoinstall_known_extensions = false``,
     ``allow_community_extensions = false``: no extension arrives behind a query;
   - ``python_enable_replacements = false``: Python variables are not tables.

   The catalog database itself is attached read-only, so DDL and DML fail too.

``tests/test_sandbox.py`` proves each layer separately (the engine tests bypass
:func:`check`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import QueryError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import sqlglot.errors
    from sqlglot import Token, exp

#: the name the catalog database is attached under (and its default database)
CATALOG_ALIAS = "catalog"

# Table functions and scalar functions that read files, other databases or SQL text.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_tsv",
        "sniff_csv",
        "from_csv_auto",
        "read_parquet",
        "parquet_scan",
        "from_parquet",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_bloom_probe",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
        "read_xlsx",
        "read_avro",
        "read_duckdb",
        "st_read",
        "st_read_meta",
        "st_readosm",
        "st_readshp",
        "iceberg_scan",
        "iceberg_metadata",
        "iceberg_snapshots",
        "delta_scan",
        "sqlite_scan",
        "sqlite_attach",
        "postgres_scan",
        "postgres_attach",
        "postgres_query",
        "mysql_scan",
        "mysql_query",
        "query",
        "query_table",
        "json_execute_serialized_sql",
        "arrow_scan",
        "arrow_scan_dumb",
        "pandas_scan",
        "python_arrow_scan",
        "seq_scan",
        "copy_database",
        "import_database",
        "load_aws_credentials",
        "checkpoint",
        "force_checkpoint",
        "which_secret",
    }
)
FILE_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "st_read",
    "from_",
)

# Table functions a query may use in FROM (besides the catalog's own table macros).
SAFE_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree", "pragma_table_info"}
)
SAFE_TABLE_FUNCTION_PREFIXES = ("duckdb_",)

_QUERY_HINT = (
    "only one read-only query runs against the catalog "
    "(SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, SHOW)"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATHLIKE = re.compile(r"[/\\.:~]")


class Refused(QueryError):
    """The sandbox refused a query: ``what`` was refused at ``line``/``column`` (1-based)."""

    def __init__(self, what: str, reason: str, line: int | None = None, column: int | None = None):
        self.what = what
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"refused {what}{where}: {reason}")


def _position(sql: str, offset: int | None) -> tuple[int | None, int | None]:
    if offset is None:
        return None, None
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, column


# --------------------------------------------------------------------------- sqlglot layer


def parse_sql(sql: str) -> tuple[list[Token], list[exp.Expr | None]]:
    """Tokens and statement trees of ``sql`` (DuckDB dialect); syntax errors as QueryError.
    Shared by the guard and by egoexo_sql.engines."""
    import logging

    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    dialect = sqlglot.Dialect.get_or_raise("duckdb")
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)  # "falling back to parsing as a Command" is ours to report
    try:
        tokens = dialect.tokenize(sql)
        trees = dialect.parser().parse(tokens, sql)
    except TokenError as e:
        raise QueryError(f"cannot read the SQL: {e}") from None
    except ParseError as e:
        raise syntax_error(e) from None
    finally:
        log.setLevel(level)
    return tokens, trees


def syntax_error(e: sqlglot.errors.ParseError) -> QueryError:
    """sqlglot's parse error as one readable line with its position."""
    err = e.errors[0] if e.errors else {}
    desc = str(err.get("description") or e).split("\n")[0]
    desc = re.sub(r"<Token token_type: \S+ text: ([^,]*), .*?>", r"'\1'", desc)
    where = f" at line {err['line']}, column {err['col']}" if "line" in err else ""
    return QueryError(f"syntax error{where}: {desc}")


def _statement_starts(tokens: list[Token]) -> list[int]:
    """Offset of the first token of each statement (statements split on ';')."""
    from sqlglot import TokenType

    starts: list[int] = []
    at_start = True
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            at_start = True
        elif at_start:
            starts.append(tok.start)
            at_start = False
    return starts


def _func_names(node: exp.Func, sql: str) -> set[str]:
    """The names a function node may go by: as written in the SQL, and sqlglot's."""
    from sqlglot import exp

    names: set[str] = set()
    meta = node.meta if hasattr(node, "meta") else {}
    start, end = meta.get("start"), meta.get("end")
    if isinstance(start, int) and isinstance(end, int):
        text = sql[start : end + 1]
        if _IDENT.fullmatch(text):
            names.add(text.lower())
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        try:
            names.update(n.lower() for n in node.sql_names())
        except Exception:  # pragma: no cover - defensive: odd sqlglot classes
            pass
    names.discard("anonymous")
    return names


def _func_offset(node: exp.Expr) -> int | None:
    meta = node.meta if hasattr(node, "meta") else {}
    start = meta.get("start")
    return start if isinstance(start, int) else None


def _display_name(names: set[str], node: exp.Func, sql: str) -> str:
    meta = node.meta if hasattr(node, "meta") else {}
    start, end = meta.get("start"), meta.get("end")
    if isinstance(start, int) and isinstance(end, int) and _IDENT.fullmatch(sql[start : end + 1]):
        return sql[start : end + 1]
    return sorted(names)[0] if names else type(node).__name__.lower()


def reads_files(name: str) -> bool:
    """True for a function the guard refuses anywhere: it reads files or runs SQL from text."""
    n = name.lower()
    return n in FILE_FUNCTIONS or n.startswith(FILE_FUNCTION_PREFIXES) or n.endswith("_scan")


def allowed_table_function(name: str, table_macros: Iterable[str] = ()) -> bool:
    """True for a table function the guard lets a query use in FROM."""
    n = name.lower()
    if reads_files(n):
        return False
    return (
        n in SAFE_TABLE_FUNCTIONS
        or n.startswith(SAFE_TABLE_FUNCTION_PREFIXES)
        or n in {m.lower() for m in table_macros}
    )


def _reads_files(names: set[str]) -> bool:
    return any(reads_files(n) for n in names)


def _refuse_file_function(node: exp.Func, sql: str) -> None:
    names = _func_names(node, sql)
    if _reads_files(names):
        raise Refused(
            f"{_display_name(names, node, sql)}()",
            "it reads files or runs SQL from text; query the catalog's views instead",
            *_position(sql, _func_offset(node)),
        )


def _safe_table_function(names: set[str], table_macros: _LazyNames) -> bool:
    if any(n in SAFE_TABLE_FUNCTIONS or n.startswith(SAFE_TABLE_FUNCTION_PREFIXES) for n in names):
        return True
    return any(n in table_macros.get() for n in names)


class _LazyNames:
    def __init__(self, source: Iterable[str] | Callable[[], Iterable[str]]):
        self._source = source
        self._names: set[str] | None = None

    def get(self) -> set[str]:
        if self._names is None:
            src = self._source() if callable(self._source) else self._source
            self._names = {n.lower() for n in src}
        return self._names


def check(sql: str, *, table_macros: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
    """Refuse ``sql`` unless it is exactly one read-only query (see the module docstring).

    ``table_macros``: names of the catalog's table macros, allowed in FROM, or a
    function returning them (called only when a table function is not on the
    allow-list: listing macros costs DuckDB tens of milliseconds).
    Raises :class:`Refused` (a :class:`~egoexo_sql.errors.QueryError`) or a
    QueryError for a syntax error; returns ``None`` when the query may run.
    """
    from sqlglot import exp

    macros = _LazyNames(table_macros)
    tokens, trees = parse_sql(sql)
    starts = _statement_starts(tokens)
    statements = [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) > 1:
        off = starts[1] if len(starts) > 1 else None
        raise Refused("a second statement", _QUERY_HINT, *_position(sql, off))

    tree = statements[0]
    first = starts[0] if starts else 0
    allowed_roots = (
        exp.Select,
        exp.SetOperation,
        exp.Subquery,
        exp.Values,
        exp.Describe,
        exp.Summarize,
        exp.Show,
        exp.Pivot,
    )
    if not isinstance(tree, allowed_roots):
        keyword = re.match(r"\s*(\w+)", sql[first:])
        what = (keyword.group(1) if keyword else type(tree).__name__).upper()
        raise Refused(what, _QUERY_HINT, *_position(sql, first))

    forbidden = (
        exp.Copy,
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.Attach,
        exp.Detach,
        exp.Command,
        exp.Set,
        exp.Pragma,
        exp.Use,
        exp.Install,
        exp.Merge,
        exp.Transaction,
        exp.Commit,
        exp.Rollback,
        exp.Export,
        exp.TruncateTable,
    )
    for node in tree.walk():
        if isinstance(node, forbidden):
            raise Refused(
                type(node).__name__.upper() + " inside the query", _QUERY_HINT, *_position(sql, first)
            )
        if isinstance(node, exp.Func):
            _refuse_file_function(node, sql)
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Func):
                _refuse_file_function(target, sql)  # before the walk reaches it: the clearer message
                names = _func_names(target, sql)
                if not _safe_table_function(names, macros):
                    raise Refused(
                        f"table function {_display_name(names, target, sql)}()",
                        "only range, generate_series, unnest, json_each, json_tree, "
                        "pragma_table_info, duckdb_*() and the catalog's table macros may be "
                        "used in FROM",
                        *_position(sql, _func_offset(target)),
                    )
            elif isinstance(target, exp.Identifier) and _PATHLIKE.search(str(target.name)):
                raise Refused(
                    f"the table name {target.name!r}",
                    "it looks like a file path; only the catalog's views can be queried",
                    *_position(sql, _func_offset(target)),
                )


# --------------------------------------------------------------------------- engine layer


def check_engine(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """DuckDB's own parser must see exactly one SELECT statement."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(str(e)) from None
    if len(statements) != 1:
        raise Refused(f"{len(statements)} statements", _QUERY_HINT)
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        name = getattr(kind, "name", str(kind))
        raise Refused(f"a {name} statement", _QUERY_HINT)


# --------------------------------------------------------------------------- the query path


def guard(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    *,
    table_macros: Iterable[str] | Callable[[], Iterable[str]] = (),
) -> None:
    """Refuse ``sql`` unless it is one read-only query, with DuckDB's own parser only.

    What ``egoexo-sql query`` and a sandboxed :class:`~egoexo_sql.catalog.Catalog` run:
    DuckDB parses the SQL (:func:`check_engine`: exactly one SELECT) and serializes its
    tree (``json_serialize_sql``), in which every function and table reference is found:
    a function that reads files or runs SQL from text, a table function off the
    allow-list, a table name that looks like a file path are refused. sqlglot, which
    costs about 0.15 s to import, is used only to word a refusal (the same message and
    position as :func:`check`); a query with nothing to refuse never imports it.
    """
    import json

    import duckdb

    macros = _LazyNames(table_macros)
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        check(sql, table_macros=macros.get)  # sqlglot's message for a syntax error
        raise QueryError(str(e)) from None
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        check(sql, table_macros=macros.get)
        check_engine(con, sql)  # refuses, should sqlglot have let it pass
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    if tree.get("error"):
        check(sql, table_macros=macros.get)
        raise Refused("this query", f"{_QUERY_HINT} ({tree.get('error_message', 'not a SELECT')})")
    found = _refusable(tree, sql, macros)
    if found is not None:
        check(sql, table_macros=macros.get)  # the same refusal, worded and placed as check()'s
        raise found


_NO_LOCATION = (1 << 64) - 1


def _refusable(tree: object, sql: str, macros: _LazyNames) -> Refused | None:
    """The first function or table reference of DuckDB's serialized tree to refuse."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", ""))
            at = _position(sql, _location(node))
            if reads_files(name):
                return Refused(
                    f"{name}()",
                    "it reads files or runs SQL from text; query the catalog's views instead",
                    *at,
                )
            if not (
                name.lower() in SAFE_TABLE_FUNCTIONS
                or name.lower().startswith(SAFE_TABLE_FUNCTION_PREFIXES)
                or name.lower() in macros.get()
            ):
                return Refused(
                    f"table function {name}()",
                    "only range, generate_series, unnest, json_each, "
                    "json_tree, pragma_table_info, duckdb_*() and the catalog's table macros "
                    "may be used in FROM",
                    *at,
                )
        elif kind == "FUNCTION" and reads_files(str(node.get("function_name", ""))):
            return Refused(
                f"{node.get('function_name')}()",
                "it reads files or runs SQL from text; query the catalog's views instead",
                *_position(sql, _location(node)),
            )
        elif kind == "BASE_TABLE" and _PATHLIKE.search(str(node.get("table_name", ""))):
            return Refused(
                f"the table name {node.get('table_name')!r}",
                "it looks like a file path; only the catalog's views can be queried",
                *_position(sql, _location(node)),
            )
        stack.extend(reversed(list(node.values())))
    return None


def _location(node: dict[str, Any]) -> int | None:
    loc = node.get("query_location")
    return loc if isinstance(loc, int) and loc != _NO_LOCATION else None


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def view_paths(con: duckdb.DuckDBPyConnection, database: str = CATALOG_ALIAS) -> list[str]:
    """Relative file paths the catalog's views read (``data/...``, no ``..``).

    Views only: macros that read files would fail in the sandbox (listing macros
    through ``duckdb_functions()`` costs more than the whole query on the fast path).
    """
    rows = con.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = ? AND NOT internal", [database]
    ).fetchall()
    paths: set[str] = set()
    for (text,) in rows:
        for m in _LITERAL.finditer(text or ""):
            value = m.group(1).replace("''", "'")
            if value.startswith("./"):
                value = value[2:]
            parts = value.replace("\\", "/").split("/")
            if parts[0] == "data" and len(parts) > 1 and ".." not in parts and "" not in parts:
                paths.add(value)
    return sorted(paths)


def table_macros(con: duckdb.DuckDBPyConnection, database: str = CATALOG_ALIAS) -> set[str]:
    rows = con.execute(
        "SELECT function_name FROM duckdb_functions() "
        "WHERE database_name = ? AND function_type = 'table_macro'",
        [database],
    ).fetchall()
    return {r[0] for r in rows}


#: a view over a large table's Parquet by the absolute path of the folder it was built in
_ABSOLUTE_DATA = re.compile(r"read_parquet\(\[?'((?:[^']|'')+?)/data/")


def point_views_here(con: duckdb.DuckDBPyConnection, directory: str) -> list[str]:
    """Large tables (``storage = "parquet"``) are views over the absolute path of the
    catalog folder they were built in. When this folder is elsewhere (moved, or a
    generation a reader keeps under ``.generations/``), shadow each such view with a
    TEMP view of the same SQL over this folder's ``data/``: the derived views, bound by
    name, read it too. Returns the views shadowed."""
    here = directory.replace("'", "''")
    rows = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ? AND NOT internal "
        "AND sql LIKE '%read\\_parquet(%' ESCAPE '\\'",
        [CATALOG_ALIAS],
    ).fetchall()
    shadowed = []
    for name, text in rows:
        m = _ABSOLUTE_DATA.search(text or "")
        if m is None or not m.group(1).startswith("/") and ":" not in m.group(1)[:3]:
            continue  # relative views of older catalogs: file_search_path serves them
        there = m.group(1)
        if there == here:
            continue
        sql = text.replace(f"'{there}/data/", f"'{here}/data/")
        sql = re.sub(
            r"^\s*CREATE\s+(OR\s+REPLACE\s+)?VIEW\s", "CREATE OR REPLACE TEMP VIEW ", sql, count=1, flags=re.I
        )
        con.execute(sql)
        shadowed.append(name)
    return shadowed


def attach(catalog_dir: Path, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory instance with ``catalog.duckdb`` attached read-only and in use.

    ``config``: DuckDB settings for the instance (startup-only ones included);
    without it DuckDB's defaults hold (a notebook's own connection).
    """
    import duckdb

    directory = str(Path(catalog_dir).resolve())
    con = duckdb.connect(":memory:", config=dict(config or {}))
    try:
        # keep the Parquet footers read once: a query of one take's trajectory rows reads
        # the footer of every file of the table to skip the other takes' row groups (at 66M
        # rows: 60 ms a query without the cache, 15 ms with it; bench/bench_sensors.py)
        con.execute("SET parquet_metadata_cache = true")
        # for catalogs whose views read data/ by relative paths (built before the tables
        # were stored in catalog.duckdb); file_search_path is a comma-separated list, so a
        # folder with a comma in its path cannot be expressed there (and needs no entry:
        # a catalog built now stores its tables)
        if "," not in directory:
            con.execute(f"SET file_search_path = {_quote(directory)}")
        db = str(Path(directory) / "catalog.duckdb")
        con.execute(f"ATTACH {_quote(db)} AS {CATALOG_ALIAS} (READ_ONLY)")
        con.execute(f"USE {CATALOG_ALIAS}")
        point_views_here(con, directory)
    except BaseException:
        con.close()
        raise
    return con


def connect(catalog_dir: Path) -> duckdb.DuckDBPyConnection:
    """The locked, read-only connection user SQL runs on (see the module docstring)."""
    directory = Path(catalog_dir).resolve()
    con = attach(
        directory,
        {
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "allow_community_extensions": False,
        },
    )
    try:
        paths = view_paths(con)
        data_dir = str(directory / "data") + "/"
        con.execute("SET temp_directory = ''")
        con.execute(f"SET allowed_directories = [{_quote(data_dir)}]")
        if paths:
            con.execute(f"SET allowed_paths = [{', '.join(_quote(p) for p in paths)}]")
        con.execute("SET python_enable_replacements = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con
