"""Other engines: the catalog's SQL for Spark, Trino, BigQuery and Postgres (via sqlglot).

Two things live here:

- :func:`transpile`: a query written for the catalog (DuckDB's dialect) rewritten
  for another engine; what ``egoexo-sql query --dialect D`` prints.
- :func:`spark_views`: the catalog's views for Spark over the same Parquet files;
  what ``egoexo-sql export-views --dialect spark`` writes. Every Parquet table
  becomes ``CREATE OR REPLACE TEMPORARY VIEW t AS SELECT ... FROM parquet.`<dir>```
  (the table's own folder, so Spark's partition discovery takes that folder as its
  ``basePath`` and the hive partition columns, e.g. ``split``, come back as
  columns, cast to the schema's type); the derived views
  (``queries/views/*.sql``) are transpiled from DuckDB's dialect, in dependency
  order.

sqlglot does most of the work. A few DuckDB aggregates it cannot carry over to
Spark faithfully are rewritten first (:func:`_spark_fixes`): ``list(x ORDER BY
y)`` (Spark's ``collect_list`` has no ORDER BY; sqlglot drops it) and ``first(x
ORDER BY y)`` (Spark's ``first`` has no ORDER BY: ``min_by``/``max_by``).

Only :class:`Dialect` is defined at import time; sqlglot is imported by the
functions, so the CLI modules that import this one stay fast to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from .dialects import DIALECTS
from .errors import QueryError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from sqlglot import exp

    from .schema import TableSchema


#: Engines ``egoexo-sql query --dialect`` can write SQL for (egoexo_sql.dialects, which
#: the fast entry point's option table reads without importing this module).
# (its members come from DIALECTS, the one list both entry points read: mypy cannot list them)
Dialect = Enum("Dialect", [(d, d) for d in DIALECTS], type=str)  # type: ignore[misc]


class ExportDialect(str, Enum):
    """Engines ``egoexo-sql export-views`` can write view definitions for."""

    spark = "spark"


SOURCE_DIALECT = "duckdb"


@dataclass
class Transpiled:
    """SQL for another engine, and what sqlglot could not express in it."""

    sql: str
    warnings: list[str]


# --------------------------------------------------------------------------- queries


def _parse_statements(sql: str) -> list[exp.Expr]:
    """The statements of ``sql`` (DuckDB's dialect); a syntax error as a QueryError."""
    from sqlglot import exp

    from .sandbox import parse_sql

    _, trees = parse_sql(sql)
    statements = [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]
    if not statements:
        raise QueryError("no SQL statement given")
    return statements


def _generate(tree: exp.Expr, dialect: str, *, pretty: bool = True) -> tuple[str, list[str]]:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    notes: list[str] = []
    if dialect == "spark":
        tree = _spark_fixes(tree.copy(), notes)
    gen = sqlglot.Dialect.get_or_raise(dialect).generator(
        pretty=pretty, unsupported_level=ErrorLevel.IGNORE, comments=True
    )
    text = gen.generate(tree)
    return text, list(dict.fromkeys(notes + gen.unsupported_messages))


def transpile(sql: str, dialect: str | Dialect, *, pretty: bool = True) -> Transpiled:
    """``sql`` (DuckDB's dialect, as the catalog takes it) rewritten for ``dialect``.

    Several statements are transpiled one by one and joined with ``;``. What the
    target cannot express comes back in ``warnings`` (the SQL is still returned).
    """
    name = dialect.value if isinstance(dialect, Dialect) else str(dialect)
    if name not in Dialect.__members__:
        raise UsageError(f"unknown dialect {name!r}; choose from {', '.join(Dialect.__members__)}")
    parts: list[str] = []
    warnings: list[str] = []
    for tree in _parse_statements(sql):
        text, msgs = _generate(tree, name, pretty=pretty)
        parts.append(text)
        warnings.extend(m for m in msgs if m not in warnings)
    return Transpiled(";\n\n".join(parts) + ";", warnings)


# --------------------------------------------------------------------------- Spark fixes


def _spark_fixes(tree: exp.Expr, notes: list[str]) -> exp.Expr:
    """Rewrite DuckDB aggregates whose ORDER BY sqlglot would drop on the way to Spark.

    What cannot be rewritten faithfully is left to sqlglot and noted in ``notes``.
    """
    from sqlglot import exp

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Select) and node.args.get("qualify") and node.args.get("order"):
            return _qualify_keeping_order(node, notes)
        if isinstance(node, (exp.ArrayAgg, exp.First, exp.Last)) and isinstance(node.this, exp.Order):
            if isinstance(node, exp.ArrayAgg):
                new = _ordered_list(node.this)
            else:
                new = _first_by(node.this, last=isinstance(node, exp.Last))
            if new is None:
                notes.append(
                    f"the ORDER BY of {node.sql('duckdb')} has no Spark equivalent; "
                    "the order of the result is not guaranteed"
                )
                return node
            return new
        return node

    return tree.transform(fix)


def _qualify_keeping_order(select: exp.Select, notes: list[str]) -> exp.Expr:
    """``... QUALIFY w ORDER BY k`` as ``SELECT .. FROM (...) WHERE w ORDER BY k``.

    Spark has no QUALIFY; sqlglot wraps the query in a filtered subquery but leaves
    the ORDER BY inside it, where it does not order the result. Here the ORDER BY
    moves to the outer query when each key is an output column.
    """
    from sqlglot import exp
    from sqlglot.transforms import eliminate_qualify

    outputs: dict[str, exp.Expr] = {}
    for e in select.expressions:
        outputs[e.alias_or_name] = e.this if isinstance(e, exp.Alias) else e
    order = select.args["order"]
    outer_keys = []
    for key in order.expressions:
        col = key.this
        name = None
        if isinstance(col, exp.Column):
            if not col.table and col.name in outputs:
                name = col.name
            else:
                name = next((n for n, e in outputs.items() if e == col), None)
        if name is None:
            notes.append(
                "the ORDER BY of a query with QUALIFY stays inside Spark's subquery "
                "(a key is not an output column): the order of the result is not guaranteed"
            )
            return select
        outer = key.copy()
        outer.set("this", exp.column(name))
        outer_keys.append(outer)
    select.set("order", None)
    wrapped = eliminate_qualify(select)
    wrapped.set("order", exp.Order(expressions=outer_keys))
    return wrapped


def _spark(sql: str) -> exp.Expr:
    import sqlglot

    return sqlglot.parse_one(sql, read="spark")


def _ordered_list(order: exp.Order) -> exp.Expr | None:
    """``list(x ORDER BY k1, k2 ...)`` as Spark: sort collected structs, keep the value.

    ``array_sort(collect_list(x))`` when the only key is ``x`` itself. Keys must all
    be ascending or all descending (then the sorted array is reversed); anything
    else is left to sqlglot (which reports it).
    """
    from sqlglot import exp

    keys = order.expressions
    if not keys:
        return None
    descs = {bool(k.args.get("desc")) for k in keys}
    if len(descs) != 1:
        return None
    desc = descs.pop()
    value = order.this
    collect = "COLLECT_LIST"
    if isinstance(value, exp.Distinct):
        # list(DISTINCT x ORDER BY x): a sorted set; other orders of a distinct list
        # have no faithful Spark form
        if len(value.expressions) != 1:
            return None
        value, collect = value.expressions[0], "COLLECT_SET"
        if len(keys) != 1 or keys[0].this != value:
            return None
    v = value.sql("spark")
    if len(keys) == 1 and keys[0].this == value:
        text = f"ARRAY_SORT({collect}({v}))"
    else:
        fields = ", ".join(f"'k{i}', {k.this.sql('spark')}" for i, k in enumerate(keys))
        text = f"TRANSFORM(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT({fields}, 'v', {v}))), e -> e.v)"
    if desc:
        text = f"REVERSE({text})"
    return _spark(text)


def _first_by(order: exp.Order, *, last: bool) -> exp.Expr | None:
    """``first(x ORDER BY k)`` as ``min_by(x, k)`` (``max_by`` for DESC or ``last``)."""
    keys = order.expressions
    if len(keys) != 1:
        return None
    key = keys[0]
    use_max = bool(key.args.get("desc")) != last
    func = "MAX_BY" if use_max else "MIN_BY"
    return _spark(f"{func}({order.this.sql('spark')}, {key.this.sql('spark')})")


# --------------------------------------------------------------------------- Spark views


def _spark_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def spark_type(duck_type: str) -> str:
    """A schema (DuckDB) type in Spark SQL, e.g. ``VARCHAR[]`` -> ``ARRAY<STRING>``."""
    from sqlglot import exp

    return exp.DataType.build(duck_type, dialect=SOURCE_DIALECT).sql("spark")


def spark_table_view(schema: TableSchema, location: str) -> str:
    """The Spark view of one Parquet table: its folder, columns in schema order.

    ``location`` is the catalog folder as Spark sees it (a path or a URI). Hive
    partition columns are discovered from ``<location>/data/<table>`` (the base
    path) and cast to the schema's type.
    """
    cols = []
    for c in schema.columns:
        if c.name in schema.partition_by:
            cols.append(f"CAST({_spark_ident(c.name)} AS {spark_type(c.type)}) AS {_spark_ident(c.name)}")
        else:
            cols.append(_spark_ident(c.name))
    folder = f"{location.rstrip('/')}/data/{schema.table}"
    select = ",\n  ".join(cols)
    return (
        f"CREATE OR REPLACE TEMPORARY VIEW {_spark_ident(schema.table)} AS\n"
        f"SELECT\n  {select}\nFROM parquet.{_spark_ident(folder)}"
    )


def spark_derived_view(name: str, duckdb_sql: str) -> tuple[str, list[str]]:
    """A derived view's ``CREATE VIEW`` (DuckDB) as a Spark temporary view."""
    from sqlglot import exp

    trees = _parse_statements(duckdb_sql)
    if len(trees) != 1 or not isinstance(trees[0], exp.Create):
        raise ValueError(f"queries/views/{name}.sql: expected one CREATE VIEW statement")
    tree = trees[0]
    props = tree.args.get("properties")
    temporary = exp.TemporaryProperty()
    if props is None:
        tree.set("properties", exp.Properties(expressions=[temporary]))
    elif not any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
        props.append("expressions", temporary)
    tree.set("replace", True)
    return _generate(tree, "spark")


@dataclass
class ViewExport:
    """View definitions for another engine, in the order they must run."""

    statements: list[tuple[str, str]]  # (view name, statement without ';')
    skipped: list[tuple[str, str]]  # (view name, why)
    warnings: list[str]

    def script(self, header: str = "") -> str:
        out = [header] if header else []
        for name, why in self.skipped:
            out.append(f"-- skipped {name}: {why}\n")
        out.extend(f"{sql};\n" for _, sql in self.statements)
        return "\n".join(out)


def spark_views(
    catalog_dir: str | Path,
    *,
    location: str | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    views_dir: str | Path | None = None,
) -> ViewExport:
    """The catalog's views as Spark SQL over its Parquet files.

    ``location``: where Spark finds the catalog folder (default: its absolute
    path here; e.g. ``s3a://bucket/egoexo_catalog`` after copying it there).
    Tables whose folder is missing from the catalog (built by an older version)
    are skipped, and so are the derived views that read them.
    """
    from .builder.views import view_statements

    if schemas is None:
        from .schema import load_schemas

        schemas = load_schemas()
    if views_dir is None:
        from .resources import queries_dir

        views_dir = queries_dir() / "views"
    catalog = Path(catalog_dir).resolve()
    if location is None:
        location = catalog.as_posix()
    export = ViewExport([], [], [])
    missing: set[str] = set()
    for name, duck_sql in view_statements(schemas, Path(views_dir)):
        sch = schemas[name]
        if sch.kind == "table":
            if not (catalog / "data" / name).is_dir():
                missing.add(name)
                export.skipped.append((name, f"the catalog has no data/{name} (rebuild it)"))
                continue
            export.statements.append((name, spark_table_view(sch, location)))
            continue
        reads = _tables_read(duck_sql)
        absent = sorted(reads & missing)
        if absent:
            missing.add(name)
            export.skipped.append((name, f"reads {', '.join(absent)}, which the catalog lacks"))
            continue
        text, msgs = spark_derived_view(name, duck_sql)
        export.statements.append((name, text))
        export.warnings.extend(f"{name}: {m}" for m in msgs if f"{name}: {m}" not in export.warnings)
    return export


def _tables_read(sql: str) -> set[str]:
    from sqlglot import exp

    tree = _parse_statements(sql)[0]
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
