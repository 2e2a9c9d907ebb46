"""Worker processes for the build: one pool recipe, safe from any caller.

The build compiles sources (and streaming units) in ``forkserver`` worker processes
(``spawn`` where the OS has no forkserver): no copy of the parent's threads or DuckDB
state, and a clean interpreter per worker.

Both start methods normally re-import the caller's main script in every worker, so a
plain script that calls ``egoexo_sql.build(...)`` at top level, without an
``if __name__ == "__main__":`` guard, would run its build again inside each worker and
crash the pool. The workers only ever run functions of this package, so
:func:`process_pool` hides the main module's file and spec while workers start: they
import nothing of the caller's script.

The workers and the forkserver end with the process that made the pool, even when it
is killed (:mod:`egoexo_sql.lifeline`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

from . import lifeline
from .memory import prefer_arrow_allocator


def _context() -> BaseContext:
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method)


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """Within the block, new worker processes do not re-run ``__main__``."""
    main = sys.modules.get("__main__")
    saved = {a: getattr(main, a) for a in ("__file__", "__spec__") if main is not None and hasattr(main, a)}
    try:
        if main is not None and "__spec__" in saved:
            main.__spec__ = None
        if main is not None and "__file__" in saved:
            del main.__file__
        yield
    finally:
        for attr, value in saved.items():
            setattr(main, attr, value)


#: imported once by the forkserver, so that every worker it forks has them
PRELOAD = ("egoexo_sql.builder.preload",)


def warm_up() -> None:
    """Start the forkserver now, in the background: it imports :data:`PRELOAD` on another
    core while the caller goes on, and a pool made later forks ready workers at once."""
    if _context().get_start_method() == "forkserver":
        with main_module_hidden():
            lifeline.start_forkserver(PRELOAD)


class _PandasHidden:
    """A finder that makes ``import pandas`` fail (:func:`hide_pandas`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is hidden in egoexo-sql's build workers", name=name)
        return None


def hide_pandas() -> None:
    """Make ``import pandas`` fail in this process unless it is imported already.

    pyarrow imports pandas at its first conversion, only to recognise pandas objects:
    0.3 s and 33 MB in each worker, which never sees one (no compiler uses pandas).
    Only the pool's workers call this, never the forkserver: a pool of the caller's
    own, forked by the same server, still has pandas. (A finder, not ``None`` in
    ``sys.modules``: pyarrow's compiled import takes that ``None`` for the module.)"""
    if "pandas" not in sys.modules and not any(isinstance(f, _PandasHidden) for f in sys.meta_path):
        sys.meta_path.insert(0, _PandasHidden())


def _worker_start(reader: Any) -> None:
    """The pool's initializer, in each worker: it ends with the building process
    (:func:`egoexo_sql.lifeline.pool_worker_start`), pyarrow does without pandas
    (:func:`hide_pandas`), and a worker that has not imported pyarrow yet (``spawn``)
    gets the allocator the forkserver's preload asks for."""
    prefer_arrow_allocator()
    hide_pandas()
    lifeline.pool_worker_start(reader)


class Pool:
    """The running pool of :func:`process_pool`: ``futures`` maps each future to its tag."""

    def __init__(self, executor: ProcessPoolExecutor):
        self.executor = executor
        self.futures: dict[Future[Any], Any] = {}

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], tag: Any) -> Future[Any]:
        with main_module_hidden():  # a worker may start now
            f = self.executor.submit(fn, *args)
        self.futures[f] = tag
        return f


@contextmanager
def process_pool(
    workers: int, calls: Iterable[tuple[Callable[..., Any], tuple[Any, ...], Any]] = ()
) -> Iterator[Pool]:
    """A pool of ``workers`` processes, running every ``(fn, args, tag)`` of ``calls``
    (more can be submitted with :meth:`Pool.submit`). Leaving the block waits for the
    pool; when the block raises, calls not yet started are cancelled first."""
    ctx = _context()
    with lifeline.lifeline() as reader:
        warm_up()  # the forkserver, if this build has not started it yet
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_start,
            initargs=(reader,),
        )
        pool = Pool(executor)
        try:
            for fn, args, tag in calls:
                pool.submit(fn, args, tag)
            yield pool
        except BaseException:
            for f in pool.futures:
                f.cancel()
            pool.executor.shutdown(wait=True, cancel_futures=True)
            raise
        pool.executor.shutdown(wait=True)
