"""``egoexo-sql export-views`` (the catalog's views for other engines), ``egoexo-sql export
subtitles`` (subtitle files beside the videos) and the hidden ``egoexo-sql docs`` (regenerate docs/ from schemas/, queries/examples/ and --help)."""

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


export_app = typer.Typer(
    help="Write what the catalog knows in the formats other tools read (export subtitles).",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")


@export_app.command("subtitles")
def export_subtitles(
    take: list[str] | None = typer.Option(
        None,
        "--take",
        help="A take_uid or take_name (repeat for several). Default: every take with a video under "
        "the release folder.",
        show_default=False,
    ),
    source: list[str] | None = typer.Option(
        None,
        "--source",
        help="atomic, commentary, keystep or narration (repeat for several). Default: all four.",
        show_default=False,
    ),
    fmt: list[str] | None = typer.Option(
        None, "--format", help="vtt or srt (repeat for both). Default: both.", show_default=False
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Folder the files go under, laid out as the release (default: the release folder itself, "
        "so each file lands beside its video).",
        show_default=False,
    ),
    release: Path | None = typer.Option(
        None,
        "--release",
        help="The release folder whose videos to look for (default: the one the catalog was built from).",
        show_default=False,
    ),
    catalog: str | None = typer.Option(
        None, "--catalog", help="Catalog folder (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog)."
    ),
) -> None:
    """Write subtitle files of the takes' texts (atomic descriptions, expert commentary, keystep
    names, narrations), one per take, source and format, for VLC, mpv or any player.

    Each file goes beside each of the take's videos on disk and is named after it
    (takes/<take>/frame_aligned_videos/cam04.atomic.srt beside cam04.mp4), so the players
    load it with the video; a take with no video on disk gets takes/<take>/<take>.atomic.srt.
    Cue times are the catalog's to the millisecond; a moment (an atomic description, a
    commentary) stays on screen until the next one, at most 4 s."""
    from ..catalog import Catalog
    from ..media import release_dir_of
    from ..subtitles import FORMATS, SOURCES, export

    try:
        with Catalog.open(catalog_dir(catalog), sandbox=True) as cat:
            rel = release_dir_of(cat, release)
            written = export(
                cat,
                rel,
                takes=take or (),
                sources=source or SOURCES,
                formats=fmt or FORMATS,
                out_dir=out_dir.expanduser().resolve() if out_dir is not None else None,
            )
    except EgoExoSQLError as e:
        fail(str(e), e.exit_code)
        return
    for w in written:
        typer.echo(str(w.path))
    n_takes = len({w.take_name for w in written})
    typer.echo(
        f"wrote {len(written)} subtitle file{'' if len(written) == 1 else 's'} for {n_takes} "
        f"take{'' if n_takes == 1 else 's'}",
        err=True,
    )
