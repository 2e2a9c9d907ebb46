"""Ego pose (body/hand, annotation/automatic) and camera pose files, one per take.

Shapes follow the real records in real-samples (section 13 of egoexo-format.md) and the
release's writer (docs/real-data-variants.md): ``{"<frame>": [{"annotation3D": {joint:
{x,y,z,num_views_for_3d}}, "annotation2D": {cam: {joint: {x,y,placement}}}}, ...]}``,
one entry per rater (0 to n), joints absent when not annotated; camera pose files hold
static exo cameras and per-frame Aria extrinsics.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .world import Rng, Take, World

BODY_JOINTS = [
    "nose",
    "left-eye",
    "right-eye",
    "left-ear",
    "right-ear",
    "left-shoulder",
    "right-shoulder",
    "left-elbow",
    "right-elbow",
    "left-wrist",
    "right-wrist",
    "left-hip",
    "right-hip",
    "left-knee",
    "right-knee",
    "left-ankle",
    "right-ankle",
]
HAND_JOINTS = [f"{side}_wrist" for side in ("left", "right")] + [
    f"{side}_{finger}_{i}"
    for side in ("left", "right")
    for finger in ("thumb", "index", "middle", "ring", "pinky")
    for i in range(1, 5)
]
ARIA_INTRINSICS = [[150.0, 0.0, 255.5], [0.0, 150.0, 255.5], [0.0, 0.0, 1.0]]


def _rotation(rng: Rng) -> list[list[float]]:
    q = [rng.gauss(0, 1) for _ in range(4)]
    n = math.sqrt(sum(x * x for x in q)) or 1.0
    w, x, y, z = (v / n for v in q)
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]


def _extrinsics(rng: Rng) -> list[list[float]]:
    r = _rotation(rng)
    return [row + [rng.uniform(-1.5, 1.5)] for row in r]


def pose_frames(t: Take, rng: Rng, source: str, cap: int) -> list[int]:
    n_frames = max(1, int(t.duration * 30))
    if source == "automatic":  # pseudo ground truth: dense, about every 3rd frame
        start = rng.randrange(max(1, n_frames - 3 * cap))
        return list(range(start, n_frames, 3))[:cap]
    k = min(cap, n_frames)
    return sorted(rng.sample(range(n_frames), k))


def _entry(
    rng: Rng,
    joints: list[str],
    cams: list[str],
    manual: bool,
    kind: str,
    base: list[float],
    truth: Counter[str],
) -> dict[str, Any]:
    """One rater's entry of a frame: {"annotation3D": ..., "annotation2D": ...}."""
    a3: dict[str, Any] = {}
    for j in joints:
        if rng.random() < (0.9 if manual else 0.97):
            views = rng.randint(2, max(2, len(cams)))
            if kind == "hand" and manual and views < 3:
                continue  # the manual hand pipeline keeps joints seen by >= 3 views
            a3[j] = {
                "x": base[0] + rng.gauss(0, 0.3),
                "y": base[1] + rng.gauss(0, 0.3),
                "z": base[2] + rng.gauss(0, 0.5),
                "num_views_for_3d": views,
            }
    a2: dict[str, Any] = {}
    for cam in cams:
        is_aria = cam.startswith("aria")
        w, h = (512, 512) if is_aria else (3840, 2160)
        cj = {}
        for j in joints:
            if rng.random() < 0.85:
                cj[j] = {
                    "x": rng.uniform(-0.2 * w, 1.2 * w) if is_aria else rng.uniform(0, w),
                    "y": rng.uniform(0, h),
                    "placement": ("manual" if rng.random() < 0.6 else "auto") if manual else "auto",
                }
        if cj:
            a2[cam] = cj
            truth["ego_pose_2d"] += len(cj)
    truth["ego_pose_3d"] += len(a3)
    # exactly these two keys: the release writer adds no per-frame metadata (the docs'
    # `metadata` key is in no real v2 record)
    return {"annotation3D": a3, "annotation2D": a2}


#: Share of frames with a second rater's entry (manual files: 1.10 entries per frame for
#: hand, 1.30 for body in the release) and, for automatic hand files, of frames whose
#: list is empty (698,077 of 5,079,777 in the release): the writer keeps a frame when
#: none of its raters' inputs triangulated.
SECOND_RATER = {"hand": 0.10, "body": 0.30}
EMPTY_AUTOMATIC_HAND = 0.137


def pose_file(
    t: Take, rng: Rng, kind: str, source: str, frames: list[int], truth: Counter[str]
) -> dict[str, Any]:
    joints = BODY_JOINTS if kind == "body" else HAND_JOINTS
    cams = list(t.exo_cams) + [t.ego_cam]
    manual = source == "annotation"
    out: dict[str, Any] = {}
    base = [rng.uniform(-1, 3), rng.uniform(0.5, 1.2), rng.uniform(-1, 1)]
    for f in frames:
        if not manual and kind == "hand" and rng.random() < EMPTY_AUTOMATIC_HAND:
            out[str(f)] = []
            continue
        entries = [_entry(rng, joints, cams, manual, kind, base, truth)]
        if manual and rng.random() < SECOND_RATER[kind]:
            entries.append(_entry(rng, joints, cams, manual, kind, base, truth))
        out[str(f)] = entries
    return out


def camera_pose_file(t: Take, rng: Rng, frames: list[int], truth: Counter[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": {"take_name": t.name, "take_uid": t.uid}}
    for cam in t.exo_cams:
        f = rng.uniform(1180, 1260)
        out[cam] = {
            "camera_intrinsics": [[f, 0.0, 1920.0], [0.0, f, 1080.0], [0.0, 0.0, 1.0]],
            "camera_extrinsics": _extrinsics(rng),
            "distortion_coeffs": [0.036902, 0.057131, -0.057154, 0.018458],
        }
        truth["camera_poses"] += 1
    out[t.ego_cam] = {
        "camera_intrinsics": ARIA_INTRINSICS,
        "camera_extrinsics": {str(f): _extrinsics(rng) for f in frames},
    }
    truth["camera_poses"] += len(frames)
    return out


def ego_pose_files(
    world: World, rng: Rng, truth: Counter[str], frames_per_take: int = 8
) -> Iterator[tuple[str, Any]]:
    for t in world.takes:
        if not t.camera_pose:
            continue
        all_frames: set[int] = set()
        for (kind, source), on in sorted(t.pose.items()):
            if not on:
                continue
            frames = pose_frames(t, rng, source, frames_per_take)
            all_frames.update(frames)
            truth[f"ego_pose_takes_{kind}_{source}"] += 1
            truth["ego_pose_takes"] += 1  # rows of the ego_pose_takes table: one per file
            yield (
                f"annotations/ego_pose/{t.split}/{kind}/{source}/{t.uid}.json",
                pose_file(t, rng, kind, source, frames, truth),
            )
        cam_frames = sorted(all_frames) or list(range(min(frames_per_take, int(t.duration * 30))))
        yield (
            f"annotations/ego_pose/{t.split}/camera_pose/{t.uid}.json",
            camera_pose_file(t, rng, cam_frames, truth),
        )
