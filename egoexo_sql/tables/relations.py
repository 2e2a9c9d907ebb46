"""annotations/relations_{train,val,test}.json -> relations_objects, relations_masks, relations_boxes.

``{"annotations": {take_uid: {scenario, take_name, object_names, object_masks:
{"<object>_<k>": {cam_key: {annotation: {"<frame>": {width, height, encodedMask,
intSegClicks}}, annotation_metadata, annotation_fps, annotated_frames}}}}}}``
(egoexo-format.md section 12).

* ``relations_objects``: one row per take x object x camera, with the number of
  annotated frames and of masks.
* ``relations_masks``: one row per mask, the encoded mask kept as it is written
  (COCO RLE counts compressed with LZString); nothing is decoded during the build.
* ``relations_boxes``: one row per box of ``object_names.annotation`` (the objects'
  boxes on the ego clip: ``{x, y, width, height, rotation, original_width,
  original_height, frameNumber, endInterpolation, interpolated, track_id, milo_type}``).

A relations file holds every take of a split, so it is read take by take
(:func:`egoexo_sql.tables._json_stream.iter_members`) and written in chunks: memory
does not grow with the number of takes. A file that does not read that way is
decoded whole, which gives the precise InputError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from ._common import split_of, to_text
from ._json_stream import StreamError, iter_members

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

PREFIX = "relations"
GLOB = "annotations/relations_*.json"
#: rows of relations_masks per chunk handed to the writer
CHUNK_MASKS = 20_000
_ARIA_KEY = re.compile(r"^(aria\d+)_(.+)$")


class Meta(msgspec.Struct, gc=False):
    annotation_uid: str | None = None
    annotator_id: str | int | None = None


class Mask(msgspec.Struct, gc=False):
    width: int | float | None = None
    height: int | float | None = None
    encodedMask: str | None = None


class CamMasks(msgspec.Struct, gc=False):
    annotation: dict[str, Mask] = {}
    annotation_metadata: Meta | None = None
    annotation_fps: int | float | None = None
    annotated_frames: list[int] = []


class Box(msgspec.Struct, gc=False):
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    rotation: float | None = None
    original_width: int | None = None
    original_height: int | None = None
    frameNumber: int | None = None
    endInterpolation: bool | None = None
    interpolated: bool | None = None
    track_id: str | None = None
    milo_type: str | None = None


class ObjectNames(msgspec.Struct, gc=False):
    annotation: list[Box] = []
    annotation_metadata: Meta | None = None
    annotation_fps: int | float | None = None


class TakeRelations(msgspec.Struct, gc=False):
    scenario: str | None = None
    take_name: str | None = None
    object_names: ObjectNames | None = None
    object_masks: dict[str, dict[str, CamMasks]] = {}


class RelationsFile(msgspec.Struct, gc=False):
    annotations: dict[str, TakeRelations]


def unit_of_relations(rel: str) -> str:
    """Each relations file is a unit of its own: ``relations-train``."""
    split = split_of(rel, PREFIX)
    return f"relations-{split}" if split else "relations-" + Path(rel).stem


def _takes(release: Release, rel: str) -> Iterator[tuple[str, TakeRelations]]:
    """(take_uid, record) in file order, read take by take."""
    from ..release import decoder

    dec = decoder(TakeRelations)
    seen: set[str] = set()
    try:
        found = False
        for uid, raw in iter_members(release.path(rel), "annotations"):
            found = True
            if uid in seen:
                raise InputError(
                    rel, f'$.annotations["{uid}"]', "each take once in the file", "the take a second time"
                )
            seen.add(uid)
            try:
                yield uid, dec.decode(raw)
            except msgspec.DecodeError:
                raise StreamError(0, "a take does not decode") from None
        if not found:
            raise StreamError(0, "no annotations member")
    except StreamError:
        # the whole file the ordinary way: its InputError names the path and position
        doc: RelationsFile = release.decode(rel, RelationsFile)
        for uid, rec in doc.annotations.items():  # pragma: no cover - only if it decodes
            if uid not in seen:
                yield uid, rec


def compile_relations_file(release: Release, path: Path) -> Iterator[tuple[str, pa.Table]]:
    rel = release.rel(path)
    split = split_of(rel, PREFIX)
    if split is None:
        raise InputError(rel, None, "a file named relations_<train|val|test>.json", "another name")
    objects: dict[str, list[Any]] = _empty_objects()
    masks: dict[str, list[Any]] = _empty_masks()
    boxes: dict[str, list[Any]] = _empty_boxes()
    for uid, take in _takes(release, rel):
        _add_boxes(boxes, uid, take.object_names)
        for obj, cams in take.object_masks.items():
            for cam_key, cm in cams.items():
                m = _ARIA_KEY.match(cam_key)
                cam_id = m.group(1) if m else cam_key
                meta = cm.annotation_metadata
                objects["take_uid"].append(uid)
                objects["take_name"].append(take.take_name)
                objects["scenario"].append(take.scenario)
                objects["object_name"].append(obj)
                objects["cam_key"].append(cam_key)
                objects["cam_id"].append(cam_id)
                objects["is_ego"].append(m is not None)
                objects["n_annotated_frames"].append(len(cm.annotated_frames))
                objects["n_masks"].append(sum(1 for x in cm.annotation.values() if x.encodedMask))
                objects["annotation_fps"].append(cm.annotation_fps)
                objects["annotation_uid"].append(meta.annotation_uid if meta else None)
                objects["annotator_id"].append(to_text(meta.annotator_id) if meta else None)
                for frame, mask in cm.annotation.items():
                    if not (frame.isdigit() and frame.isascii()):
                        raise InputError(
                            rel,
                            f'$.annotations["{uid}"].object_masks["{obj}"]["{cam_key}"].annotation["{frame}"]',
                            "a frame number (a key made of digits)",
                            repr(frame),
                        )
                    masks["take_uid"].append(uid)
                    masks["object_name"].append(obj)
                    masks["cam_key"].append(cam_key)
                    masks["cam_id"].append(cam_id)
                    masks["frame_number"].append(int(frame))
                    masks["width"].append(mask.width)
                    masks["height"].append(mask.height)
                    masks["encoded_mask"].append(mask.encodedMask)
        if len(masks["take_uid"]) >= CHUNK_MASKS:
            yield "relations_masks", _table(masks, split)
            masks = _empty_masks()
        if len(objects["take_uid"]) >= CHUNK_MASKS:
            yield "relations_objects", _table(objects, split)
            objects = _empty_objects()
        if len(boxes["take_uid"]) >= CHUNK_MASKS:
            yield "relations_boxes", _table(boxes, split)
            boxes = _empty_boxes()
    yield "relations_masks", _table(masks, split)
    yield "relations_objects", _table(objects, split)
    yield "relations_boxes", _table(boxes, split)


_BOX_FIELDS = (
    ("track_id", "track_id"),
    ("frame_number", "frameNumber"),
    ("x", "x"),
    ("y", "y"),
    ("width", "width"),
    ("height", "height"),
    ("rotation", "rotation"),
    ("interpolated", "interpolated"),
    ("end_interpolation", "endInterpolation"),
    ("original_width", "original_width"),
    ("original_height", "original_height"),
    ("milo_type", "milo_type"),
)


def _add_boxes(cols: dict[str, list[Any]], uid: str, names: ObjectNames | None) -> None:
    if names is None or not names.annotation:
        return
    n = len(names.annotation)
    meta = names.annotation_metadata
    cols["take_uid"] += [uid] * n
    cols["box_idx"] += range(n)
    cols["annotation_fps"] += [None if names.annotation_fps is None else float(names.annotation_fps)] * n
    cols["annotation_uid"] += [meta.annotation_uid if meta else None] * n
    for col, attr in _BOX_FIELDS:
        cols[col] += [getattr(b, attr) for b in names.annotation]


def _empty_boxes() -> dict[str, list[Any]]:
    return {
        k: []
        for k in ("take_uid", "box_idx", *(c for c, _ in _BOX_FIELDS), "annotation_fps", "annotation_uid")
    }


def _empty_objects() -> dict[str, list[Any]]:
    return {
        k: []
        for k in (
            "take_uid",
            "take_name",
            "scenario",
            "object_name",
            "cam_key",
            "cam_id",
            "is_ego",
            "n_annotated_frames",
            "n_masks",
            "annotation_fps",
            "annotation_uid",
            "annotator_id",
        )
    }


def _empty_masks() -> dict[str, list[Any]]:
    return {
        k: []
        for k in (
            "take_uid",
            "object_name",
            "cam_key",
            "cam_id",
            "frame_number",
            "width",
            "height",
            "encoded_mask",
        )
    }


def _table(cols: dict[str, list[Any]], split: str) -> pa.Table:
    import pyarrow as pa

    n = len(cols["take_uid"])
    data = {"split": pa.repeat(split, n)}
    for k, v in cols.items():
        if k == "annotation_fps":
            v = [None if x is None else float(x) for x in v]
        elif k in ("x", "y", "rotation"):
            v = [None if x is None else float(x) for x in v]
        elif k in ("width", "height"):
            v = [int(x) if isinstance(x, float) and x.is_integer() else x for x in v]
        data[k] = pa.array(v)
    return pa.table(data)
