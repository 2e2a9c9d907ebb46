"""Open a built catalog read-only and query it: the Python API and what the CLI runs on.

    cat = Catalog.open("egoexo_catalog")      # or egoexo_sql.open(...)
    cat.sql("SELECT scenario, count(*) FROM takes GROUP BY ALL")   # polars.DataFrame
    cat.table("keystep_segments")                                 # polars.LazyFrame
    cat.tables(); cat.describe("takes"); cat.connection

Every catalog gets its own in-memory DuckDB instance with ``catalog.duckdb``
attached READ_ONLY (as ``catalog``, the default database). The build stores every
table's rows in ``catalog.duckdb`` and the derived views read them, so the catalog
answers wherever the folder was moved and whatever the working directory is (catalogs
built before that held views over relative ``data/<table>/...`` paths: for them
``file_search_path`` is set to the catalog folder). Its own
instance, because DuckDB shares one instance per database file inside a process:
settings made on one connection would otherwise show up on another. Scratch tables
can go into the in-memory database (``CREATE TABLE memory.t AS ...``).

``Catalog.open(path, sandbox=True)`` (what ``egoexo-sql query`` uses) runs user SQL
through :mod:`egoexo_sql.sandbox`: one read-only query, on a locked connection that
cannot reach files outside the catalog's ``data/`` folder or load extensions.

Polars is imported only by :meth:`Catalog.sql`, :meth:`Catalog.table`,
:meth:`Catalog.tables` and :meth:`Catalog.describe`; the CLI uses the row and Arrow
methods (:meth:`Catalog.relation`, :meth:`Catalog.execute`, :meth:`Catalog.table_rows`,
:meth:`Catalog.describe_rows`) so that ``egoexo-sql query`` starts fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from . import sandbox as _sandbox
from .errors import CatalogNotFound, QueryError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .schema import TableSchema

DEFAULT_DIR = "egoexo_catalog"
ENV_VAR = "EGOEXO_SQL_CATALOG"

TABLE_COLUMNS = ["name", "kind", "rows", "description"]
DESCRIBE_COLUMNS = ["column", "type", "nullable", "description"]


def resolve_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The catalog folder: ``path``, else ``$EGOEXO_SQL_CATALOG``, else ``./egoexo_catalog``.

    Accepts the folder or its ``catalog.duckdb``; raises :class:`CatalogNotFound`
    (exit 2) saying what is missing and how to build one.
    """
    raw = path if path is not None else (os.environ.get(ENV_VAR) or DEFAULT_DIR)
    p = Path(raw).expanduser()
    if p.is_file() and p.name == "catalog.duckdb":
        p = p.parent
    hint = f"build one with `egoexo-sql build RELEASE_DIR --catalog {raw}`, or point --catalog or ${ENV_VAR} at one"
    if not p.exists():
        raise CatalogNotFound(f"no catalog at {raw}: the folder does not exist; {hint}")
    if not p.is_dir():
        raise CatalogNotFound(f"{raw} is not a catalog folder (it is a file); {hint}")
    if not (p / "catalog.duckdb").is_file():
        raise CatalogNotFound(f"{raw} is not an egoexo-sql catalog: it has no catalog.duckdb; {hint}")
    return p.resolve()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Catalog:
    """A built catalog, open read-only. Use :meth:`open` (or ``egoexo_sql.open``)."""

    def __init__(self, path: str | os.PathLike[str], *, sandbox: bool = False):
        from .generations import Lease

        self.path = Path(path).resolve()
        self.sandboxed = sandbox
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cwd: str | None = None
        self._macros: set[str] | None = None
        # the build this reader opened, kept readable across rebuilds (generations.py)
        self._lease = Lease(self.path)
        self._root = self.path  # where the views' data/ paths resolve
        try:
            self._connect()
        except BaseException:
            self._lease.close()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, sandbox: bool = False) -> Catalog:
        """Open the catalog at ``path`` (default ``$EGOEXO_SQL_CATALOG`` or ``./egoexo_catalog``).

        ``sandbox=True`` refuses anything but one read-only query and locks the
        connection away from files and extensions (see :mod:`egoexo_sql.sandbox`).
        """
        return cls(resolve_dir(path), sandbox=sandbox)

    # ------------------------------------------------------------------ connection

    def _connect(self) -> None:
        try:
            if self.sandboxed:
                self._con = _sandbox.connect(self._root)
            else:
                self._con = _sandbox.attach(self._root)
        except duckdb.Error as e:
            raise CatalogNotFound(
                f"{self._root / 'catalog.duckdb'} cannot be opened as a catalog: {e}"
            ) from None
        self._cwd = os.getcwd()

    def _check_swap(self) -> None:
        if self._con is not None and self._root == self.path and self._lease.swapped():
            self._follow_swap()

    def _follow_swap(self) -> None:
        """A rebuild swapped the catalog: keep reading the build this reader opened.

        The build kept it under ``.generations/`` because this reader's lease held it;
        when it could not (no file locks), the reader moves on to the new build.
        """
        from .generations import Lease

        con = self._con
        assert con is not None  # _check_swap asks only an open catalog
        kept = self._lease.retained()
        if kept is None:
            self._lease.close()
            self._lease = Lease(self.path)
            self._root = self.path
            con.close()
            self._macros = None
            self._connect()
        elif self.sandboxed:  # a locked configuration: a new connection
            self._root = kept
            con.close()
            self._connect()
        else:  # same attached database file; scratch tables in memory survive
            self._root = kept
            if "," not in str(kept):  # relative views of older catalogs (see sandbox.attach)
                con.execute(f"SET file_search_path = '{str(kept).replace(chr(39), chr(39) * 2)}'")

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (catalog attached read-only as the default database)."""
        if self._con is None:
            raise UsageError("the catalog is closed")
        self._check_swap()
        if self.sandboxed and os.getcwd() != self._cwd:
            # the sandbox's allowed_paths are absolute against the working directory
            self._con.close()
            self._connect()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self._lease.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "sandboxed" if self.sandboxed else "read-only"
        return f"<Catalog {str(self.path)!r} {state}>"

    @property
    def build_info(self) -> dict[str, Any]:
        """``build.json`` (inputs, versions, rows, timings); ``{}`` when there is none."""
        self._check_swap()
        f = self._root / "build.json"
        if not f.is_file():
            return {}
        import orjson  # a build.json lists every input: 16,000 at scale 1, 5x faster than json

        info: dict[str, Any] = orjson.loads(f.read_bytes())
        return info

    # ------------------------------------------------------------------ queries

    def check(self, query: str) -> None:
        """Refuse ``query`` as :meth:`execute` would (sandboxed: one read-only query only)."""
        if not isinstance(query, str):
            raise UsageError(f"SQL must be a string, not {type(query).__name__}")
        if self.sandboxed:
            _sandbox.guard(self.connection, query, table_macros=self._table_macros)

    def _table_macros(self) -> set[str]:
        if self._macros is None:
            self._macros = _sandbox.table_macros(self.connection)
        return self._macros

    def relation(self, query: str) -> duckdb.DuckDBPyRelation | None:
        """A DuckDB relation for ``query`` (lazy: nothing runs until it is fetched).

        ``.fetchall()``, ``.to_arrow_table()``, ``.pl()``; ``None`` for a statement
        with no result (only possible without the sandbox).
        """
        self.check(query)
        try:
            return self.connection.sql(query)
        except duckdb.Error as e:
            raise QueryError(str(e)) from None

    def execute(
        self, query: str, params: list[Any] | dict[str, Any] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """Run ``query``; the connection holds the result: ``.description``, ``.fetchmany(n)``.

        Read the whole result before the next query: a partly read result blocks
        the connection.
        """
        self.check(query)
        try:
            return self.connection.execute(query, params) if params else self.connection.execute(query)
        except duckdb.Error as e:
            raise QueryError(str(e)) from None

    def sql(self, query: str) -> pl.DataFrame:
        """Run ``query`` and return a polars DataFrame."""
        import polars as pl

        rel = self.relation(query)
        if rel is None:
            return pl.DataFrame()
        try:
            frame: pl.DataFrame = rel.pl()
            return frame
        except duckdb.Error as e:
            raise QueryError(str(e)) from None

    # ------------------------------------------------------------------ tables

    def views(self) -> list[str]:
        """Names of the catalog's views (and tables), sorted."""
        rows = self.connection.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' "
            "AND NOT internal UNION SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = ? AND schema_name = 'main' ORDER BY 1",
            [_sandbox.CATALOG_ALIAS, _sandbox.CATALOG_ALIAS],
        ).fetchall()
        return [r[0] for r in rows]

    def _require(self, name: str) -> None:
        views = self.views()
        if name not in views:
            raise UsageError(f"no table or view {name!r} in {self.path}; known: {', '.join(views)}")

    @staticmethod
    def _schema(name: str) -> TableSchema | None:
        from . import schema

        try:
            return schema.load_schemas().get(name)
        except (FileNotFoundError, ValueError):  # a broken or absent schemas/ must not hide the catalog
            return None

    def table_rows(self) -> list[tuple[str, str, int | None, str]]:
        """(name, kind, rows, description) per view; kind ``table`` when Parquet backs it."""
        out = []
        con = self.connection
        for name in self.views():
            sch = self._schema(name)
            has_data = (self.path / "data" / name).is_dir()
            kind = "table" if has_data or (sch is not None and sch.kind == "table") else "view"
            try:
                n = con.execute(f"SELECT count(*) FROM {_ident(name)}").fetchall()[0][0]
            except duckdb.Error:
                n = None
            out.append((name, kind, n, sch.description if sch else ""))
        return out

    def tables(self) -> pl.DataFrame:
        """The catalog's views with row counts and descriptions (polars)."""
        import polars as pl

        return pl.DataFrame(
            self.table_rows(),
            schema={"name": pl.String, "kind": pl.String, "rows": pl.Int64, "description": pl.String},
            orient="row",
        )

    def describe_rows(self, table: str) -> list[tuple[str, str, bool, str]]:
        """(column, type, nullable, description) of ``table``.

        Types are DuckDB's (what a query sees); nullability and descriptions come
        from ``schemas/`` for the tables it knows, else from DuckDB.
        """
        self._require(table)
        try:
            rows = self.connection.execute(f"DESCRIBE {_ident(table)}").fetchall()
        except duckdb.Error as e:
            raise QueryError(str(e)) from None
        sch = self._schema(table)
        known = {c.name: c for c in sch.columns} if sch else {}
        out = []
        for name, typ, null, *_ in rows:
            col = known.get(name)
            if col is not None:
                out.append((name, typ, col.nullable, col.description))
            else:
                out.append((name, typ, null != "NO", ""))
        return out

    def table_description(self, table: str) -> str:
        sch = self._schema(table)
        return sch.description if sch else ""

    def describe(self, table: str) -> pl.DataFrame:
        """Columns of ``table``: name, type, nullability, description (polars)."""
        import polars as pl

        return pl.DataFrame(
            self.describe_rows(table),
            schema={"column": pl.String, "type": pl.String, "nullable": pl.Boolean, "description": pl.String},
            orient="row",
        )

    def table(self, name: str) -> pl.LazyFrame:
        """A polars LazyFrame scanning the table's Parquet directly (hive partitions included).

        Column order and partition column types follow ``schemas/``. Derived views
        (``take_summary``, ``orphans``) have no Parquet of their own: they are run
        through DuckDB and returned lazy.
        """
        import polars as pl

        self._check_swap()
        data = self._root / "data" / name
        if not data.is_dir():
            self._require(name)
            return self.sql(f"SELECT * FROM {_ident(name)}").lazy()
        sch = self._schema(name)
        partitioned = (
            bool(sch.partition_by) if sch else any("=" in p.name for p in data.iterdir() if p.is_dir())
        )
        if partitioned:
            hive_schema = None
            if sch:
                types = {c: _polars_type(sch.column(c).type) for c in sch.partition_by}
                if all(t is not None for t in types.values()):
                    hive_schema = types
            lf = _scan_partitions(data, hive_schema)
        else:
            lf = pl.scan_parquet(
                sorted(str(p) for p in data.glob("*.parquet")), hive_partitioning=False, glob=False
            )
        if sch:
            names = lf.collect_schema().names()
            order = [c for c in sch.column_names if c in names]
            casts = {}
            for c in order:
                dtype = _polars_array_type(sch.column(c).type)
                if dtype is not None:  # Parquet has lists; the view casts them back to arrays
                    casts[c] = dtype
            cols = [pl.col(c).cast(casts[c]) if c in casts else pl.col(c) for c in order]
            lf = lf.select(cols + [pl.col(c) for c in names if c not in order])
        return lf

    def takes(self, **filters: Any) -> pl.DataFrame:
        """Select takes like ``egoexo-sql takes``: ``cat.takes(scenario="Cooking", has=["keystep"])``.

        Same filters and semantics as the CLI (see :func:`egoexo_sql.select.takes`);
        returns the take_summary rows as a polars DataFrame.
        """
        from .select import takes

        return takes(self, **filters)

    def point_cloud(
        self,
        take: str,
        *,
        release: str | os.PathLike[str] | None = None,
        max_inv_dist_std: float | None = None,
        max_dist_std: float | None = None,
    ) -> pl.DataFrame:
        """One take's semi-dense points (take_uid or take_name), read from the release
        folder (default: the one the catalog was built from) without compiling them;
        ``queries/point_cloud/points.sql`` is the SQL (see :mod:`egoexo_sql.point_clouds`)."""
        from .point_clouds import points_file, read_points

        rows = self.execute(
            "SELECT take_name FROM takes WHERE take_uid = $t OR take_name = $t", {"t": take}
        ).fetchall()
        if not rows:
            from .errors import UsageError

            raise UsageError(f"no take {take!r} in the catalog")
        root = Path(release if release is not None else str(self.build_info.get("release_dir", ".")))
        return read_points(
            points_file(root, rows[0][0]), max_inv_dist_std=max_inv_dist_std, max_dist_std=max_dist_std
        )

    def search(self, query: str, **options: Any) -> pl.DataFrame:
        """Ranked (BM25) text search, like ``egoexo-sql search``: ``cat.search("cracks an egg", limit=20)``.

        Options: ``sources``, ``scenarios``, ``take_uids``, ``limit`` (20), ``all_terms``,
        ``k1``, ``b``, ``engine`` (see :func:`egoexo_sql.search.search`). One row a hit,
        best first: score, source, take_uid, take_name, scenario, time, end_time, text,
        n_terms, doc_id, ref.
        """
        from .search import hits_frame, search

        return hits_frame(search(self, query, **options))


def _polars_array_type(duck_type: str) -> pl.Array | None:
    """polars Array type of a DuckDB fixed-size ARRAY type (``DOUBLE[4][3]`` -> shape (3, 4)).

    ``None`` for every other type, lists (``T[]``) included.
    """
    import re

    import polars as pl

    m = re.fullmatch(r"\s*([A-Za-z]+)((?:\[\d+\])+)\s*", duck_type)
    if not m:
        return None
    inner = _polars_type(m.group(1))
    if inner is None:
        return None
    dims = [int(d) for d in re.findall(r"\d+", m.group(2))]
    return pl.Array(inner, shape=tuple(reversed(dims)))


def _polars_type(duck_type: str) -> type[pl.DataType] | None:
    import polars as pl

    return {
        "VARCHAR": pl.String,
        "BIGINT": pl.Int64,
        "INTEGER": pl.Int32,
        "SMALLINT": pl.Int16,
        "DOUBLE": pl.Float64,
        "FLOAT": pl.Float32,
        "BOOLEAN": pl.Boolean,
        "DATE": pl.Date,
    }.get(duck_type.strip().upper())


def _scan_partitions(data: Path, hive_schema: dict[str, Any] | None) -> pl.LazyFrame:
    """The hive-partitioned Parquet of ``data`` as one LazyFrame, the partition columns read
    from the folder names below ``data`` only. Files are listed, never globbed, and polars
    parses no path: the catalog folder's own path may hold glob characters or a
    ``name=value`` folder of its own."""
    from urllib.parse import unquote

    import polars as pl

    from .builder.parquet import HIVE_NULL

    by_leaf: dict[tuple[tuple[str, str | None], ...], list[str]] = {}
    for f in sorted(data.rglob("*.parquet")):
        parts = []
        for d in f.relative_to(data).parts[:-1]:
            k, _, v = d.partition("=")
            parts.append((k, None if v == HIVE_NULL else unquote(v)))
        by_leaf.setdefault(tuple(parts), []).append(str(f))
    frames = []
    for leaf, files in by_leaf.items():
        cols = [pl.lit(v, dtype=(hive_schema or {}).get(k, pl.String)).alias(k) for k, v in leaf]
        frames.append(pl.scan_parquet(files, hive_partitioning=False, glob=False).with_columns(cols))
    if not frames:
        raise FileNotFoundError(f"no Parquet file under {data}")
    return pl.concat(frames, how="vertical")
