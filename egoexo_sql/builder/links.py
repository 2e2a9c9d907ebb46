"""Carrying files into a new catalog without copying them: hard links (copies across
devices). Reused tables, unchanged streaming units and the generations readers still
hold (:mod:`egoexo_sql.generations`) all come into the staging folder this way."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def link_tree(src: Path, dst: Path) -> tuple[int, int]:
    """Hard-link (or copy) every file under ``src`` to ``dst``; returns (parquet files, bytes)."""
    nfiles = nbytes = 0

    def fail(e: OSError) -> None:
        raise e

    if not src.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(src))
    for dirpath, _dirs, files in os.walk(src, onerror=fail):
        rel = Path(dirpath).relative_to(src)
        target_dir = dst / rel
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            s, d = Path(dirpath) / name, target_dir / name
            try:
                os.link(s, d)
            except OSError:
                shutil.copy2(s, d)
            if name.endswith(".parquet"):
                nfiles += 1
                nbytes += d.stat().st_size
    return nfiles, nbytes


def link_file(src: Path, dst: Path) -> None:
    """Hard-link (or copy) one file, making ``dst``'s folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
