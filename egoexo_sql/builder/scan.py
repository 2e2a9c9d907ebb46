"""The first two steps of a build: find every input, then know its sha256.

1. **scan**: every input of every selected :class:`~egoexo_sql.tables.Source` (globs
   relative to the release root; ``required`` files must exist), ``stat``-ed once. A
   file several sources read is one :class:`Input`.
2. **hash**: size and sha256 of every input. A file whose size, mtime, ctime, inode and
   device all equal the previous build's record, and that had not changed for
   :data:`RACY_NS` before that build hashed it, keeps its recorded sha256 (the "racy
   git" rule); every other file is read and hashed, on threads, in batches of about
   :data:`HASH_BATCH_BYTES`. Files that only streaming sources compiling from scratch
   read are left to the workers that parse them (:mod:`egoexo_sql.builder.plan` says
   which; :func:`hash_file` is what those workers call for a file they did not read
   whole).
"""

from __future__ import annotations

import fnmatch
import functools
import glob
import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..tables import Source

#: A recorded sha256 is trusted only for a file whose ctime was at least this much
#: older than the moment it was hashed (coarse file-system clocks, racy writes).
RACY_NS = 2_000_000_000
#: Files are hashed on threads in batches of about this many bytes.
HASH_BATCH_BYTES = 8 << 20


@dataclass
class Input:
    """One input file of this build, as build.json records it."""

    rel: str
    file: str  # the path as a string (a Path per input costs 0.25 s over 20,000 inputs)
    bytes: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int
    sha256: str = ""
    hashed_at_ns: int = 0

    @property
    def path(self) -> Path:
        return Path(self.file)

    def record(self) -> dict[str, Any]:
        return {
            "path": self.rel,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns,
            "inode": self.inode,
            "device": self.device,
            "hashed_at_ns": self.hashed_at_ns,
        }


def scan(root: Path, sources: Sequence[Source]) -> dict[str, list[Input]]:
    """source name -> its inputs in path order; a file read by several sources is one
    :class:`Input` object, so it is hashed once."""
    scanner = _Scanner(root)
    inputs_by_source = {s.name: scanner.inputs_of(s) for s in sources}
    shared: dict[str, Input] = {}
    for name, ins in inputs_by_source.items():
        inputs_by_source[name] = [shared.setdefault(i.rel, i) for i in ins]
    return inputs_by_source


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a link, as glob does
    except OSError:
        return False


class _Scanner:
    """Finds sources' inputs; a pattern or a file several sources share is walked or
    stat-ed once."""

    def __init__(self, root: Path):
        self.root = root
        self.root_str = str(root)
        self.prefix = os.path.join(self.root_str, "")  # the root and a separator
        self.globbed: dict[str, list[str]] = {}
        self.listings: dict[str, dict[str, bool] | None] = {}  # folder -> name -> is a folder
        self.stats: dict[str, os.stat_result] = {}

    def _glob(self, pattern: str) -> list[str]:
        """What ``glob.glob(pattern)`` finds under the root. A pattern without ``**`` is
        walked part by part over listings of the folders, each listed once for every
        pattern (``takes/*/`` holds 5,000 folders that a dozen patterns look into), and
        a literal file name is ``stat``-ed at once (:meth:`inputs_of` keeps the result):
        half the time of glob's walk, which joins and matches every path in Python."""
        if "**" in pattern or os.name != "posix":
            return glob.glob(pattern, root_dir=self.root, recursive=True)
        *folder_parts, name = pattern.split("/")
        folders = [""]
        for part in folder_parts:
            magic = glob.has_magic(part)
            folders = [f"{d}{m}/" for d in folders for m in self._matches(d, part, magic, folders_only=True)]
        if glob.has_magic(name):
            return [f"{d}{m}" for d in folders for m in self._matches(d, name, True, folders_only=False)]
        found = []
        for d in folders:
            rel = d + name
            try:
                self.stats[rel] = os.stat(self.prefix + rel)
            except (FileNotFoundError, NotADirectoryError):
                if not os.path.lexists(self.prefix + rel):
                    continue  # (a dangling link is kept: the build names it)
            found.append(rel)
        return found

    def _matches(self, folder: str, part: str, magic: bool, folders_only: bool) -> list[str]:
        """The names in ``folder`` (relative, ``""`` or ending in ``/``) that the pattern
        part ``part`` matches (``magic``: it has wildcards), as glob matches them: a
        wildcard matches no hidden name."""
        listing = self.listings.get(folder, ...)
        if listing is ...:
            listing = self.listings[folder] = self._list(folder)
        if listing is None:
            return []
        if not magic:
            return [part] if part in listing and (listing[part] or not folders_only) else []
        match = self._matcher(part)
        hidden_too = part.startswith(".")
        return [
            n
            for n, is_dir in listing.items()
            if (is_dir or not folders_only) and (hidden_too or n[0] != ".") and match(n)
        ]

    @staticmethod
    @functools.cache
    def _matcher(part: str) -> Callable[[str], re.Match[str] | None]:
        return re.compile(fnmatch.translate(part)).match

    def _list(self, folder: str) -> dict[str, bool] | None:
        try:
            with os.scandir(self.prefix + folder if folder else self.root_str) as it:
                return {e.name: _is_dir(e) for e in it}
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return None

    def inputs_of(self, source: Source) -> list[Input]:
        found: dict[str, Input] = {}

        def add(rel: str) -> bool:
            """Record a file; False for a folder."""
            p = self.prefix + rel
            st = self.stats.get(rel)
            if st is None:
                try:
                    st = self.stats[rel] = os.stat(p)
                except FileNotFoundError:  # a dangling symlink
                    raise InputError(rel, None, "a file", "a broken link") from None
            if stat.S_ISDIR(st.st_mode):
                return False
            found[rel] = Input(rel, p, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            return True

        for pattern in source.inputs:
            file_pattern = "." in pattern.rsplit("/", 1)[-1]
            # glob.glob scans with os.scandir: several times faster than Path.glob on
            # the ~12,000 commentary files; like a shell, it skips hidden files
            if pattern not in self.globbed:
                self.globbed[pattern] = [rel.replace(os.sep, "/") for rel in self._glob(pattern)]
            for rel in self.globbed[pattern]:
                if not add(rel) and file_pattern:
                    raise InputError(rel, None, "a file", "a folder")
        for req in source.required:
            expected = f"a file (required to build the {source.group} group)"
            p = self.root / req
            if p.is_dir():
                raise InputError(req, None, expected, "a folder")
            if not p.exists():
                raise InputError(req, None, expected, "nothing at this path")
            if req not in found:  # required but not matched by a glob: still an input
                add(req)
        return [found[k] for k in sorted(found)]


def hash_inputs(
    inputs: list[Input],
    prev_inputs: Mapping[str, Mapping[str, Any]],
    progress: Callable[[str, float, float, str], None],
) -> int:
    """Set ``sha256`` and ``hashed_at_ns`` of every input: from ``prev_inputs`` (the
    previous build.json's records by path) when the racy-git rule allows, else by
    reading the file. Returns the bytes read."""
    todo = []
    for i in inputs:
        r = prev_inputs.get(i.rel)
        if (
            r is not None
            and r.get("bytes") == i.bytes
            and r.get("mtime_ns") == i.mtime_ns
            and r.get("ctime_ns") == i.ctime_ns
            and r.get("inode") == i.inode
            and r.get("device") == i.device
            and isinstance(r.get("hashed_at_ns"), int)
            and i.ctime_ns < r["hashed_at_ns"] - RACY_NS
            and r.get("sha256")
        ):
            i.sha256, i.hashed_at_ns = r["sha256"], r["hashed_at_ns"]
        else:
            todo.append(i)
    total = sum(i.bytes for i in todo)
    progress("hash", 0, total, "")
    if not todo:
        progress("hash", total, total, "")
        return total
    # batches of about HASH_BATCH_BYTES: one future per small file costs more than
    # hashing it (12,000 commentary files of a few KB)
    batches: list[list[Input]] = [[]]
    size = 0
    for i in sorted(todo, key=lambda i: -i.bytes):
        if size >= HASH_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(i)
        size += i.bytes
    done = 0
    workers = min(4, os.cpu_count() or 1, len(batches))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_hash_batch, b): b for b in batches}
        for f in as_completed(futures):
            for i, (digest, at) in zip(futures[f], f.result()):
                i.sha256, i.hashed_at_ns = digest, at
                done += i.bytes
            progress("hash", done, total, futures[f][-1].rel)
    return total


def _hash_batch(batch: list[Input]) -> list[tuple[str, int]]:
    return [_hash_file(i) for i in batch]


def _hash_file(i: Input) -> tuple[str, int]:
    return hash_file(i.file, i.rel)


def hash_file(file: str, rel: str) -> tuple[str, int]:
    """(sha256, the time hashing started) of the input ``rel`` at ``file`` (also used by
    the streaming workers for a file their compiler did not read whole)."""
    at = time.time_ns()
    try:
        with open(file, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except IsADirectoryError:
        raise InputError(rel, None, "a file", "a folder") from None
    except FileNotFoundError:
        raise InputError(rel, None, "a file", "it vanished during the build") from None
    except PermissionError:
        raise InputError(rel, None, "a readable file", "permission denied") from None
    return digest, at
