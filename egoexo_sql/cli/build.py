"""``egoexo-sql build``: compile a release folder into the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app


@app.command()
def build(
    release_dir: Annotated[
        Path,
        typer.Argument(help="The release folder (the downloader's --out_dir).", show_default=False),
    ],
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="Catalog folder to write (default: $EGOEXO_SQL_CATALOG, else ./egoexo_catalog).",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Compile only these groups (several after one --only, repeated, or with "
            "commas); the others keep their previous tables, or are empty. Groups: metadata "
            "splits keystep proficiency atomic commentary relations ego_pose transcripts manifests.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rehash and recompile everything.")] = False,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Set bad records aside in the rejects table and build the rest (a file that "
            "is not JSON, not UTF-8, missing or of the wrong shape still stops the build).",
        ),
    ] = False,
) -> None:
    """Compile the release's JSON into typed Parquet and the DuckDB catalog (incremental)."""
    from ..build_runner import run_build

    run_build(release_dir, catalog, only, force, lenient, echo=typer.echo)
