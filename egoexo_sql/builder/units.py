"""Streaming sources' units: what to run, running one, and per-file reuse.

A :class:`~egoexo_sql.tables.StreamingSource` is compiled unit by unit (a unit is a
stable group of its input files, ``unit_of(rel)``). :func:`plan_units` turns a source
into the units to run (:class:`UnitTask`, run by the compile step's workers with
:func:`run_unit`), hard-linking unchanged units from the previous catalog; each unit
streams its inputs through one :class:`~egoexo_sql.builder.parquet.TableWriter` per table
into ``data/<table>/<hive partition>/part-<unit>.parquet``, so memory is one decoded
file plus one row group per table and worker, whatever the number of takes.

Incremental rebuilds work per file. ``build.json`` records, for every unit, the rows
each input produced in each Parquet file (``[input, first row, rows]``; an input's rows
are contiguous and inputs are written in path order). A unit whose inputs are all
unchanged is hard-linked from the previous catalog; a unit with a changed, new or
vanished input is rewritten, parsing only the changed and new files and copying the
other inputs' rows from the previous Parquet file (:class:`SpanReader`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..memory import release_unused_memory
from .links import link_file
from .parquet import ROW_GROUP_ROWS, TableWriter, partition_values, write_empty

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..schema import TableSchema
    from ..tables import StreamingSource


#: within a unit, collect garbage and give memory back after this many input bytes
RELEASE_EVERY_BYTES = 256 << 20


@dataclass
class StreamJob:
    """One streaming source to compile."""

    source: StreamingSource
    release_root: Path
    inputs: list[tuple[str, str, int]]  # (rel, sha256, bytes), sorted by rel
    schemas: dict[str, TableSchema]
    dest_data: Path
    prev_data: Path | None = None  # the previous catalog's data/ (None: compile everything)
    prev_units: dict[str, Any] | None = None  # the source's units in the previous build.json
    prev_sha: dict[str, str | None] = field(default_factory=dict)  # input -> sha256 the units were made from
    #: the workers return each parsed input's sha256, from the bytes they parse
    hash_inputs: bool = False


@dataclass
class StreamResult:
    """What a streaming source's units built: per table (rows, files, bytes) and the unit index."""

    tables: dict[str, tuple[int, int, int]]
    units: dict[str, Any]  # unit -> {"inputs": [...], "files": {table: {file: [[input, start, n]]}}}
    compiled_files: list[str]  # inputs that were parsed
    copied_files: list[str]  # inputs whose rows were copied from the previous catalog
    linked_units: list[str]  # units hard-linked whole
    cpu_seconds: float = 0.0  # CPU time of the units (in whichever process ran them)
    hashes: dict[str, tuple[str, int]] = field(default_factory=dict)  # hash_inputs: rel -> (sha256, at)


@dataclass
class UnitTask:
    """One unit to write: its inputs, each compiled or copied from the previous catalog."""

    source: StreamingSource
    release_root: str
    unit: str
    items: list[tuple[str, str, Any, int]]  # (rel, "compile" | "copy", spans, bytes to parse)
    dest_data: str
    prev_data: str | None
    tables: dict[str, TableSchema]
    hash_inputs: bool

    @property
    def size(self) -> int:
        return sum(size for *_, size in self.items)

    @property
    def tag(self) -> str:
        """How progress names a unit: ``<source>: <unit>``."""
        return f"{self.source.name}: {self.unit}"


def unit_file_name(unit: str) -> str:
    """``part-<unit>.parquet`` with the unit name made safe for a file name."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in unit)
    return f"part-{safe}.parquet"


def plan_units(job: StreamJob) -> tuple[list[UnitTask], StreamResult]:
    """The units of ``job`` to run, and its result with the unchanged units already
    hard-linked from the previous catalog."""
    source, prev_data = job.source, job.prev_data
    units: dict[str, list[tuple[str, str, int]]] = {}
    for rel, sha, size in job.inputs:
        units.setdefault(source.unit_of(rel), []).append((rel, sha, size))
    prev_units = job.prev_units if (job.prev_units is not None and prev_data is not None) else {}
    prev_sha = job.prev_sha
    context = getattr(source, "context", ())
    if context and any(
        prev_sha.get(rel) != sha for rel, sha, _ in job.inputs if any(fnmatchcase(rel, g) for g in context)
    ):
        prev_units = {}  # an input every unit depends on changed: compile them all
    whole = getattr(source, "whole_units", False)

    tasks: list[UnitTask] = []
    result = StreamResult({}, {}, [], [], [])
    linked: dict[str, dict[str, Any]] = {}
    for unit in sorted(units):
        items = units[unit]
        prev = prev_units.get(unit)
        prev_inputs = _inputs_of(prev) if prev else {}
        unchanged = (
            prev is not None
            and set(prev_inputs) == {r for r, _, _ in items}
            and all(prev_sha.get(r) == sha for r, sha, _ in items)
        )
        if prev is not None and unchanged and _prev_files_exist(prev, prev_data):
            linked[unit] = prev
            continue
        todo: list[tuple[str, str, Any, int]] = []
        for rel, sha, size in items:
            spans = prev_inputs.get(rel) if prev is not None else None
            if (
                prev is not None
                and not whole
                and spans is not None
                and prev_sha.get(rel) == sha
                and _prev_files_exist(prev, prev_data)
            ):
                todo.append((rel, "copy", spans, 0))
                result.copied_files.append(rel)
            else:
                todo.append((rel, "compile", None, size))
                result.compiled_files.append(rel)
        tasks.append(
            UnitTask(
                source=source,
                release_root=str(job.release_root),
                unit=unit,
                items=todo,
                dest_data=str(job.dest_data),
                prev_data=str(prev_data) if prev_data is not None else None,
                tables={t: job.schemas[t] for t in source.tables},
                hash_inputs=job.hash_inputs,
            )
        )

    # hard-link the unchanged units' files
    for unit, prev in linked.items():
        for t, files in prev.get("files", {}).items():
            for f in files:
                link_file(prev_data / t / f, job.dest_data / t / f)
        result.units[unit] = prev
        result.linked_units.append(unit)
    return tasks, result


def add_unit(result: StreamResult, out: dict[str, Any]) -> None:
    """Add what :func:`run_unit` returned to the source's result (or raise its InputError)."""
    err = out.get("input_error")
    if err:
        raise InputError(*err)
    result.units[out["unit"]] = {"inputs": out["inputs"], "files": out["files"]}
    result.cpu_seconds += out["cpu_seconds"]
    result.hashes.update(out.get("hashes", {}))


def finish_units(job: StreamJob, result: StreamResult) -> None:
    """Per table: rows, files, bytes; a table no unit wrote to still gets a file."""
    for t in job.source.tables:
        d = job.dest_data / t
        rows = 0
        for u in result.units.values():
            for spans in u.get("files", {}).get(t, {}).values():
                rows += sum(n for _, _, n in spans)
        files = sorted(d.rglob("*.parquet")) if d.is_dir() else []
        if not files:
            files = [write_empty(job.schemas[t], d)]
        result.tables[t] = (rows, len(files), sum(f.stat().st_size for f in files))


def run_unit(task: UnitTask) -> dict[str, Any]:
    """Compile one unit (runs in a worker process or in the building process). An
    InputError comes back as ``input_error`` (file, JSON path, expected, got)."""
    from ..release import Release, gc_paused
    from .scan import hash_file

    source = task.source
    dest_data = Path(task.dest_data)
    prev_data = Path(task.prev_data) if task.prev_data else None
    release = Release(task.release_root)
    hashes: dict[str, tuple[str, int]] = {}
    if task.hash_inputs:
        release.read_hashes = {}  # read_bytes hashes what it reads
    fname = unit_file_name(task.unit)
    per_input = getattr(source, "row_group_per_input", False)
    writers = {
        t: TableWriter(sch, dest_data / t, fname, row_group_per_input=per_input)
        for t, sch in task.tables.items()
    }
    readers: dict[tuple[str, str], SpanReader] = {}
    cpu0 = time.process_time()
    since_release = 0  # input bytes parsed since memory was last given back
    try:
        with gc_paused():
            for rel, action, spans, size in task.items:
                for w in writers.values():
                    w.begin_input(rel)
                if action == "compile":
                    for t, chunk, *partition in source.compile_file(release, release.path(rel)):
                        writers[t].add(chunk, *partition)
                    if release.read_hashes is not None:  # a compiler that streams the file: read it again
                        read = release.read_hashes.pop(rel, None)
                        hashes[rel] = read or hash_file(str(release.path(rel)), rel)
                else:
                    for t, t_spans in spans.items():
                        for f, start, n in t_spans:
                            key = (t, f)
                            if key not in readers:
                                readers[key] = SpanReader(prev_data / t / f, writers[t].part)
                            reader = readers[key]
                            for chunk in reader.read(start, n):
                                writers[t].add(chunk, reader.part_values)
                for w in writers.values():
                    w.end_input()
                since_release += size if action == "compile" else 0
                if since_release >= RELEASE_EVERY_BYTES:  # a unit grows with the release
                    release_unused_memory()
                    since_release = 0
        files = {t: w.close() for t, w in writers.items()}
        release_unused_memory()  # the worker's next unit starts from the same footprint
    except InputError as e:
        for w in writers.values():
            w.abort()
        return {
            "source": source.name,
            "unit": task.unit,
            "input_error": (e.file, e.json_path, e.expected, e.got),
        }
    except BaseException as e:
        for w in writers.values():
            w.abort()
        e.add_note(f"while compiling unit {task.unit!r} of source {source.name!r}")
        raise
    return {
        "source": source.name,
        "unit": task.unit,
        "inputs": [it[0] for it in task.items],
        "hashes": hashes,
        "files": {t: f for t, f in files.items() if f},
        "cpu_seconds": time.process_time() - cpu0,
    }


class SpanReader:
    """Reads row spans, in increasing order, of a previous catalog's Parquet file; its
    rows have no partition columns, whose values (from the folder names) are
    :attr:`part_values`."""

    def __init__(self, path: Path, part: list[str]):
        import pyarrow.parquet as pq

        self.path = path
        self.part_values = partition_values(path, part)
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP_ROWS)
        self._pos = 0  # row index of the start of self._cur
        self._cur: pa.RecordBatch | None = None

    def read(self, start: int, n: int) -> Iterator[pa.Table]:
        import pyarrow as pa

        end = start + n
        while n > 0 and start < end:
            if self._cur is None or start >= self._pos + self._cur.num_rows:
                if self._cur is not None:
                    self._pos += self._cur.num_rows
                try:
                    self._cur = next(self._batches)
                except StopIteration:
                    raise RuntimeError(f"{self.path} has fewer rows than build.json records") from None
                continue
            if start < self._pos:
                raise RuntimeError(f"{self.path}: row spans read out of order")
            lo = start - self._pos
            hi = min(end - self._pos, self._cur.num_rows)
            batch = self._cur.slice(lo, hi - lo)
            yield pa.Table.from_batches([batch])
            start = self._pos + hi


def _inputs_of(unit_rec: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """input -> {table: [[file, start, n], ...]} from a unit's record."""
    out: dict[str, dict[str, list[Any]]] = {}
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
    return all((prev_data / t / f).is_file() for t, files in unit_rec.get("files", {}).items() for f in files)
