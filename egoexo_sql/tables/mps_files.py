"""The small MPS files of a take: ``trajectory/gopro_calibs.csv`` -> exo_calibrations,
``trajectory/summary.json`` and ``eye_gaze/summary.json`` -> mps_summaries
(docs/real-data-variants.md, "Sensor files")."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from .sensor_csv import TAKES_JSON, match_form, take_of

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

CALIBS_GLOB = "takes/*/trajectory/gopro_calibs.csv"
SUMMARY_GLOBS = ("takes/*/trajectory/summary.json", "takes/*/eye_gaze/summary.json")
GOPRO_COLUMNS = (
    "cam_uid",
    "graph_uid",
    "tx_world_cam",
    "ty_world_cam",
    "tz_world_cam",
    "qx_world_cam",
    "qy_world_cam",
    "qz_world_cam",
    "qw_world_cam",
    "image_width",
    "image_height",
    "intrinsics_type",
    *(f"intrinsics_{i}" for i in range(8)),
    "start_frame_idx",
    "end_frame_idx",
    "quality",
)
_INTS = ("image_width", "image_height", "start_frame_idx", "end_frame_idx", "quality")


def compile_exo_calibrations(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    rows: dict[str, list[Any]] = {}
    for path in files:
        rel = release.rel(path)
        if not rel.endswith("gopro_calibs.csv"):
            continue
        take = take_of(release, rel)
        text = _text(release, rel)
        reader = csv.reader(io.StringIO(text))
        names = [c.strip() for c in next(reader, [])]
        if not names or names == [""]:
            raise InputError(rel, "line 1", "a header line naming the columns", "an empty file")
        # the reader of projectaria_tools allows extra columns after the known ones
        match_form(rel, [n for n in names if n in GOPRO_COLUMNS or not n], {"gopro_calibs": GOPRO_COLUMNS})
        seen: set[str] = set()
        for line_no, raw in enumerate(reader, start=2):
            if not raw:
                continue
            if len(raw) != len(names):
                raise InputError(
                    rel, f"line {line_no}", f"{len(names)} fields as in the header", f"{len(raw)}"
                )
            rec = {n: v.strip() for n, v in zip(names, raw)}
            vals: dict[str, Any] = {}
            for c in GOPRO_COLUMNS:
                v = rec[c]
                if c in ("cam_uid", "graph_uid", "intrinsics_type"):
                    vals[c] = v
                    continue
                try:
                    vals[c] = int(v) if c in _INTS else float(v)
                except ValueError:
                    kind = "an integer" if c in _INTS else "a number"
                    raise InputError(rel, f"line {line_no}, column {c}", kind, repr(v)) from None
            cam = vals["cam_uid"]
            if cam in seen:
                raise InputError(rel, f"line {line_no}, column cam_uid", "each camera once", f"{cam!r} again")
            seen.add(cam)
            q = [vals[f"q{a}_world_cam"] for a in "xyzw"]
            t = [vals[f"t{a}_world_cam"] for a in "xyz"]
            out = {
                "take_uid": take.take_uid,
                "cam_id": cam,
                "graph_uid": vals["graph_uid"] or None,
                "tx": t[0],
                "ty": t[1],
                "tz": t[2],
                "qx": q[0],
                "qy": q[1],
                "qz": q[2],
                "qw": q[3],
                "image_width": vals["image_width"],
                "image_height": vals["image_height"],
                "intrinsics_type": vals["intrinsics_type"],
                "intrinsics": [vals[f"intrinsics_{i}"] for i in range(8)],
                "extrinsics": _world_from_cam(q, t),
                "start_frame_idx": None if vals["start_frame_idx"] < 0 else vals["start_frame_idx"],
                "end_frame_idx": None if vals["end_frame_idx"] < 0 else vals["end_frame_idx"],
                "quality": vals["quality"],
            }
            for k, v in out.items():
                rows.setdefault(k, []).append(v)
    return {"exo_calibrations": _table("exo_calibrations", rows)}


def _world_from_cam(q: list[float], t: list[float]) -> list[list[float]]:
    """3 x 4 [R | t] from a quaternion (x, y, z, w; normalised) and a position."""
    x, y, z, w = q
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    r = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return [r[i] + [t[i]] for i in range(3)]


def _text(release: Release, rel: str) -> str:
    data = release.read_bytes(rel)
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise InputError(rel, None, "UTF-8 text", "bytes that are not UTF-8") from None


_STAGE_KEYS = ("status", "Status", "message", "info", "warnings", "errors", "session_uid")


def compile_mps_summaries(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    from ..release import decode_json

    rows: dict[str, list[Any]] = {}
    for path in files:
        rel = release.rel(path)
        if not rel.endswith("summary.json"):
            continue
        take = take_of(release, rel)
        folder = rel.split("/")[2]
        doc: dict[str, Any] = decode_json(release.read_bytes(rel), dict[str, Any], rel)
        version = doc.get("version")
        if version is not None and not isinstance(version, str):
            raise InputError(rel, "$.version", "a version string", type(version).__name__)
        for stage, value in doc.items():
            if stage == "version":
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                path_ = f"$.{stage}" + (f"[{i}]" if isinstance(value, list) else "")
                if not isinstance(item, dict):
                    raise InputError(rel, path_, "an object with a status", type(item).__name__)
                for key in ("info", "warnings", "errors"):
                    v = item.get(key)
                    if v is not None and not (isinstance(v, list) and all(isinstance(s, str) for s in v)):
                        raise InputError(rel, f"{path_}.{key}", "a list of strings", json.dumps(v)[:60])
                rec = {
                    "take_uid": take.take_uid,
                    "folder": folder,
                    "stage": stage,
                    "item_idx": i,
                    "status": _str(item.get("status", item.get("Status"))),
                    "message": _str(item.get("message")),
                    "info": item.get("info"),
                    "warnings": item.get("warnings"),
                    "errors": item.get("errors"),
                    "session_uid": _str(item.get("session_uid")),
                    "version": version,
                    "detail": msgspec.json.encode(item).decode(),
                }
                for k, v in rec.items():
                    rows.setdefault(k, []).append(v)
    return {"mps_summaries": _table("mps_summaries", rows)}


def _table(name: str, rows: dict[str, list[Any]]) -> pa.Table:
    from ..schema import conform, get

    return conform(name, rows) if rows else get(name).empty_table()


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


__all__ = ["CALIBS_GLOB", "SUMMARY_GLOBS", "TAKES_JSON", "compile_exo_calibrations", "compile_mps_summaries"]
