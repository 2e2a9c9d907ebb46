"""Every file family of a release and what the catalog makes of it.

A family is a glob relative to the release root. It either gives tables (``tables``:
the catalog tables compiled from it, by the source whose inputs match it) or has a
written ``reason`` why it is not compiled (videos, VRS recordings, files outside the
download). ``tests/test_families.py`` lists the families of the documented release
layout (egoexo-format.md) and fails when one is missing here, when a family's tables
are not in ``schemas/``, or when no source reads a family said to give tables.
``docs/real-data-variants.md`` and the data dictionary describe the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Family:
    pattern: str  # glob relative to the release root: * within a folder, ** across, {a,b} either
    example: str  # one path of the family, as the release writes it
    tables: tuple[str, ...] = ()
    reason: str = ""  # why it is not compiled (when tables is empty)


FAMILIES: tuple[Family, ...] = (
    # metadata (part "metadata")
    Family("takes.json", "takes.json", ("takes", "take_videos")),
    Family("captures.json", "captures.json", ("captures", "capture_cameras")),
    Family("participants.json", "participants.json", ("participants",)),
    Family("physical_setting.json", "physical_setting.json", ("physical_settings",)),
    Family("visual_objects.json", "visual_objects.json", ("visual_objects",)),
    Family("metadata.json", "metadata.json", ("tasks", "release_files")),
    # annotations (part "annotations")
    Family("annotations/splits.json", "annotations/splits.json", ("take_benchmarks",)),
    Family(
        "annotations/keystep_{train,val,test}.json",
        "annotations/keystep_train.json",
        ("keystep_segments", "keystep_taxonomy", "keystep_vocabulary"),
    ),
    Family(
        "annotations/keystep_benchmark/keystep_segment_*.json",
        "annotations/keystep_benchmark/keystep_segment_test_unannotated.json",
        ("keystep_benchmark_segments",),
    ),
    Family(
        "annotations/keystep_benchmark/label_mapping.csv",
        "annotations/keystep_benchmark/label_mapping.csv",
        ("keystep_labels",),
    ),
    Family(
        "annotations/atomic_descriptions_*.json",
        "annotations/atomic_descriptions_val.json",
        ("atomic_descriptions",),
    ),
    Family(
        "annotations/expert_commentary_*.json",
        "annotations/expert_commentary_train.json",
        ("expert_commentary",),
    ),
    Family(
        "annotations/proficiency_demonstrator_*.json",
        "annotations/proficiency_demonstrator_train.json",
        ("proficiency_demonstrator",),
    ),
    Family(
        "annotations/proficiency_demonstration_*.json",
        "annotations/proficiency_demonstration_val.json",
        ("proficiency_demonstration",),
    ),
    Family(
        "annotations/relations_*.json",
        "annotations/relations_test.json",
        ("relations_objects", "relations_masks", "relations_boxes"),
    ),
    Family(
        "annotations/procedure_understanding_*.json",
        "annotations/procedure_understanding_test_unannotated.json",
        ("procedure_understanding",),
    ),
    Family(
        "annotations/ego_pose/*/body/annotation/*.json",
        "annotations/ego_pose/train/body/annotation/<take_uid>.json",
        ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes"),
    ),
    Family(
        "annotations/ego_pose/*/hand/annotation/*.json",
        "annotations/ego_pose/val/hand/annotation/<take_uid>.json",
        ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes"),
    ),
    # part "ego_pose_pseudo_gt"
    Family(
        "annotations/ego_pose/*/body/automatic/*.json",
        "annotations/ego_pose/train/body/automatic/<take_uid>.json",
        ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes"),
    ),
    Family(
        "annotations/ego_pose/*/hand/automatic/*.json",
        "annotations/ego_pose/train/hand/automatic/<take_uid>.json",
        ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes"),
    ),
    Family(
        "annotations/ego_pose/*/camera_pose/*.json",
        "annotations/ego_pose/test/camera_pose/<take_uid>.json",
        ("camera_poses",),
    ),
    # part "expert_commentary"
    Family(
        "annotations/expert_commentary/*/*/data.json",
        "annotations/expert_commentary/<take_name>/<expert_uid>/data.json",
        ("expert_ratings",),
    ),
    Family(
        "annotations/expert_commentary/*/*/transcriptions.json",
        "annotations/expert_commentary/<take_name>/<expert_uid>/transcriptions.json",
        reason="the same transcripts as annotations/expert_commentary_{train,val}.json "
        "(commentary_data[].text), which the expert_commentary table holds for every recording",
    ),
    Family(
        "annotations/expert_commentary/*/*/recordings/*.webm",
        "annotations/expert_commentary/<take_name>/<expert_uid>/recordings/<n>.webm",
        reason="audio recordings; expert_commentary.recording names each one",
    ),
    # part "take_transcription"
    Family(
        "takes/*/audio/*_transcriptions.json",
        "takes/<take_name>/audio/aria01_transcriptions.json",
        ("narrations", "narration_words"),
    ),
    # downloader manifests, when the user copies them into the release
    Family("manifests/**/manifest.json", "manifests/downscaled_takes/448/manifest.json", ("manifest_files",)),
    # media and sensor data: listed by the manifests (manifest_files), not compiled
    Family(
        "takes/*/frame_aligned_videos/*.mp4",
        "takes/<take_name>/frame_aligned_videos/aria01_214-1.mp4",
        reason="video; take_videos lists every frame-aligned video of takes.json, manifest_files their sizes",
    ),
    Family(
        "takes/*/*.mp4",
        "takes/<take_name>/ego_preview.mp4",
        reason="video (the collage preview); take_videos lists it as the collage camera",
    ),
    Family(
        "takes/*/*.vrs",
        "takes/<take_name>/aria01_noimagestreams.vrs",
        reason="Aria VRS recordings (binary sensor streams); takes.vrs_relative_path names them",
    ),
    Family(
        "takes/*/audio/*.wav",
        "takes/<take_name>/audio/aria01.wav",
        reason="audio; the narrations tables hold its transcript",
    ),
    Family(
        "takes/*/eye_gaze/{general,personalized}_eye_gaze.csv",
        "takes/<take_name>/eye_gaze/general_eye_gaze.csv",
        ("eye_gaze", "eye_gaze_files", "gaze_bins"),
    ),
    Family("takes/*/eye_gaze/summary.json", "takes/<take_name>/eye_gaze/summary.json", ("mps_summaries",)),
    Family(
        "takes/*/eye_gaze/*_eye_gaze_2d.csv",
        "takes/<take_name>/eye_gaze/general_eye_gaze_2d.csv",
        reason="the gaze projected on the ego video at 10 fps (x, y pixels), for some takes; eye_gaze "
        "holds the 3D gaze it is projected from",
    ),
    Family(
        "takes/*/trajectory/closed_loop_trajectory.csv",
        "takes/<take_name>/trajectory/closed_loop_trajectory.csv",
        ("trajectory", "trajectory_files", "motion_bins"),
    ),
    Family(
        "takes/*/trajectory/summary.json", "takes/<take_name>/trajectory/summary.json", ("mps_summaries",)
    ),
    Family(
        "takes/*/trajectory/gopro_calibs.csv",
        "takes/<take_name>/trajectory/gopro_calibs.csv",
        ("exo_calibrations",),
    ),
    Family(
        "takes/*/trajectory/{open_loop_trajectory.csv,online_calibration.jsonl}",
        "takes/<take_name>/trajectory/open_loop_trajectory.csv",
        reason="the VIO odometry (drifts; the closed loop trajectory is the bundle-adjusted one, "
        "compiled into trajectory) and the online device calibration (per-frame sensor models)",
    ),
    Family(
        "takes/*/trajectory/*.csv.gz",
        "takes/<take_name>/trajectory/semidense_points.csv.gz",
        reason="semi-dense point clouds (6.2 TB): the point_clouds view lists them from the manifests "
        "and Catalog.point_cloud() reads one take's points on demand",
    ),
    Family(
        "captures/*/timesync.csv",
        "captures/<capture_name>/timesync.csv",
        ("timesync",),
    ),
    Family(
        "captures/*/post_surveys.csv",
        "captures/<capture_name>/post_surveys.csv",
        reason="format not established by any public source",
    ),
    Family(
        "captures/*/timesync/**",
        "captures/<capture_name>/timesync/<file>",
        reason="raw clock data of the capture's devices (sensor data)",
    ),
    Family(
        "captures/*/trajectory/**",
        "captures/<capture_name>/trajectory/<file>",
        reason="MPS trajectories and point clouds of the capture (sensor data); "
        "captures.has_trajectory says which captures have them",
    ),
    Family(
        "captures/*/eye_gaze/**",
        "captures/<capture_name>/eye_gaze/<file>",
        reason="MPS eye gaze of the capture (sensor data); captures.has_gaze says which captures have it",
    ),
    Family(
        "captures/*/videos/*",
        "captures/<capture_name>/videos/cam01.mp4",
        reason="raw capture video and VRS; capture_cameras.relative_path names each one",
    ),
    Family(
        "features/**",
        "features/omnivore_video/<take_uid>_<cam>_<stream>.pt",
        reason="precomputed model features (PyTorch tensors); manifest_files lists them",
    ),
    Family(
        "keystep_benchmark/clips_448p/**",
        "keystep_benchmark/clips_448p/<split>/<take_name>/<clip>.mp4",
        reason="video clips of the keystep benchmark; keystep_benchmark_segments names each one",
    ),
    # named by the downloader or by other repositories, not part of the download
    Family(
        "annotations/keystep_task_graph_*.json",
        "annotations/keystep_task_graph_train.json",
        reason="expected by the keystep task-graph baseline but not in the download (a user "
        "listing of the release shows no such file)",
    ),
    Family(
        "released_takes.json",
        "released_takes.json",
        reason="published by the manifest generator only if it exists; no user listing shows it",
    ),
    Family(
        "takes_dropped.json",
        "takes_dropped.json",
        reason="published by the manifest generator only if it exists; no user listing shows it",
    ),
)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "{":
            j = pattern.index("}", i)
            out.append("(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : j].split(",")) + ")")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def matches(path: str, pattern: str) -> bool:
    """Whether a release path (relative, forward slashes) is in the family ``pattern``."""
    return _regex(pattern).fullmatch(path) is not None


def family_of(path: str) -> list[Family]:
    return [f for f in FAMILIES if matches(path, f.pattern)]
