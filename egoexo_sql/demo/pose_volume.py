"""Ego pose and camera pose files at the published volume (:mod:`egoexo_sql.demo.volume`).

Same shapes as :mod:`egoexo_sql.demo.pose_files` (``{"<frame>": [entry, ...]}`` with 0
to n entries per frame, each exactly ``annotation3D`` and ``annotation2D``; camera files
with static exo cameras and per-frame Aria extrinsics), but fast enough for the ~10 GB
of a scale-1 release: one take's random values are drawn as numpy arrays at once, the
dicts are built from their ``tolist()`` values, each file is encoded with orjson and
written before the next is built (memory stays at one file), and takes are spread over
the machine's cores. The bytes are spaced like ``json.dump`` without options, the
release writer's call (``halo_triangulate.py`` ``write_json``).

Each take draws from its own generator seeded by (seed, take_uid), so the files do not
depend on the number of workers.
"""

from __future__ import annotations

import gc
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from . import volume
from .pose_files import ARIA_INTRINSICS, BODY_JOINTS, EMPTY_AUTOMATIC_HAND, HAND_JOINTS, SECOND_RATER
from .world import World

DISTORTION = [0.036902, 0.057131, -0.057154, 0.018458]


@dataclass(frozen=True)
class PoseJob:
    """What a worker needs to write one take's pose files."""

    uid: str
    name: str
    split: str
    duration: float
    exo_cams: tuple[str, ...]
    ego_cam: str
    files: tuple[tuple[str, str, int], ...]  # (kind, source, frames)


def jobs(world: World, pose_volume: float = 1.0) -> list[PoseJob]:
    """One job per take with a camera-pose file; frames per file from the volume model."""
    frames: dict[tuple[str, str, str], int] = {}
    for kind, source in volume.POSE_SETS:
        takes = [t for t in world.takes if t.camera_pose and t.pose.get((kind, source))]
        counts = volume.pose_frame_counts(kind, source, [t.duration for t in takes], pose_volume)
        for t, n in zip(takes, counts):
            frames[(t.uid, kind, source)] = n
    out = []
    for t in world.takes:
        if not t.camera_pose:
            continue
        files = tuple(
            (kind, source, frames[(t.uid, kind, source)])
            for (kind, source), on in sorted(t.pose.items())
            if on
        )
        out.append(PoseJob(t.uid, t.name, t.split, t.duration, tuple(t.exo_cams), t.ego_cam, files))
    return out


def spaced(data: bytes) -> bytes:
    """orjson's compact bytes with ``json.dump``'s default separators (", " and ": ").
    Only for documents whose strings hold no comma or colon (pose files: joint names,
    camera ids, placements, uids, take names)."""
    return data.replace(b",", b", ").replace(b'":', b'": ')


def _frames(g: np.random.Generator, n_take: int, n: int, source: str) -> np.ndarray:
    if source == "automatic":
        step = volume.AUTOMATIC_STEP
        start = int(g.integers(0, max(1, n_take - step * n) + 1)) if n_take > step * n else 0
        return np.arange(start, start + step * n, step)
    return np.sort(g.choice(n_take, size=min(n, n_take), replace=False))


def pose_document(
    g: np.random.Generator, job: PoseJob, kind: str, source: str, n: int, truth: Counter
) -> dict:
    """One body/hand file: ``n`` frames, each with 0..2 entries."""
    joints = BODY_JOINTS if kind == "body" else HAND_JOINTS
    cams = list(job.exo_cams) + [job.ego_cam]
    manual = source == "annotation"
    n_take = max(1, int(job.duration * volume.FPS))
    frames = _frames(g, n_take, n, source).tolist()
    n = len(frames)
    # entries per frame: 1 (+1 for a second rater on manual files; 0 for empty automatic hand frames)
    if manual:
        per_frame = 1 + (g.random(n) < SECOND_RATER[kind])
    elif kind == "hand":
        per_frame = (g.random(n) >= EMPTY_AUTOMATIC_HAND).astype(np.int64)
    else:
        per_frame = np.ones(n, dtype=np.int64)
    e = int(per_frame.sum())
    nj, nc = len(joints), len(cams)
    base = g.uniform((-1, 0.5, -1), (3, 1.2, 1))
    xyz = (base + g.normal(0, 1, (e, nj, 3)) * (0.3, 0.3, 0.5)).tolist()
    views = g.integers(2, max(2, nc) + 1, (e, nj))
    has3 = g.random((e, nj)) < (0.9 if manual else 0.97)
    if kind == "hand" and manual:
        has3 &= views >= 3  # the manual hand pipeline keeps joints seen by >= 3 views
    views = views.tolist()
    has3 = has3.tolist()
    lo = np.array([(-0.2 * 512, 0.0) if c.startswith("aria") else (0.0, 0.0) for c in cams])
    hi = np.array([(1.2 * 512, 512.0) if c.startswith("aria") else (3840.0, 2160.0) for c in cams])
    xy = (lo[None, :, None, :] + g.random((e, nc, nj, 2)) * (hi - lo)[None, :, None, :]).tolist()
    has2 = (g.random((e, nc, nj)) < 0.85).tolist()
    if manual:
        placement = (g.random((e, nc, nj)) < 0.6).tolist()
    n3 = n2 = 0
    out: dict[str, list] = {}
    k = 0
    for f, m in zip(frames, per_frame.tolist()):
        entries = []
        for _ in range(m):
            a3 = {}
            for j, name in enumerate(joints):
                if has3[k][j]:
                    x, y, z = xyz[k][j]
                    a3[name] = {"x": x, "y": y, "z": z, "num_views_for_3d": views[k][j]}
            a2 = {}
            for c, cam in enumerate(cams):
                hc, pc = has2[k][c], xy[k][c]
                if manual:
                    pl = placement[k][c]
                    cj = {
                        name: {"x": pc[j][0], "y": pc[j][1], "placement": "manual" if pl[j] else "auto"}
                        for j, name in enumerate(joints)
                        if hc[j]
                    }
                else:
                    cj = {
                        name: {"x": pc[j][0], "y": pc[j][1], "placement": "auto"}
                        for j, name in enumerate(joints)
                        if hc[j]
                    }
                if cj:
                    a2[cam] = cj
                    n2 += len(cj)
            n3 += len(a3)
            entries.append({"annotation3D": a3, "annotation2D": a2})
            k += 1
        out[str(f)] = entries
    truth["ego_pose_3d"] += n3
    truth["ego_pose_2d"] += n2
    return out


def _rotations(g: np.random.Generator, n: int) -> np.ndarray:
    q = g.normal(0, 1, (n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=1,
    )


def _extrinsics(g: np.random.Generator, n: int) -> np.ndarray:
    r = _rotations(g, n)
    t = g.uniform(-1.5, 1.5, (n, 3, 1))
    return np.concatenate([r, t], axis=2)


def camera_document(g: np.random.Generator, job: PoseJob, truth: Counter) -> dict:
    """Static exo cameras and one Aria extrinsics matrix per frame of the take (a few gaps)."""
    out: dict = {"metadata": {"take_name": job.name, "take_uid": job.uid}}
    ext = _extrinsics(g, len(job.exo_cams)).tolist()
    for cam, e in zip(job.exo_cams, ext):
        f = float(g.uniform(1180, 1260))
        out[cam] = {
            "camera_intrinsics": [[f, 0.0, 1920.0], [0.0, f, 1080.0], [0.0, 0.0, 1.0]],
            "camera_extrinsics": e,
            "distortion_coeffs": DISTORTION,
        }
    n_take = max(1, int(job.duration * volume.FPS))
    keep = g.random(n_take) >= volume.CAMERA_GAP
    keep[0] = True
    frames = np.flatnonzero(keep)
    out[job.ego_cam] = {
        "camera_intrinsics": ARIA_INTRINSICS,
        "camera_extrinsics": dict(zip(map(str, frames.tolist()), _extrinsics(g, len(frames)).tolist())),
    }
    truth["camera_poses"] += len(job.exo_cams) + len(frames)
    return out


def write_take(out_dir: str, seed: int, job: PoseJob) -> tuple[int, int, Counter]:
    """Write one take's pose files under ``out_dir``; return (files, bytes, truth)."""
    gc_was = gc.isenabled()
    gc.disable()  # no reference cycles here; the cyclic GC would only slow the dict building
    try:
        return _write_take(out_dir, seed, job)
    finally:
        if gc_was:
            gc.enable()


def _write_take(out_dir: str, seed: int, job: PoseJob) -> tuple[int, int, Counter]:
    truth: Counter = Counter()
    g = np.random.default_rng([seed, zlib.crc32(job.uid.encode())])
    base = Path(out_dir) / "annotations" / "ego_pose" / job.split
    files = nbytes = 0
    docs: list[tuple[Path, object]] = []
    for kind, source, n in job.files:
        truth[f"ego_pose_takes_{kind}_{source}"] += 1
        truth["ego_pose_takes"] += 1
        docs.append((base / kind / source / f"{job.uid}.json", (kind, source, n)))
    docs.append((base / "camera_pose" / f"{job.uid}.json", None))
    for path, spec in docs:
        if spec is None:
            doc = camera_document(g, job, truth)
        else:
            doc = pose_document(g, job, *spec, truth)
        data = spaced(orjson.dumps(doc))
        del doc
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files += 1
        nbytes += len(data)
    return files, nbytes, truth


def write_all(
    world: World, out_dir: Path, seed: int, pose_volume: float = 1.0, workers: int | None = None
) -> Iterator[tuple[int, int, Counter]]:
    """Write every take's pose files, on ``workers`` processes (default: the usable cores)."""
    todo = jobs(world, pose_volume)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, min(workers or cores, len(todo) if workers else len(todo) // 8))
    if n == 1:
        for job in todo:
            yield write_take(str(out_dir), seed, job)
        return
    from concurrent.futures import as_completed

    from ..processes import process_pool

    with process_pool(n, ((write_take, (str(out_dir), seed, j), j.uid) for j in todo)) as pool:
        for f in as_completed(pool.futures):
            yield f.result()
