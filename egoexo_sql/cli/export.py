"""``egoexo-sql export-views`` (the catalog's views for other engines) and the hidden
``egoexo-sql docs`` (regenerate docs/ from schemas/, queries/examples/ and --help)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..engines import ExportDialect
from ..errors import EgoExoSQLError
from .app import app, catalog_dir, fail


def _write(text: str, output: str | None) -> None:
    """To stdout, or to OUTPUT through a temporary file renamed over it once complete."""
    from ..query_runner import sink

    with sink(output) as f:
        f.write(text)


@app.command("export-views")
def export_views(
    dialect: ExportDialect = typer.Option(
        ExportDialect.spark, "--dialect", help="Engine to write the view definitions for."
    ),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    location: str | None = typer.Option(
        None,
        "--location",
        help="Where the engine finds the catalog folder, e.g. s3a://bucket/egoexo_catalog after "
        "copying it there (default: the catalog's absolute path on this machine).",
    ),
    catalog: str | None = typer.Option(
        None, "--catalog", help="Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog)."
    ),
) -> None:
    """Write the catalog's views for another engine over the same Parquet files (Spark: temporary views)."""
    try:
        from ..catalog import resolve_dir
        from ..engines import spark_views
        from ..version import __version__

        directory = resolve_dir(catalog_dir(catalog))
        export = spark_views(directory, location=location)
        where = location or directory.as_posix()
        header = (
            f"-- egoexo-sql {__version__}: the catalog's views for Spark SQL, over the Parquet files\n"
            f"-- of the catalog at {where}.\n"
            "-- Run with `spark-sql -f FILE`, or statement by statement with spark.sql() (split on ';').\n"
        )
        _write(export.script(header), output)
        for name, why in export.skipped:
            typer.echo(f"warning: skipped {name}: {why}", err=True)
        for msg in export.warnings:
            typer.echo(f"warning: {dialect.value}: {msg}", err=True)
        if output not in (None, "-"):
            typer.echo(
                f"wrote {len(export.statements)} view definitions ({dialect.value}) to {output}", err=True
            )
    except EgoExoSQLError as e:
        fail(str(e), e.exit_code)


@app.command("docs", hidden=True)
def docs(
    out_dir: Path = typer.Option(Path("docs"), "--out-dir", help="Folder to write the generated docs into."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 when a generated file is stale."
    ),
) -> None:
    """Regenerate docs/data-dictionary.md, docs/cookbook.md and docs/cli-reference.md."""
    import subprocess
    import sys

    # `python -m egoexo_sql.docs` in a process of its own: the docs are generated from
    # this command line (cli-reference.md), so the docs module imports the CLI, not the
    # other way round
    args = ["--out-dir", str(out_dir)] + (["--check"] if check else [])
    code = subprocess.call([sys.executable, "-m", "egoexo_sql.docs", *args])
    if code:
        raise typer.Exit(code)
