"""What ``egoexo-sql build`` does, without the command-line framework.

Both the typer command (:mod:`egoexo_sql.cli.build`) and the console script's fast
path (:mod:`egoexo_sql.entry`) call :func:`run_build`, so a build started from a shell
does not wait for typer and the pydantic it imports (about 0.2 s) before it scans the
release. rich is imported only to draw the progress bars, on a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import TaskID


def default_catalog(option: str | None) -> str:
    """--catalog, else $EGOEXO_SQL_CATALOG, else ./egoexo_catalog (catalog-contract.md)."""
    return option or os.environ.get("EGOEXO_SQL_CATALOG") or "egoexo_catalog"


def run_build(
    release_dir: Path,
    catalog: str | None,
    only: list[str] | None,
    force: bool,
    lenient: bool,
    echo: Callable[[str], None] = print,
) -> None:
    """Build the catalog, then ``echo`` the summary and what does not line up between
    the files (``only``: groups, each item may hold several separated by commas)."""
    from .builder.pipeline import build_catalog
    from .reconcile import reconcile, reconciliation_lines

    groups = None
    if only:
        groups = [g.strip() for item in only for g in item.split(",") if g.strip()]
    target = default_catalog(catalog)
    if sys.stderr.isatty():
        with RichProgress() as progress:
            report = build_catalog(
                release_dir, target, only=groups, force=force, progress=progress, lenient=lenient
            )
    else:
        report = build_catalog(release_dir, target, only=groups, force=force, lenient=lenient)
    echo(report.summary())
    # counted over the new catalog during the build; over the catalog when the build
    # wrote nothing
    lines = reconciliation_lines(report.reconciliation or reconcile(report.catalog))
    if lines:
        echo("reconciliation:")
        for line in lines:
            echo(f"  {line}")


class RichProgress:
    """Maps the build's progress callback onto rich progress bars on stderr."""

    _LABELS = {"scan": "scanning", "hash": "hashing", "compile": "compiling", "views": "views"}

    def __enter__(self) -> RichProgress:
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
