"""``egoexo-sql takes``: select takes; print their uids, their rows, the ``egoexo`` commands
that download them, how much those commands will download, the files they fetch, or
``aws s3 cp`` lines that fetch exactly those files (optionally only some cameras').

Filters and their semantics live in :mod:`egoexo_sql.select` (shared with
``Catalog.takes``); commands and the plan in :mod:`egoexo_sql.download`. Only duckdb
and sqlglot are imported here (no polars or pandas).
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

import typer

from ..query_runner import sink
from .app import CATALOG_HELP, app, catalog_dir, command_errors, report_written


class TakesFormat(str, Enum):
    uids = "uids"
    csv = "csv"
    json = "json"
    egoexo = "egoexo"
    plan = "plan"
    files = "files"
    s3 = "s3"


@app.command()
def takes(
    scenario: list[str] | None = typer.Option(
        None,
        "--scenario",
        help='Scenario, e.g. Cooking or "Bike Repair" (repeat for several: any of them).',
        show_default=False,
    ),
    task: list[str] | None = typer.Option(
        None, "--task", help="Task name or task_id (repeatable).", show_default=False
    ),
    university: list[str] | None = typer.Option(
        None, "--university", help="University, e.g. cmu or ego4d-cmu (repeatable).", show_default=False
    ),
    split: list[str] | None = typer.Option(
        None, "--split", help="train, val or test (repeatable).", show_default=False
    ),
    benchmark: list[str] | None = typer.Option(
        None,
        "--benchmark",
        help="A benchmark tag of splits.json, e.g. keystep, ego_pose (repeatable: any of them).",
        show_default=False,
    ),
    proficiency: list[str] | None = typer.Option(
        None,
        "--proficiency",
        help='Demonstrator proficiency: Novice, "Early Expert", "Intermediate Expert", '
        '"Late Expert" (or late_expert; repeatable).',
        show_default=False,
    ),
    has: list[str] | None = typer.Option(
        None,
        "--has",
        help="The take has these annotations (all of them): keystep atomic commentary relations "
        "body_pose hand_pose proficiency.",
        show_default=False,
    ),
    narrated: bool | None = typer.Option(
        None,
        "--narrated/--not-narrated",
        help="Only Narrate & Act takes / only the others.",
        show_default=False,
    ),
    min_duration: float | None = typer.Option(
        None, "--min-duration", metavar="SEC", help="Takes at least this long (seconds).", show_default=False
    ),
    max_duration: float | None = typer.Option(
        None, "--max-duration", metavar="SEC", help="Takes at most this long (seconds).", show_default=False
    ),
    text: str | None = typer.Option(
        None,
        "--text",
        metavar="QUERY",
        help="Takes with an annotation text (atomic description, "
        "commentary, narration, keystep, demonstration comment) that contains every term of QUERY.",
        show_default=False,
    ),
    where: str | None = typer.Option(
        None,
        "--where",
        metavar="EXPR",
        help="A boolean SQL expression over take_summary columns, e.g. "
        '"n_keystep_segments > 10 AND validated" (see `egoexo-sql describe take_summary`).',
        show_default=False,
    ),
    sample: int | None = typer.Option(
        None,
        "--sample",
        metavar="N",
        min=1,
        help="Of the matching takes, draw N (from each --per group), "
        "reproducibly: the same --seed and catalog give the same takes.",
        show_default=False,
    ),
    per: list[str] | None = typer.Option(
        None,
        "--per",
        metavar="COLUMN",
        help="With --sample: N takes from each group of these take_summary "
        "columns, e.g. --per scenario split (a group with fewer keeps all its takes).",
        show_default=False,
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        metavar="S",
        help="With --sample: another seed draws another sample (default 0).",
        show_default=False,
    ),
    format: TakesFormat = typer.Option(
        TakesFormat.uids,
        "--format",
        help="uids: one take_uid a line; csv/json: take_summary rows; egoexo: the "
        "download command(s); plan: files and bytes those commands will download; files: those files as CSV "
        "(part, uid, relative_path, size_bytes, source_path); s3: `aws s3 cp` lines fetching them (plan, files "
        "and s3 need the manifests).",
    ),
    parts: list[str] | None = typer.Option(
        None,
        "--parts",
        help="Downloader parts for --format egoexo/plan/files/s3 (default: takes), e.g. --parts "
        "takes captures annotations; all and default expand as in egoexo.",
        show_default=False,
    ),
    cams: list[str] | None = typer.Option(
        None,
        "--cams",
        metavar="CAM",
        help="For --format files/s3/plan: of the files that belong to a camera "
        "(frame-aligned and downscaled videos, per-camera features), keep those of these cameras: ego, exo, "
        "best_exo (each take's takes.best_exo), collage (the preview videos) or camera ids (cam01, gp02, "
        "aria01). Files of no camera are kept.",
        show_default=False,
    ),
    out_dir: str = typer.Option(
        "egoexo_download",
        "--out-dir",
        metavar="DIR",
        help="The download folder of the egoexo commands (-o DIR) and of the s3 lines.",
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        metavar="NAME",
        help="For --format s3: the AWS profile of the `aws s3 cp` lines (default: your default credentials).",
        show_default=False,
    ),
    max_command_chars: int = typer.Option(
        100_000,
        "--max-command-chars",
        metavar="N",
        help="Split egoexo commands longer than this (8000 for Windows cmd.exe).",
        min=200,
    ),
    output: str | None = typer.Option(
        None, "--output", metavar="FILE", help="Write to this file instead of stdout.", show_default=False
    ),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP, show_default=False),
) -> None:
    """Select takes by scenario, task, split, annotations, ... (options combine with AND).

    Then print their take_uids (default), their take_summary rows (csv, json), the exact
    `egoexo` download commands (egoexo), what those commands will download (plan), the
    files themselves (files), or `aws s3 cp` lines that fetch exactly those files (s3),
    optionally only some cameras' (--cams).
    """
    with command_errors():
        from .. import select as sel
        from ..catalog import Catalog
        from ..takes_output import check_options, render

        fmt = format.value
        filters = sel.Filters.of(
            scenario=scenario,
            task=task,
            university=university,
            split=split,
            benchmark=benchmark,
            proficiency=proficiency,
            has=has,
            narrated=narrated,
            min_duration=min_duration,
            max_duration=max_duration,
            text=text,
            where=where,
            sample=sample,
            per=per,
            seed=seed,
        )
        check_options(fmt, parts, cams, profile)
        # --where, --has and the durations are checked before the catalog is even opened
        sel.selection_sql(replace(filters, text=None))
        cat = Catalog.open(catalog_dir(catalog), sandbox=True)
        try:
            result = render(
                cat,
                filters,
                fmt,
                parts=parts,
                cams=cams,
                out_dir=out_dir,
                profile=profile,
                max_command_chars=max_command_chars,
            )
        finally:
            cat.close()
        with sink(output) as f:
            f.write(result.text)
        if fmt in ("csv", "json", "uids"):
            report_written(result.n_takes, output, fmt)
        for note in result.notes:
            typer.echo("note: " + note, err=True)
        _note_empty(result.n_takes)
        if fmt not in ("csv", "json", "uids") and result.n_takes and output not in (None, "-"):
            typer.echo(f"wrote {fmt} for {result.n_takes} takes to {output}", err=True)


def _note_empty(n: int) -> None:
    if n == 0:
        typer.echo("note: no takes match these filters", err=True)
