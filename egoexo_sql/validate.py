"""Data checks on a built catalog: what ``egoexo-sql validate`` runs.

Three families, none written per table:

* **schema checks**, derived from ``schemas/<table>.toml`` by :func:`plan`: primary
  keys unique (NULL counts as a value), non-nullable columns not null, ``enum`` values,
  ``min``/``max`` ranges, foreign keys resolving, and the ``[[checks]]`` the schema
  declares (``before``: a < b; ``within_take``: 0 <= t <= the take's duration).
  They run as great-expectations suites on pandas frames, in an ephemeral context
  (nothing written to disk). Frames hold only the columns the checks read; a table
  above :data:`CHUNK_ROWS` rows is validated in hash partitions of its primary key,
  so uniqueness stays exact while memory stays bounded. A foreign key is checked on
  the distinct values of its column, each paired with the key of the table it names
  that equals it (DuckDB joins; GE expects the pair to be equal).
* **audits**: ``queries/audits/*.sql``, each a query that must return no row. The
  comment lines at the top describe it; ``-- blocking: true`` makes it blocking
  (audits report by default).
* **reconciliation** (:mod:`egoexo_sql.reconcile`): per annotation file, the takes
  that are not in takes.json; release stamps that disagree with metadata.json.
  Reported, never blocking.

Blocking: primary keys, not-null, enums and ranges; foreign keys and ``[[checks]]``
as their schema says. ``validate`` exits 1 when a blocking check fails.

great_expectations (and pandas) are imported only by :func:`run_schema_checks`;
``egoexo-sql --help`` and ``query`` never load them.
"""

from __future__ import annotations

import html
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .resources import queries_dir

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .reconcile import Reconciliation
    from .schema import TableSchema

#: Rows per pandas frame handed to great_expectations; larger tables are split in
#: hash partitions of their primary key (of every checked column when they have none).
CHUNK_ROWS = 2_000_000
#: Unexpected values kept per check for the printout and the HTML report.
SAMPLES = 5
#: Column of a foreign-key frame holding the referenced key that matches (or NULL).
FK_MATCH = "__match"


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Expectation:
    """One great-expectations expectation, by class name, independent of GE itself."""

    type: str  # e.g. "ExpectColumnValuesToBeUnique"
    kwargs: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, type_: str, **kwargs: Any) -> Expectation:
        return cls(type_, tuple(kwargs.items()))


@dataclass(frozen=True)
class PlannedCheck:
    """A check derived from a schema: one printed line, one or more expectations."""

    id: str  # stable name: <table>.<kind>.<columns>
    table: str
    kind: str  # primary_key, not_null, enum, range, foreign_key, before, within_take
    description: str
    blocking: bool
    expectations: tuple[Expectation, ...]
    columns: tuple[str, ...]  # columns of the table the frame must hold
    helpers: tuple[tuple[str, str], ...] = ()  # (frame column, SQL over alias c / d)
    references: tuple[str, str] | None = None  # foreign keys: (table, column)


def plan(schemas: Mapping[str, TableSchema]) -> list[PlannedCheck]:
    """Every schema check of every table (``kind = "table"``), in schema order."""
    out: list[PlannedCheck] = []
    for name, sch in schemas.items():
        if sch.kind != "table":
            continue
        pk = sch.primary_key
        if pk:
            e = (
                Expectation.of("ExpectColumnValuesToBeUnique", column=pk[0])
                if len(pk) == 1
                else Expectation.of(
                    "ExpectCompoundColumnsToBeUnique",
                    column_list=list(pk),
                    ignore_row_if="never",
                )
            )
            out.append(
                PlannedCheck(
                    f"{name}.primary_key",
                    name,
                    "primary_key",
                    f"primary key ({', '.join(pk)}) is unique",
                    True,
                    (e,),
                    pk,
                )
            )
        for c in sch.columns:
            # a key column the schema leaves nullable (camera_poses.frame_number: NULL
            # for a static camera) holds NULL as a value; the uniqueness check covers it
            if not c.nullable:
                out.append(
                    PlannedCheck(
                        f"{name}.not_null.{c.name}",
                        name,
                        "not_null",
                        f"{c.name} is not null",
                        True,
                        (Expectation.of("ExpectColumnValuesToNotBeNull", column=c.name),),
                        (c.name,),
                    )
                )
            if c.enum is not None:
                shown = ", ".join(map(str, c.enum))
                out.append(
                    PlannedCheck(
                        f"{name}.enum.{c.name}",
                        name,
                        "enum",
                        f"{c.name} in {{{shown}}}",
                        True,
                        (
                            Expectation.of(
                                "ExpectColumnValuesToBeInSet", column=c.name, value_set=list(c.enum)
                            ),
                        ),
                        (c.name,),
                    )
                )
            if c.min is not None or c.max is not None:
                lo = "" if c.min is None else f"{c.min:g} <= "
                hi = "" if c.max is None else f" <= {c.max:g}"
                out.append(
                    PlannedCheck(
                        f"{name}.range.{c.name}",
                        name,
                        "range",
                        f"{lo}{c.name}{hi}",
                        True,
                        (
                            Expectation.of(
                                "ExpectColumnValuesToBeBetween",
                                column=c.name,
                                min_value=c.min,
                                max_value=c.max,
                            ),
                        ),
                        (c.name,),
                    )
                )
        for fk in sch.foreign_keys:
            if len(fk.columns) != 1:  # pragma: no cover - no schema has one; say so if one appears
                raise ValueError(f"{name}: compound foreign keys are not checked yet: {fk.columns}")
            col, ref = fk.columns[0], fk.ref_columns[0]
            out.append(
                PlannedCheck(
                    f"{name}.foreign_key.{col}",
                    name,
                    "foreign_key",
                    f"{col} -> {fk.references}.{ref}",
                    fk.blocking,
                    # the frame pairs each distinct value with its match in the referenced
                    # table (NULL when there is none): no key set travels through GE's config
                    (
                        Expectation.of(
                            "ExpectColumnPairValuesToBeEqual",
                            column_A=col,
                            column_B=FK_MATCH,
                            ignore_row_if="both_values_are_missing",
                        ),
                    ),
                    (col,),
                    references=(fk.references, ref),
                )
            )
        for chk in sch.checks:
            if chk.kind == "before":
                a, b = chk.columns
                op = "<=" if chk.or_equal else "<"
                out.append(
                    PlannedCheck(
                        f"{name}.before.{a}.{b}",
                        name,
                        "before",
                        f"{a} {op} {b}",
                        chk.blocking,
                        (
                            Expectation.of(
                                "ExpectColumnPairValuesAToBeGreaterThanB",
                                column_A=b,
                                column_B=a,
                                or_equal=chk.or_equal,
                                ignore_row_if="either_value_is_missing",
                            ),
                        ),
                        (a, b),
                    )
                )
            elif chk.kind == "within_take":
                (col,) = chk.columns
                tol = chk.tolerance
                end = f"__take_end__{col}"
                tol_text = f" (± {tol:g} s)" if tol else ""
                out.append(
                    PlannedCheck(
                        f"{name}.within_take.{col}",
                        name,
                        "within_take",
                        f"0 <= {col} <= takes.duration_sec{tol_text}",
                        chk.blocking,
                        (
                            Expectation.of(
                                "ExpectColumnValuesToBeBetween", column=col, min_value=-tol, max_value=None
                            ),
                            Expectation.of(
                                "ExpectColumnPairValuesAToBeGreaterThanB",
                                column_A=end,
                                column_B=col,
                                or_equal=True,
                                ignore_row_if="either_value_is_missing",
                            ),
                        ),
                        (col,),
                        helpers=((end, f"d.duration_sec + {tol!r}"),),
                    )
                )
            else:  # pragma: no cover - schema.py refuses unknown kinds
                raise ValueError(f"{name}: unknown check kind {chk.kind!r}")
    return out


# --------------------------------------------------------------------------- results
@dataclass
class CheckResult:
    id: str
    family: str  # schema, audit, reconcile
    table: str
    kind: str
    description: str
    blocking: bool
    passed: bool
    unexpected: int = 0  # failing rows (values for foreign keys, takes for reconcile)
    total: int = 0
    unit: str = "rows"
    samples: list[str] = field(default_factory=list)
    error: str | None = None  # the check could not run
    note: str = ""

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        return "PASS" if self.passed else "FAIL"


@dataclass
class ValidationReport:
    catalog: Path
    checks: list[CheckResult] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking and c.status != "PASS"]

    @property
    def ok(self) -> bool:
        return not self.blocking_failures

    def to_json(self) -> dict[str, Any]:
        return {
            "catalog": str(self.catalog),
            "ok": self.ok,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "checks": [asdict(c) for c in self.checks],
            "reconciliation": _rec_json(self.reconciliation),
        }


def _rec_json(rec: Reconciliation | None) -> Any:
    return None if rec is None else json.loads(json.dumps(asdict(rec), default=str))


# --------------------------------------------------------------------------- entry point
def validate(catalog: Catalog | str | os.PathLike[str] | None = None) -> ValidationReport:
    """Run every check on the catalog; see the module docstring."""
    from .catalog import Catalog

    if not isinstance(catalog, Catalog):
        with Catalog.open(catalog) as cat:
            return validate(cat)
    from . import reconcile, schema

    report = ValidationReport(catalog=catalog.path)
    t0 = time.perf_counter()
    report.checks += run_schema_checks(catalog, schema.load_schemas(), report.seconds)
    t1 = time.perf_counter()
    report.checks += run_audits(catalog)
    t2 = time.perf_counter()
    report.reconciliation = reconcile.reconcile(catalog)
    report.checks += reconciliation_checks(report.reconciliation)
    t3 = time.perf_counter()
    report.seconds.update({"schema checks": t1 - t0, "audits": t2 - t1, "reconciliation": t3 - t2})
    report.seconds["total"] = t3 - t0
    return report


# --------------------------------------------------------------------------- GE
def import_gx() -> Any:
    """great_expectations, imported quietly.

    GE probes for Spark when imported: with pyspark installed that costs ~0.3 s and
    prints warnings, and under ``python -c`` pyspark's Connect module calls
    ``sys.exit(0)`` when grpc is missing. Validation uses pandas only, so pyspark is
    hidden from GE while it is imported (unless the process already imported it).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    hide = "pyspark" not in sys.modules
    if hide:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # makes `import pyspark` fail
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations as gx
    finally:
        if hide and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]
    return gx


def _context(gx: Any) -> Any:
    """An ephemeral GE context: in memory, no analytics, no progress bars."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_schema_checks(
    cat: Catalog, schemas: Mapping[str, TableSchema], seconds: dict[str, float] | None = None
) -> list[CheckResult]:
    """The :func:`plan` of ``schemas`` run as GE suites over the catalog's tables."""
    import logging

    t0 = time.perf_counter()
    gx = import_gx()
    import great_expectations.expectations as gxe

    t1 = time.perf_counter()
    for name in ("great_expectations", "great_expectations.core", "great_expectations.expectations"):
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = _context(gx)
    source = ctx.data_sources.add_pandas("catalog")
    con = cat.connection
    views = set(cat.views())
    planned = plan(schemas)
    by_table: dict[str, list[PlannedCheck]] = {}
    for p in planned:
        by_table.setdefault(p.table, []).append(p)
    results: dict[str, CheckResult] = {}

    def result(p: PlannedCheck, **kw: Any) -> CheckResult:
        return CheckResult(p.id, "schema", p.table, p.kind, p.description, p.blocking, **kw)

    n_assets = 0

    def validate_frames(checks: list[PlannedCheck], frames: Iterator[Any]) -> None:
        nonlocal n_assets
        n_assets += 1
        asset = source.add_dataframe_asset(f"frame_{n_assets}")
        batch_def = asset.add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=f"suite_{n_assets}")
        for p in checks:
            for i, e in enumerate(p.expectations):
                suite.add_expectation(getattr(gxe, e.type)(**dict(e.kwargs), meta={"check": p.id, "i": i}))
        suite = ctx.suites.add(suite)
        acc = {
            p.id: result(p, passed=True, unit="values" if p.kind == "foreign_key" else "rows") for p in checks
        }
        for df in frames:
            batch = batch_def.get_batch(batch_parameters={"dataframe": df})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = batch.validate(
                    suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLES}
                )
            for r in res.results:
                meta = r.expectation_config.meta or {}
                c = acc[meta["check"]]
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    c.error = str(info.get("exception_message") or "the expectation raised")[:300]
                    c.passed = False
                    continue
                rr = r.result or {}
                if meta["i"] == 0:  # a check's expectations all see the same rows
                    c.total += int(rr.get("element_count") or 0)
                n = int(rr.get("unexpected_count") or 0)
                c.unexpected += n
                c.passed = c.passed and bool(r.success)
                for v in rr.get("partial_unexpected_list") or []:
                    if len(c.samples) < SAMPLES:  # a foreign key's pair: (value, no match)
                        c.samples.append(_show(v[0] if c.kind == "foreign_key" else v))
        for p in checks:
            if p.kind == "primary_key" and acc[p.id].unexpected:
                acc[p.id].note = "rows sharing their key with another row"
            results[p.id] = acc[p.id]

    for table, checks in by_table.items():
        if table not in views:
            for p in checks:
                results[p.id] = result(p, passed=False, error=f"the catalog has no {table} view")
            continue
        n = con.sql(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0]
        row_checks = [p for p in checks if p.kind != "foreign_key"]
        if n == 0:
            for p in checks:
                results[p.id] = result(p, passed=True, note="empty table")
            continue
        if row_checks:
            sch = schemas[table]
            frames = _table_frames(con, sch, row_checks, n)
            validate_frames(row_checks, frames)
        for p in checks:
            if p.kind != "foreign_key":
                continue
            assert p.references is not None  # a foreign key names what it references
            ref_table, ref_col = p.references
            col = p.columns[0]
            if ref_table not in views:
                results[p.id] = result(p, passed=False, error=f"the catalog has no {ref_table} view")
                continue
            sql = (
                f"SELECT DISTINCT c.{_q(col)}, r.k AS {_q(FK_MATCH)} FROM {_q(table)} AS c "
                f"LEFT JOIN (SELECT DISTINCT {_q(ref_col)} AS k FROM {_q(ref_table)}) AS r "
                f"ON r.k = c.{_q(col)} WHERE c.{_q(col)} IS NOT NULL"
            )
            validate_frames([p], iter([con.sql(sql).to_arrow_table().to_pandas()]))
    if seconds is not None:
        seconds["great_expectations import"] = t1 - t0
    return [results[p.id] for p in planned]


def _table_frames(con: Any, sch: TableSchema, checks: list[PlannedCheck], rows: int) -> Iterator[Any]:
    """pandas frames of the columns the checks read (hash partitions of the key when large)."""
    cols: list[str] = []
    helpers: dict[str, str] = {}
    for p in checks:
        for c in p.columns:
            if c not in cols:
                cols.append(c)
        helpers.update(dict(p.helpers))
    select = [f"c.{_q(c)}" for c in cols] + [f"{sql} AS {_q(name)}" for name, sql in helpers.items()]
    sql = f"SELECT {', '.join(select)} FROM {_q(sch.table)} AS c"
    if helpers:  # the take's duration, once per take even if takes has duplicates
        sql += (
            " LEFT JOIN (SELECT take_uid, any_value(duration_sec) AS duration_sec FROM takes "
            "GROUP BY take_uid) AS d ON d.take_uid = c.take_uid"
        )
    parts = max(1, math.ceil(rows / CHUNK_ROWS))
    if parts == 1:
        yield con.sql(sql).to_arrow_table().to_pandas()
        return
    key = ", ".join(f"c.{_q(c)}" for c in (sch.primary_key or tuple(cols)))
    for i in range(parts):
        yield con.sql(f"{sql} WHERE hash({key}) % {parts} = {i}").to_arrow_table().to_pandas()


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return "(" + ", ".join(f"{k}={_show(x)}" for k, x in v.items()) + ")"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- audits
@dataclass(frozen=True)
class Audit:
    name: str
    description: str
    blocking: bool
    sql: str


def audits(directory: Path | None = None) -> list[Audit]:
    """``queries/audits/*.sql``: the leading comment describes, ``-- blocking: true`` blocks."""
    d = directory or queries_dir() / "audits"
    out = []
    for f in sorted(d.glob("*.sql")):
        text = f.read_text(encoding="utf-8")
        desc: list[str] = []
        blocking = False
        for line in text.splitlines():
            s = line.strip()
            if not s.startswith("--"):
                break
            s = s[2:].strip()
            if s.lower().startswith("blocking:"):
                blocking = s.split(":", 1)[1].strip().lower() in ("true", "yes", "1")
            elif s:
                desc.append(s)
        sql = text.strip()
        while sql.endswith(";"):
            sql = sql[:-1].rstrip()
        out.append(Audit(f.stem, " ".join(desc) or f.stem, blocking, sql))
    return out


def run_audits(cat: Catalog, directory: Path | None = None) -> list[CheckResult]:
    import duckdb

    out = []
    con = cat.connection
    for a in audits(directory):
        r = CheckResult(f"audit.{a.name}", "audit", "", "audit", a.description, a.blocking, True)
        try:
            r.unexpected = con.sql(f"SELECT count(*) FROM ({a.sql})").fetchall()[0][0]
            if r.unexpected:
                rel = con.sql(f"SELECT * FROM ({a.sql}) LIMIT {SAMPLES}")
                r.samples = [
                    "(" + ", ".join(f"{n}={_show(v)}" for n, v in zip(rel.columns, row)) + ")"
                    for row in rel.fetchall()
                ]
        except duckdb.Error as e:
            r.error = str(e).splitlines()[0]
        r.passed = r.error is None and r.unexpected == 0
        out.append(r)
    return out


# --------------------------------------------------------------------------- reconciliation
def reconciliation_checks(rec: Reconciliation) -> list[CheckResult]:
    """Reconciliation as (non-blocking) check lines: one per annotation file, one for stamps."""
    out = []
    for f in rec.files:
        out.append(
            CheckResult(
                f"reconcile.{f.source_file}",
                "reconcile",
                "",
                "orphans",
                f"{f.source_file}: take_uids in takes.json",
                False,
                f.n_orphans == 0,
                unexpected=f.n_orphans,
                total=f.n_takes,
                unit="take_uids",
                note=f"{f.n_orphan_rows:,} of {f.n_rows:,} rows" if f.n_orphans else "",
            )
        )
    out.append(
        CheckResult(
            "reconcile.release_stamps",
            "reconcile",
            "release_files",
            "release_stamps",
            "annotation files' stamps agree with metadata.json",
            False,
            not rec.stamps,
            unexpected=len(rec.stamps),
            unit="files",
            samples=[f"{s.source_file}: {s.reason}" for s in rec.stamps[:SAMPLES]],
        )
    )
    return out


# --------------------------------------------------------------------------- HTML
def write_html(report: ValidationReport, directory: str | os.PathLike[str], lines: list[str]) -> Path:
    """``index.html`` (every check, samples, reconciliation) and ``validation.json`` in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "validation.json").write_text(json.dumps(report.to_json(), indent=2, default=str), encoding="utf-8")
    e = html.escape
    rows = []
    for c in report.checks:
        cls = {"PASS": "pass", "FAIL": "fail" if c.blocking else "warn", "ERROR": "fail"}[c.status]
        count = f"{c.unexpected:,} of {c.total:,} {c.unit}" if c.total else f"{c.unexpected:,} {c.unit}"
        detail = "<br>".join(e(s) for s in c.samples)
        if c.error:
            detail = e(c.error)
        if c.note:
            detail = e(c.note) + ("<br>" + detail if detail else "")
        rows.append(
            f"<tr class='{cls}'><td>{c.status}</td><td>{e(c.family)}</td><td>{e(c.table)}</td>"
            f"<td>{e(c.description)}</td><td>{'blocking' if c.blocking else 'report'}</td>"
            f"<td class='n'>{e(count)}</td><td class='s'>{detail}</td></tr>"
        )
    failed = len([c for c in report.checks if c.status != "PASS"])
    verdict = "OK" if report.ok else f"{len(report.blocking_failures)} blocking check(s) failed"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>egoexo-sql validate: {e(str(report.catalog))}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
tr.pass td:first-child {{ color: #1a7f37; }} tr.fail {{ background: #ffebe9; }} tr.warn {{ background: #fff8c5; }}
td.n {{ white-space: nowrap; text-align: right; }} td.s {{ font-family: monospace; font-size: 12px; }}
pre {{ background: #f6f8fa; padding: 1em; }}
</style></head><body>
<h1>egoexo-sql validate</h1>
<p>Catalog <code>{e(str(report.catalog))}</code>: <b>{e(verdict)}</b>; {len(report.checks)} checks,
{failed} not passing; {report.seconds.get("total", 0):.1f} s.</p>
<h2>Reconciliation</h2>
<pre>{e(chr(10).join(lines) or "nothing to report")}</pre>
<h2>Checks</h2>
<table><tr><th>status</th><th>family</th><th>table</th><th>check</th><th></th><th>failing</th><th>samples</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    out = d / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
