"""A build killed hard (kill -9) leaves no process behind: its forkserver, worker
processes and resource tracker end with it (egoexo_sql/lifeline.py), whatever it was
doing, and the next build repairs the rest and keeps the previous catalog until then.

Each build runs in its own session, so every process it started (a worker keeps the
session of the build) is found in /proc by session id, even one started after the last
look; whatever is left is killed at the end of each test, pass or fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from egoexo_sql.catalog import Catalog

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc (Linux)"
)

GROUPS = ["metadata", "splits", "keystep", "proficiency", "atomic", "commentary"]
#: How long the processes of a killed build may take to end.
GRACE = 5.0
#: How long a build may take to reach a moment.
REACH = 60.0


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """(release, catalog): a small release without the streaming groups, built once."""
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.demo import generate

    base = tmp_path_factory.mktemp("small")
    release = base / "release"
    generate(release, scale=0.01, seed=5, only=GROUPS)
    catalog = base / "catalog"
    build_catalog(release, catalog)
    return release, catalog


# --------------------------------------------------------------------------- /proc
def processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (parent pid, session id, state, command line) of every live process
    (zombies, which have ended, left out)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().decode()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        state, ppid, _pgrp, sid = stat[stat.rindex(")") + 2 :].split()[:4]
        if state not in "ZX":
            out[int(d)] = (int(ppid), int(sid), state, cmd)
    return out


def session(sid: int) -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of the live processes of session ``sid``."""
    return {p: (ppid, cmd) for p, (ppid, s, _, cmd) in processes().items() if s == sid}


def _forked(procs: dict[int, tuple[int, str]]) -> set[int]:
    """The processes of ``procs`` the forkserver runs as: itself and its children."""
    return {p for p, (_, cmd) in procs.items() if "from multiprocessing.forkserver import" in cmd}


def forkservers(procs: dict[int, tuple[int, str]]) -> list[int]:
    forked = _forked(procs)
    return [p for p in forked if procs[p][0] not in forked]


def workers(procs: dict[int, tuple[int, str]]) -> list[int]:
    """The forkserver's children: the pool's workers."""
    forked = _forked(procs)
    return [p for p in forked if procs[p][0] in forked]


def wait_for(what: str, proc: subprocess.Popen, cond: Callable[[], object], timeout: float = REACH) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended (code {proc.returncode}) before {what}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.002)


def kill_and_watch(proc: subprocess.Popen) -> tuple[dict[int, tuple[int, str]], dict[int, tuple[int, str]]]:
    """kill -9 ``proc`` (a session leader); return (its session's processes just before,
    those still alive after :data:`GRACE` seconds)."""
    before = session(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    t0 = time.monotonic()
    while time.monotonic() - t0 < GRACE:
        left = session(proc.pid)
        if not left:
            break
        time.sleep(0.01)
    return before, session(proc.pid)


def end_session(proc: subprocess.Popen) -> None:
    """Whatever the test did: no process of ``proc``'s session stays alive."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)
    for pid in session(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def describe(procs: dict[int, tuple[int, str]]) -> str:
    return "; ".join(f"{p} (parent {pp}): {cmd[:80]}" for p, (pp, cmd) in sorted(procs.items())) or "none"


# --------------------------------------------------------------------------- the build
def counts(catalog: Path) -> dict[str, int]:
    with Catalog.open(catalog) as cat:
        return {name: n for name, _, n, _ in cat.table_rows()}


def staging_of(proc: subprocess.Popen, catalog: Path) -> Path:
    return catalog.parent / f"{catalog.name}.staging-{proc.pid}"


def _pool_starting(proc, catalog, err) -> str:
    wait_for("forkserver", proc, lambda: forkservers(session(proc.pid)))
    return "the forkserver had started"


def _workers_starting(proc, catalog, err) -> str:
    wait_for("worker", proc, lambda: workers(session(proc.pid)))
    return "the first worker had started"


def _compiling(proc, catalog, err) -> str:
    # EGOEXO_SQL_PAUSE_BEFORE_COMPILE=keystep: the worker compiling it says so and waits
    wait_for("paused worker", proc, lambda: "paused before compiling keystep" in err.read_text())
    assert len(workers(session(proc.pid))) == 2
    return "two workers, one of them compiling"


def _writing_catalog(proc, catalog, err) -> str:
    wait_for("catalog.duckdb", proc, lambda: (staging_of(proc, catalog) / "catalog.duckdb").exists())
    assert not (staging_of(proc, catalog) / "build.json").exists()  # written after the views
    assert forkservers(session(proc.pid))  # it serves the pools until the build ends
    return "catalog.duckdb being written, the pool done"


MOMENTS = {
    "pool starting": _pool_starting,
    "workers starting": _workers_starting,
    "compiling": _compiling,
    "writing catalog.duckdb": _writing_catalog,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_9_of_a_build_leaves_no_process(small, tmp_path, moment):
    release, catalog = tmp_path / "release", tmp_path / "catalog"
    shutil.copytree(small[0], release)
    shutil.copytree(small[1], catalog)
    before, rows = (catalog / "build.json").read_bytes(), counts(catalog)
    for rel in ("annotations/keystep_train.json", "annotations/proficiency_demonstration_train.json"):
        with open(release / rel, "ab") as f:  # new bytes, same records: two sources to compile
            f.write(b"\n")
    env = {
        **os.environ,
        "EGOEXO_SQL_WORKERS": "2",  # worker processes even for a release this small
        **({"EGOEXO_SQL_PAUSE_BEFORE_COMPILE": "keystep"} if moment == "compiling" else {}),
    }
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "egoexo_sql", "build", str(release), "--catalog", str(catalog)],
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            env=env,
            start_new_session=True,
        )
    try:
        reached = MOMENTS[moment](proc, catalog, err)
        seen, left = kill_and_watch(proc)
    finally:
        end_session(proc)
    assert proc.returncode == -signal.SIGKILL
    reached += f" ({len(workers(seen))} worker(s) then)"
    assert forkservers(seen), f"{reached}: {describe(seen)}"
    assert not left, f"killed when {reached}; alive {GRACE:.0f} s later: {describe(left)}"

    # the previous catalog is whole; the next build completes and cleans up
    assert (catalog / "build.json").read_bytes() == before
    assert counts(catalog) == rows
    from egoexo_sql.builder import build_catalog

    rep = build_catalog(release, catalog)
    assert {"keystep", "proficiency_demonstration"} <= set(rep.recompiled)
    assert counts(catalog) == rows
    assert [p.name for p in catalog.parent.iterdir() if p.name.startswith("catalog.")] == []


# --------------------------------------------------------------------------- the pool
POOL_SCRIPT = """
import time
from egoexo_sql.processes import process_pool

def run():
    with process_pool(2) as pool:
        for i in range(2):
            pool.submit({task}, i)
        time.sleep(600)

{call}
"""
#: sum over a range runs in C and keeps the GIL: the worker runs no other thread meanwhile
HOLDS_THE_GIL = "sum, (range(10**13),)"


@pytest.mark.parametrize(
    "started_in, task",
    [
        ("main thread", HOLDS_THE_GIL),
        ("main thread", "time.sleep, (600,)"),
        ("other thread", "time.sleep, (600,)"),
    ],
)
def test_workers_end_with_the_killed_pool_owner(tmp_path, started_in, task):
    """The parent-death signal ends a worker busy in C code (which no thread of its own
    can stop while it keeps the GIL), the lifeline an idle one; a pool started outside
    the main thread, whose forkserver has no parent-death signal (see lifeline.py),
    ends too, once its workers have."""
    call = "run()"
    if started_in == "other thread":
        call = "import threading\nt = threading.Thread(target=run)\nt.start()\nt.join()"
    proc = subprocess.Popen(
        [sys.executable, "-c", POOL_SCRIPT.format(task=task, call=call)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for("two workers", proc, lambda: len(workers(session(proc.pid))) == 2)
        time.sleep(0.5)  # into the tasks
        if task == HOLDS_THE_GIL:
            assert any(processes()[p][2] == "R" for p in workers(session(proc.pid))), "no worker computing"
        seen, left = kill_and_watch(proc)
    finally:
        end_session(proc)
    assert len(forkservers(seen)) == 1, describe(seen)
    assert not left, f"alive {GRACE:.0f} s later: {describe(left)}"


def test_a_worker_ends_when_its_lifeline_closes(tmp_path):
    """The portable part (what ends a worker where the OS has no parent-death signal):
    a worker ends when the write end of its lifeline closes, here while its parent lives."""
    import multiprocessing

    reader, writer = multiprocessing.Pipe(duplex=False)
    code = textwrap.dedent(f"""
        import time
        from multiprocessing.connection import Connection
        from egoexo_sql.lifeline import pool_worker_start

        pool_worker_start(Connection({reader.fileno()}, writable=False))
        print("started", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        pass_fds=[reader.fileno()],
    )
    try:
        reader.close()
        assert proc.stdout.readline() == b"started\n"
        time.sleep(0.2)
        assert proc.poll() is None  # the lifeline is open: it runs
        writer.close()
        assert proc.wait(timeout=GRACE) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        writer.close()
