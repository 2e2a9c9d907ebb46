"""manifests/<part>/manifest.json (the downloader's manifests, when the user has them)
-> manifest_files, one row per path entry."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa

from ..errors import InputError
from ._common import column, repeat_per_row, to_table

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

MANIFEST_GLOB = "manifests/**/manifest.json"


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


def compile_manifests(release: "Release", files: list[Path]) -> dict[str, "pa.Table"]:
    part_col: list[str] = []
    uid_col: list[str] = []
    entry_splits: list[Any] = []
    entry_bench: list[Any] = []
    entry_n: list[int] = []
    paths: list[PathSpec] = []
    for rel in sorted(release.rel(f) for f in files):
        part = part_of(rel)
        if part is None:
            continue
        entries: list[Entry] = release.decode(rel, list[Entry])
        start = len(paths)
        for e in entries:
            n = len(e.paths)
            paths += e.paths
            uid_col += [e.uid] * n
            entry_splits.append(e.splits)
            entry_bench.append(e.benchmarks)
            entry_n.append(n)
        part_col += [part] * (len(paths) - start)
        _check_paths_unique(rel, entries, uid_col[start:], column(paths[start:], "relative_path"))
    list_type = pa.list_(pa.string())
    return {"manifest_files": to_table("manifest_files", {
        "part": part_col,
        "uid": uid_col,
        "relative_path": column(paths, "relative_path"),
        "size_bytes": column(paths, "size"),
        "views": column(paths, "views"),
        "universities": column(paths, "universities"),
        # entry-level lists: converted once per entry, then repeated per path
        "splits": repeat_per_row(entry_splits, entry_n, list_type),
        "benchmarks": repeat_per_row(entry_bench, entry_n, list_type),
        "file_type": column(paths, "file_type"),
        "source_path": column(paths, "source_path"),
        "checksum": column(paths, "checksum"),
    })}


def _check_paths_unique(rel: str, entries: list[Entry], uids: list[str], paths: list[str]) -> None:
    keys = list(zip(uids, paths))
    if len(set(keys)) == len(keys):
        return
    seen: dict[tuple[str, str], str] = {}
    for i, e in enumerate(entries):
        for j, p in enumerate(e.paths):
            where = f"$[{i}].paths[{j}].relative_path"
            key = (e.uid, p.relative_path)
            if key in seen:
                raise InputError(rel, where, "each path listed once per uid",
                                 f"{p.relative_path!r} again (first at {seen[key]})")
            seen[key] = where
