"""manifests/<part>/manifest.json (the downloader's manifests, when the user has them)
-> manifest_files, one row per path entry."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import InputError
from ..schema import conform

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

MANIFEST_GLOB = "manifests/**/manifest.json"


class PathSpec(msgspec.Struct):
    relative_path: str
    source_path: str | None = None
    views: list[str] | None = None
    universities: list[str] | None = None
    file_type: str | None = None
    size: int | None = None
    checksum: str | None = None


class Entry(msgspec.Struct):
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
    cols: dict[str, list[Any]] = {k: [] for k in (
        "part", "uid", "relative_path", "size_bytes", "views", "universities", "splits",
        "benchmarks", "file_type", "source_path", "checksum")}
    for rel in sorted(release.rel(f) for f in files):
        part = part_of(rel)
        if part is None:
            continue
        entries: list[Entry] = release.decode(rel, list[Entry])
        seen: dict[tuple[str, str], str] = {}
        for i, e in enumerate(entries):
            for j, p in enumerate(e.paths):
                key = (e.uid, p.relative_path)
                where = f"$[{i}].paths[{j}].relative_path"
                if key in seen:
                    raise InputError(rel, where, "each path listed once per uid",
                                     f"{p.relative_path!r} again (first at {seen[key]})")
                seen[key] = where
                cols["part"].append(part)
                cols["uid"].append(e.uid)
                cols["relative_path"].append(p.relative_path)
                cols["size_bytes"].append(p.size)
                cols["views"].append(p.views)
                cols["universities"].append(p.universities)
                cols["splits"].append(e.splits)
                cols["benchmarks"].append(e.benchmarks)
                cols["file_type"].append(p.file_type)
                cols["source_path"].append(p.source_path)
                cols["checksum"].append(p.checksum)
    return {"manifest_files": conform("manifest_files", cols)}
