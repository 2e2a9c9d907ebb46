"""The compile step: every source to compile, in one engine.

Two kinds of work go through the same scheduler (:func:`compile_sources`):

* a whole source (``Source.compile(release, files)`` -> Arrow tables, written by
  :func:`~egoexo_sql.builder.parquet.write_table`): one task;
* a streaming source: one task per unit that has to be written
  (:mod:`egoexo_sql.builder.units`; unchanged units are hard-linked before anything runs).

Tasks run in worker processes (:mod:`egoexo_sql.processes`: forkserver, one pool for
both kinds) when there is enough work, else in the building process. Workers write
their Parquet into the staging folder themselves: only row counts and row spans come
back. The tasks other sources wait for (the tables a source ``uses``) start first,
then the biggest, so the cores finish together; a source that ``uses`` tables starts
as soon as they are written. Whole sources go to the workers when
:func:`source_workers` says so (``EGOEXO_SQL_WORKERS``, else one per core when there
are 32 MB of inputs to compile and two sources at least; never with ``--lenient``,
whose records set aside are collected in the building process); units when there are
:data:`PARALLEL_MIN_BYTES` of files to parse (:data:`WORKERS` processes).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..tables import is_streaming
from .parquet import read_table_dir, write_table
from .units import StreamJob, StreamResult, add_unit, finish_units, plan_units, run_unit

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..schema import TableSchema
    from ..tables import Source
    from .scan import Input

#: Below this many bytes of streaming inputs to parse, units are compiled in the
#: building process (starting worker processes costs about half a second).
PARALLEL_MIN_BYTES = 64 << 20
#: Below this many bytes of whole sources' inputs, they compile in the building process.
SOURCES_MIN_BYTES = 32 << 20
#: Worker processes for units (None: one per core).
WORKERS: int | None = None
#: Tests only: ``EGOEXO_SQL_PAUSE_BEFORE_COMPILE=<source name>`` (or ``*``) makes the
#: build print ``paused before compiling <source>`` on stderr and sleep there, so a
#: test can kill it at a known point (tests/test_robustness.py).
PAUSE_ENV = "EGOEXO_SQL_PAUSE_BEFORE_COMPILE"


def default_release(root: Path) -> Any:
    from ..release import Release

    return Release(root)


def lenient_release(root: Path) -> Any:
    from ..release import Release

    return Release(root, lenient=True)


@dataclass
class Compiled:
    """A source compiled by this build: (rows, files, bytes) per table, and what
    build.json records of it."""

    source: str
    tables: dict[str, tuple[int, int, int]]
    seconds: float
    write_seconds: float = 0.0  # of which writing Parquet (whole sources)
    normalised: list[list[Any]] = field(default_factory=list)  # [file, variant, values]
    rejects: list[dict[str, str]] | None = None  # records set aside (--lenient)
    stream: StreamResult | None = None  # a streaming source's units
    #: (sha256, time the read began) of the inputs it read whole, by relative path, when
    #: the build asked (``hash_reads``): the sha256 of those is not computed up front
    hashes: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass
class _Task:
    source: str
    tag: str  # progress detail
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    size: int  # bytes to parse: the biggest start first
    after: frozenset[str]  # sources that must be finished first
    in_pool: bool
    weight: float  # its share of one source, for progress


def source_workers(
    sources: Sequence[Source],
    inputs_by_source: Mapping[str, list[Input]],
    lenient: bool,
    local_release: bool,
) -> int:
    """Processes for the whole sources: one per core when there is enough work (forking
    costs ~50 ms per worker), else 1 (in this process); 1 as well when the sources
    cannot be sent to a worker process (test registries hold closures), or when
    ``local_release`` (a release object made by the caller, only here). Recorded in
    build.json as ``compile_workers``."""
    if lenient:  # its Release, in this process, collects the records set aside
        return 1
    work = sum(i.bytes for s in sources for i in inputs_by_source[s.name])
    env = os.environ.get("EGOEXO_SQL_WORKERS")
    if env:
        n = max(1, int(env))
    elif len(sources) < 2 or work < SOURCES_MIN_BYTES or local_release:
        return 1
    else:
        n = min(len(sources), os.cpu_count() or 1)
    if n > 1:
        import pickle

        try:
            pickle.dumps(list(sources))
        except Exception:
            n = 1
    return n


def compile_sources(
    sources: Sequence[Source],
    *,
    release: Any,
    inputs_by_source: Mapping[str, list[Input]],
    schemas: Mapping[str, TableSchema],
    data: Path,
    used: Mapping[str, Path | None],
    workers: int,
    stream_jobs: Mapping[str, StreamJob],
    progress: Callable[[float, str], None],
    done: Callable[[Compiled], None],
    hash_reads: frozenset[str] = frozenset(),
) -> None:
    """Compile ``sources`` (in registry order) into ``data``; ``done(compiled)`` is called
    in this process as each source ends. ``release`` is this process's release object;
    ``workers`` the processes for whole sources (:func:`source_workers`);
    ``stream_jobs`` the streaming sources' jobs; ``used`` where the tables a source
    ``uses`` are (:meth:`~egoexo_sql.builder.plan.Planner.used_tables`)."""
    t0 = time.perf_counter()
    made_by = {t: s.name for s in sources for t in s.tables}
    finished: set[str] = set()
    completed = 0.0
    tasks: list[_Task] = []

    # streaming sources: their units (unchanged ones are linked now)
    streams: dict[str, list[Any]] = {}  # name -> [job, result, units left]
    for s in sources:
        if is_streaming(s):
            pause_for_tests(s.name)
            job = stream_jobs[s.name]
            unit_tasks, result = plan_units(job)
            streams[s.name] = [job, result, len(unit_tasks)]
            tasks += [
                _Task(s.name, u.tag, run_unit, (u,), u.size, frozenset(), False, 0.0) for u in unit_tasks
            ]
    if tasks:
        with_units = sum(1 for _, _, left in streams.values() if left)
        for t in tasks:
            t.weight = with_units / len(tasks)
    unit_workers = min(WORKERS or os.cpu_count() or 1, len(tasks))
    if unit_workers > 1 and sum(t.size for t in tasks) >= PARALLEL_MIN_BYTES:
        for t in tasks:
            t.in_pool = True
    else:
        unit_workers = 1

    # whole sources
    root = Path(release.root) if hasattr(release, "root") else None
    for s in sources:
        if is_streaming(s):
            continue
        after = frozenset(made_by[t] for t in s.uses if t in made_by and made_by[t] != s.name)
        size = sum(i.bytes for i in inputs_by_source[s.name])
        if workers > 1:
            sub = {t: schemas[t] for t in (*s.tables, *s.uses) if t in schemas}
            tasks.append(
                _Task(
                    s.name,
                    s.name,
                    _compile_in_worker,
                    # paths as strings: 20,000 Path objects cost 0.25 s to make and unpickle
                    (
                        s,
                        root,
                        [i.file for i in inputs_by_source[s.name]],
                        sub,
                        data,
                        dict(used),
                        s.name in hash_reads,
                    ),
                    size,
                    after,
                    True,
                    1.0,
                )
            )
        else:
            tasks.append(
                _Task(
                    s.name,
                    s.name,
                    _compile_here,
                    (
                        s,
                        release,
                        [i.path for i in inputs_by_source[s.name]],
                        schemas,
                        data,
                        used,
                        s.name in hash_reads,
                    ),
                    size,
                    after,
                    False,
                    1.0,
                )
            )

    def finish_stream(name: str) -> None:
        nonlocal completed
        job, result, _ = streams[name]
        finish_units(job, result)
        finished.add(name)
        done(Compiled(name, result.tables, time.perf_counter() - t0, stream=result))

    def take(task: _Task, out: Any) -> None:
        nonlocal completed
        completed += task.weight
        if task.source in streams:
            entry = streams[task.source]
            add_unit(entry[1], out)
            entry[2] -= 1
            progress(completed, task.tag)
            if entry[2] == 0:
                finish_stream(task.source)
            return
        if out.rejects is None and hasattr(release, "take_rejects"):
            out.rejects = release.take_rejects()
        finished.add(task.source)
        progress(completed, task.tag)
        done(out)

    def finish_empty_streams() -> None:
        """The streaming sources with nothing to compile (their tables are written
        empty: the first use of pyarrow in this process, once the workers have work)."""
        nonlocal completed
        for name, (_, _, left) in streams.items():
            if left == 0:
                completed += 1
                finish_stream(name)

    progress(0, next((s.name for s in sources), ""))
    pool_size = max(unit_workers, workers)
    in_pool = [t for t in tasks if t.in_pool]
    here = [t for t in tasks if not t.in_pool]
    if pool_size > 1 and in_pool:
        needed = {a for t in tasks for a in t.after}
        in_pool.sort(key=lambda t: (t.source not in needed, -t.size))
        _run_parallel(in_pool, here, pool_size, lambda t: t.after <= finished, take, finish_empty_streams)
    else:
        finish_empty_streams()
        _run_here(here, lambda t: t.after <= finished, take)


def _run_here(tasks: list[_Task], ready: Callable[[_Task], bool], take: Callable[[_Task, Any], None]) -> None:
    """Run ``tasks`` in this process, in order, a task after those it waits for."""
    todo = list(tasks)
    while todo:
        t = next((x for x in todo if ready(x)), todo[0])
        todo.remove(t)
        take(t, t.fn(*t.args))


def _run_parallel(
    pool_tasks: list[_Task],
    here: list[_Task],
    workers: int,
    ready: Callable[[_Task], bool],
    take: Callable[[_Task, Any], None],
    started: Callable[[], None] = lambda: None,
) -> None:
    """Run ``pool_tasks`` in ``workers`` processes (in that order, a task once those it
    waits for are finished; one that waited goes next) and ``here`` in this process
    meanwhile; ``take`` each result in this process as it arrives. ``started`` runs in
    this process once the first tasks are submitted."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from ..processes import process_pool

    queue, local = list(pool_tasks), list(here)
    with process_pool(workers) as pool:
        running: set[Any] = set()

        def submit(limit: int) -> None:
            while queue and len(running) < limit:
                t = next((x for x in queue if x.after and ready(x)), None) or next(
                    (x for x in queue if ready(x)), None
                )
                if t is None:
                    return
                queue.remove(t)
                running.add(pool.submit(t.fn, t.args, t))

        def collect(futures: set[Any]) -> None:
            for f in futures:
                take(pool.futures[f], f.result())

        submit(workers)
        started()
        while queue or local or running:
            submit(workers)
            t = next((x for x in local if ready(x)), None)
            if t is not None:
                submit(len(queue) + len(running))  # the pool keeps busy while this process works
                local.remove(t)
                take(t, t.fn(*t.args))
                ended = {f for f in running if f.done()}
                running -= ended
                collect(ended)
                continue
            if not running:  # pragma: no cover - a cycle in `uses`
                raise RuntimeError(f"sources {sorted({x.source for x in queue + local})} wait for each other")
            ended, running = wait(running, return_when=FIRST_COMPLETED)
            collect(ended)


def compile_one(
    s: Source,
    release: Any,
    files: list[Path],
    schemas: Mapping[str, TableSchema],
    data: Path,
    used: Mapping[str, Path | None] | None = None,
) -> tuple[dict[str, tuple[int, int, int]], float, list[list[Any]]]:
    """Compile one whole source and write its tables; returns ({table: (rows, files,
    bytes)}, seconds spent writing Parquet, [file, variant, values] of the values it read
    through a recorded variant). ``used``: where the tables ``s.uses`` are."""
    from .. import variants

    pause_for_tests(s.name)
    variants.take_counts()  # what an earlier source in this process left
    extra: tuple[dict[str, pa.Table], ...] = ()
    if s.uses:
        from ..schema import get

        extra = (
            {t: read_table_dir(schemas[t] if t in schemas else get(t), (used or {}).get(t)) for t in s.uses},
        )
    try:
        if getattr(release, "lenient", False):
            from ..release import compile_leniently

            result = compile_leniently(s.compile, release, files, *extra)
        else:
            result = s.compile(release, files, *extra)
    except Exception as e:
        if not isinstance(e, InputError):
            e.add_note(f"while compiling source {s.name!r}")
        raise
    if not isinstance(result, Mapping):
        raise TypeError(f"source {s.name!r} returned {type(result).__name__}, not a dict")
    missing = [t for t in s.tables if t not in result]
    unknown = [t for t in result if t not in s.tables]
    if missing or unknown:
        raise ValueError(f"source {s.name!r} declares {list(s.tables)} but returned {list(result)}")
    out = {}
    t0 = time.perf_counter()
    for t in s.tables:
        try:
            out[t] = write_table(schemas[t], result[t], data / t)
        except InputError:
            raise
        except Exception as e:
            e.add_note(f"while writing table {t!r} of source {s.name!r}")
            raise
    return out, time.perf_counter() - t0, [list(c) for c in variants.take_counts()]


def _compile_here(
    s: Source,
    release: Any,
    files: list[Path],
    schemas: Mapping[str, TableSchema],
    data: Path,
    used: Mapping[str, Path | None],
    hash_reads: bool = False,
) -> Compiled:
    """A whole source in this process, with the records its release set aside."""
    t0 = time.perf_counter()
    with _reads_hashed(release, hash_reads) as hashes:
        tables, write_s, normalised = compile_one(s, release, files, schemas, data, used)
    rejects = release.take_rejects() if hasattr(release, "take_rejects") else None
    return Compiled(s.name, tables, time.perf_counter() - t0, write_s, normalised, rejects, hashes=hashes)


def _compile_in_worker(
    s: Source,
    root: Path,
    files: list[str],
    schemas: dict[str, TableSchema],
    data: Path,
    used: Mapping[str, Path | None],
    hash_reads: bool = False,
) -> Compiled:
    t0 = time.perf_counter()
    release = default_release(root)
    with _reads_hashed(release, hash_reads) as hashes:
        tables, write_s, normalised = compile_one(s, release, [Path(f) for f in files], schemas, data, used)
    return Compiled(s.name, tables, time.perf_counter() - t0, write_s, normalised, hashes=hashes)


@contextmanager
def _reads_hashed(release: Any, on: bool) -> Iterator[dict[str, tuple[str, int]]]:
    """While ``on``, the release's ``read_bytes`` hashes what it reads; the dict yielded
    holds those (sha256, time the read began) by relative path once the block ends."""
    hashes: dict[str, tuple[str, int]] = {}
    if not (on and hasattr(release, "read_hashes")):
        yield hashes
        return
    before = release.read_hashes
    release.read_hashes = {}
    try:
        yield hashes
        hashes.update(release.read_hashes or {})
    finally:
        release.read_hashes = before


def pause_for_tests(source: str) -> None:
    """See :data:`PAUSE_ENV`."""
    want = os.environ.get(PAUSE_ENV)
    if want and want in (source, "*"):
        print(f"paused before compiling {source}", file=sys.stderr, flush=True)
        time.sleep(600)
