"""The six metadata files and annotations/splits.json, as the real release writes them.

Key names, nesting, key order and JSON value types follow the real v2 records in
``real-samples/json_format_summary.jsonc`` (takes, captures, participants,
physical_setting, visual_objects, metadata.json, splits.json).
"""

from __future__ import annotations

import json
from typing import Any

from .published import UNIV_TO_BUCKET
from .world import Capture, Rng, Take, World

ARIA_STREAMS = (("slam-left", "1201-1"), ("slam-right", "1201-2"), ("et", "211-1"), ("rgb", "214-1"))


def capture_record(c: Capture) -> dict[str, Any]:
    return {
        "root_dir": f"captures/{c.name}",
        "capture_name": c.name,
        "capture_uid": c.uid,
        "university_name": c.univ,
        "origin_capture_id": c.origin_id,
        "physical_setting_uid": c.site.physical_uid,
        "ds_recorded": c.ds_recorded,
        "has_trajectory": c.has_trajectory,
        "has_gaze": c.has_gaze,
        "has_postsurvey": c.has_postsurvey,
        "cameras": [
            {
                "cam_id": cam.cam_id,
                "is_ego": cam.is_ego,
                "has_walkaround": cam.has_walkaround,
                "includes_audio": cam.includes_audio,
                "device_type": cam.device_type,
                "relative_path": cam.relative_path,
                "video_artifact_uid": cam.video_artifact_uid,
            }
            for cam in c.cameras
        ],
        "timesync_uid": c.timesync_uid,
        "timesync_validated": c.timesync_validated,
        "validated": c.validated,
    }


def frame_aligned_videos(t: Take, rng: Rng) -> dict[str, Any]:
    ego = t.ego_cam
    fav: dict[str, Any] = {
        ego: {
            readable: {
                "cam_id": ego,
                "stream_id": sid,
                "readable_stream_id": readable,
                "clip_uid": rng.uid(),
                "is_collage": False,
                "relative_path": f"frame_aligned_videos/{ego}_{sid}.mp4",
            }
            for readable, sid in ARIA_STREAMS
        }
    }
    for cam in t.exo_cams:
        fav[cam] = {
            "0": {
                "cam_id": cam,
                "stream_id": "0",
                "readable_stream_id": "0",
                "clip_uid": rng.uid(),
                "is_collage": False,
                "relative_path": f"frame_aligned_videos/{cam}.mp4",
            }
        }
    fav["collage"] = {
        "0": {
            "clip_uid": rng.uid(),
            "is_collage": True,
            "stream_id": "0",
            "readable_stream_id": "0",
            "relative_path": "ego_preview.mp4",
        }
    }
    has_best = t.best_exo is not None and rng.random() < 0.5
    fav["best_exo"] = {
        "0": {
            "clip_uid": rng.uid() if has_best else None,
            "stream_id": "0",
            "readable_stream_id": "0",
            "is_collage": True,
            "relative_path": "frame_aligned_videos/best_exo_preview.mp4" if has_best else None,
        }
    }
    return fav


def take_record(t: Take, rng: Rng, capture: dict[str, Any]) -> dict[str, Any]:
    cap = t.capture
    fps = 30
    start_idx = rng.randint(300, 20000)
    objects = []
    if cap.site.objects and rng.random() < 0.15:
        objects = [
            {"name": name, "object_uid": uid}
            for uid, name in rng.sample(cap.site.objects, k=min(3, len(cap.site.objects)))
        ]
    has_vrs = rng.random() < 0.99
    return {
        "root_dir": f"takes/{t.name}",
        "take_name": t.name,
        "participant_uid": t.participant.uid if t.participant else None,
        "is_dropped": False,
        "objects": objects,
        "task_id": t.task_id,
        "task_name": t.task_name,
        "parent_task_id": (t.task_id // 1000 * 1000) if t.task_id is not None else _scenario_id(t),
        "parent_task_name": t.scenario,
        "take_idx": t.idx,
        "duration_sec": t.duration,
        "best_exo": t.best_exo,
        "task_start_sec": t.task_start,
        "task_end_sec": t.task_end,
        "task_timing_annotation_uid": rng.uid(),
        "is_narrated": t.is_narrated,
        "capture_uid": cap.uid,
        "take_uid": t.uid,
        "take_timing_uid": rng.uid(),
        "timesync_uid": cap.timesync_uid,
        "timesync_start_idx": start_idx,
        "timesync_end_idx": start_idx + int(round(t.duration * fps)) + 1,
        "frame_aligned_videos": frame_aligned_videos(t, rng),
        "vrs_all_streams_relative_path": f"{t.ego_cam}.vrs",
        "vrs_relative_path": f"{t.ego_cam}_noimagestreams.vrs",
        "trimmed_eye_gaze_relative_path": "eye_gaze",
        "trimmed_trajectory_relative_path": "trajectory",
        "has_trimmed_eye_gaze": has_vrs and cap.has_gaze,
        "has_trimmed_trajectory": has_vrs and cap.has_trajectory,
        "has_trimmed_vrs": has_vrs,
        "university_id": UNIV_TO_BUCKET[cap.univ],
        "university_name": cap.univ,
        "origin_id": str(rng.randint(1, 60)),
        "capture": capture,
        "physical_setting_uid": cap.site.physical_uid,
        "validated": cap.validated,
    }


def _scenario_id(t: Take) -> int:
    from .published import SCENARIOS

    return SCENARIOS[t.scenario][0]


def takes_json(world: World, rng: Rng) -> list[dict[str, Any]]:
    caps = {c.uid: capture_record(c) for c in world.captures}
    return [take_record(t, rng, caps[t.capture.uid]) for t in world.takes]


def captures_json(world: World) -> list[dict[str, Any]]:
    return [capture_record(c) for c in world.captures]


def participants_json(world: World) -> list[dict[str, Any]]:
    return [
        {
            "participant_uid": p.uid,
            "origin_participant_id": p.origin_id,
            "university_id": UNIV_TO_BUCKET[p.univ],
            "university_name": p.univ,
            "collection_date": p.collection_date,
            # a JSON-encoded string, as in the real file
            "metadata": json.dumps(p.metadata),
        }
        for p in world.participants
    ]


def physical_setting_json(world: World) -> list[dict[str, Any]]:
    return [
        {
            "origin_physical_setting_id": s.origin_id,
            "video_source_id": s.video_source_id,
            "metadata": s.metadata,
            "univ_name": s.univ,
            "physical_uid": s.physical_uid,
        }
        for s in world.sites
    ]


def visual_objects_json(world: World) -> list[dict[str, Any]]:
    return [
        {
            "object_uid": uid,
            "name": name,
            "physical_setting_uid": s.physical_uid,
            "additional_metadata": "nan",
        }
        for s in world.sites
        for uid, name in s.objects
    ]


def metadata_json(world: World) -> dict[str, Any]:
    return {"version": "v2", "date": "240325", "tasks": dict(world.tasks)}


POSE_ALIASES = {
    "body": ["body_pose", "bodypose", "ego_body_pose", "ego_bodypose", "egobodypose"],
    "hand": ["ego_hand_pose", "ego_handpose", "egohandpose", "hand_pose", "handpose"],
}


def take_benchmarks(t: Take) -> list[str]:
    b: list[str] = []
    if t.atomic_split:
        b.append("atomic_action_descriptions")
    if t.correspondence:
        b.append("correspondence")
    if t.relations:
        b.append("relations")
    if t.translation:
        b.append("translation")
    if t.keystep:
        b.append("keystep")
    if t.commentary_experts:
        b.append("expert_commentary")
    if t.demonstrator:
        b.append("proficiency")
    if t.demonstration:
        b.append("proficiency_demonstration")
    kinds = {k for (k, _), on in t.pose.items() if on}
    if kinds or t.camera_pose:
        b += ["ego_pose", "egopose"]
        for k in sorted(kinds or {"body"}):
            b += POSE_ALIASES[k]
    return sorted(set(b))


def splits_json(world: World) -> dict[str, Any]:
    split_to: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for t in world.takes:
        split_to[t.split].append(t.uid)
    bench = {}
    for t in world.takes:
        b = take_benchmarks(t)
        if b:
            bench[t.uid] = b
    return {
        "take_uid_to_split": {t.uid: t.split for t in world.takes},
        "split_to_take_uids": split_to,
        "take_uid_to_benchmark": bench,
        "ds": "20240404_08:13:53",
    }
