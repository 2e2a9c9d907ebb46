"""Downloader manifests, one ``manifests/<part>/manifest.json`` per part.

Same content the official generator (Ego4D ``internal/download/manifest_gen.py``)
writes: a JSON list of ``{uid, paths, splits, benchmarks}`` entries, each path a
``{source_path, relative_path, views, universities, file_type, size, checksum}``
object with nulls written out. uid is the take_uid for take-level parts, the
capture_uid for capture-level parts, the file stem for metadata, the file name
minus its last ``_`` token for annotations, ``<take_uid>_<expert>`` for expert
commentary. Sizes of JSON files are the real sizes of the files written here;
sizes of media (videos, VRS, MPS outputs) are plausible numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .metadata_files import take_benchmarks
from .published import UNIV_TO_BUCKET
from .world import Rng, World

RELEASE = "s3://ego4d-consortium-sharing/egoexo-public/v2/"

TAKE_PARTS = (
    "takes",
    "downscaled_takes/448",
    "take_vrs_noimagestream",
    "take_vrs",
    "take_trajectory",
    "take_eye_gaze",
    "take_point_cloud",
    "take_audio",
    "take_transcription",
    "features/omnivore_video",
    "features/maws_clip_2b",
)
CAPTURE_PARTS = ("captures", "capture_trajectory", "capture_eye_gaze", "capture_point_cloud")
ALL_PARTS = (
    ("metadata", "annotations", "ego_pose_pseudo_gt", "expert_commentary") + TAKE_PARTS + CAPTURE_PARTS
)


def _path(
    source: str,
    relative: str,
    size: int | None,
    views: list[str] | None = None,
    universities: list[str] | None = None,
    file_type: str | None = None,
) -> dict[str, Any]:
    return {
        "source_path": source,
        "relative_path": relative,
        "views": views,
        "universities": universities,
        "file_type": file_type,
        "size": size,
        "checksum": None,
    }


def _entry(
    uid: str, paths: list[dict[str, Any]], splits: list[str] | None, benchmarks: list[str] | None
) -> dict[str, Any]:
    return {"uid": uid, "paths": paths, "splits": splits, "benchmarks": benchmarks}


def manifests(
    world: World, rng: Rng, out: Path, takes_json: list[dict[str, Any]], parts: tuple[str, ...] = ALL_PARTS
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yield (part, entries). Only files that exist under ``out`` are listed for JSON parts."""
    by_uid = {t.uid: t for t in world.takes}
    tj = {r["take_uid"]: r for r in takes_json}
    split_of = {t.uid: [t.split] for t in world.takes}
    bench_of = {t.uid: (take_benchmarks(t) or None) for t in world.takes}

    def size(rel: str) -> int | None:
        try:
            return os.path.getsize(out / rel)
        except OSError:
            return None

    if "metadata" in parts:
        entries = []
        for stem in ("takes", "captures", "physical_setting", "participants", "visual_objects", "metadata"):
            s = size(f"{stem}.json")
            if s is not None:
                entries.append(_entry(stem, [_path(f"{RELEASE}{stem}.json", f"{stem}.json", s)], None, None))
        yield "metadata", entries

    if "annotations" in parts:
        entries = []
        ann = out / "annotations"
        for p in sorted(ann.iterdir()) if ann.is_dir() else []:
            if not p.is_file():
                continue
            bn = p.name
            name = "_".join(bn.split("_")[:-1])
            benchmarks = [name] if name else None
            if benchmarks and "proficiency" in name:
                benchmarks.append("proficiency")
            entries.append(
                _entry(
                    name,
                    [_path(f"{RELEASE}annotations/{bn}", f"annotations/{bn}", p.stat().st_size)],
                    None,
                    benchmarks,
                )
            )
        pseudo: list[dict[str, Any]] = []
        for split in ("train", "val", "test"):
            for part in ("body", "hand", "camera_pose"):
                if part != "camera_pose" and split == "test":
                    continue
                for sub, target in (
                    (("annotation", entries),) if part != "camera_pose" else (("", entries),)
                ) + ((("automatic", pseudo),) if part != "camera_pose" else ()):
                    d = ann / "ego_pose" / split / part / sub if sub else ann / "ego_pose" / split / part
                    if not d.is_dir():
                        continue
                    for f in sorted(d.iterdir()):
                        take_uid = f.stem
                        benchmarks = ["egopose", "ego_pose"]
                        kinds = [part] if part != "camera_pose" else ["body", "hand"]
                        for k in kinds:
                            benchmarks += [
                                f"{k}_pose",
                                f"ego_{k}_pose",
                                f"{k}pose",
                                f"ego{k}pose",
                                f"ego_{k}pose",
                            ]
                            if part == "camera_pose":
                                benchmarks.append("camera_pose")
                        rel = f"annotations/ego_pose/{split}/{part}/{sub + '/' if sub else ''}{f.name}"
                        # the real generator joins the camera_pose folder with "" and then
                        # "/<name>": its relative paths have a double slash
                        written = (
                            rel.replace("/camera_pose/", "/camera_pose//") if part == "camera_pose" else rel
                        )
                        target.append(
                            _entry(
                                take_uid,
                                [_path(f"{RELEASE}{rel}", written, f.stat().st_size)],
                                [split],
                                benchmarks,
                            )
                        )
        yield "annotations", entries
        if "ego_pose_pseudo_gt" in parts:
            yield "ego_pose_pseudo_gt", pseudo

    if "expert_commentary" in parts:
        entries = []
        base = out / "annotations" / "expert_commentary"
        name_to_uid = {t.name: t.uid for t in world.takes}
        for t in world.takes:
            for expert in t.commentary_experts:
                d = base / t.name / expert
                if not d.is_dir():
                    continue
                for f in sorted(d.iterdir()):
                    rel = f"annotations/expert_commentary/{t.name}/{expert}/{f.name}"
                    entries.append(
                        _entry(
                            f"{name_to_uid[t.name]}_{expert}",
                            [_path(f"{RELEASE}{rel}", rel, f.stat().st_size)],
                            [t.split],
                            ["expert_commentary"],
                        )
                    )
                data_rel = f"annotations/expert_commentary/{t.name}/{expert}/recordings"
                n = _n_recordings(d)
                for i in range(n):
                    rel = f"{data_rel}/{i}.webm"
                    entries.append(
                        _entry(
                            f"{t.uid}_{expert}",
                            [_path(f"{RELEASE}{rel}", rel, rng.randint(20_000, 600_000))],
                            [t.split],
                            ["expert_commentary"],
                        )
                    )
        yield "expert_commentary", entries

    cam_is_ego = {(c.uid, cam.cam_id): cam.is_ego for c in world.captures for cam in c.cameras}
    for part in TAKE_PARTS:
        if part not in parts:
            continue
        entries = []
        for uid, rec in tj.items():
            t = by_uid[uid]
            bucket = f"s3://{UNIV_TO_BUCKET[t.univ]}/egoexo-public/v2/"
            root = rec["root_dir"]
            univ = [t.univ]
            mins = t.duration / 60
            paths = []
            if part in ("takes", "downscaled_takes/448", "features/omnivore_video", "features/maws_clip_2b"):
                for cam_key, streams in rec["frame_aligned_videos"].items():
                    for v in streams.values():
                        if v["relative_path"] is None:
                            continue
                        is_ego = cam_is_ego.get((t.capture.uid, v.get("cam_id")))
                        views = None if is_ego is None else (["ego"] if is_ego else ["exo"])
                        basename = v["relative_path"].rsplit("/", 1)[-1]
                        if part == "takes":
                            paths.append(
                                _path(
                                    f"{bucket}{root}/{v['relative_path']}",
                                    f"{root}/{v['relative_path']}",
                                    int(mins * rng.uniform(40e6, 160e6)) + 1,
                                    views,
                                    univ,
                                    "mp4",
                                )
                            )
                        elif part == "downscaled_takes/448":
                            rel = f"{root}/frame_aligned_videos/downscaled/448/{basename}"
                            paths.append(
                                _path(
                                    f"{bucket}downscaled_takes/448/{t.name}/{basename}",
                                    rel,
                                    int(mins * rng.uniform(3e6, 9e6)) + 1,
                                    None,
                                    univ,
                                    "mp4",
                                )
                            )
                        elif cam_key not in ("collage", "best_exo"):
                            fname = f"{uid}_{v['cam_id']}_{v['stream_id']}.pt"
                            feat = part.split("/")[1]
                            paths.append(
                                _path(
                                    f"{RELEASE}features/{feat}/{fname}",
                                    f"features/{feat}/{fname}",
                                    int(mins * rng.uniform(2e5, 9e5)) + 1,
                                    views,
                                    univ,
                                    "pt",
                                )
                            )
            elif not rec["has_trimmed_vrs"] and part in (
                "take_vrs_noimagestream",
                "take_vrs",
                "take_trajectory",
                "take_eye_gaze",
                "take_point_cloud",
            ):
                continue
            elif part == "take_vrs_noimagestream":
                paths.append(
                    _path(
                        f"{bucket}{root}/{rec['vrs_relative_path']}",
                        f"{root}/{rec['vrs_relative_path']}",
                        int(mins * rng.uniform(2e7, 6e7)),
                        ["ego"],
                        univ,
                        "vrs",
                    )
                )
            elif part == "take_vrs":
                paths.append(
                    _path(
                        f"{bucket}{root}/{rec['vrs_all_streams_relative_path']}",
                        f"{root}/{rec['vrs_all_streams_relative_path']}",
                        int(mins * rng.uniform(4e8, 9e8)),
                        ["ego"],
                        univ,
                        "vrs",
                    )
                )
            elif part == "take_trajectory":
                for fn in (
                    "closed_loop_trajectory.csv",
                    "online_calibration.jsonl",
                    "open_loop_trajectory.csv",
                ):
                    paths.append(
                        _path(
                            f"{bucket}{root}/trajectory/{fn}",
                            f"{root}/trajectory/{fn}",
                            int(mins * rng.uniform(1e6, 5e6)),
                            None,
                            univ,
                            fn.rsplit(".", 1)[1],
                        )
                    )
            elif part == "take_eye_gaze":
                for fn in ("general_eye_gaze.csv", "personalized_eye_gaze.csv"):
                    paths.append(
                        _path(
                            f"{bucket}{root}/eye_gaze/{fn}",
                            f"{root}/eye_gaze/{fn}",
                            int(mins * rng.uniform(2e5, 9e5)),
                            None,
                            univ,
                            "csv",
                        )
                    )
            elif part == "take_point_cloud":
                for fn in ("semidense_points.csv.gz", "semidense_observations.csv.gz"):
                    paths.append(
                        _path(
                            f"{bucket}{root}/trajectory/{fn}",
                            f"{root}/trajectory/{fn}",
                            int(mins * rng.uniform(5e6, 4e7)),
                            None,
                            univ,
                            "gz",
                        )
                    )
            elif part in ("take_audio", "take_transcription"):
                ego = t.ego_cam
                fn = f"{ego}.wav" if part == "take_audio" else f"{ego}_transcriptions.json"
                rel = f"{root}/audio/{fn}"
                s = size(rel) if part == "take_transcription" else None
                if s is None:
                    s = (
                        int(mins * (rng.uniform(5e6, 6e6) if part == "take_audio" else rng.uniform(2e3, 2e4)))
                        + 1
                    )
                paths.append(_path(f"{bucket}{rel}", rel, s, None, None, None))
            if part.startswith("features/") and not paths:
                continue
            entries.append(_entry(uid, paths, split_of[uid], bench_of[uid]))
        if part.startswith("features/"):
            # the real generator files the config under this uid for every feature set
            feat = part.split("/")[1]
            entries.append(
                _entry(
                    "omnivore_video_config",
                    [_path(f"{RELEASE}features/{feat}/config.yaml", f"features/{feat}/config.yaml", 2048)],
                    None,
                    None,
                )
            )
        yield part, entries

    for part in CAPTURE_PARTS:
        if part not in parts:
            continue
        entries = []
        for c in world.captures:
            root = f"captures/{c.name}"
            bucket = f"s3://{UNIV_TO_BUCKET[c.univ]}/egoexo-public/v2/"
            univ = [c.univ]
            splits = sorted({t.split for t in c.takes})
            paths = []
            if part == "captures":
                if c.has_postsurvey:
                    paths.append(
                        _path(
                            f"{bucket}{root}/post_surveys.csv",
                            f"{root}/post_surveys.csv",
                            rng.randint(2000, 9000),
                            None,
                            univ,
                            "csv",
                        )
                    )
                paths.append(
                    _path(
                        f"{bucket}{root}/timesync.csv",
                        f"{root}/timesync.csv",
                        rng.randint(10**6, 10**7),
                        None,
                        univ,
                        "csv",
                    )
                )
                paths.append(
                    _path(
                        f"{bucket}{root}/timesync/timesync_meta.json",
                        f"{root}/timesync/timesync_meta.json",
                        rng.randint(500, 5000),
                        None,
                        univ,
                        "json",
                    )
                )
            elif part == "capture_trajectory" and c.has_trajectory:
                for fn in ("closed_loop_trajectory.csv", "online_calibration.jsonl"):
                    paths.append(
                        _path(
                            f"{bucket}{root}/trajectory/{fn}",
                            f"{root}/trajectory/{fn}",
                            rng.randint(10**7, 10**8),
                            None,
                            univ,
                            fn.rsplit(".", 1)[1],
                        )
                    )
            elif part == "capture_point_cloud" and c.has_trajectory:
                paths.append(
                    _path(
                        f"{bucket}{root}/trajectory/semidense_points.csv.gz",
                        f"{root}/trajectory/semidense_points.csv.gz",
                        rng.randint(10**8, 10**9),
                        None,
                        univ,
                        "gz",
                    )
                )
            elif part == "capture_eye_gaze" and c.has_gaze:
                paths.append(
                    _path(
                        f"{bucket}{root}/eye_gaze/general_eye_gaze.csv",
                        f"{root}/eye_gaze/general_eye_gaze.csv",
                        rng.randint(10**6, 10**7),
                        None,
                        univ,
                        "csv",
                    )
                )
            entries.append(_entry(c.uid, paths, splits, []))
        yield part, entries


def _n_recordings(folder: Path) -> int:
    import orjson

    try:
        return len(orjson.loads((folder / "transcriptions.json").read_bytes()))
    except (OSError, ValueError):
        return 0
