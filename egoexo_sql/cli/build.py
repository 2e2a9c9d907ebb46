"""``egoexo-sql build``: compile a release folder into the catalog."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import app, catalog_dir

if TYPE_CHECKING:
    from rich.progress import TaskID


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
    from ..builder.pipeline import build_catalog

    groups = None
    if only:
        groups = [g.strip() for item in only for g in item.split(",") if g.strip()]
    target = catalog_dir(catalog)
    if sys.stderr.isatty():
        with _RichProgress() as progress:
            report = build_catalog(
                release_dir, target, only=groups, force=force, progress=progress, lenient=lenient
            )
    else:
        report = build_catalog(release_dir, target, only=groups, force=force, lenient=lenient)
    typer.echo(report.summary())
    # what does not line up between the files, counted over the new catalog
    from ..reconcile import reconcile
    from .validate import reconciliation_lines

    # (counted during the build; over the catalog when the build wrote nothing)
    lines = reconciliation_lines(report.reconciliation or reconcile(report.catalog))
    if lines:
        typer.echo("reconciliation:")
        for line in lines:
            typer.echo(f"  {line}")


class _RichProgress:
    """Maps the build's progress callback onto rich progress bars on stderr."""

    _LABELS = {"scan": "scanning", "hash": "hashing", "compile": "compiling", "views": "views"}

    def __enter__(self) -> _RichProgress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}", style="dim"),
            console=Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def __call__(self, step: str, completed: float, total: float, detail: str = "") -> None:
        label = self._LABELS.get(step)
        if label is None:
            return
        task = self._tasks.get(step)
        if task is None:
            task = self._progress.add_task(label, total=total or 1, detail="")
            self._tasks[step] = task
        if total == 0:  # nothing to do in this step
            completed = total = 1
        self._progress.update(task, completed=completed, total=total, detail=detail[-40:])
