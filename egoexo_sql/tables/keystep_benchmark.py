"""annotations/keystep_benchmark/ -> keystep_benchmark_segments, keystep_labels.

``keystep_segment_{train,val}.json`` and ``keystep_segment_test_unannotated.json``
are objects ``{date, description, splits, segments: [...]}``; a segment names its
take, its interval, its clips (``segment_name_list``, ``ego_segment_name``) and, in
the annotated files, ``step_unique_id``, ``label_id`` and ``step_name``
(egoexo-format.md section 8). ``label_mapping.csv`` has the header
``label_id,step_unique_id,step_name,scenario_name``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from ..schema import conform
from ._common import split_files_once

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

FOLDER = "annotations/keystep_benchmark"
SEGMENT_GLOB = f"{FOLDER}/keystep_segment_*.json"
LABELS_CSV = f"{FOLDER}/label_mapping.csv"
LABELS_HEADER = ("label_id", "step_unique_id", "step_name", "scenario_name")


class Segment(msgspec.Struct, gc=False):
    take_uid: str
    take_name: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    step_unique_id: int | None = None
    label_id: int | None = None
    step_name: str | None = None
    ego_segment_name: str | None = None
    segment_name_list: list[str] | None = None


class SegmentFile(msgspec.Struct, gc=False):
    segments: list[Segment]
    date: str | None = None
    description: str | None = None
    splits: str | None = None


COLUMNS = (
    "take_uid",
    "split",
    "take_name",
    "segment_idx",
    "start_time",
    "end_time",
    "step_unique_id",
    "label_id",
    "step_name",
    "ego_segment_name",
    "segment_names",
    "extra",
)


def compile_keystep_benchmark(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    seg: dict[str, list[Any]] = {k: [] for k in COLUMNS}
    labels: dict[str, list[Any]] = {"label_id": [], "step_unique_id": [], "step_name": [], "scenario": []}
    segment_files = []
    for f in files:
        if release.rel(f) == LABELS_CSV:
            _read_labels(release, LABELS_CSV, labels)
        else:
            segment_files.append(f)
    for rel, split in split_files_once(release, segment_files, "keystep_segment"):
        doc, extra = release.decode_records(rel, SegmentFile, Segment)
        for i, (s, x) in enumerate(zip(doc.segments, extra)):
            seg["take_uid"].append(s.take_uid)
            seg["split"].append(split)
            seg["take_name"].append(s.take_name)
            seg["segment_idx"].append(i)
            seg["start_time"].append(s.start_time)
            seg["end_time"].append(s.end_time)
            seg["step_unique_id"].append(s.step_unique_id)
            seg["label_id"].append(s.label_id)
            seg["step_name"].append(s.step_name)
            seg["ego_segment_name"].append(s.ego_segment_name)
            seg["segment_names"].append(s.segment_name_list)
            seg["extra"].append(x)
    return {
        "keystep_benchmark_segments": conform("keystep_benchmark_segments", seg),
        "keystep_labels": conform("keystep_labels", labels),
    }


def _read_labels(release: Release, rel: str, out: dict[str, list[Any]]) -> None:
    """label_mapping.csv -> columns; a bad header, row or value is an InputError naming the line."""
    from ..release import check_utf8

    data = release.read_bytes(rel)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    check_utf8(data, rel)
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(rows, None)
    if header is None:
        raise InputError(rel, None, "a CSV file with the header " + ",".join(LABELS_HEADER), "an empty file")
    if tuple(h.strip() for h in header) != LABELS_HEADER:
        raise InputError(rel, "line 1", "the header " + ",".join(LABELS_HEADER), ",".join(header))
    seen: dict[int, int] = {}
    for row in rows:
        line = rows.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(LABELS_HEADER):
            raise InputError(rel, f"line {line}", f"{len(LABELS_HEADER)} fields", f"{len(row)}: {row!r}")
        label_id = _int(rel, line, "label_id", row[0])
        if label_id in seen:
            raise InputError(
                rel,
                f"line {line}",
                "each label_id once",
                f"{label_id} again (first on line {seen[label_id]})",
            )
        seen[label_id] = line
        out["label_id"].append(label_id)
        out["step_unique_id"].append(_int(rel, line, "step_unique_id", row[1]))
        out["step_name"].append(row[2])
        out["scenario"].append(row[3] or None)


def _int(rel: str, line: int, column: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(rel, f"line {line}, column {column}", "an integer", repr(text)) from None
