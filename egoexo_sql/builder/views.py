"""The views step: ``catalog.duckdb`` and ``views.sql`` in the staging folder.

* ``views.sql``: schema-derived views of the tables in schema order, then
  ``queries/views/*.sql`` in dependency order (:func:`view_statements`), all over
  relative ``data/...`` paths (run it inside the catalog folder);
* ``catalog.duckdb``: every table's rows stored in the database file (it opens in any
  DuckDB client, from any folder, after a move, with no set-up;
  :meth:`~egoexo_sql.schema.TableSchema.stored_table_sql`), except the large tables
  whose schema says ``storage = "parquet"``: for them a view over the catalog folder's
  absolute ``data/<table>/`` path, so their rows are stored once
  (:func:`point_views_at` writes the final path after the swap, and again after the
  folder was moved); the derived views over all of them, and the rows of the views
  whose schema says ``materialize`` (written to Parquet too, see :func:`materialize`).

Every view is counted, which also proves it runs before anything is swapped in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..schema import sql_quote
from .swap import REPOINT_TMP

if TYPE_CHECKING:  # pragma: no cover
    from ..reconcile import Reconciliation
    from ..schema import TableSchema
    from .report import BuildReport


def create_views(
    staging: Path,
    schemas: Mapping[str, TableSchema],
    views_dir: Path,
    tool_version: str,
    report: BuildReport,
    progress: Callable[[str, float, float, str], None],
    early: EarlyTables | None = None,
) -> dict[str, str]:
    """Write ``catalog.duckdb`` and ``views.sql`` into ``staging``; put every table's and
    view's row count into ``report`` (and a note for a view whose columns differ from its
    schema). Returns the sha256 of each view's SQL. ``early``: the tables already stored
    while the compile step ran (:class:`EarlyTables`), which this ends."""
    import duckdb

    stored: set[str] = set()
    if early is not None:
        statements, stored = early.finish()
    else:
        statements = view_statements(schemas, views_dir)
    view_hashes = {name: hashlib.sha256(sql.encode()).hexdigest() for name, sql in statements}
    final: list[str] = []  # what views.sql says: materialized views read their Parquet
    con = _connect(staging)
    cwd = os.getcwd()
    try:
        # The tables' Parquet is read by paths relative to the staging folder, made the
        # working directory for this step: no file_search_path (a comma in the folder's
        # path would split it), and no part of the folder's own path in a glob (a "*" or
        # "[" there would match other folders; a "name=value" folder would become a hive
        # partition column). The derived views then read the stored tables.
        os.chdir(staging)
        deferred: list[str] = []  # derived views, counted once all exist
        progress("views", 0, len(statements), "")
        for n, (name, sql) in enumerate(statements):
            progress("views", n, len(statements), name)
            sch = schemas[name]
            try:
                # tables are stored in catalog.duckdb (it opens anywhere, from any
                # folder, in any DuckDB client); views.sql keeps views over data/
                if sch.parquet_only:  # large: a view over the Parquet, not a copy of it
                    con.execute(sch.absolute_view_sql(staging))
                elif name in stored:  # stored while the compile step ran
                    pass
                else:
                    con.execute(sch.stored_table_sql() if sch.kind == "table" else sql)
                if sch.kind == "view" and sch.materialize:
                    sql = materialize(con, sch, staging)
                if sch.kind == "view" and not sch.materialize:
                    deferred.append(name)  # counted below, two at a time
                    report.tables[name] = 0  # (its place in the report's order)
                else:
                    report.tables[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            except duckdb.Error as e:
                e.add_note(f"while creating view {name!r}")
                raise
            final.append(sql)
            if sch.kind == "view":
                report.status[name] = "view"
                cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
                if cols != sch.column_names:
                    missing = [c for c in sch.column_names if c not in cols]
                    extra = [c for c in cols if c not in sch.column_names]
                    report.notes.append(
                        f"view {name}: columns differ from schemas/{name}.toml"
                        + (f"; missing {missing}" if missing else "")
                        + (f"; not in the schema {extra}" if extra else "")
                        + ("; order differs" if not missing and not extra else "")
                    )
        rows, report.reconciliation = _count_views(con, deferred, set(report.tables))
        report.tables.update(rows)
        con.execute("CHECKPOINT")
        progress("views", len(statements), len(statements), "")
    finally:
        os.chdir(cwd)
        con.close()
        shutil.rmtree(staging / ".duckdb_tmp", ignore_errors=True)
    header = (
        f"-- egoexo-sql {tool_version}: the catalog's views. Paths are relative to the\n"
        "-- catalog folder: run inside it, e.g. `duckdb -c '.read views.sql'`.\n\n"
    )
    (staging / "views.sql").write_text(header + "\n".join(final), encoding="utf-8")
    return view_hashes


def _count_views(con: Any, views: list[str], names: set[str]) -> tuple[dict[str, int], Reconciliation]:
    """Row counts of ``views`` (derived views over the stored tables: each count runs its
    query, on one core), and the reconciliation's counts over the catalog (``names``: its
    tables and views; :func:`egoexo_sql.reconcile.counted`), on two threads with cursors
    of ``con``; nothing else changes the database meanwhile."""
    import duckdb

    from ..reconcile import counted

    def count(name: str) -> int:
        cur = con.cursor()
        try:
            return int(cur.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
        except duckdb.Error as e:
            e.add_note(f"while creating view {name!r}")
            raise
        finally:
            cur.close()

    def reconciliation() -> Reconciliation:
        cur = con.cursor()
        try:
            return counted(cur, names)
        finally:
            cur.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="egoexo-sql count") as pool:
        rec = pool.submit(reconciliation)  # first: its queries are the longest
        rows = dict(zip(views, pool.map(count, views)))
        return rows, rec.result()


def _connect(staging: Path) -> Any:
    """A connection to ``staging/catalog.duckdb`` with the build's settings."""
    import duckdb

    con = duckdb.connect(str(staging / "catalog.duckdb"))
    try:  # storing a large table takes seconds: DuckDB would draw its progress bar on stdout
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside Jupyter DuckDB refuses the change unless ipywidgets is installed
        pass
    # the build's memory stays flat whatever the release's size: DuckDB spills to the
    # staging folder beyond this (its default is 80% of the machine's memory)
    con.execute(f"SET memory_limit = {sql_quote(build_memory_limit())}")
    con.execute(f"SET temp_directory = {sql_quote(str(staging / '.duckdb_tmp'))}")
    return con


class EarlyTables:
    """Stores tables into ``staging/catalog.duckdb`` on a thread of the building process
    while the compile step runs (that process only waits for its workers then): each
    table as soon as its source is written (:meth:`add`), read from the staging folder's
    absolute path. The thread also parses the view files (:func:`view_statements`).
    :func:`create_views` then does the rest (:meth:`finish`); a build that fails before
    calls :meth:`abort`. Tables that are ``parquet_only`` are not stored (a view)."""

    def __init__(self, staging: Path, schemas: Mapping[str, TableSchema], views_dir: Path):
        import queue
        import threading

        self.staging, self.schemas, self.views_dir = staging, schemas, views_dir
        self._todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stored: set[str] = set()
        self._statements: list[tuple[str, str]] = []
        self._error: BaseException | None = None
        self._stop = False
        self._con: Any = None
        self._thread = threading.Thread(target=self._run, name="egoexo-sql early tables", daemon=True)
        self._thread.start()

    def add(self, tables: Iterable[str]) -> None:
        """Store these tables (their Parquet is complete in the staging folder)."""
        for t in tables:
            sch = self.schemas.get(t)
            if sch is not None and sch.kind == "table" and not sch.parquet_only:
                self._todo.put(t)

    def finish(self) -> tuple[list[tuple[str, str]], set[str]]:
        """Wait for the thread: (the view statements, the tables stored); raises what it
        raised."""
        self._todo.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._statements, set(self._stored)

    def abort(self) -> None:
        """Stop storing (the build failed): the thread ends and closes the database."""
        self._stop = True
        con = self._con
        if con is not None:
            with contextlib.suppress(Exception):
                con.interrupt()
        self._todo.put(None)
        self._thread.join()

    def _run(self) -> None:
        import duckdb

        con = None
        try:
            con = self._con = _connect(self.staging)
            con.execute("SET threads = 1")  # the workers have the cores
            self._statements = view_statements(self.schemas, self.views_dir)
            while (t := self._todo.get()) is not None:
                if self._stop:
                    continue
                try:
                    con.execute(self.schemas[t].stored_table_sql(self.staging))
                except duckdb.Error as e:
                    e.add_note(f"while creating view {t!r}")
                    raise
                self._stored.add(t)
        except BaseException as e:  # raised again by finish()
            self._error = e
            while self._todo.get() is not None:  # until finish() or abort()
                pass
        finally:
            self._con = None
            if con is not None:
                con.close()


def views_elsewhere(catalog: Path, schemas: Mapping[str, TableSchema]) -> list[str]:
    """The ``storage = "parquet"`` tables whose view in ``catalog/catalog.duckdb`` does
    not read ``catalog/data/`` (the build was made in a staging folder, or the catalog
    folder was moved since), in schema order."""
    import duckdb

    wanted = [t for t, sch in schemas.items() if sch.parquet_only]
    if not wanted:
        return []
    con = duckdb.connect(str(catalog / "catalog.duckdb"), read_only=True)
    try:
        found = dict(
            con.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
            ).fetchall()
        )
    finally:
        con.close()
    return [t for t in wanted if f"'{sql_str(str(catalog))}/data/{t}/" not in (found.get(t) or "")]


def point_views_at(catalog: Path, schemas: Mapping[str, TableSchema]) -> list[str]:
    """Make the views of the ``storage = "parquet"`` tables in ``catalog.duckdb`` read
    ``catalog/data/`` by its absolute path; returns the tables whose view changed.

    Readers may hold ``catalog.duckdb`` open (DuckDB then refuses a writer), so the file
    is copied (it holds no large table), the copy rewritten, and renamed over the
    original: a reader keeps the file it opened, the next one opens the new file."""
    import duckdb

    stale = views_elsewhere(catalog, schemas)
    if not stale:
        return []
    db, tmp = catalog / "catalog.duckdb", catalog / REPOINT_TMP
    shutil.copyfile(db, tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for t in stale:
                con.execute(schemas[t].absolute_view_sql(catalog))
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, db)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return stale


def materialize(con: Any, sch: TableSchema, staging: Path) -> str:
    """Store a derived view's rows as Parquet (it is recomputed on every build, from the
    tables just built), store the same rows in catalog.duckdb in place of the view, and
    return the view over that file that views.sql gives."""
    from .parquet import ROW_GROUP_ROWS

    dest = staging / "data" / sch.table
    dest.mkdir(parents=True, exist_ok=True)
    cols = [r[0] for r in con.execute(f'DESCRIBE "{sch.table}"').fetchall()]
    # JSON is stored as text, as the Parquet writer stores it for every table
    as_text = [
        f'CAST("{c}" AS VARCHAR) AS "{c}"'
        for c in cols
        if c in sch.column_names and sch.column(c).type.upper() == "JSON"
    ]
    replace = f" REPLACE ({', '.join(as_text)})" if as_text else ""
    con.execute(
        f"COPY (SELECT *{replace} FROM \"{sch.table}\") TO '{sql_str(str(dest / 'part-0.parquet'))}' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
    )
    if cols == sch.column_names:
        sql, stored = sch.view_sql(), sch.stored_table_sql()
    else:  # keep the view's own columns; create_views() notes the difference
        select = f"SELECT * FROM read_parquet('{sch.data_glob()}');\n"
        sql = f"CREATE OR REPLACE VIEW {sch.table} AS\n{select}"
        stored = f"CREATE OR REPLACE TABLE {sch.table} AS\n{select}"
    con.execute(f'DROP VIEW "{sch.table}"')
    con.execute(stored)  # catalog.duckdb holds the rows; views.sql a view over the file
    return sql


#: DuckDB's memory limit inside a build (environment: EGOEXO_SQL_MEMORY_LIMIT)
MEMORY_LIMIT_ENV = "EGOEXO_SQL_MEMORY_LIMIT"


def build_memory_limit() -> str:
    """DuckDB's memory limit for the build's connections: ``$EGOEXO_SQL_MEMORY_LIMIT``
    or 400MB (beyond it DuckDB spills to disk), so that the whole build stays under
    1 GB of memory at any release size."""
    return os.environ.get(MEMORY_LIMIT_ENV) or "400MB"


def view_statements(schemas: Mapping[str, TableSchema], views_dir: Path) -> list[tuple[str, str]]:
    """(name, CREATE VIEW statement): tables in schema order, then derived views by dependency."""
    out = [(t, s.view_sql()) for t, s in schemas.items() if s.kind == "table"]
    derived = [t for t, s in schemas.items() if s.kind == "view"]
    sqls: dict[str, str] = {}
    deps: dict[str, set[str]] = {}
    import duckdb

    parser = duckdb.connect()  # its parser only: nothing is created or read
    try:
        for v in derived:
            f = views_dir / f"{v}.sql"
            if not f.is_file():
                raise FileNotFoundError(f'schemas/{v}.toml has kind = "view" but {f} does not exist')
            sql, refs = _view_sql(v, f.read_text(encoding="utf-8"), parser)
            sqls[v] = sql
            deps[v] = {r for r in refs if r in sqls or r in derived} - {v}
    finally:
        parser.close()
    done: set[str] = set()
    pending = list(derived)
    while pending:
        ready = [v for v in pending if deps[v] <= done]
        if not ready:
            raise ValueError(f"views depend on each other in a cycle: {', '.join(pending)}")
        v = ready[0]  # schema (file-name) order among those ready
        out.append((v, sqls[v]))
        done.add(v)
        pending.remove(v)
    return out


def view_file_hash(views_dir: Path, view: str) -> str | None:
    """sha256 of ``queries/views/<view>.sql`` (None when there is no such file)."""
    f = views_dir / f"{view}.sql"
    return hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None


def sql_str(s: str) -> str:
    """``s`` inside single quotes in SQL."""
    return s.replace("'", "''")


#: ``CREATE [OR REPLACE] [TEMP] VIEW name AS <query>`` after any leading comments
_CREATE_VIEW = re.compile(
    r"(?:\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/))*\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?VIEW\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?(?:\"[^\"]+\"|[\w.]+)\s+AS\s+(?P<query>.*)",
    re.IGNORECASE | re.DOTALL,
)


def _view_sql(name: str, text: str, parser: Any = None) -> tuple[str, set[str]]:
    """A view file (a query, or a CREATE VIEW) as CREATE OR REPLACE VIEW, and the tables it
    reads: from DuckDB's parse tree (``json_serialize_sql``: its table references less
    its CTEs), with ``parser`` a DuckDB connection; sqlglot (0.3 s to import and parse
    the view files) only for a file DuckDB's serializer does not take."""
    import duckdb

    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    con = parser if parser is not None else duckdb.connect()
    try:
        try:
            statements = con.extract_statements(body)
        except duckdb.Error as e:
            raise ValueError(f"queries/views/{name}.sql: {e}") from None
        if len(statements) != 1:
            raise ValueError(f"queries/views/{name}.sql: one statement expected, got {len(statements)}")
        is_create = statements[0].type == duckdb.StatementType.CREATE
        sql = body + ";\n" if is_create else f"CREATE OR REPLACE VIEW {name} AS\n{body}\n;\n"
        query: str | None = body
        if is_create:  # the query after CREATE VIEW ... AS (None: a form the regex does not know)
            m = _CREATE_VIEW.fullmatch(body)
            query = m.group("query") if m else None
        if query is not None:
            tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
            if not tree.get("error"):
                return sql, _tables_read(tree)
    finally:
        if parser is None:
            con.close()
    return sql, _view_refs_sqlglot(name, body)


def _tables_read(tree: Any) -> set[str]:
    """The table names of a serialized DuckDB parse tree, less the names of its CTEs."""
    tables: set[str] = set()
    ctes: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("table_name"):
                tables.add(str(node["table_name"]))
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                ctes.update(str(e.get("key")) for e in cte_map.get("map", []))
            stack.extend(node.values())
    return tables - ctes


def _view_refs_sqlglot(name: str, body: str) -> set[str]:
    """The tables a view file reads, by sqlglot."""
    import sqlglot
    from sqlglot import expressions as exp

    try:
        tree = sqlglot.parse_one(body, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise ValueError(f"queries/views/{name}.sql: {e}") from None
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
