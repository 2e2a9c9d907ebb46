"""Give memory back to the operating system between large pieces of work.

A build's worker decodes thousands of files in a row with the cyclic garbage collector
paused (:func:`egoexo_sql.release.gc_paused`), and both glibc's allocator and Arrow's
memory pool keep freed memory for reuse: left alone, a worker's resident size creeps up
with the number of files it has parsed, so the build's memory would grow with the
release. :func:`release_unused_memory` collects garbage and returns what the
allocators hold unused, so memory stays flat at any volume (bench/bench_volume.py).

:func:`prefer_arrow_allocator` chooses the workers' Arrow allocator.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys

#: The environment variable Arrow reads once, when pyarrow is imported, to choose the
#: allocator of its default memory pool (``mimalloc``, ``jemalloc`` or ``system``).
ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"

_libc: ctypes.CDLL | None = None


def _malloc_trim() -> None:
    global _libc
    if not sys.platform.startswith("linux"):
        return
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None)
        _libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (e.g. musl has no malloc_trim)
        pass


def release_unused_memory() -> None:
    """Collect cyclic garbage, then return unused memory of Arrow's pool and of malloc."""
    gc.collect()
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    _malloc_trim()


def preferred_arrow_allocator() -> str:
    """jemalloc on Linux (pyarrow's Linux wheels have it), else the C library's malloc."""
    return "jemalloc" if sys.platform.startswith("linux") else "system"


def prefer_arrow_allocator() -> None:
    """Have Arrow allocate with :func:`preferred_arrow_allocator` in this process and the
    processes it starts, unless the environment already names an allocator. It only
    takes effect before pyarrow is imported: the build's forkserver calls it before its
    preload imports pyarrow, a ``spawn`` worker in the pool's initializer.

    pyarrow's default, mimalloc, spends most of a fresh worker's time in the kernel
    here: the search index compiled in a new process took 2.8-3.0 s (2.0 s of it system
    time) with mimalloc, 1.7 s (0.4-0.5 s system) with ``system`` or jemalloc, and
    whole-release builds took 0.6-0.9 s less (bench/bench_build.py). Of the two,
    jemalloc keeps the workers' memory flat as the release grows (pose build peak, N to
    4N: 647 to 726 MB, 1.12x; with ``system`` 688 to 808 MB, 1.17x), at the same speed.
    The building process itself is left alone: it is the caller's, and DuckDB does its
    heavy work."""
    os.environ.setdefault(ARROW_POOL_VARIABLE, preferred_arrow_allocator())


def arrow_allocator() -> str:
    """The allocator of Arrow's default memory pool in this process (imports pyarrow)."""
    import pyarrow as pa

    name: str = pa.default_memory_pool().backend_name
    return name
