"""annotations/splits.json -> take_benchmarks (and the take -> split map other sources use)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ..errors import InputError
from ..schema import conform

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

SPLITS_JSON = "annotations/splits.json"


class SplitsFile(msgspec.Struct, gc=False):
    take_uid_to_split: dict[str, str] = {}
    split_to_take_uids: dict[str, list[str]] = {}
    take_uid_to_benchmark: dict[str, list[str]] = {}
    ds: str | None = None


def read_splits(release: Release) -> SplitsFile | None:
    """The decoded splits.json, or None when the release has none."""
    if not release.exists(SPLITS_JSON):
        return None
    return release.decode(SPLITS_JSON, SplitsFile)


def take_to_split(splits: SplitsFile | None) -> dict[str, str]:
    """take_uid -> split: take_uid_to_split, completed from split_to_take_uids.

    A take the two maps put in different splits is an input error.
    """
    if splits is None:
        return {}
    out = dict(splits.take_uid_to_split)
    for split, uids in splits.split_to_take_uids.items():
        for i, uid in enumerate(uids):
            have = out.setdefault(uid, split)
            if have != split:
                raise InputError(
                    SPLITS_JSON,
                    f'$.split_to_take_uids["{split}"][{i}]',
                    f'the split take_uid_to_split gives the take ("{have}")',
                    f'"{split}"',
                )
    return out


def compile_splits(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    splits = read_splits(release)
    take_uid: list[str] = []
    benchmark: list[str] = []
    if splits is not None:
        for uid, names in splits.take_uid_to_benchmark.items():
            seen = set()
            for name in names:
                if name in seen:  # a repeated name says nothing more
                    continue
                seen.add(name)
                take_uid.append(uid)
                benchmark.append(name)
    return {"take_benchmarks": conform("take_benchmarks", {"take_uid": take_uid, "benchmark": benchmark})}
