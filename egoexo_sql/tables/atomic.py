"""annotations/atomic_descriptions_{train,val}.json -> atomic_descriptions.

The largest annotation file (~430k descriptions at full scale): columns are built
with one C-level pass per column over the flat list of decoded Structs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from ..schema import conform
from ._common import column, split_files, to_bool, to_text

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

PREFIX = "atomic_descriptions"


class BestExo(msgspec.Struct, gc=False):
    cam_id: str | None = None
    raw_cam_id: str | int | None = None


class Description(msgspec.Struct, gc=False):
    # both keys must be present (null allowed): a description without them is not one
    text: str | None
    timestamp: float | None
    subject: str | None = None
    narration_subject: str | None = None  # v1 spelling of subject
    ego_visible: bool | int | str | None = None  # v1 files write "0"/"1"
    unsure: bool | int | str | None = None
    best_exo: BestExo | None = None


class Annotation(msgspec.Struct, gc=False):
    annotation_uid: str
    annotator_id: str | int | None = None
    rejected: bool | None = None
    reject_reason: str | None = None
    descriptions: list[Description] = []


class AtomicFile(msgspec.Struct, gc=False):
    annotations: dict[str, list[Annotation]]
    ds: str | None = None


_OK = {bool, type(None)}


def _flags(values: list[Any], rel: str, f: AtomicFile, start: int, key: str) -> list[Any]:
    """Flags must be bool; older spellings (0/1, "0"/"1") are converted, others refused."""
    if set(map(type, values[start:])) <= _OK:
        return values
    for i in range(start, len(values)):
        v = values[i]
        if v is not None and v is not True and v is not False:
            values[i] = to_bool(v, rel, lambda i=i: _locate(f, i - start) + f".{key}")
    return values


def _locate(f: AtomicFile, row: int) -> str:
    """JSON path of the row-th description of the file (error path only)."""
    for take_uid, anns in f.annotations.items():
        for ai, ann in enumerate(anns):
            n = len(ann.descriptions)
            if row < n:
                return f'$.annotations["{take_uid}"][{ai}].descriptions[{row}]'
            row -= n
    return "$.annotations"  # pragma: no cover


def compile_atomic(release: "Release", files: list[Path]) -> dict[str, "pa.Table"]:
    cols: dict[str, list[Any]] = {k: [] for k in (
        "take_uid", "split", "annotation_uid", "annotator_id", "rejected", "reject_reason",
        "description_idx", "timestamp", "text", "subject", "ego_visible", "unsure",
        "best_exo_cam_id", "best_exo_raw_cam_id")}
    seen: dict[tuple[str, str], str] = {}
    for rel, split in split_files(release, files, PREFIX):
        f: AtomicFile = release.decode(rel, AtomicFile)
        start = len(cols["take_uid"])
        descs: list[Description] = []
        take_uid, ann_uid, annotator, rejected, reason, idx = (
            cols["take_uid"], cols["annotation_uid"], cols["annotator_id"], cols["rejected"],
            cols["reject_reason"], cols["description_idx"])
        for uid, anns in f.annotations.items():
            for ai, a in enumerate(anns):
                key = (uid, a.annotation_uid)
                if key in seen:
                    raise InputError(rel, f'$.annotations["{uid}"][{ai}].annotation_uid',
                                     "an annotation_uid not used before for this take",
                                     f"{a.annotation_uid!r}, already in {seen[key]}")
                seen[key] = rel
                d = a.descriptions
                n = len(d)
                descs += d
                take_uid += [uid] * n
                ann_uid += [a.annotation_uid] * n
                annotator += [to_text(a.annotator_id)] * n
                rejected += [a.rejected] * n
                reason += [a.reject_reason] * n
                idx += range(n)
        cols["split"] += [split] * len(descs)
        cols["timestamp"] += column(descs, "timestamp")
        cols["text"] += column(descs, "text")
        cols["subject"] += [d.subject if d.subject is not None else d.narration_subject
                            for d in descs]
        cols["ego_visible"] += column(descs, "ego_visible")
        cols["unsure"] += column(descs, "unsure")
        _flags(cols["ego_visible"], rel, f, start, "ego_visible")
        _flags(cols["unsure"], rel, f, start, "unsure")
        bests = column(descs, "best_exo")
        cols["best_exo_cam_id"] += [None if b is None else b.cam_id for b in bests]
        cols["best_exo_raw_cam_id"] += [None if b is None else to_text(b.raw_cam_id) for b in bests]
        del f, descs, bests
    return {"atomic_descriptions": conform("atomic_descriptions", cols)}
