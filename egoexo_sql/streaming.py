"""Streaming sources: compiled one input file at a time, in parallel, with bounded memory.

Most sources return whole Arrow tables (``Source.compile``), which is right for the
metadata and the one-file-per-split annotations. Ego pose is different: one JSON
file per take and per kind, 10 GB in all. A :class:`StreamingSource` instead gives

* ``compile_file(release, path)``: yields ``(table, Arrow chunk)`` pairs for one
  input file (chunks have every column of the table, partition columns included),
  or ``(table, chunk, partition)`` triples where ``partition`` maps each of the
  table's ``partition_by`` columns to its one value for the whole chunk: the chunk
  then leaves those columns out, and the writer neither builds nor checks them row
  by row (a compiler that knows them from the file's path should say so);
* ``unit_of(rel)``: the name of the *unit* an input belongs to. A unit is a stable,
  bounded group of inputs (e.g. ``train-body-automatic-07``: a hash bucket of one
  folder); each unit is written as its own Parquet file per table and partition,
  ``data/<table>/<hive partition>/part-<unit>.parquet``.

The engine (:func:`compile_streaming`, called by :mod:`egoexo_sql.build`) compiles
the units in worker processes (one per core), each streaming its inputs through a
writer that flushes full row groups of :data:`~egoexo_sql.build.ROW_GROUP_ROWS`
rows, so memory is one decoded file plus one row group per table and worker,
whatever the number of takes.

Incremental rebuilds work per file. ``build.json`` records, for every unit, the
rows each input produced in each Parquet file (``[input, first row, rows]``; an
input's rows are contiguous and inputs are written in path order). A unit whose
inputs are all unchanged is hard-linked from the previous catalog; a unit with a
changed, new or vanished input is rewritten, parsing only the changed and new
files and copying the other inputs' rows from the previous Parquet file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator
from urllib.parse import unquote

from .errors import InputError
from .tables import Source

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .release import Release
    from .schema import TableSchema

FileCompiler = Callable[["Release", Path], Iterable[tuple[str, "pa.Table"]]]

#: Below this many bytes of inputs to compile, units are compiled in the building
#: process (starting worker processes costs about half a second).
PARALLEL_MIN_BYTES = 64 << 20
#: Worker processes (None: one per core).
WORKERS: int | None = None


@dataclass(frozen=True)
class StreamingSource(Source):
    """A :class:`~egoexo_sql.tables.Source` compiled file by file (see the module docstring).

    ``compile`` still works (it concatenates every file's chunks in memory), so
    :func:`egoexo_sql.tables.registry.compile_release` covers streaming sources too.
    """

    compile_file: FileCompiler | None = None
    unit_of: Callable[[str], str] | None = None


def streaming_source(
    *,
    name: str,
    group: str,
    inputs: tuple[str, ...],
    tables: tuple[str, ...],
    compile_file: FileCompiler,
    unit_of: Callable[[str], str],
    version: int = 1,
) -> StreamingSource:
    return StreamingSource(
        name=name,
        group=group,
        inputs=inputs,
        tables=tables,
        compile=CompileAll(compile_file, tables),
        version=version,
        compile_file=compile_file,
        unit_of=unit_of,
    )


class CompileAll:
    """``Source.compile`` of a streaming source: every file's chunks, concatenated."""

    def __init__(self, compile_file: FileCompiler, tables: tuple[str, ...]):
        self.compile_file = compile_file
        self.tables = tables

    def __call__(self, release: "Release", files: list[Path]) -> dict[str, "pa.Table"]:
        import pyarrow as pa

        from .schema import get

        chunks: dict[str, list[pa.Table]] = {t: [] for t in self.tables}
        targets = {t: get(t).arrow_schema() for t in self.tables}
        for f in files:
            for t, chunk, *partition in self.compile_file(release, Path(f)):
                if partition:
                    chunk = with_partition_columns(chunk, partition[0], targets[t])
                chunks[t].append(chunk)
        out = {}
        for t, parts in chunks.items():
            target = targets[t]
            parts = [p.select(target.names).cast(target) for p in parts]
            out[t] = pa.concat_tables(parts) if parts else target.empty_table()
        return out


def is_streaming(source: Source) -> bool:
    return isinstance(source, StreamingSource) and source.compile_file is not None


def unit_file_name(unit: str) -> str:
    """``part-<unit>.parquet`` with the unit name made safe for a file name."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in unit)
    return f"part-{safe}.parquet"


# --------------------------------------------------------------------------- main process
@dataclass
class StreamResult:
    """What :func:`compile_streaming` built: per table (rows, files, bytes) and the unit index."""

    tables: dict[str, tuple[int, int, int]]
    units: dict[str, Any]  # unit -> {"inputs": [...], "files": {table: {file: [[input, start, n]]}}}
    compiled_files: list[str]  # inputs that were parsed
    copied_files: list[str]  # inputs whose rows were copied from the previous catalog
    linked_units: list[str]  # units hard-linked whole
    cpu_seconds: float = 0.0  # CPU time of the units (in whichever process ran them)
    hashes: dict[str, tuple[str, int]] = field(default_factory=dict)  # hash_inputs: rel -> (sha256, at)


@dataclass
class StreamJob:
    """One streaming source to compile (the arguments of :func:`compile_streaming`)."""

    source: StreamingSource
    release_root: Path
    inputs: list[tuple[str, str, int]]  # (rel, sha256, bytes), sorted by rel
    schemas: dict[str, "TableSchema"]
    dest_data: Path
    prev_data: Path | None = None
    prev_units: dict[str, Any] | None = None
    prev_sha: dict[str, str] = field(default_factory=dict)
    #: the workers return each parsed input's sha256, from the bytes they parsed
    hash_inputs: bool = False


def compile_streaming(
    source: StreamingSource,
    *,
    release_root: Path,
    inputs: list[tuple[str, str, int]],  # (rel, sha256, bytes), sorted by rel
    schemas: dict[str, "TableSchema"],
    dest_data: Path,
    prev_data: Path | None,
    prev_units: dict[str, Any] | None,
    prev_sha: dict[str, str],
    progress: Callable[[float, str], None] = lambda done, detail: None,
) -> StreamResult:
    """Compile a streaming source into ``dest_data/<table>/``.

    ``prev_units`` (the source's ``units`` in the previous build.json) and
    ``prev_data`` (the previous catalog's ``data/``) enable per-file reuse; pass
    None to compile everything. ``prev_sha`` maps an input to its sha256 then.
    """
    job = StreamJob(source, release_root, inputs, schemas, dest_data, prev_data, prev_units, prev_sha)
    return compile_streaming_all([job], progress=progress)[source.name]


def compile_streaming_all(
    jobs: list[StreamJob],
    progress: Callable[[float, str], None] = lambda done, detail: None,
    finished: Callable[[str, StreamResult], None] = lambda name, result: None,
) -> dict[str, StreamResult]:
    """Compile several streaming sources with one pool of workers: their units are
    run together, biggest first, so the pool starts once and no source waits for
    another's last unit. ``finished(name, result)`` is called as each source ends."""
    planned = [(job, *_plan_units(job)) for job in jobs]
    tasks = [t for _, job_tasks, _ in planned for t in job_tasks]
    todo_bytes = sum(size for task in tasks for _, _, _, size in task["items"])
    total = len(tasks) or 1
    workers = min(WORKERS or os.cpu_count() or 1, len(tasks))
    left = {job.source.name: len(job_tasks) for job, job_tasks, _ in planned}
    results = {job.source.name: result for job, _, result in planned}
    by_name = {job.source.name: job for job in jobs}

    def take(out: dict[str, Any]) -> None:
        _raise_if_error(out)
        name = out["source"]
        res = results[name]
        res.units[out["unit"]] = {"inputs": out["inputs"], "files": out["files"]}
        res.cpu_seconds += out["cpu_seconds"]
        res.hashes.update(out.get("hashes", {}))
        left[name] -= 1
        if left[name] == 0:
            _finish(by_name[name], res)
            finished(name, res)

    progress(0, jobs[0].source.name if jobs else "")
    for name, n in left.items():  # nothing to compile: done already
        if n == 0:
            _finish(by_name[name], results[name])
            finished(name, results[name])
    if workers > 1 and todo_bytes >= PARALLEL_MIN_BYTES:
        _run_parallel(tasks, workers, lambda n, tag: progress(n / total, tag), take)
    else:
        for n, task in enumerate(tasks):
            take(_run_unit(task))
            progress((n + 1) / total, _tag(task))
    return results


def _plan_units(job: StreamJob) -> tuple[list[dict[str, Any]], StreamResult]:
    """The units of ``job`` to run (as worker tasks), and its result with the unchanged
    units already hard-linked from the previous catalog."""
    source, prev_data = job.source, job.prev_data
    units: dict[str, list[tuple[str, str, int]]] = {}
    for rel, sha, size in job.inputs:
        units.setdefault(source.unit_of(rel), []).append((rel, sha, size))
    prev_units = job.prev_units if (job.prev_units is not None and prev_data is not None) else {}
    prev_sha = job.prev_sha

    tasks: list[dict[str, Any]] = []
    result = StreamResult({}, {}, [], [], [])
    linked: dict[str, dict[str, Any]] = {}
    for unit in sorted(units):
        items = units[unit]
        prev = prev_units.get(unit)
        prev_inputs = _inputs_of(prev) if prev else {}
        unchanged = prev is not None and set(prev_inputs) == {r for r, _, _ in items} and all(
            prev_sha.get(r) == sha for r, sha, _ in items
        )
        if unchanged and _prev_files_exist(prev, prev_data):
            linked[unit] = prev
            continue
        todo = []
        for rel, sha, size in items:
            spans = prev_inputs.get(rel) if prev is not None else None
            if spans is not None and prev_sha.get(rel) == sha and _prev_files_exist(prev, prev_data):
                todo.append((rel, "copy", spans, 0))
                result.copied_files.append(rel)
            else:
                todo.append((rel, "compile", None, size))
                result.compiled_files.append(rel)
        tasks.append({
            "source": source,
            "release_root": str(job.release_root),
            "unit": unit,
            "items": todo,
            "dest_data": str(job.dest_data),
            "prev_data": str(prev_data) if prev_data is not None else None,
            "tables": {t: job.schemas[t] for t in source.tables},
            "hash_inputs": job.hash_inputs,
        })

    # hard-link the unchanged units' files
    for unit, prev in linked.items():
        for t, files in prev.get("files", {}).items():
            for f in files:
                _link_file(prev_data / t / f, job.dest_data / t / f)
        result.units[unit] = prev
        result.linked_units.append(unit)
    return tasks, result


def _finish(job: StreamJob, result: StreamResult) -> None:
    """Per table: rows, files, bytes; a table no unit wrote to still gets a file."""
    for t in job.source.tables:
        d = job.dest_data / t
        rows = 0
        for u in result.units.values():
            for spans in u.get("files", {}).get(t, {}).values():
                rows += sum(n for _, _, n in spans)
        files = sorted(d.rglob("*.parquet")) if d.is_dir() else []
        if not files:
            import pyarrow.parquet as pq

            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(job.schemas[t].empty_table(), d / "part-0.parquet", compression="zstd")
            files = [d / "part-0.parquet"]
        result.tables[t] = (rows, len(files), sum(f.stat().st_size for f in files))


def _inputs_of(unit_rec: dict[str, Any]) -> dict[str, dict[str, list]]:
    """input -> {table: [[file, start, n], ...]} from a unit's record."""
    out: dict[str, dict[str, list]] = {}
    for rel in unit_rec.get("inputs", []):
        out.setdefault(rel, {})
    for t, files in unit_rec.get("files", {}).items():
        for f, spans in files.items():
            for rel, start, n in spans:
                out.setdefault(rel, {}).setdefault(t, []).append([f, start, n])
    return out


def _prev_files_exist(unit_rec: dict[str, Any], prev_data: Path | None) -> bool:
    if prev_data is None:
        return False
    return all(
        (prev_data / t / f).is_file() for t, files in unit_rec.get("files", {}).items() for f in files
    )


def _link_file(src: Path, dst: Path) -> None:
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _tag(task: dict[str, Any]) -> str:
    """How progress names a unit: ``<source>: <unit>``."""
    return f"{task['source'].name}: {task['unit']}"


def _run_parallel(tasks: list[dict[str, Any]], workers: int, progress: Callable[[int, str], None],
                  take: Callable[[dict[str, Any]], None]) -> None:
    """Run ``tasks`` in ``workers`` processes; ``take`` each output as it arrives."""
    from concurrent.futures import FIRST_EXCEPTION, wait

    from .processes import process_pool

    # biggest units first, so the last one to finish is a small one
    order = sorted(tasks, key=lambda t: -sum(s for _, _, _, s in t["items"]))
    n = 0
    calls = [(_run_unit, (t,), _tag(t)) for t in order]
    with process_pool(workers, calls) as pool:
        futures = pool.futures
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for f in done:
                take(f.result())
                n += 1
                progress(n, futures[f])


def _raise_if_error(out: dict[str, Any]) -> None:
    err = out.get("input_error")
    if err:
        raise InputError(*err)


# --------------------------------------------------------------------------- worker
def _run_unit(task: dict[str, Any]) -> dict[str, Any]:
    """Compile one unit (runs in a worker process or in the building process)."""
    from .build import hash_file
    from .release import Release, gc_paused

    source: StreamingSource = task["source"]
    dest_data = Path(task["dest_data"])
    prev_data = Path(task["prev_data"]) if task["prev_data"] else None
    release = Release(task["release_root"])
    hashes: dict[str, tuple[str, int]] = {}
    if task.get("hash_inputs"):
        release.read_hashes = {}  # read_bytes hashes what it reads
    fname = unit_file_name(task["unit"])
    writers = {t: _UnitWriter(sch, dest_data / t, fname) for t, sch in task["tables"].items()}
    readers: dict[tuple[str, str], _SpanReader] = {}
    cpu0 = time.process_time()
    try:
        with gc_paused():
            for rel, action, spans, _size in task["items"]:
                for w in writers.values():
                    w.begin_input(rel)
                if action == "compile":
                    for t, chunk, *partition in source.compile_file(release, release.path(rel)):
                        writers[t].add(chunk, *partition)
                    if release.read_hashes is not None:  # a compiler that streams the file: read it again
                        hashes[rel] = release.read_hashes.pop(rel, None) or hash_file(str(release.path(rel)), rel)
                else:
                    for t, t_spans in spans.items():
                        for f, start, n in t_spans:
                            key = (t, f)
                            if key not in readers:
                                readers[key] = _SpanReader(prev_data / t / f, writers[t])
                            reader = readers[key]
                            for chunk in reader.read(start, n):
                                writers[t].add(chunk, reader.part_values)
                for w in writers.values():
                    w.end_input()
        files = {t: w.close() for t, w in writers.items()}
    except InputError as e:
        for w in writers.values():
            w.abort()
        return {"source": source.name, "unit": task["unit"],
                "input_error": (e.file, e.json_path, e.expected, e.got)}
    except BaseException as e:
        for w in writers.values():
            w.abort()
        e.add_note(f"while compiling unit {task['unit']!r} of source {source.name!r}")
        raise
    return {"source": source.name, "unit": task["unit"], "inputs": [it[0] for it in task["items"]],
            "hashes": hashes,
            "files": {t: f for t, f in files.items() if f}, "cpu_seconds": time.process_time() - cpu0}


class _UnitWriter:
    """Writes one unit's rows of one table: a Parquet file per hive partition, full
    row groups, and the row span of every input in every file."""

    def __init__(self, schema: "TableSchema", dest: Path, file_name: str):
        from .build import _TableWriter

        self._conformer = _TableWriter(schema, dest)  # its column checks and casts
        self.schema = schema
        self.part = list(schema.partition_by)
        self.file_schema = self._conformer.file_schema
        self.dest = dest
        self.file_name = file_name
        self.buffers: dict[tuple, list] = {}
        self.buffered: dict[tuple, int] = {}
        self.writers: dict[tuple, Any] = {}
        self.rows: dict[tuple, int] = {}  # rows routed to each partition file so far
        self.spans: dict[tuple, list[list]] = {}
        self._input: str | None = None
        self._start: dict[tuple, int] = {}

    def file_of(self, key: tuple) -> str:
        from .build import _hive_value

        parts = [f"{c}={_hive_value(v)}" for c, v in zip(self.part, key)]
        return "/".join(parts + [self.file_name])

    def begin_input(self, rel: str) -> None:
        self._input = rel
        self._start = dict(self.rows)

    def end_input(self) -> None:
        for key, n in self.rows.items():
            start = self._start.get(key, 0)
            if n > start:
                self.spans.setdefault(key, []).append([self._input, start, n - start])
        self._input = None

    def add(self, chunk: "pa.Table", partition: dict[str, Any] | None = None) -> None:
        """Rows of the table; with ``partition`` (every partition column's value), rows
        without the partition columns."""
        from .build import _split_partitions

        if partition is not None:
            key = self._conformer.partition_key(partition)
            t = self._conformer._conform(chunk, partitioned=True)
            if t.num_rows:
                self._route(key, t)
            return
        t = self._conformer._conform(chunk)
        if t.num_rows == 0:
            return
        if not self.part:
            self._route((), t)
            return
        # usually a chunk is one file's rows, all in one partition: no sort needed
        firsts = [t.column(c)[0].as_py() for c in self.part]
        if all(_constant(t.column(c), v) for c, v in zip(self.part, firsts)):
            self._route(tuple(firsts), t.drop_columns(self.part))
            return
        for key, sub in _split_partitions(t, self.part):
            self._route(key, sub.drop_columns(self.part))

    def _route(self, key: tuple, t: "pa.Table") -> None:
        from .build import ROW_GROUP_ROWS

        self.rows[key] = self.rows.get(key, 0) + t.num_rows
        self.buffers.setdefault(key, []).append(t)
        self.buffered[key] = self.buffered.get(key, 0) + t.num_rows
        if self.buffered[key] >= ROW_GROUP_ROWS:
            self._flush(key, final=False)

    def _flush(self, key: tuple, final: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .build import ROW_GROUP_ROWS

        chunks = self.buffers.pop(key, [])
        self.buffered.pop(key, None)
        if not chunks:
            return
        t = pa.concat_tables(chunks) if len(chunks) > 1 else chunks[0]
        full = t.num_rows if final else (t.num_rows // ROW_GROUP_ROWS) * ROW_GROUP_ROWS
        if full < t.num_rows:  # keep the tail for the next row group
            tail = t.slice(full)
            self.buffers[key] = [tail]
            self.buffered[key] = tail.num_rows
            t = t.slice(0, full)
        if t.num_rows == 0:
            return
        w = self.writers.get(key)
        if w is None:
            path = self.dest / self.file_of(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            from .build import parquet_options

            w = pq.ParquetWriter(path, self.file_schema, **parquet_options(self.file_schema, self.schema))
            self.writers[key] = w
        w.write_table(t.combine_chunks(), row_group_size=ROW_GROUP_ROWS)

    def close(self) -> dict[str, list[list]]:
        """Flush and close; {file relative to the table folder: [[input, start, n], ...]}."""
        for key in list(self.buffers):
            self._flush(key, final=True)
        for w in self.writers.values():
            w.close()
        return {self.file_of(k): v for k, v in self.spans.items()}

    def abort(self) -> None:
        from .build import close_quietly

        close_quietly(self.writers.values())


def _constant(col: "pa.ChunkedArray", value: Any) -> bool:
    """Does every row of ``col`` hold ``value``? (Asked of each partition column of every
    chunk: string columns are checked on their buffers, ~7x faster than compute.)"""
    import pyarrow as pa
    import pyarrow.compute as pc

    if value is None:
        return col.null_count == len(col)
    if col.null_count:
        return False
    if isinstance(value, str) and all(pa.types.is_string(c.type) for c in col.chunks):
        import numpy as np

        b = value.encode()
        for c in col.chunks:
            n = len(c)
            off = np.frombuffer(c.buffers()[1], np.int32, n + 1, c.offset * 4)
            if off[n] - off[0] != len(b) * n or not (np.diff(off) == len(b)).all():
                return False
            if c.buffers()[2].to_pybytes()[off[0]:off[n]] != b * n:
                return False
        return True
    return pc.all(pc.equal(col, value)).as_py()


class _SpanReader:
    """Reads row spans, in increasing order, of a previous catalog's Parquet file; its
    rows have no partition columns, whose values (from the folder names) are
    :attr:`part_values`."""

    def __init__(self, path: Path, writer: _UnitWriter):
        import pyarrow.parquet as pq

        from .build import ROW_GROUP_ROWS

        self.path = path
        self.part_values = _partition_values(path, writer.part, writer._conformer.target)
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP_ROWS)
        self._pos = 0  # row index of the start of self._cur
        self._cur = None

    def read(self, start: int, n: int) -> Iterator["pa.Table"]:
        import pyarrow as pa

        end = start + n
        while n > 0 and start < end:
            if self._cur is None or start >= self._pos + self._cur.num_rows:
                if self._cur is not None:
                    self._pos += self._cur.num_rows
                try:
                    self._cur = next(self._batches)
                except StopIteration:
                    raise RuntimeError(
                        f"{self.path} has fewer rows than build.json records"
                    ) from None
                continue
            if start < self._pos:
                raise RuntimeError(f"{self.path}: row spans read out of order")
            lo = start - self._pos
            hi = min(end - self._pos, self._cur.num_rows)
            batch = self._cur.slice(lo, hi - lo)
            yield pa.Table.from_batches([batch])
            start = self._pos + hi


def with_partition_columns(t: "pa.Table", values: dict[str, Any], target: "pa.Schema") -> "pa.Table":
    """``t`` (rows of one hive partition file) with its partition columns appended, each
    holding the folder's value in the target schema's type (None: NULL)."""
    import pyarrow as pa

    for name, value in values.items():
        field = target.field(name)
        t = t.append_column(field, pa.repeat(value, t.num_rows).cast(field.type)
                            if value is not None else pa.nulls(t.num_rows, field.type))
    return t


def _partition_values(path: Path, part: list[str], target: "pa.Schema") -> dict[str, Any]:
    from .build import HIVE_NULL

    values: dict[str, Any] = {}
    for d in path.parent.parts:
        if "=" in d:
            k, _, v = d.partition("=")
            if k in part:
                values[k] = None if v == HIVE_NULL else unquote(v)
    missing = [c for c in part if c not in values]
    if missing:
        raise RuntimeError(f"{path}: no folder for partition column(s) {missing}")
    return values
