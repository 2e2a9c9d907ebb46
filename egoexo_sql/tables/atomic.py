"""annotations/atomic_descriptions_{train,val}.json -> atomic_descriptions.

The largest annotation file (~430k descriptions at full scale): columns are built
with one C-level pass per column over the flat list of decoded Structs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .. import variants
from ..errors import InputError
from ..schema import get as schema_of
from ._common import column, split_files, to_table, to_text

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
    ego_visible: bool | str | None = None  # v1 files write "0"/"1"
    unsure: bool | str | None = None
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


_FLAG_TEXT = {"0": False, "1": True}


def _flags(values: list[Any], rel: str, f: AtomicFile, start: int, key: str) -> list[Any]:
    """Flags must be bool; the v1 spelling "0"/"1" is converted (and counted), others refused."""
    if set(map(type, values[start:])) <= _OK:
        return values
    n = 0
    for i in range(start, len(values)):
        v = values[i]
        if v is None or v is True or v is False:
            continue
        if type(v) is str and v in _FLAG_TEXT:
            values[i] = _FLAG_TEXT[v]
            n += 1
        else:  # raises, naming the description
            variants.boolean(
                v, rel, lambda i=i: _locate(f, i - start) + f".{key}", "atomic_descriptions.flag_text"
            )
    variants.note(rel, "atomic_descriptions.flag_text", n)
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


def compile_atomic(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    import pyarrow as pa

    parts: list[pa.Table] = []
    seen: dict[tuple[str, str], str] = {}
    for rel, split in split_files(release, files, PREFIX):
        f, extra = release.decode_records(rel, AtomicFile, Annotation)
        descs: list[Description] = []
        # annotation-level values are kept once per annotation and repeated per
        # description by Arrow (take), instead of once per description in Python
        a_take: list[str] = []
        a_uid: list[str] = []
        a_annotator: list[Any] = []
        a_rejected: list[Any] = []
        a_reason: list[Any] = []
        row_ann: list[int] = []
        idx: list[int] = []
        for uid, anns in f.annotations.items():
            for ai, a in enumerate(anns):
                key = (uid, a.annotation_uid)
                if key in seen:
                    raise InputError(
                        rel,
                        f'$.annotations["{uid}"][{ai}].annotation_uid',
                        "an annotation_uid not used before for this take",
                        f"{a.annotation_uid!r}, already in {seen[key]}",
                    )
                seen[key] = rel
                d = a.descriptions
                n = len(d)
                descs += d
                row_ann += [len(a_uid)] * n
                idx += range(n)
                a_take.append(uid)
                a_uid.append(a.annotation_uid)
                a_annotator.append(to_text(a.annotator_id))
                a_rejected.append(a.rejected)
                a_reason.append(a.reject_reason)
        rows = pa.array(row_ann, type=pa.int64())
        subjects = column(descs, "subject")
        if None in subjects:  # the v1 key spelling, where subject is missing
            old = column(descs, "narration_subject")
            subjects = [s if s is not None else o for s, o in zip(subjects, old)]
            variants.note(
                rel,
                "atomic_descriptions.narration_subject",
                sum(1 for s, o in zip(column(descs, "subject"), old) if s is None and o is not None),
            )
        bests = column(descs, "best_exo")
        raw_cam = [None if b is None else b.raw_cam_id for b in bests]
        if not set(map(type, raw_cam)) <= {str, type(None)}:
            raw_cam = [to_text(v) for v in raw_cam]
        parts.append(
            to_table(
                "atomic_descriptions",
                {
                    "take_uid": pa.array(a_take, type=pa.string()).take(rows),
                    "split": pa.repeat(pa.scalar(split, type=pa.string()), len(descs)),
                    "annotation_uid": pa.array(a_uid, type=pa.string()).take(rows),
                    "annotator_id": pa.array(a_annotator, type=pa.string()).take(rows),
                    "rejected": pa.array(a_rejected, type=pa.bool_()).take(rows),
                    "reject_reason": pa.array(a_reason, type=pa.string()).take(rows),
                    "description_idx": idx,
                    "timestamp": column(descs, "timestamp"),
                    "text": column(descs, "text"),
                    "subject": subjects,
                    "ego_visible": _flags(column(descs, "ego_visible"), rel, f, 0, "ego_visible"),
                    "unsure": _flags(column(descs, "unsure"), rel, f, 0, "unsure"),
                    "best_exo_cam_id": [None if b is None else b.cam_id for b in bests],
                    "best_exo_raw_cam_id": raw_cam,
                    "extra": pa.array(extra, type=pa.string()).take(rows),
                },
            )
        )
        del f, descs, bests
    if not parts:
        return {"atomic_descriptions": schema_of("atomic_descriptions").empty_table()}
    return {"atomic_descriptions": pa.concat_tables(parts)}
