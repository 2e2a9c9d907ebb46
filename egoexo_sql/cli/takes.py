"""``egoexo-sql takes``: select takes; print their uids, their rows, the ``egoexo`` commands
that download them, or how much those commands will download.

Filters and their semantics live in :mod:`egoexo_sql.select` (shared with
``Catalog.takes``); commands and the plan in :mod:`egoexo_sql.download`. Only duckdb
and sqlglot are imported here (no polars or pandas).
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Optional

import typer

from ..errors import UsageError
from . import app, catalog_dir
from .query import CATALOG_HELP, _done, _errors, _fetch, _sink


class TakesFormat(str, Enum):
    uids = "uids"
    csv = "csv"
    json = "json"
    egoexo = "egoexo"
    plan = "plan"


@app.command()
def takes(
    scenario: Optional[list[str]] = typer.Option(
        None, "--scenario", help="Scenario, e.g. Cooking or \"Bike Repair\" (repeat for several: any of them).",
        show_default=False),
    task: Optional[list[str]] = typer.Option(
        None, "--task", help="Task name or task_id (repeatable).", show_default=False),
    university: Optional[list[str]] = typer.Option(
        None, "--university", help="University, e.g. cmu or ego4d-cmu (repeatable).", show_default=False),
    split: Optional[list[str]] = typer.Option(
        None, "--split", help="train, val or test (repeatable).", show_default=False),
    benchmark: Optional[list[str]] = typer.Option(
        None, "--benchmark", help="A benchmark tag of splits.json, e.g. keystep, ego_pose (repeatable: any of them).",
        show_default=False),
    proficiency: Optional[list[str]] = typer.Option(
        None, "--proficiency", help="Demonstrator proficiency: Novice, \"Early Expert\", \"Intermediate Expert\", "
        "\"Late Expert\" (or late_expert; repeatable).", show_default=False),
    has: Optional[list[str]] = typer.Option(
        None, "--has", help="The take has these annotations (all of them): keystep atomic commentary relations "
        "body_pose hand_pose proficiency.", show_default=False),
    narrated: Optional[bool] = typer.Option(
        None, "--narrated/--not-narrated", help="Only Narrate & Act takes / only the others.", show_default=False),
    min_duration: Optional[float] = typer.Option(
        None, "--min-duration", metavar="SEC", help="Takes at least this long (seconds).", show_default=False),
    max_duration: Optional[float] = typer.Option(
        None, "--max-duration", metavar="SEC", help="Takes at most this long (seconds).", show_default=False),
    text: Optional[str] = typer.Option(
        None, "--text", metavar="QUERY", help="Takes whose annotations match this text search (issue 8).",
        show_default=False),
    where: Optional[str] = typer.Option(
        None, "--where", metavar="EXPR", help="A boolean SQL expression over take_summary columns, e.g. "
        "\"n_keystep_segments > 10 AND validated\" (see `egoexo-sql describe take_summary`).", show_default=False),
    format: TakesFormat = typer.Option(
        TakesFormat.uids, "--format", help="uids: one take_uid a line; csv/json: take_summary rows; egoexo: the "
        "download command(s); plan: files and bytes those commands will download (needs the manifests)."),
    parts: Optional[list[str]] = typer.Option(
        None, "--parts", help="Downloader parts for --format egoexo/plan (default: takes), e.g. --parts takes "
        "captures annotations; all and default expand as in egoexo.", show_default=False),
    out_dir: str = typer.Option(
        "egoexo_download", "--out-dir", metavar="DIR", help="The download folder in the egoexo commands (-o DIR)."),
    max_command_chars: int = typer.Option(
        100_000, "--max-command-chars", metavar="N", help="Split egoexo commands longer than this (8000 for "
        "Windows cmd.exe).", min=200),
    output: Optional[str] = typer.Option(
        None, "--output", metavar="FILE", help="Write to this file instead of stdout.", show_default=False),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=CATALOG_HELP, show_default=False),
) -> None:
    """Select takes by scenario, task, split, annotations, ... (options combine with AND).

    Then print their take_uids (default), their take_summary rows (csv, json), the exact
    `egoexo` download commands (egoexo), or what those commands will download (plan).
    """
    with _errors():
        from .. import download as dl
        from .. import select as sel
        from ..catalog import Catalog

        fmt = format.value
        filters = sel.Filters.of(
            scenario=scenario, task=task, university=university, split=split, benchmark=benchmark,
            proficiency=proficiency, has=has, narrated=narrated, min_duration=min_duration,
            max_duration=max_duration, text=text, where=where,
        )
        if parts and fmt not in ("egoexo", "plan"):
            raise UsageError("--parts is for --format egoexo or --format plan")
        wanted_parts = dl.normalize_parts(parts) if fmt in ("egoexo", "plan") else None
        # --where, --has and the durations are checked before the catalog is even opened
        sel.selection_sql(replace(filters, text=None))

        cat = Catalog.open(catalog_dir(catalog), sandbox=True)
        try:
            if fmt in ("csv", "json"):
                from .. import output as out

                cur = sel.run(cat, filters)
                columns = [d[0] for d in cur.description]
                types = [str(d[1]) for d in cur.description]
                with _sink(output) as f:
                    n = _fetch(lambda: out.write_text(fmt, columns, types, out.batches_of(cur), f))
                _done(n, output, fmt)
                _note_empty(n)
                return
            uids = sel.take_uids(cat, filters)
            if fmt == "uids":
                with _sink(output) as f:
                    f.write("".join(u + "\n" for u in uids))
                _done(len(uids), output, fmt)
                _note_empty(len(uids))
                return
            run_list = dl.runs(cat, uids, wanted_parts)
            if fmt == "egoexo":
                text_out = dl.script(run_list, len(uids), out_dir, max_command_chars)
            else:
                text_out = dl.plan_text(dl.plan(cat, run_list), len(uids))
            with _sink(output) as f:
                f.write(text_out)
            _note_empty(len(uids))
            if uids and output not in (None, "-"):
                typer.echo(f"wrote {fmt} for {len(uids)} takes to {output}", err=True)
        finally:
            cat.close()


def _note_empty(n: int) -> None:
    if n == 0:
        typer.echo("note: no takes match these filters", err=True)
