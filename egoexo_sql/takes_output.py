"""What ``egoexo-sql takes --format F`` prints for a selection, as text: one function that
the command and the web browser (``/takes.csv``, ``/takes.egoexo``, ...) both call, so
their output is the same byte for byte.

Formats: ``uids`` (one take_uid a line), ``csv``/``json`` (the take_summary rows), ``egoexo``
(the download commands), ``plan`` (what they will download), ``files`` (those files as
CSV) and ``s3`` (``aws s3 cp`` lines); the last three read the manifests.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .select import Filters

FORMATS = ("uids", "csv", "json", "egoexo", "plan", "files", "s3")
#: formats that list or count files from the manifests (and so take parts and cams)
FILE_FORMATS = ("plan", "files", "s3")


@dataclass
class TakesOutput:
    text: str
    n_takes: int
    notes: list[str] = field(default_factory=list)  # for stderr (the CLI) or beside the page


def check_options(
    fmt: str, parts: Sequence[str] | None, cams: Sequence[str] | None, profile: str | None
) -> None:
    """Refuse options the format does not take, before anything runs."""
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if parts and fmt not in ("egoexo", *FILE_FORMATS):
        raise UsageError("--parts is for --format egoexo, plan, files or s3")
    if cams and fmt not in FILE_FORMATS:
        raise UsageError(
            "--cams is for --format files, s3 or plan"
            + (
                ": the egoexo downloader cannot select cameras (its --views keeps ego or exo "
                "files and always the previews); --format s3 fetches exactly the cameras named"
                if fmt == "egoexo"
                else ""
            )
        )
    if profile is not None and fmt != "s3":
        raise UsageError("--profile is for --format s3")


def render(
    cat: Catalog,
    filters: Filters,
    fmt: str,
    *,
    parts: Sequence[str] | None = None,
    cams: Sequence[str] | None = None,
    out_dir: str = "egoexo_download",
    profile: str | None = None,
    max_command_chars: int = 100_000,
) -> TakesOutput:
    """The selection in format ``fmt``, as the ``takes`` command prints it."""
    from . import download as dl
    from . import select as sel

    check_options(fmt, parts, cams, profile)
    wanted_parts = dl.normalize_parts(parts) if fmt in ("egoexo", *FILE_FORMATS) else None
    # --where, --has and the durations are checked before the catalog is read
    sel.selection_sql(replace(filters, text=None))
    if fmt in ("csv", "json"):
        from . import output as out
        from .query_runner import fetch

        cur = sel.run(cat, filters)
        columns = [d[0] for d in cur.description]
        types = [str(d[1]) for d in cur.description]
        buf = io.StringIO(newline="")
        n = fetch(lambda: out.write_text(fmt, columns, types, out.batches_of(cur), buf))
        return TakesOutput(buf.getvalue(), n)
    uids = sel.take_uids(cat, filters)
    if fmt == "uids":
        return TakesOutput("".join(u + "\n" for u in uids), len(uids))
    run_list = dl.runs(cat, uids, wanted_parts)
    cam_set = dl.cams_of(cat, cams) if fmt in FILE_FORMATS else None
    notes: list[str] = []
    if fmt == "egoexo":
        text = dl.script(run_list, len(uids), out_dir, max_command_chars)
    elif fmt == "plan":
        counted = dl.plan(cat, run_list, cam_set)
        text = dl.plan_text(counted, len(uids))
        notes = dl.best_exo_notes(counted.no_best_exo)
    else:
        listed = dl.files(cat, run_list, cam_set)
        notes = dl.files_notes(listed)
        text = dl.files_csv(listed) if fmt == "files" else dl.s3_script(listed, len(uids), out_dir, profile)
    return TakesOutput(text, len(uids), notes)
