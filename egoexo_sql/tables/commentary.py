"""Expert commentary.

annotations/expert_commentary_{train,val}.json -> expert_commentary (one row per recording);
annotations/expert_commentary/<take_name>/<expert_uid>/data.json -> expert_ratings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from ..schema import conform
from ..schema import get as schema_of
from ._common import column, repeat_per_row, row_groups, split_files, to_table

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

PREFIX = "expert_commentary"
DATA_JSON_GLOB = "annotations/expert_commentary/*/*/data.json"


class Recording(msgspec.Struct, gc=False):
    recording: str | None = None
    video_time: float | None = None
    text: str | None = None
    error: bool | None = None
    # export.py writes _error_desc, the docs say error_desc: accept both
    underscore_error_desc: str | None = msgspec.field(name="_error_desc", default=None)
    error_desc: str | None = None
    duration_approx: float | None = None


class Commentary(msgspec.Struct, gc=False):
    commentary: str
    take_uid: str | None = None
    take_name: str | None = None
    task_id: int | None = None
    task_name: str | None = None
    commentary_data: list[Recording] = []


class CommentaryFile(msgspec.Struct, gc=False):
    annotations: dict[str, list[Commentary]]
    ds: str | None = None


class Proficiency(msgspec.Struct, gc=False):
    rating: int | None = None
    why: str | None = None


class DataJson(msgspec.Struct, gc=False):
    """Only what expert_ratings uses; the drawing events are skipped unparsed."""

    user_id: str | None = None
    video_name: str | None = None
    proficiency: Proficiency | None = None


class _TakeRef(msgspec.Struct, gc=False):
    take_uid: str
    take_name: str


def compile_commentary(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    import pyarrow as pa

    parts: list[pa.Table] = []
    seen: dict[str, str] = {}
    uid_of: dict[str, str] = {}  # take_name -> take_uid, for expert_ratings
    for rel, split in split_files(release, files, PREFIX):
        f, extra = release.decode_records(rel, CommentaryFile, Commentary)
        comm: list[Commentary] = []
        c_take: list[str] = []
        recs: list[Recording] = []
        idx: list[int] = []
        for uid, comms in f.annotations.items():
            for ci, c in enumerate(comms):
                name = c.take_name or c.commentary.rpartition("/")[0]
                if name:
                    uid_of.setdefault(name, uid)
                if c.commentary in seen:
                    raise InputError(
                        rel,
                        f'$.annotations["{uid}"][{ci}].commentary',
                        "a commentary not listed before",
                        f"{c.commentary!r}, already in {seen[c.commentary]}",
                    )
                seen[c.commentary] = rel
                comm.append(c)
                c_take.append(uid)
                recs += c.commentary_data
                idx += range(len(c.commentary_data))
        # commentary-level values once per commentary, repeated per recording in Arrow
        rows = row_groups([len(c.commentary_data) for c in comm])
        ids = column(comm, "commentary")
        parts.append(
            to_table(
                "expert_commentary",
                {
                    "take_uid": repeat_per_row(c_take, rows, pa.string()),
                    "split": pa.repeat(pa.scalar(split, type=pa.string()), len(recs)),
                    "take_name": repeat_per_row(column(comm, "take_name"), rows, pa.string()),
                    "commentary_id": repeat_per_row(ids, rows, pa.string()),
                    "expert_uid": repeat_per_row([i.rpartition("/")[2] for i in ids], rows, pa.string()),
                    "task_id": repeat_per_row(column(comm, "task_id"), rows, pa.int32()),
                    "recording_idx": idx,
                    "recording": column(recs, "recording"),
                    "video_time": column(recs, "video_time"),
                    "text": column(recs, "text"),
                    "error": column(recs, "error"),
                    "error_desc": [
                        r.underscore_error_desc if r.underscore_error_desc is not None else r.error_desc
                        for r in recs
                    ],
                    "duration_approx": column(recs, "duration_approx"),
                    "extra": repeat_per_row(extra, rows, pa.string()),
                },
            )
        )
    return {
        "expert_commentary": pa.concat_tables(parts)
        if parts
        else schema_of("expert_commentary").empty_table(),
        "expert_ratings": _ratings(release, files, uid_of),
    }


def _ratings(release: Release, files: list[Path], uid_of: dict[str, str]) -> pa.Table:
    # take_name -> take_uid: the commentary files know it for commented takes;
    # takes.json is read (take_uid and take_name only) only if some name is left.
    cols: dict[str, list[Any]] = {
        k: [] for k in ("take_uid", "take_name", "expert_uid", "commentary_id", "rating", "why")
    }
    data_files = sorted(r for r in map(release.rel, files) if r.endswith("/data.json"))
    for rel in data_files:
        parts = rel.split("/")
        # annotations/expert_commentary/<take_name>/<expert_uid>/data.json
        if len(parts) != 5:
            continue
        take_name, expert_uid = parts[2], parts[3]
        d: DataJson = release.decode(rel, DataJson)
        cols["take_name"].append(take_name)
        cols["expert_uid"].append(expert_uid)
        cols["commentary_id"].append(f"{take_name}/{expert_uid}")
        cols["rating"].append(d.proficiency.rating if d.proficiency else None)
        cols["why"].append(d.proficiency.why if d.proficiency else None)

    missing = [n for n in cols["take_name"] if n not in uid_of]
    if missing and release.is_file("takes.json"):
        for t in release.decode("takes.json", list[_TakeRef], records=(_TakeRef,)):
            uid_of.setdefault(t.take_name, t.take_uid)
    cols["take_uid"] = [uid_of.get(n) for n in cols["take_name"]]
    return conform("expert_ratings", cols)
