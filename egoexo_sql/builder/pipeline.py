"""Compile a release folder into a catalog: :func:`build_catalog` runs the steps.

Each step is timed (the report and ``build.json`` carry the seconds per step):

======== ==================================== =======================================
step     what                                 module
======== ==================================== =======================================
scan     find and stat every input            :mod:`~egoexo_sql.builder.scan`
hash     sha256 of the inputs that need it    :mod:`~egoexo_sql.builder.scan`
plan     compile, reuse or empty, and why     :mod:`~egoexo_sql.builder.plan`
compile  compile sources and streaming units  :mod:`~egoexo_sql.builder.compiling`,
         (Parquet writing inside, as "write") :mod:`~egoexo_sql.builder.units`,
                                              :mod:`~egoexo_sql.builder.parquet`
reuse    hard-link the unchanged tables       :mod:`~egoexo_sql.builder.links`
views    catalog.duckdb and views.sql         :mod:`~egoexo_sql.builder.views`
swap     build.json, then the atomic swap     :mod:`~egoexo_sql.builder.report`,
                                              :mod:`~egoexo_sql.builder.swap`
======== ==================================== =======================================

Everything is written in a staging folder next to the catalog; nothing is written
outside it before the swap (except that leftovers of killed builds are removed). A
failure at any step removes the staging folder and leaves the previous catalog
untouched. When the plan finds the catalog current, the build stops after the plan and
writes nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError
from ..memory import release_unused_memory
from ..processes import warm_up
from ..reconcile import with_build_info
from ..tables import is_streaming
from .compiling import Compiled, compile_sources, default_release, lenient_release, source_workers
from .links import link_tree
from .parquet import write_table
from .plan import Plan, Planner, check_only, check_registry
from .report import BuildReport, Outcome, read_previous, table_record, write_build_json
from .scan import Input, hash_inputs, scan
from .swap import dir_lock, make_staging, repair_leftovers, staging_folder, swap_in_keeping_readers
from .units import StreamJob
from .views import EarlyTables, create_views, point_views_at, view_file_hash

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import TableSchema
    from ..tables import Source

STEPS = ("scan", "hash", "plan", "compile", "write", "reuse", "views", "swap")

#: ``progress(step, completed, total, detail)``: called from the building thread
#: with one of :data:`STEPS`; ``total`` is bytes for "hash", sources for
#: "compile", views for "views", else 1.
Progress = Callable[[str, float, float, str], None]


def build_catalog(
    release_dir: str | os.PathLike[str],
    catalog_dir: str | os.PathLike[str] = "egoexo_catalog",
    only: Iterable[str] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    lenient: bool = False,
    *,
    sources: Sequence[Source] | None = None,
    schemas: Mapping[str, TableSchema] | None = None,
    views_dir: str | os.PathLike[str] | None = None,
    release_factory: Callable[[Path], Any] | None = None,
) -> BuildReport:
    """Compile ``release_dir`` into ``catalog_dir``; returns a :class:`BuildReport`.

    ``only`` restricts the compiled groups (see :data:`egoexo_sql.tables.GROUPS`);
    ``force`` recompiles (and rehashes) everything. ``lenient`` sets bad records aside
    in the ``rejects`` table instead of failing (whole-file problems still fail; see
    :mod:`egoexo_sql.release`; the streaming sources stay strict). ``sources``, ``schemas``,
    ``views_dir`` and ``release_factory`` replace the registry, ``schemas/``,
    ``queries/views/`` and :class:`egoexo_sql.release.Release` (for tests).
    """
    t_start = time.perf_counter()
    release_root = Path(release_dir).expanduser().resolve()
    catalog = Path(catalog_dir).expanduser().absolute()
    if catalog.is_symlink():  # build next to the real folder, so the swap is one rename
        catalog = catalog.resolve()
    if not release_root.exists():
        raise InputError(str(release_dir), None, "a release folder", "nothing at this path")
    if not release_root.is_dir():
        raise InputError(str(release_dir), None, "a release folder", "a file")
    if catalog == release_root or catalog in release_root.parents:
        raise UsageError(f"the catalog folder {catalog} would contain the release; choose another --catalog")
    if "?" in str(catalog.parent):
        # DuckDB cuts a database path at "?" when it names the write-ahead log
        raise UsageError(
            f"--catalog {catalog}: DuckDB cannot write a database file under a folder "
            "whose path contains '?'; choose another folder"
        )

    if sources is None:
        from ..tables import all_sources

        sources = all_sources()
    if schemas is None:
        from ..schema import load_schemas

        schemas = load_schemas()
    if views_dir is None:
        from ..resources import queries_dir

        views_dir = queries_dir() / "views"
    selected_groups = check_only(only, sources)
    check_registry(sources, schemas)

    b = _Build(
        release_root=release_root,
        catalog=catalog,
        sources=list(sources),
        schemas=dict(schemas),
        views_dir=Path(views_dir),
        selected_groups=selected_groups,
        force=force,
        progress=progress or _no_progress,
        release_factory=release_factory or (lenient_release if lenient else default_release),
        lenient=lenient,
    )
    report = b.run()
    report.total_seconds = time.perf_counter() - t_start
    return report


class _Hashing:
    """:func:`~egoexo_sql.builder.scan.hash_inputs` of ``inputs`` on a thread (see
    :meth:`~egoexo_sql.builder.plan.Planner.hashed_meanwhile`); :meth:`finish` waits."""

    def __init__(self, inputs: list[Input]):
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(inputs,), name="egoexo-sql hashing", daemon=True
        )
        self.thread.start()

    def _run(self, inputs: list[Input]) -> None:
        try:
            hash_inputs(inputs, {}, _no_progress)
        except BaseException as e:  # raised again by finish()
            self.error = e

    def finish(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def _no_progress(step: str, completed: float, total: float, detail: str = "") -> None:
    pass


@dataclass
class _Build:
    release_root: Path
    catalog: Path
    sources: list[Source]
    schemas: dict[str, TableSchema]
    views_dir: Path
    selected_groups: set[str] | None
    force: bool
    progress: Progress
    release_factory: Callable[[Path], Any]
    lenient: bool = False

    def run(self) -> BuildReport:
        from ..version import __version__

        self.report = BuildReport(catalog=self.catalog, release=self.release_root)
        self.steps = self.report.steps
        self.outcome = Outcome()
        repair_leftovers(self.catalog)
        self.planner = Planner(
            prev=read_previous(self.catalog) or {},
            catalog=self.catalog,
            sources=self.sources,
            schemas=self.schemas,
            selected_groups=self.selected_groups,
            force=self.force,
            lenient=self.lenient,
            tool_version=__version__,
        )
        if (
            (not self.planner.prev or self.force)
            and not self.lenient
            and self.release_factory is default_release
        ):
            # compiling from scratch: the forkserver imports the workers' libraries on the
            # other core while this process scans and hashes
            warm_up()
        self.staging = staging_folder(self.catalog)
        try:
            make_staging(self.catalog)
            if not self._build_into_staging():  # the catalog is current: it stays as it is
                shutil.rmtree(self.staging)
                self._point_views()  # ... but for a folder that was moved
                return self.report
            with self._step("swap"):
                swap_in_keeping_readers(self.staging, self.catalog)
                self._point_views()
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise
        return self.report

    def _point_views(self) -> None:
        """The large tables' views in catalog.duckdb read this folder's data/ by its
        absolute path: after the swap (they were made in the staging folder), and on a
        build with nothing to compile after the folder was moved (nothing else is
        rewritten then)."""
        with dir_lock(self.catalog.parent):
            moved = point_views_at(self.catalog, self.schemas)
        if moved and "the catalog is current: nothing was written" in self.report.notes:
            self.report.notes.remove("the catalog is current: nothing was written")
            self.report.notes.append(
                f"the catalog is current; the views of {', '.join(moved)} in catalog.duckdb "
                f"now read {self.catalog / 'data'} (the folder was moved)"
            )

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - t0

    def _build_into_staging(self) -> bool:
        """Every step up to the swap; False when the catalog is current (nothing written)."""
        planner, report = self.planner, self.report
        selected = [s for s in self.sources if planner.selected(s)]
        with self._step("scan"):
            self.progress("scan", 0, 1, "")
            inputs_by_source = scan(self.release_root, selected)
            self.progress("scan", 1, 1, "")
        all_inputs = {i.rel: i for ins in inputs_by_source.values() for i in ins}
        report.n_inputs = len(all_inputs)
        report.input_bytes = sum(i.bytes for i in all_inputs.values())
        self.hashed_by_workers = planner.hashed_while_compiling(inputs_by_source)
        later = planner.hashed_meanwhile(inputs_by_source) - self.hashed_by_workers
        with self._step("hash"):
            report.hashed_bytes = hash_inputs(
                [
                    i
                    for i in all_inputs.values()
                    if i.rel not in self.hashed_by_workers and i.rel not in later
                ],
                {} if self.force else planner.prev_inputs,
                self.progress,
            )
            report.hashed_bytes += sum(all_inputs[r].bytes for r in (*self.hashed_by_workers, *later))
        with self._step("plan"):
            planner.hash_schemas()
            plan = planner.plan(inputs_by_source)
            if planner.is_current(plan, report.hashed_bytes, self.views_dir):
                self._report_current()
                return False
        # the tables are stored in catalog.duckdb as their sources end, while the
        # workers compile the rest
        early = EarlyTables(self.staging, self.schemas, self.views_dir)
        hashing = _Hashing([all_inputs[r] for r in sorted(later)])
        try:
            try:
                self._compile(plan, inputs_by_source, early)
            except BaseException:
                hashing.thread.join()  # the compile step's error is the one to report
                raise
            with self._step("hash"):
                hashing.finish()  # raises what the hashing raised
            unread = [i for i in all_inputs.values() if i.rel in self.hashed_by_workers and not i.sha256]
            if unread:  # left to the compile step, which did not read them whole
                with self._step("hash"):
                    hash_inputs(unread, {}, self.progress)
            with self._step("reuse"):
                self._reuse(plan)
        except BaseException:
            early.abort()
            raise
        release_unused_memory()  # what the compile step's results held, before DuckDB's turn
        with self._step("views"):
            self.outcome.view_hashes = create_views(
                self.staging,
                self.schemas,
                self.views_dir,
                planner.tool_version,
                report,
                self.progress,
                early=early,
            )
        written = write_build_json(
            self.staging / "build.json",
            sources=self.sources,
            plan=plan,
            selected=planner.selected,
            inputs_by_source=inputs_by_source,
            prev=planner.prev,
            outcome=self.outcome,
            schemas=self.schemas,
            schema_hashes=planner.schema_hashes,
            view_file_hashes={
                t: view_file_hash(self.views_dir, t) for t, sch in self.schemas.items() if sch.kind == "view"
            },
            tables=report.tables,
            tool_version=planner.tool_version,
            release_root=self.release_root,
            options={
                "only": sorted(self.selected_groups) if self.selected_groups is not None else None,
                "force": self.force,
                "lenient": self.lenient,
            },
            steps=self.steps,
        )
        if report.reconciliation is not None:
            with_build_info(report.reconciliation, written)
        return True

    def _report_current(self) -> None:
        report, prev = self.report, self.planner.prev
        report.reused = [s.name for s in self.sources]
        for t in self.schemas:
            rec = prev["tables"][t]
            report.tables[t] = rec["rows"]
            report.status[t] = (
                "view" if rec["status"] == "view" else "empty" if rec["status"] == "empty" else "reused"
            )
        report.notes.append("the catalog is current: nothing was written")

    # -- compile ---------------------------------------------------------------
    def _compile(self, plan: Plan, inputs_by_source: dict[str, list[Input]], early: EarlyTables) -> None:
        report, outcome = self.report, self.outcome
        to_compile = [s for s in self.sources if plan[s.name][0] == "compile"]
        whole = [s for s in to_compile if not is_streaming(s)]
        release = self.release_factory(self.release_root) if to_compile else None
        outcome.compile_workers = source_workers(
            whole, inputs_by_source, self.lenient, self.release_factory is not default_release
        )
        self.progress("compile", 0, len(to_compile), "")
        by_name = {s.name: s for s in to_compile}

        def done(c: Compiled) -> None:
            s = by_name[c.source]
            report.recompiled.append(s.name)
            report.reasons[s.name] = plan[s.name][1]
            outcome.source_seconds[s.name] = c.seconds
            for t, (rows, nfiles, nbytes) in c.tables.items():
                outcome.table_records[t] = table_record(
                    "compiled", s.name, rows, nfiles, nbytes, self.planner.schema_hashes[t]
                )
                report.tables[t] = rows
            early.add(c.tables)
            if c.stream is not None:
                self._streamed(s, c.stream, inputs_by_source[s.name])
            else:
                for i in inputs_by_source[s.name]:
                    if i.rel in self.hashed_by_workers and i.rel in c.hashes:
                        i.sha256, i.hashed_at_ns = c.hashes[i.rel]
                # Parquet writing happens inside the compile step (in the workers); its
                # share is reported as "write", summed over sources
                self.steps["write"] = self.steps.get("write", 0.0) + c.write_seconds
                if c.normalised:
                    outcome.normalised[s.name] = c.normalised
                if c.rejects is not None:
                    outcome.rejects[s.name] = c.rejects

        if to_compile:
            with self._step("compile"):
                compile_sources(
                    to_compile,
                    release=release,
                    inputs_by_source=inputs_by_source,
                    schemas=self.schemas,
                    data=self.staging / "data",
                    used=self.planner.used_tables(plan, self.staging / "data"),
                    workers=outcome.compile_workers,
                    stream_jobs=self._stream_jobs(to_compile, inputs_by_source),
                    progress=lambda n, detail: self.progress("compile", n, len(to_compile), detail),
                    done=done,
                    hash_reads=frozenset(
                        s.name
                        for s in whole
                        if any(i.rel in self.hashed_by_workers for i in inputs_by_source[s.name])
                    ),
                )
        report.recompiled.sort(key=[x.name for x in self.sources].index)
        report.source_seconds = dict(outcome.source_seconds)
        self.progress("compile", len(to_compile), len(to_compile), "")

    def _stream_jobs(
        self, sources: list[Source], inputs_by_source: dict[str, list[Input]]
    ) -> dict[str, StreamJob]:
        """The streaming sources' jobs: with a usable previous build, only changed files
        are parsed and unchanged units are hard-linked."""
        planner = self.planner
        jobs = {}
        for s in sources:
            if not is_streaming(s):
                continue
            ps = planner.prev.get("sources", {}).get(s.name) or {}
            inc = (
                not planner.scratch_reason(s)
                and isinstance(ps.get("units"), dict)
                and all(planner.prev_table_rows(t) is not None for t in s.tables)
            )
            jobs[s.name] = StreamJob(
                s,
                release_root=self.release_root,
                inputs=[(i.rel, i.sha256, i.bytes) for i in inputs_by_source[s.name]],
                schemas=self.schemas,
                dest_data=self.staging / "data",
                prev_data=self.catalog / "data" if inc else None,
                prev_units=ps.get("units") if inc else None,
                prev_sha=planner.compiled_from(s) if inc else {},
                hash_inputs=any(i.rel in self.hashed_by_workers for i in inputs_by_source[s.name]),
            )
        self.incremental = {name: job.prev_data is not None for name, job in jobs.items()}
        return jobs

    def _streamed(self, s: Source, res: Any, inputs: list[Input]) -> None:
        """What a streaming source's units made: hashes of the inputs its workers hashed,
        its units and counts for build.json."""
        for i in inputs:
            if i.rel in self.hashed_by_workers:
                try:
                    i.sha256, i.hashed_at_ns = res.hashes[i.rel]
                except KeyError:  # pragma: no cover - every compiled input is hashed
                    raise RuntimeError(f"{s.name}: no sha256 came back for {i.rel}") from None
        self.outcome.units[s.name] = res.units
        self.outcome.unit_counts[s.name] = {
            "files_parsed": len(res.compiled_files),
            "files_copied": len(res.copied_files),
            "units_linked": len(res.linked_units),
            "cpu_seconds": round(res.cpu_seconds, 3),
        }
        if self.incremental.get(s.name):
            self.report.reasons[s.name] += f"; {len(res.compiled_files)} of {len(inputs)} files parsed"

    # -- reuse -----------------------------------------------------------------
    def _reuse(self, plan: Plan) -> None:
        """Hard-link the reused tables from the previous catalog; then the ``rejects``
        table, and an empty table for every table nothing produced, so every view exists."""
        report, outcome, data = self.report, self.outcome, self.staging / "data"
        hashes = self.planner.schema_hashes
        produced = set(outcome.table_records)
        for s in self.sources:
            action = plan[s.name][0]
            if action == "reuse":
                for t in s.tables:
                    prev_rec = self.planner.prev["tables"][t]
                    try:
                        nfiles, nbytes = link_tree(self.catalog / "data" / t, data / t)
                        if nfiles != prev_rec["files"]:
                            raise FileNotFoundError(t)
                    except FileNotFoundError:
                        raise UsageError(
                            f"{self.catalog} changed during this build (another build "
                            "swapped it in?); run the build again"
                        ) from None
                    outcome.table_records[t] = table_record(
                        "reused", s.name, prev_rec["rows"], nfiles, nbytes, hashes[t]
                    )
                    report.tables[t] = prev_rec["rows"]
                    produced.add(t)
                report.reused.append(s.name)
            elif action == "empty":
                report.not_built.append(s.name)
        if "rejects" in self.schemas and "rejects" not in produced:
            self._write_rejects(plan, data / "rejects")
            produced.add("rejects")
        for t, sch in self.schemas.items():
            if sch.kind == "table" and t not in produced:
                owner = next((s.name for s in self.sources if t in s.tables), None)
                rows, nfiles, nbytes = write_table(sch, sch.empty_table(), data / t)
                outcome.table_records[t] = table_record("empty", owner, 0, nfiles, nbytes, hashes[t])
                report.tables[t] = 0
        # report tables in schema order
        report.tables = {t: report.tables[t] for t in self.schemas if t in report.tables}
        report.status = {t: outcome.table_records[t]["status"] for t in report.tables}

    def _write_rejects(self, plan: Plan, dest: Path) -> None:
        """The ``rejects`` table: what this build's compilers set aside, and the rows
        of the sources reused from the previous build."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        sch = self.schemas["rejects"]
        rows = [dict(r, source=name) for name, rs in self.outcome.rejects.items() for r in rs]
        reused = {s.name for s in self.sources if plan[s.name][0] == "reuse"}
        prev = self.catalog / "data" / "rejects"
        if reused and self.planner.prev.get("tables", {}).get("rejects", {}).get("rows") and prev.is_dir():
            for f in sorted(prev.rglob("*.parquet")):
                rows += [r for r in pq.read_table(f).to_pylist() if r.get("source") in reused]
        seen: set[tuple[str, str]] = set()
        unique = []
        for r in rows:  # a file read by two sources is one set of rejects
            key = (r["source_file"], r["json_path"])
            if key not in seen:
                seen.add(key)
                unique.append({c: r.get(c) for c in sch.column_names})
        # (from_pylist imports pandas, half a second: not for the usual empty table)
        table = pa.Table.from_pylist(unique, schema=sch.arrow_schema()) if unique else sch.empty_table()
        n, nfiles, nbytes = write_table(sch, table, dest)
        self.outcome.table_records["rejects"] = table_record(
            "compiled", None, n, nfiles, nbytes, self.planner.schema_hashes["rejects"]
        )
        self.report.tables["rejects"] = n
        if n:
            self.report.notes.append(f"{n:,} bad record(s) set aside (--lenient): SELECT * FROM rejects")
