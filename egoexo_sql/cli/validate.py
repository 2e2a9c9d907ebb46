"""``egoexo-sql validate``: run the data checks on the catalog (see :mod:`egoexo_sql.validate`).

Also home of the reconciliation text that ``build`` prints under its summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .app import app, catalog_dir

if TYPE_CHECKING:  # pragma: no cover
    from ..reconcile import Reconciliation
    from ..validate import CheckResult


@app.command()
def validate(
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog).",
            show_default=False,
        ),
    ] = None,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            help="Also write an HTML report (index.html) and validation.json into this folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the data checks on the catalog: keys, not-null, enums, ranges, foreign keys and
    time checks derived from the schemas (great-expectations), the SQL audits, and the
    per-file reconciliation. Exits 1 when a blocking check fails."""
    from ..validate import validate as run
    from ..validate import write_html

    rep = run(catalog_dir(catalog))
    for c in rep.checks:
        if c.kind != "orphans":  # the per-file lines follow, under reconciliation
            typer.echo(check_line(c))
    typer.echo("reconciliation:")
    rec_lines = reconciliation_lines(rep.reconciliation, all_files=True) if rep.reconciliation else []
    for line in rec_lines:
        typer.echo(f"  {line}")
    failed = [c for c in rep.checks if c.status != "PASS"]
    blocking = rep.blocking_failures
    typer.echo(
        f"{len(rep.checks)} checks: {len(rep.checks) - len(failed)} passed, {len(failed)} failed "
        f"({len(blocking)} blocking) in {rep.seconds.get('total', 0):.1f} s"
        + (
            f" (great_expectations import {rep.seconds['great_expectations import']:.1f} s)"
            if "great_expectations import" in rep.seconds
            else ""
        )
    )
    if report:
        path = write_html(rep, report, rec_lines)
        typer.echo(f"report: {path}")
    if blocking:
        raise typer.Exit(1)


def check_line(c: CheckResult) -> str:
    """``FAIL  blocking  takes: take_uid is not null: 2 of 102 rows, e.g. ...``"""
    where = f"{c.table}: " if c.table and c.family == "schema" else ""
    if c.family == "audit":
        where = f"audit {c.id.removeprefix('audit.')}: "
    if c.error:
        count = c.error
    elif c.total:
        count = f"{c.unexpected:,} of {c.total:,} {c.unit}"
    else:
        count = f"{c.unexpected:,} {c.unit}"
    if c.note:
        count += f" ({c.note})"
    if c.samples and c.status != "PASS":
        count += "; e.g. " + ", ".join(c.samples)
    tag = "blocking" if c.blocking else "report"
    return f"{c.status:<5} {tag:<8} {where}{c.description}: {count}"


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
