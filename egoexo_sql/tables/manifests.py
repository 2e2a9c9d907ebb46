"""manifests/<part>/manifest.json (the downloader's manifests, when the user has them)
-> manifest_files, one row per path entry.

Each path also gets the camera it belongs to (``camera``), read from its relative path
by :data:`CAMERA_PATTERNS`: the manifests name no camera, but the file names do
(``frame_aligned_videos/cam01.mp4``, ``aria01_214-1.mp4``, the features'
``<take_uid>_<cam_id>_<stream_id>.pt``).
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import msgspec

from .. import variants
from ..errors import InputError
from ..schema import get as schema_of
from ._common import column, repeat_per_row, row_groups, to_table

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

MANIFEST_GLOB = "manifests/**/manifest.json"

#: The camera of a file, from its relative path (RE2 syntax; the first that matches wins):
#: the preview videos of a take (ego_preview.mp4, best_exo_preview.mp4, also downscaled)
#: are ``collage``; a frame-aligned or downscaled video is its cam_id (cam01.mp4,
#: gp02.mp4, aria01_214-1.mp4 -> aria01); a feature file is the cam_id in its name.
#: Every other file (VRS, trajectories, audio, annotations, ...) has no camera (NULL).
COLLAGE = "collage"
PREVIEW_PATTERN = r"^takes/.*preview\.mp4$"
CAMERA_PATTERNS = (
    r"/frame_aligned_videos/(?:[^/]+/)*(?P<camera>[A-Za-z]+[0-9]+)(?:_[0-9]+-[0-9]+)?\.mp4$",
    r"^features/[^/]+/[^/_]+_(?P<camera>[A-Za-z]+[0-9]+)_[^/_]+\.pt$",
)


class PathSpec(msgspec.Struct, gc=False):
    relative_path: str
    source_path: str | None = None
    views: list[str] | None = None
    universities: list[str] | None = None
    file_type: str | None = None
    size: int | None = None
    checksum: str | None = None


class Entry(msgspec.Struct, gc=False):
    uid: str
    paths: list[PathSpec] = []
    splits: list[str] | None = None
    benchmarks: list[str] | None = None


def part_of(rel: str) -> str | None:
    """manifests/downscaled_takes/448/manifest.json -> downscaled_takes/448."""
    p = PurePosixPath(rel)
    if p.name != "manifest.json" or len(p.parts) < 3 or p.parts[0] != "manifests":
        return None
    return "/".join(p.parts[1:-1])


def compile_manifests(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    import pyarrow as pa

    parts: list[pa.Table] = []
    list_type = pa.list_(pa.string())
    for rel in sorted(release.rel(f) for f in files):
        part = part_of(rel)
        if part is None:
            continue
        entries: list[Entry] = release.decode(rel, list[Entry])
        # entry-level values are converted once per entry and repeated per path in Arrow
        rows = row_groups([len(e.paths) for e in entries])
        paths: list[PathSpec] = list(chain.from_iterable(column(entries, "paths")))
        relative_paths = column(paths, "relative_path")
        doubled = [i for i, p in enumerate(relative_paths) if "//" in p]
        if doubled:  # the real generator writes camera_pose//<take_uid>.json: one file, one path
            for i in doubled:
                relative_paths[i] = _single_slashes(relative_paths[i])
            variants.note(rel, "manifests.double_slash", len(doubled))
        relative = pa.array(relative_paths, type=pa.string())
        t = to_table(
            "manifest_files",
            {
                "part": pa.repeat(pa.scalar(part, type=pa.string()), len(paths)),
                "uid": repeat_per_row(column(entries, "uid"), rows, pa.string()),
                "relative_path": relative,
                "size_bytes": column(paths, "size"),
                "views": column(paths, "views"),
                "camera": camera_of(relative),
                "universities": column(paths, "universities"),
                "splits": repeat_per_row(column(entries, "splits"), rows, list_type),
                "benchmarks": repeat_per_row(column(entries, "benchmarks"), rows, list_type),
                "file_type": column(paths, "file_type"),
                "source_path": column(paths, "source_path"),
                "checksum": column(paths, "checksum"),
            },
        )
        # each path once per uid (several entries may share a uid); a manifest names
        # each path once in all, which one set of the paths shows (tuples of (uid,
        # path) would cost ten times as much)
        if len(set(relative_paths)) != len(relative_paths):
            uid_per_path = [e.uid for e in entries for _ in e.paths]
            if len(set(zip(uid_per_path, relative_paths))) != len(relative_paths):
                _raise_duplicate_path(rel, entries)  # names the path and where it was first
        parts.append(t)
    if not parts:
        return {"manifest_files": schema_of("manifest_files").empty_table()}
    return {"manifest_files": pa.concat_tables(parts)}


def _single_slashes(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path


def camera_of(relative_paths: pa.Array[Any]) -> pa.Array[Any]:
    """The camera of each path by :data:`CAMERA_PATTERNS` (NULL: no camera), computed in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = pa.nulls(len(relative_paths), pa.string())
    for pattern in reversed(CAMERA_PATTERNS):
        found = pc.struct_field(pc.extract_regex(relative_paths, pattern), "camera")
        out = pc.coalesce(found, out)
    is_preview = pc.match_substring_regex(relative_paths, PREVIEW_PATTERN).fill_null(False)
    camera: pa.Array[Any] = pc.if_else(is_preview, pa.scalar(COLLAGE, pa.string()), out)
    return camera


def _raise_duplicate_path(rel: str, entries: list[Entry]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for i, e in enumerate(entries):
        for j, p in enumerate(e.paths):
            where = f"$[{i}].paths[{j}].relative_path"
            key = (e.uid, _single_slashes(p.relative_path))
            if key in seen:
                raise InputError(
                    rel,
                    where,
                    "each path listed once per uid",
                    f"{p.relative_path!r} again (first at {seen[key]})",
                )
            seen[key] = where
