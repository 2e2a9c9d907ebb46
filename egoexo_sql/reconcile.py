"""What does not line up between the release's files, counted over a built catalog.

:func:`reconcile` returns numbers; ``egoexo-sql build`` (its summary) and
``egoexo-sql validate`` print them (:func:`reconciliation_lines` makes the text):

* per annotation file, how many takes it names and how many of those are not in
  ``takes.json`` (``queries/reconcile/files.sql`` over the ``take_references`` view,
  which the ``orphans`` view also reads);
* annotation files whose release stamp (``ds``, ``date``, ``version``) disagrees with
  ``metadata.json`` (``queries/reconcile/release_stamps.sql`` over ``release_files``);
* sources that found nothing in the release (their views are empty);
* unknown keys the compilers kept in ``extra`` columns, and records a ``--lenient``
  build moved to ``rejects``;
* values written in a recorded real-data form that the compilers normalised, per file
  and variant (``build.json``, see :mod:`egoexo_sql.variants`).

Only DuckDB is used (no pandas, no great_expectations), so the build's summary stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .resources import queries_dir

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .variants import Variant


@dataclass(frozen=True)
class FileReport:
    """One annotation file (or file family): takes it names, and those not in takes.json."""

    source_file: str
    n_takes: int
    n_orphans: int
    n_rows: int
    n_orphan_rows: int


@dataclass(frozen=True)
class StampMismatch:
    source_file: str
    stamp: str | None
    reason: str


@dataclass(frozen=True)
class EmptySource:
    """A source whose tables are all empty: the release has none of its files."""

    source: str
    group: str
    tables: tuple[str, ...]
    patterns: tuple[str, ...]


@dataclass
class Reconciliation:
    files: list[FileReport] = field(default_factory=list)
    stamps: list[StampMismatch] = field(default_factory=list)
    release: dict[str, Any] | None = None  # metadata.json's version, date
    empty_sources: list[EmptySource] = field(default_factory=list)
    extra_keys: list[tuple[str, str, int]] = field(default_factory=list)  # table, key, rows
    rejects: list[tuple[str, int]] = field(default_factory=list)  # source_file, records
    # source_file, variant, values read through a recorded real-data variant (variants.py)
    normalised: list[tuple[str, Variant, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be counted, and why

    @property
    def n_orphans(self) -> int:
        return sum(f.n_orphans for f in self.files)


def _query(name: str) -> str:
    return (queries_dir() / "reconcile" / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def reconcile(catalog: Catalog | str | os.PathLike[str]) -> Reconciliation:
    """Count what does not line up in the catalog (see the module docstring)."""
    from .catalog import Catalog

    if isinstance(catalog, Catalog):
        return _reconcile(catalog)
    with Catalog.open(catalog) as cat:
        return _reconcile(cat)


def _reconcile(cat: Catalog) -> Reconciliation:
    rec = counted(cat.connection, set(cat.views()))
    return with_build_info(rec, cat.build_info)


def counted(con: Any, views: set[str]) -> Reconciliation:
    """The counts a reconciliation makes in SQL, on ``con`` (a connection or cursor to a
    catalog; ``views``: the names of its views and tables). The build runs this over
    its new catalog while it counts the views' rows (``BuildReport.reconciliation``);
    :func:`with_build_info` adds what build.json says."""
    import duckdb

    from . import schema

    rec = Reconciliation()

    def rows(sql: str, needs: tuple[str, ...]) -> list[tuple[Any, ...]] | None:
        missing = [v for v in needs if v not in views]
        if missing:
            rec.notes.append(
                f"the catalog has no {', '.join(missing)} view (built by an older egoexo-sql); "
                "rebuild it to count this"
            )
            return None
        try:
            found: list[tuple[Any, ...]] = con.sql(sql).fetchall()
            return found
        except duckdb.Error as e:
            rec.notes.append(f"could not count ({str(e).splitlines()[0]})")
            return None

    got = rows(_query("files"), ("take_references", "takes"))
    rec.files = [FileReport(*r) for r in got or []]
    got = rows(_query("release_stamps"), ("release_files",))
    rec.stamps = [StampMismatch(*r) for r in got or []]
    if "release_files" in views:
        for version, date in con.sql(
            "SELECT version, date FROM release_files WHERE source_file = 'metadata.json'"
        ).fetchall():
            rec.release = {"version": version, "date": date}
    schemas = schema.load_schemas()
    for name, sch in schemas.items():
        if sch.kind != "table" or "extra" not in sch.column_names or name not in views:
            continue
        got = rows(
            f"SELECT k, count(*) FROM (SELECT unnest(json_keys(CAST(extra AS JSON))) AS k "
            f'FROM "{name}" WHERE extra IS NOT NULL) GROUP BY k ORDER BY k',
            (name,),
        )
        rec.extra_keys += [(name, k, n) for k, n in got or []]
    if "rejects" in views:
        rec.rejects = [
            (f, n)
            for f, n in con.sql(
                "SELECT source_file, count(*) FROM rejects GROUP BY ALL ORDER BY 1"
            ).fetchall()
        ]
    return rec


def with_build_info(rec: Reconciliation, build_info: dict[str, Any]) -> Reconciliation:
    """``rec`` with what the catalog's build.json says: the sources that found nothing,
    and the values the compilers normalised."""
    rec.empty_sources = _empty_sources(build_info)
    rec.normalised = _normalised(build_info)
    return rec


def _normalised(build_info: dict[str, Any]) -> list[tuple[str, Variant, int]]:
    """Per file and recorded variant, the values the compilers normalised (build.json)."""
    from .variants import Variant, by_id

    known = by_id()
    out = []
    for s in build_info.get("sources", {}).values():
        for file, vid, n in s.get("normalised", []):
            v = known.get(vid) or Variant(vid, "", "", "a form this version does not know", "")
            out.append((file, v, n))
    return sorted(out, key=lambda r: (r[0], r[1].id))


def _empty_sources(build_info: dict[str, Any]) -> list[EmptySource]:
    """Sources built (or reused) whose every table has no row: nothing of theirs in the release."""
    from .tables import all_sources

    sources = all_sources()
    # a source's own files: not the metadata files some read on the side (takes.json)
    required = {r for s in sources for r in s.required}
    patterns = {s.name: tuple(p for p in s.inputs if p not in required) for s in sources}
    tables = build_info.get("tables", {})
    out = []
    for name, s in build_info.get("sources", {}).items():
        ts = tuple(s.get("tables", []))
        if s.get("status") not in ("compiled", "reused") or not ts:
            continue
        if all(tables.get(t, {}).get("rows", 0) == 0 for t in ts):
            out.append(EmptySource(name, s.get("group", ""), ts, patterns.get(name, ())))
    return out


def reconciliation_lines(rec: Reconciliation, *, all_files: bool = False) -> list[str]:
    """The reconciliation as text; files whose takes are all in takes.json only with ``all_files``."""
    out = []
    for f in rec.files:
        if f.n_orphans or all_files:
            out.append(
                f"{f.source_file}: {f.n_orphans:,} of {f.n_takes:,} take_uids are not in takes.json"
                + (f" ({f.n_orphan_rows:,} of {f.n_rows:,} rows)" if f.n_orphans else "")
            )
    if rec.files and not rec.n_orphans:
        out.append(f"every take_uid of the {len(rec.files)} annotation files is in takes.json")
    if rec.release:
        v = ", ".join(f"{k} {val}" for k, val in rec.release.items() if val is not None)
        agree = (
            "every stamped annotation file agrees"
            if not rec.stamps
            else f"{len(rec.stamps)} annotation file(s) disagree"
        )
        out.append(f"release (metadata.json): {v}; {agree}")
    for s in rec.stamps:
        out.append(f"{s.source_file}: stamp {s.stamp} disagrees with metadata.json: {s.reason}")
    for e in rec.empty_sources:
        where = " ".join(e.patterns) if e.patterns else "files"
        out.append(f"{e.source}: no {where} in the release; empty: {', '.join(e.tables)}")
    by_table: dict[str, list[str]] = {}
    for table, key, n in rec.extra_keys:
        by_table.setdefault(table, []).append(f"{key} ({n:,} rows)")
    for table, keys in by_table.items():
        out.append(f"{table}: unknown keys kept in its extra column: {', '.join(keys)}")
    for source_file, n in rec.rejects:
        out.append(f"{source_file}: {n:,} bad record(s) moved to the rejects table")
    by_file: dict[str, list[str]] = {}
    for source_file, variant, n in rec.normalised:
        by_file.setdefault(source_file, []).append(f"{variant.describe()} ({n:,})")
    for source_file, forms in by_file.items():
        total = sum(n for f, _, n in rec.normalised if f == source_file)
        out.append(
            f"{source_file}: normalised {total:,} value(s) written in a recorded real-data "
            f"form: {'; '.join(forms)}"
        )
    out.extend(f"note: {n}" for n in rec.notes)
    return out
