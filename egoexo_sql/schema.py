"""The catalog's schema, read from ``schemas/<table>.toml`` (one file per table).

These files are the single source of truth for table and column names, types,
nullability, descriptions, keys and partitioning. The Parquet writer
(:func:`TableSchema.arrow_schema`), the DuckDB views (:func:`TableSchema.view_sql`),
``describe``, the generated docs and the validation checks are all derived from them.

File format (TOML)::

    table = "takes"
    description = "One row per take in takes.json."
    grain = "take"
    group = "metadata"            # the --only group whose files produce it
    primary_key = ["take_uid"]
    partition_by = []             # hive partition columns (large fact tables only)
    kind = "table"                # "table": Parquet under data/; "view": queries/views/<table>.sql
    materialize = false           # views only: run the SQL once at build time, store the result
                                  # as Parquet and serve the view from it (for views every
                                  # selection reads, like take_summary)
    storage = "duckdb"            # tables only: "duckdb" (default) stores the rows in
                                  # catalog.duckdb too, so it opens anywhere with no files;
                                  # "parquet" (the large tables) keeps the rows only in
                                  # data/<table>/ and catalog.duckdb holds a view over the
                                  # folder's absolute path (docs/architecture.md)

    [[columns]]
    name = "take_uid"
    type = "VARCHAR"              # a DuckDB type: VARCHAR BIGINT INTEGER DOUBLE BOOLEAN DATE TIMESTAMP
                                  # VARCHAR[] DOUBLE[3][3] ...
    nullable = false
    description = "..."
    enum = ["train", "val", "test"]   # optional: allowed values
    min = 0                           # optional: inclusive range
    max = 10
    statistics = false                # optional (default true): no min/max in the Parquet
                                      # footer, for columns no row group can be skipped on
                                      # (every group holds every joint): cheaper writes

    [[foreign_keys]]
    columns = ["participant_uid"]
    references = "participants"
    ref_columns = ["participant_uid"]
    blocking = false              # false: unresolved keys are reported, not fatal (orphans)

    [[checks]]                    # row checks across columns (run by `egoexo-sql validate`)
    kind = "before"               # columns[0] < columns[1] on every row where both are set
    columns = ["start_time", "end_time"]
    or_equal = false              # optional: true allows columns[0] == columns[1]
    blocking = false              # optional (default true): a failure makes validate exit 1

    [[checks]]
    kind = "within_take"          # 0 <= column <= takes.duration_sec of the row's take_uid
    column = "timestamp"          # ("columns" = [...] declares several at once)
    tolerance = 0.5               # optional: seconds allowed beyond both ends
    blocking = false

Primary keys (unique, not null), non-nullable columns, ``enum`` and ``min``/``max``
are checked as blocking; foreign keys as their ``blocking`` says; rows whose value
or take is missing are skipped by ``[[checks]]`` (NULLs and orphans are what the
not-null and foreign-key checks report).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyarrow is imported where Arrow types are built, not on import:
    import pyarrow as pa  # the CLI reads schemas (describe, --where checks) without it

from .resources import schemas_dir

_SCALAR_NAMES = (
    "VARCHAR",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "DOUBLE",
    "FLOAT",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "JSON",
)


@cache
def _scalars() -> dict[str, pa.DataType]:
    import pyarrow as pa

    return {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "SMALLINT": pa.int16(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float32(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
        "JSON": pa.string(),
    }


_ARRAY_SUFFIX = re.compile(r"\[(\d*)\]$")


def arrow_type(duck_type: str) -> pa.DataType:
    """The Arrow type a column is written with in Parquet.

    ``T[]`` becomes a list; ``T[n]`` (a DuckDB ARRAY) is written as a list too,
    because Parquet has no fixed-size list, and the view casts it back.
    """
    import pyarrow as pa

    t = check_type(duck_type)
    m = _ARRAY_SUFFIX.search(t)
    if m:
        return pa.list_(arrow_type(t[: m.start()]))
    return _scalars()[t]


def check_type(duck_type: str) -> str:
    """The normalised type name; ValueError for a type the catalog cannot store."""
    t = duck_type.strip().upper()
    base = t
    while m := _ARRAY_SUFFIX.search(base):
        base = base[: m.start()]
    if base not in _SCALAR_NAMES:
        raise ValueError(f"unsupported column type {duck_type!r}")
    return t


def needs_cast(duck_type: str) -> bool:
    """True when reading Parquet back does not already give this DuckDB type."""
    return bool(re.search(r"\[\d+\]", duck_type)) or duck_type.upper() == "JSON"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    enum: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    statistics: bool = True  # write Parquet min/max statistics for this column

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.type)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]
    blocking: bool = True


#: ``[[checks]]`` kinds: the number of columns each takes.
CHECK_KINDS = {"before": 2, "within_take": 1}


@dataclass(frozen=True)
class Check:
    """A row check across columns, declared as ``[[checks]]`` (see the module docstring)."""

    kind: str
    columns: tuple[str, ...]
    blocking: bool = True
    or_equal: bool = False
    tolerance: float = 0.0


@dataclass(frozen=True)
class TableSchema:
    table: str
    description: str
    grain: str
    group: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    kind: str = "table"
    materialize: bool = False  # a derived view computed once at build time into data/<view>/
    storage: str = "duckdb"  # tables: "duckdb" (rows stored in catalog.duckdb) or "parquet"
    source_file: Path | None = field(default=None, compare=False)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.table} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the Parquet files, in schema order, nullability included."""
        import pyarrow as pa

        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])

    def file_arrow_schema(self) -> pa.Schema:
        """Arrow schema of each Parquet file: :meth:`arrow_schema` without the hive
        partition columns, which the folder names hold."""
        import pyarrow as pa

        return pa.schema(
            [
                pa.field(c.name, c.arrow_type, nullable=c.nullable)
                for c in self.columns
                if c.name not in self.partition_by
            ]
        )

    def data_glob(self) -> str:
        """Glob of this table's Parquet files, relative to the catalog folder."""
        if self.partition_by:
            return f"data/{self.table}/**/*.parquet"
        return f"data/{self.table}/*.parquet"

    def view_sql(self) -> str:
        """``CREATE VIEW`` over the Parquet files with paths relative to the catalog folder."""
        return f"CREATE OR REPLACE VIEW {self.table} AS\n{self._select_parquet()}"

    @property
    def parquet_only(self) -> bool:
        """A large table whose rows stay only in ``data/<table>/``: ``catalog.duckdb``
        holds a view over the catalog folder's absolute path (:meth:`absolute_view_sql`)."""
        return self.kind == "table" and self.storage == "parquet"

    def absolute_view_sql(self, catalog_dir: Path | str, temporary: bool = False) -> str:
        """``CREATE VIEW`` over this table's Parquet under the absolute folder
        ``catalog_dir``: what ``catalog.duckdb`` holds for a :attr:`parquet_only` table
        (and a moved catalog's reader creates as a TEMP view over its new place)."""
        kind = "TEMP VIEW" if temporary else "VIEW"
        return f"CREATE OR REPLACE {kind} {self.table} AS\n{self._select_parquet(Path(catalog_dir))}"

    def stored_table_sql(self, catalog_dir: Path | str | None = None) -> str:
        """``CREATE TABLE`` holding the rows of the Parquet files (paths relative to the
        catalog folder, read once at build time with it as the working directory; or
        under the absolute folder ``catalog_dir``): what ``catalog.duckdb`` stores, so
        that any DuckDB client reads it from anywhere, after a move too, with no setting."""
        root = None if catalog_dir is None else Path(catalog_dir)
        return f"CREATE OR REPLACE TABLE {self.table} AS\n{self._select_parquet(root)}"

    def _select_parquet(self, root: Path | None = None) -> str:
        cols = []
        for c in self.columns:
            if needs_cast(c.type) or c.name in self.partition_by:
                cols.append(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"')
            else:
                cols.append(f'"{c.name}"')
        opts = ""
        if self.partition_by:
            opts = ", hive_partitioning = true"
        select = ",\n    ".join(cols)
        files = (
            sql_quote(self.data_glob())
            if root is None
            else _absolute_files(root, self.table, self.data_glob())
        )
        return f"SELECT\n    {select}\nFROM read_parquet({files}{opts});\n"

    def empty_table(self) -> pa.Table:
        import pyarrow as pa

        # not Schema.empty_table(): that imports pandas (half a second) in a process
        # that may have no other use for it
        return pa.Table.from_batches([], schema=self.arrow_schema())


#: characters that make a folder's path mean something else inside a DuckDB glob
_GLOB_SPECIAL = re.compile(r"[*?\[\]{}=]")


def sql_quote(s: str) -> str:
    """``s`` as a single-quoted SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def _absolute_files(root: Path, table: str, glob: str) -> str:
    """The SQL argument of ``read_parquet`` for ``data/<table>`` under ``root``: the glob
    joined to the absolute folder, or, when that folder's own path holds a character a
    glob or hive partitioning would read (``*``, ``?``, ``[``, ``=``, ...), the list of the
    table's files as they are now (the next build writes it again)."""
    if not _GLOB_SPECIAL.search(str(root)):
        return sql_quote(f"{root}/{glob}")
    files = sorted((root / "data" / table).rglob("*.parquet"))
    return "[" + ", ".join(sql_quote(str(f)) for f in files) + "]"


def _parse(path: Path) -> TableSchema:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    try:
        columns = tuple(
            Column(
                name=c["name"],
                type=c["type"],
                nullable=c.get("nullable", True),
                description=c.get("description", ""),
                enum=tuple(c["enum"]) if "enum" in c else None,
                min=c.get("min"),
                max=c.get("max"),
                statistics=c.get("statistics", True),
            )
            for c in raw.get("columns", [])
        )
        fks = tuple(
            ForeignKey(
                columns=tuple(fk["columns"]),
                references=fk["references"],
                ref_columns=tuple(fk.get("ref_columns", fk["columns"])),
                blocking=fk.get("blocking", True),
            )
            for fk in raw.get("foreign_keys", [])
        )
        checks = tuple(c for raw_check in raw.get("checks", []) for c in _checks(path, raw_check))
        schema = TableSchema(
            table=raw["table"],
            description=raw.get("description", ""),
            grain=raw.get("grain", ""),
            group=raw.get("group", ""),
            columns=columns,
            primary_key=tuple(raw.get("primary_key", [])),
            partition_by=tuple(raw.get("partition_by", [])),
            foreign_keys=fks,
            checks=checks,
            kind=raw.get("kind", "table"),
            materialize=bool(raw.get("materialize", False)),
            storage=raw.get("storage", "duckdb"),
            source_file=path,
        )
    except KeyError as e:
        raise ValueError(f"{path}: missing key {e}") from None
    if schema.storage not in ("duckdb", "parquet"):
        raise ValueError(f'{path}: storage = {schema.storage!r}; expected "duckdb" or "parquet"')
    if schema.table != path.stem:
        raise ValueError(f"{path}: table = {schema.table!r} but the file is named {path.stem!r}")
    for c in columns:
        check_type(c.type)  # fail early on an unknown type
    for key in schema.primary_key + schema.partition_by:
        schema.column(key)
    for chk in checks:
        for name in chk.columns:
            schema.column(name)
        if chk.kind == "within_take":
            schema.column("take_uid")  # the row's take, whose duration bounds the time
    return schema


def _checks(path: Path, raw: dict[str, Any]) -> list[Check]:
    """One ``[[checks]]`` entry -> Checks (a one-column kind given several columns gives one each)."""
    kind = raw["kind"]
    if kind not in CHECK_KINDS:
        raise ValueError(f"{path}: unknown check kind {kind!r}; known: {', '.join(CHECK_KINDS)}")
    cols = raw.get("columns", [raw["column"]] if "column" in raw else None)
    if cols is None:
        raise KeyError("column")
    opts = {
        "blocking": raw.get("blocking", True),
        "or_equal": raw.get("or_equal", False),
        "tolerance": float(raw.get("tolerance", 0.0)),
    }
    n = CHECK_KINDS[kind]
    if n == 1:
        return [Check(kind, (c,), **opts) for c in cols]
    if len(cols) != n:
        raise ValueError(f"{path}: a {kind!r} check takes {n} columns, got {cols}")
    return [Check(kind, tuple(cols), **opts)]


@cache
def load_schemas(directory: str | None = None) -> dict[str, TableSchema]:
    """All table schemas, keyed by table name, in file-name order."""
    d = Path(directory) if directory else schemas_dir()
    return {p.stem: _parse(p) for p in sorted(d.glob("*.toml"))}


def get(table: str) -> TableSchema:
    schemas = load_schemas()
    if table not in schemas:
        raise KeyError(f"no schema for table {table!r}; known: {', '.join(schemas)}")
    return schemas[table]


def conform(table: str, data: pa.Table | dict[str, list[Any]]) -> pa.Table:
    """Cast column data to the table's schema (order, types, nullability checked).

    Accepts a pyarrow Table or a dict of Python lists. Missing nullable columns
    are filled with nulls; a missing non-nullable column or an extra column is
    an error in the compiler, not in the user's input.
    """
    import pyarrow as pa

    schema = get(table)
    target = schema.arrow_schema()
    if isinstance(data, dict):
        n = len(next(iter(data.values()))) if data else 0
        arrays = []
        for f in target:
            if f.name in data:
                arrays.append(pa.array(data[f.name], type=f.type))
            elif f.nullable:
                arrays.append(pa.nulls(n, type=f.type))
            else:
                raise ValueError(f"{table}: compiler produced no column {f.name!r}")
        extra = set(data) - set(target.names)
        if extra:
            raise ValueError(f"{table}: compiler produced unknown columns {sorted(extra)}")
        return pa.Table.from_arrays(arrays, schema=target)
    missing = [f.name for f in target if f.name not in data.column_names and not f.nullable]
    if missing:
        raise ValueError(f"{table}: compiler produced no column(s) {missing}")
    extra = set(data.column_names) - set(target.names)
    if extra:
        raise ValueError(f"{table}: compiler produced unknown columns {sorted(extra)}")
    cols = []
    for f in target:
        if f.name in data.column_names:
            cols.append(data.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(data.num_rows, type=f.type))
    return pa.Table.from_arrays(cols, schema=target)
