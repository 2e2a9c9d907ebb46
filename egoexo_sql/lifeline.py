"""Worker processes end with the process that started them, even one killed with ``kill -9``.

A killed build runs no cleanup, and without help its pool outlives it: a
``ProcessPoolExecutor`` worker holds both ends of its own task queue, so it never reads
end-of-file and waits for work forever; the forkserver lives while any worker holds its
"alive" pipe, and the resource tracker while any worker holds its pipe. So:

* **a lifeline** (any OS): a pipe whose write end only the building process holds. Every
  worker gets the read end (:func:`pool_worker_start`, the pool's initializer) and a
  thread that ends the worker when the read returns end-of-file, i.e. when the building
  process is gone, however it ended;
* **the parent-death signal** (Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``): set in every
  worker (its parent is the forkserver) and in the forkserver (its parent is the
  building process; set at its start through its preload,
  :func:`start_forkserver`). The kernel kills them at once, even a worker whose
  lifeline thread waits for the GIL behind a long parse. Each checks, after setting it,
  that its parent has not died already (the signal only covers a parent alive then);
* the forkserver and the resource tracker then read end-of-file on their own pipes and
  exit: nothing else holds them (the pipes of this module are not inheritable).

The forkserver gets the signal only when it is started from the main thread: Linux
sends it when the *thread* that started the process ends, and the forkserver, which
serves every later pool of the process, must not die with a thread that made one pool
(a pool made from another thread ends once its lifeline threads have ended its workers).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: Set (to the building process's pid) while the forkserver starts: the forkserver, on
#: importing this module as its preload, sets its parent-death signal.
FORKSERVER_ENV = "EGOEXO_SQL_FORKSERVER_PARENT"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_starting = threading.Lock()  # the preload list and FORKSERVER_ENV are the process's


def set_parent_death_signal() -> bool:
    """Linux: this process gets SIGKILL when its parent (the thread that started it)
    ends. False where the OS has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0)
    except (OSError, AttributeError):  # no libc prctl (e.g. a static interpreter)
        return False


@contextmanager
def lifeline() -> Iterator[Any]:
    """A pipe for the block: yields the read end to give the workers (a
    ``multiprocessing`` connection, sent to each worker as it starts). Both ends are
    closed on leaving the block, so workers still running then end as well."""
    import multiprocessing

    reader, writer = multiprocessing.Pipe(duplex=False)
    try:
        yield reader
    finally:
        writer.close()
        reader.close()


def pool_worker_start(reader: Any) -> None:
    """The pool's initializer, in each worker: end this process when the building
    process ends (``reader``: the read end of :func:`lifeline`)."""
    if set_parent_death_signal() and reader.poll():
        os._exit(1)  # the building process died before the signal was set
    threading.Thread(target=_watch, args=(reader,), name="egoexo-sql lifeline", daemon=True).start()


def _watch(reader: Any) -> None:
    try:
        reader.recv_bytes()  # nothing is ever sent: this returns at end-of-file
    except (EOFError, OSError):
        pass
    os._exit(1)


def start_forkserver(preload: Sequence[str] = ()) -> None:
    """Start ``multiprocessing``'s forkserver now if it is not running, so that on Linux
    it dies with this process (see the module's docstring); it imports the modules of
    ``preload`` before it forks any worker. Call with ``__main__`` hidden
    (:func:`egoexo_sql.processes.main_module_hidden`): the preload would import it."""
    from multiprocessing import forkserver

    with _starting:
        if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
            forkserver.ensure_running()  # (no preload: workers import what they need)
            return
        # the preload list is only read when the server starts; keep what others asked
        # for (the stdlib offers no getter: its attribute, read with care)
        server = getattr(forkserver, "_forkserver", None)
        before = list(getattr(server, "_preload_modules", None) or ["__main__"])
        forkserver.set_forkserver_preload([*before, __name__, *preload])
        os.environ[FORKSERVER_ENV] = str(os.getpid())
        try:
            forkserver.ensure_running()
        finally:
            del os.environ[FORKSERVER_ENV]
            forkserver.set_forkserver_preload(before)


def _in_forkserver() -> None:
    """On import as the forkserver's preload: set its parent-death signal."""
    argv = getattr(sys, "orig_argv", None) or [""]
    if not argv[-1].startswith("from multiprocessing.forkserver import main"):
        return
    expected = os.environ.pop(FORKSERVER_ENV, None)  # the workers need not see it
    if not expected:
        return
    if set_parent_death_signal() and os.getppid() != int(expected):
        os._exit(1)  # the building process died before the signal was set


_in_forkserver()
