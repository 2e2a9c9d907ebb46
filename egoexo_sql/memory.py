"""Give memory back to the operating system between large pieces of work.

A build's worker decodes thousands of files in a row with the cyclic garbage collector
paused (:func:`egoexo_sql.release.gc_paused`), and both glibc's allocator and Arrow's
memory pool keep freed memory for reuse: left alone, a worker's resident size creeps up
with the number of files it has parsed, so the build's memory would grow with the
release. :func:`release_unused_memory` collects garbage and returns what the
allocators hold unused, so memory stays flat at any volume (bench/bench_volume.py).
"""

from __future__ import annotations

import ctypes
import gc
import sys

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
