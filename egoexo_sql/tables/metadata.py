"""The metadata files at the release root -> takes, take_videos, captures, capture_cameras,
participants, physical_settings, visual_objects, tasks.

Field names and types follow the real v2 records (shared/egoexo-format.md §1-6 and the
real-sample dump). Keys a record's Struct does not name are kept, as JSON, in the
table's ``extra`` column (Release.decode_records).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .. import variants
from ..errors import InputError
from ..schema import conform
from ._common import check_unique, column, to_text
from .splits import read_splits, take_to_split

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

TAKES_JSON = "takes.json"
CAPTURES_JSON = "captures.json"
PARTICIPANTS_JSON = "participants.json"
PHYSICAL_SETTING_JSON = "physical_setting.json"
VISUAL_OBJECTS_JSON = "visual_objects.json"
METADATA_JSON = "metadata.json"


# -- typed records ------------------------------------------------------------
class Video(msgspec.Struct, gc=False):
    cam_id: str | None = None
    stream_id: str | None = None
    readable_stream_id: str | None = None
    clip_uid: str | None = None
    is_collage: bool | None = None
    relative_path: str | None = None


class Camera(msgspec.Struct, gc=False):
    cam_id: str
    # "True"/"False" (and "TRUE"/"FALSE") in the files official code read before v1
    is_ego: bool | str | None = None
    has_walkaround: bool | str | None = None
    includes_audio: bool | None = None
    device_type: str | None = None
    relative_path: str | None = None
    video_artifact_uid: str | None = None


class Capture(msgspec.Struct, gc=False):
    capture_uid: str
    capture_name: str
    root_dir: str | None = None
    university_name: str | None = None
    origin_capture_id: str | int | None = None
    physical_setting_uid: int | None = None
    ds_recorded: int | float | None = None
    has_trajectory: bool | None = None
    has_gaze: bool | None = None
    has_postsurvey: bool | None = None
    cameras: list[Camera] | None = None
    timesync_uid: str | None = None
    timesync_validated: bool | int | None = None
    validated: bool | int | None = None


class EmbeddedCapture(msgspec.Struct, gc=False):
    """The capture record embedded in each take (only what the take tables use)."""

    capture_uid: str | None = None
    capture_name: str | None = None
    cameras: list[Camera] | None = None


class Take(msgspec.Struct, gc=False):
    take_uid: str
    take_name: str
    capture_uid: str
    root_dir: str | None = None
    participant_uid: int | None = None
    is_dropped: bool | None = None
    objects: list[Any] = []
    task_id: int | str | None = None  # "4001" where official readers cast with int()
    task_name: str | None = None
    parent_task_id: int | None = None
    parent_task_name: str | None = None
    take_idx: int | None = None
    duration_sec: float | None = None
    # missing in v1 takes.json (new in v2): UNSET tells a missing key from a null
    best_exo: str | None | msgspec.UnsetType = msgspec.UNSET
    task_start_sec: float | None | msgspec.UnsetType = msgspec.UNSET
    task_end_sec: float | None | msgspec.UnsetType = msgspec.UNSET
    is_narrated: bool | None = None
    timesync_start_idx: int | None = None
    timesync_end_idx: int | None = None
    frame_aligned_videos: dict[str, dict[str, Video]] = {}
    vrs_relative_path: str | None = None
    vrs_all_streams_relative_path: str | None = None
    has_trimmed_eye_gaze: bool | None = None
    has_trimmed_trajectory: bool | None = None
    has_trimmed_vrs: bool | None = None
    university_id: str | None = None
    university_name: str | None = None
    origin_id: str | int | None = None
    capture: EmbeddedCapture | None = None
    physical_setting_uid: int | None = None
    validated: bool | int | None = None  # official code compares validated > 0


class Participant(msgspec.Struct, gc=False):
    participant_uid: int
    origin_participant_id: str | int | None = None
    university_id: str | None = None
    university_name: str | None = None
    collection_date: str | None = None
    metadata: str | dict[str, Any] | None = None


class PhysicalSetting(msgspec.Struct, gc=False):
    physical_uid: int
    origin_physical_setting_id: str | int | None = None
    video_source_id: int | None = None
    metadata: str | dict[str, Any] | None = None
    univ_name: str | None = None


class VisualObject(msgspec.Struct, gc=False):
    object_uid: str
    name: str | None = None
    physical_setting_uid: int | None = None
    additional_metadata: str | None = None


class MetadataFile(msgspec.Struct, gc=False):
    tasks: dict[str, str]
    version: str | None = None
    date: str | None = None


# -- takes.json + captures.json (+ splits.json for the split column) ------------
def _v2_key(takes: list[Take], key: str) -> list[Any]:
    """A key v2 added: NULL where a v1 file has no such key (counted as that variant)."""
    values = column(takes, key)
    missing = sum(1 for v in values if v is msgspec.UNSET)
    if missing:
        variants.note(TAKES_JSON, "takes.v1_missing_keys", missing)
        values = [None if v is msgspec.UNSET else v for v in values]
    return values


def _camera_flags(cams: list[Camera], file: str, at: str, variant: str) -> None:
    """is_ego, has_walkaround as the strings "True"/"False" -> bool (counted); others refused."""
    for j, cam in enumerate(cams):
        for key in ("is_ego", "has_walkaround"):
            v = getattr(cam, key)
            if v is not None and v is not True and v is not False:
                setattr(
                    cam,
                    key,
                    variants.boolean(
                        v, file, lambda j=j, key=key: f"{at}.cameras[{j}].{key}", variant, "python_text"
                    ),
                )


def _flags_01(records: list[Any], key: str, file: str, variant: str) -> list[Any]:
    """A flag given as true/false or (counted) the integers 0/1."""
    values = column(records, key)
    for i, v in enumerate(values):
        if v is not None and v is not True and v is not False:
            values[i] = variants.boolean(v, file, lambda i=i: f"$[{i}].{key}", variant, "01")
    return values


def _task_ids(takes: list[Take]) -> list[Any]:
    """task_id as an integer or (counted) a string of digits."""
    values = column(takes, "task_id")
    for i, v in enumerate(values):
        if isinstance(v, str):
            values[i] = variants.integer(v, TAKES_JSON, lambda i=i: f"$[{i}].task_id", "takes.task_id_text")
    return values


def compile_takes(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    takes, takes_extra = release.decode_records(TAKES_JSON, list[Take], Take)
    captures, captures_extra = release.decode_records(CAPTURES_JSON, list[Capture], Capture)
    split_of = take_to_split(read_splits(release))

    uids = column(takes, "take_uid")
    check_unique(uids, TAKES_JSON, lambda i: f"$[{i}].take_uid", "take_uid")
    check_unique(column(takes, "take_name"), TAKES_JSON, lambda i: f"$[{i}].take_name", "take_name")
    cap_uids = column(captures, "capture_uid")
    check_unique(cap_uids, CAPTURES_JSON, lambda i: f"$[{i}].capture_uid", "capture_uid")

    # -- captures and their cameras
    embedded_cams: dict[str, list[Camera]] = {}
    for i, t in enumerate(takes):
        c = t.capture
        if c is not None and c.cameras is not None:
            _camera_flags(c.cameras, TAKES_JSON, f"$[{i}].capture", "takes.camera_flags_text")
            embedded_cams.setdefault(c.capture_uid or t.capture_uid, c.cameras)
    cc: dict[str, list[Any]] = {
        k: []
        for k in (
            "capture_uid",
            "cam_id",
            "is_ego",
            "device_type",
            "has_walkaround",
            "includes_audio",
            "relative_path",
            "video_artifact_uid",
        )
    }
    is_ego: dict[tuple[str, str], bool | str | None] = {}  # strings made bool by _camera_flags
    for ci, c in enumerate(captures):
        if c.cameras is not None:
            _camera_flags(c.cameras, CAPTURES_JSON, f"$[{ci}]", "captures.camera_flags_text")
        cams = c.cameras if c.cameras is not None else embedded_cams.get(c.capture_uid, [])
        check_unique(
            column(cams, "cam_id"),
            CAPTURES_JSON,
            lambda j, ci=ci: f"$[{ci}].cameras[{j}].cam_id",
            "cam_id",
        )
        for cam in cams:
            cc["capture_uid"].append(c.capture_uid)
            cc["cam_id"].append(cam.cam_id)
            cc["is_ego"].append(cam.is_ego)
            cc["device_type"].append(cam.device_type)
            cc["has_walkaround"].append(cam.has_walkaround)
            cc["includes_audio"].append(cam.includes_audio)
            cc["relative_path"].append(cam.relative_path)
            cc["video_artifact_uid"].append(cam.video_artifact_uid)
            is_ego[(c.capture_uid, cam.cam_id)] = cam.is_ego
    # cameras of captures that only the takes describe still tell is_ego
    for cap_uid, cams in embedded_cams.items():
        for cam in cams:
            is_ego.setdefault((cap_uid, cam.cam_id), cam.is_ego)

    tv = _flags_01(captures, "timesync_validated", CAPTURES_JSON, "captures.validated_int")
    captures_t = conform(
        "captures",
        {
            "capture_uid": cap_uids,
            "capture_name": column(captures, "capture_name"),
            "university": column(captures, "university_name"),
            "physical_setting_uid": column(captures, "physical_setting_uid"),
            "recorded_at": [
                None if c.ds_recorded is None else round(c.ds_recorded * 1_000_000) for c in captures
            ],
            "has_trajectory": column(captures, "has_trajectory"),
            "has_gaze": column(captures, "has_gaze"),
            "has_postsurvey": column(captures, "has_postsurvey"),
            "validated": _flags_01(captures, "validated", CAPTURES_JSON, "captures.validated_int"),
            "timesync_validated": tv,
            "root_dir": column(captures, "root_dir"),
            "origin_capture_id": [to_text(c.origin_capture_id) for c in captures],
            "timesync_uid": column(captures, "timesync_uid"),
            "extra": captures_extra,
        },
    )

    # -- take videos
    v_take: list[str] = []
    v_cam: list[str] = []
    v_stream: list[str] = []
    v_ego: list[Any] = []
    videos: list[Video] = []
    for t in takes:
        for cam_key, streams in t.frame_aligned_videos.items():
            n = len(streams)
            composite = cam_key in ("collage", "best_exo")
            v_ego += [None if composite else is_ego.get((t.capture_uid, cam_key))] * n
            v_take += [t.take_uid] * n
            v_cam += [cam_key] * n
            v_stream += streams.keys()
            videos += streams.values()
    take_videos_t = conform(
        "take_videos",
        {
            "take_uid": v_take,
            "cam_id": v_cam,
            "stream": v_stream,
            "stream_id": column(videos, "stream_id"),
            "readable_stream_id": column(videos, "readable_stream_id"),
            "clip_uid": column(videos, "clip_uid"),
            "is_collage": column(videos, "is_collage"),
            "is_ego": v_ego,
            "relative_path": column(videos, "relative_path"),
        },
    )

    # -- takes
    object_uids = []
    for i, t in enumerate(takes):
        ids = []
        for j, o in enumerate(t.objects):
            uid = o.get("object_uid") if isinstance(o, dict) else None
            if uid is not None and not isinstance(uid, str):
                raise InputError(TAKES_JSON, f"$[{i}].objects[{j}].object_uid", "a string", repr(uid))
            if uid is not None:
                ids.append(uid)
        object_uids.append(ids)
    takes_t = conform(
        "takes",
        {
            "take_uid": uids,
            "take_name": column(takes, "take_name"),
            "capture_uid": column(takes, "capture_uid"),
            "capture_name": [None if t.capture is None else t.capture.capture_name for t in takes],
            "participant_uid": column(takes, "participant_uid"),
            "university": column(takes, "university_name"),
            "university_id": column(takes, "university_id"),
            "scenario": column(takes, "parent_task_name"),
            "scenario_id": column(takes, "parent_task_id"),
            "task_id": _task_ids(takes),
            "task_name": column(takes, "task_name"),
            "take_idx": column(takes, "take_idx"),
            "duration_sec": column(takes, "duration_sec"),
            "best_exo": _v2_key(takes, "best_exo"),
            "task_start_sec": _v2_key(takes, "task_start_sec"),
            "task_end_sec": _v2_key(takes, "task_end_sec"),
            "is_narrated": column(takes, "is_narrated"),
            "is_dropped": column(takes, "is_dropped"),
            "validated": _flags_01(takes, "validated", TAKES_JSON, "takes.validated_int"),
            "physical_setting_uid": column(takes, "physical_setting_uid"),
            "has_trimmed_vrs": column(takes, "has_trimmed_vrs"),
            "has_trimmed_eye_gaze": column(takes, "has_trimmed_eye_gaze"),
            "has_trimmed_trajectory": column(takes, "has_trimmed_trajectory"),
            "split": [split_of.get(u) for u in uids],
            "root_dir": column(takes, "root_dir"),
            "origin_id": [to_text(t.origin_id) for t in takes],
            "timesync_start_idx": column(takes, "timesync_start_idx"),
            "timesync_end_idx": column(takes, "timesync_end_idx"),
            "vrs_relative_path": column(takes, "vrs_relative_path"),
            "vrs_all_streams_relative_path": column(takes, "vrs_all_streams_relative_path"),
            "object_uids": object_uids,
            "extra": takes_extra,
        },
    )
    return {
        "takes": takes_t,
        "take_videos": take_videos_t,
        "captures": captures_t,
        "capture_cameras": conform("capture_cameras", cc),
    }


# -- participants.json ----------------------------------------------------------
_PARTICIPANT_KEYS = (
    "gender",
    "race_ethnicity",
    "country_born",
    "field",
    "native_language",
    "home_language",
    "education_completed",
    "current_student",
)


def _json_object(raw: str | dict[str, Any] | None, file: str, path: str) -> tuple[dict[str, Any], str | None]:
    """A metadata value (a JSON-encoded string, or already an object) -> (dict, JSON text)."""
    if raw is None:
        return {}, None
    if isinstance(raw, dict):
        return raw, msgspec.json.encode(raw).decode()
    if not raw.strip():
        return {}, None
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InputError(file, path, "a JSON object encoded as a string", f"invalid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise InputError(file, path, "a JSON object encoded as a string", f"JSON {type(obj).__name__}")
    return obj, raw


def _age(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def _date(s: str | None, file: str, path: str) -> _dt.date | None:
    if s is None or s == "":
        return None
    try:
        return _dt.date.fromisoformat(s)
    except ValueError:
        raise InputError(file, path, "a date YYYY-MM-DD", repr(s)) from None


def compile_participants(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    rows, extra = release.decode_records(PARTICIPANTS_JSON, list[Participant], Participant)
    uids = column(rows, "participant_uid")
    check_unique(uids, PARTICIPANTS_JSON, lambda i: f"$[{i}].participant_uid", "participant_uid")
    cols: dict[str, list[Any]] = {
        k: [] for k in ("age", "age_range", "metadata_json", "collection_date", *_PARTICIPANT_KEYS)
    }
    for i, p in enumerate(rows):
        meta, text = _json_object(p.metadata, PARTICIPANTS_JSON, f"$[{i}].metadata")
        cols["metadata_json"].append(text)
        age = meta.get("age_range")
        cols["age"].append(_age(age))
        cols["age_range"].append(None if isinstance(age, (dict, list)) else to_text(age))
        for k in _PARTICIPANT_KEYS:
            v = meta.get(k)
            cols[k].append(msgspec.json.encode(v).decode() if isinstance(v, (dict, list)) else to_text(v))
        cols["collection_date"].append(_date(p.collection_date, PARTICIPANTS_JSON, f"$[{i}].collection_date"))
    return {
        "participants": conform(
            "participants",
            {
                "participant_uid": uids,
                "origin_participant_id": [to_text(p.origin_participant_id) for p in rows],
                "university": column(rows, "university_name"),
                "university_id": column(rows, "university_id"),
                **cols,
                "extra": extra,
            },
        )
    }


# -- physical_setting.json ------------------------------------------------------
def compile_physical_settings(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    rows, extra = release.decode_records(PHYSICAL_SETTING_JSON, list[PhysicalSetting], PhysicalSetting)
    uids = column(rows, "physical_uid")
    check_unique(uids, PHYSICAL_SETTING_JSON, lambda i: f"$[{i}].physical_uid", "physical_uid")
    meta = [
        _json_object(r.metadata, PHYSICAL_SETTING_JSON, f"$[{i}].metadata")[1] for i, r in enumerate(rows)
    ]
    return {
        "physical_settings": conform(
            "physical_settings",
            {
                "physical_setting_uid": uids,
                "origin_physical_setting_id": [to_text(r.origin_physical_setting_id) for r in rows],
                "university": column(rows, "univ_name"),
                "video_source_id": column(rows, "video_source_id"),
                "metadata_json": meta,
                "extra": extra,
            },
        )
    }


# -- visual_objects.json --------------------------------------------------------
def compile_visual_objects(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    rows, extra = release.decode_records(VISUAL_OBJECTS_JSON, list[VisualObject], VisualObject)
    uids = column(rows, "object_uid")
    check_unique(uids, VISUAL_OBJECTS_JSON, lambda i: f"$[{i}].object_uid", "object_uid")
    return {
        "visual_objects": conform(
            "visual_objects",
            {
                "object_uid": uids,
                "name": column(rows, "name"),
                "physical_setting_uid": column(rows, "physical_setting_uid"),
                "additional_metadata": [
                    None if r.additional_metadata in (None, "nan", "NaN") else r.additional_metadata
                    for r in rows
                ],
                "extra": extra,
            },
        )
    }


# -- metadata.json --------------------------------------------------------------
def compile_tasks(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    meta: MetadataFile = release.decode(METADATA_JSON, MetadataFile)
    ids: list[int] = []
    for key in meta.tasks:
        try:
            ids.append(int(key))
        except ValueError:
            raise InputError(
                METADATA_JSON, f'$.tasks["{key}"]', "task ids that are integers", repr(key)
            ) from None
    names = dict(zip(ids, meta.tasks.values()))
    check_unique(ids, METADATA_JSON, lambda i: f'$.tasks["{list(meta.tasks)[i]}"]', "task id")
    scen = [i // 1000 * 1000 for i in ids]
    return {
        "tasks": conform(
            "tasks",
            {
                "task_id": ids,
                "task_name": list(meta.tasks.values()),
                "scenario_id": scen,
                "scenario": [names.get(s) for s in scen],
                "is_scenario": [i == s for i, s in zip(ids, scen)],
            },
        )
    }
