"""``egoexo-sql validate``: run the data checks on the catalog (see :mod:`egoexo_sql.validate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..reconcile import reconciliation_lines
from .app import app, catalog_dir

if TYPE_CHECKING:  # pragma: no cover
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
