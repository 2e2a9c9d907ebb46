"""Readers keep the catalog they opened while a rebuild swaps in a new one.

A build replaces the catalog folder in one rename (:mod:`egoexo_sql.builder.swap`),
and the views resolve their relative ``data/...`` paths in the catalog folder on every
query. Left alone, a reader opened before the swap would read the new Parquet through
the old view definitions: a different snapshot mid-session, errors when a view's
columns or types changed, and files vanishing under a query that straddles the swap.

So a *generation* (one build: its ``build.json``, ``catalog.duckdb`` and ``data/``)
outlives the swap while a reader holds it:

* a reader (:class:`Lease`, taken by :class:`egoexo_sql.catalog.Catalog`) holds a shared
  ``flock`` on the ``build.json`` of the generation it opened;
* the build, just before its swap and under its folder lock, tries an exclusive lock
  on the current ``build.json`` and on those kept under ``.generations/``
  (:func:`carry_over`): a generation some reader holds is hard-linked into the new
  catalog as ``.generations/<id>/`` (a catalog folder of its own; no bytes copied);
  one nobody holds is dropped, and its exclusive lock is kept until the swap is done,
  so a reader cannot take it in between;
* after the swap the reader notices that ``build.json`` is another file and moves
  to ``.generations/<id>/`` (:meth:`Lease.retained`): the same files as before.

``.generations/`` exists only while someone reads an older build; the next build with
no such reader removes it. The generation id is the sha256 of the ``build.json``
bytes. Where ``flock`` does not exist (Windows), nothing is kept: readers see the new
catalog after a swap, as raw DuckDB connections over ``catalog.duckdb`` always do.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GENERATIONS = ".generations"
BUILD_JSON = "build.json"


def generation_id(build_json: bytes) -> str:
    return hashlib.sha256(build_json).hexdigest()[:16]


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


class Lease:
    """A reader's shared lock on the generation it opened (see the module docstring)."""

    def __init__(self, catalog: Path):
        self.catalog = catalog
        self.fd: int | None = None
        self.inode: tuple[int, int] | None = None
        self._id: str | None = None
        path = catalog / BUILD_JSON
        if fcntl is None:
            return
        for _ in range(50):  # a build swapping right now: take the new one
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return  # no build.json: nothing to hold
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a build swaps
                st = os.fstat(fd)
                now = os.stat(path)
            except OSError:
                os.close(fd)
                continue
            if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
                self.fd, self.inode = fd, (st.st_dev, st.st_ino)
                return
            os.close(fd)

    @property
    def id(self) -> str | None:
        """The held generation's id, read from the open file when first asked (after a
        swap, usually): hashing a large build.json costs a query's start milliseconds."""
        if self._id is None and self.fd is not None:
            self._id = generation_id(_read_all(self.fd))
        return self._id

    def swapped(self) -> bool:
        """True when the catalog's build.json is no longer the one this lease holds."""
        if self.inode is None:
            return False
        try:
            st = os.stat(self.catalog / BUILD_JSON)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.inode

    def retained(self) -> Path | None:
        """The folder the held generation was kept in by the build that swapped it out."""
        if self.id is None:
            return None
        d = self.catalog / GENERATIONS / self.id
        try:
            st = os.stat(d / BUILD_JSON)
        except OSError:
            return None
        return d if (st.st_dev, st.st_ino) == self.inode else None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None

    def __del__(self) -> None:  # a Catalog dropped without close()
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def _held(fd: int) -> bool:
    """True when another open file holds a lock on it; else lock it exclusively."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    return False


def carry_over(catalog: Path, staging: Path) -> list[int]:
    """Before a swap: hard-link the generations readers hold into ``staging/.generations``.

    Returns the file descriptors holding exclusive locks on the generations nobody
    holds; pass them to :func:`release` once the swap is done.
    """
    if fcntl is None or not (catalog / BUILD_JSON).is_file():
        return []
    from .builder.links import link_tree

    candidates = [catalog]
    gens = catalog / GENERATIONS
    if gens.is_dir():
        candidates += sorted(p for p in gens.iterdir() if p.is_dir())
    dropped: list[int] = []
    for folder in candidates:
        try:
            fd = os.open(folder / BUILD_JSON, os.O_RDONLY)
        except OSError:
            continue
        if not _held(fd):
            dropped.append(fd)
            continue
        try:
            gid = generation_id(_read_all(fd))
            dest = staging / GENERATIONS / gid
            dest.mkdir(parents=True, exist_ok=True)
            for name in (BUILD_JSON, "catalog.duckdb"):
                if (folder / name).is_file() and not (dest / name).exists():
                    os.link(folder / name, dest / name)
            if (folder / "data").is_dir():
                link_tree(folder / "data", dest / "data")
        finally:
            os.close(fd)
    return dropped


def release(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
