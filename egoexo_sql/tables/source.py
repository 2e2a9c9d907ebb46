"""What a source family is: :class:`Source` (whole tables) and :class:`StreamingSource`
(compiled file by file); the module docstring of :mod:`egoexo_sql.tables` says how the
build uses them, :mod:`egoexo_sql.tables.registry` lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

# (release, input files) or, for a source that uses other tables (Source.uses),
# (release, input files, {table: Arrow table})
Compiler = Callable[..., dict[str, "pa.Table"]]
# yields (table, chunk) or (table, chunk, {partition column: value}) (StreamingSource)
FileCompiler = Callable[
    ["Release", Path], Iterable[tuple[str, "pa.Table"] | tuple[str, "pa.Table", dict[str, Any]]]
]


@dataclass(frozen=True)
class Source:
    name: str
    group: str
    inputs: tuple[str, ...]
    tables: tuple[str, ...]
    compile: Compiler
    required: tuple[str, ...] = ()  # inputs (exact relative paths) whose absence is an error
    version: int = 1
    uses: tuple[str, ...] = ()  # tables of other sources compile() reads (see egoexo_sql.tables)


@dataclass(frozen=True)
class StreamingSource(Source):
    """A source compiled one input file at a time, in parallel, with bounded memory.

    Most sources return whole Arrow tables (``Source.compile``), which is right for the
    metadata and the one-file-per-split annotations. Ego pose is different: one JSON
    file per take and per kind, 10 GB in all. A streaming source instead gives

    * ``compile_file(release, path)``: yields ``(table, Arrow chunk)`` pairs for one
      input file (chunks have every column of the table, partition columns included),
      or ``(table, chunk, partition)`` triples where ``partition`` maps each of the
      table's ``partition_by`` columns to its one value for the whole chunk: the chunk
      then leaves those columns out, and the writer neither builds nor checks them row
      by row (a compiler that knows them from the file's path should say so);
    * ``unit_of(rel)``: the name of the *unit* an input belongs to. A unit is a stable,
      bounded group of inputs (e.g. ``train-body-automatic-07``: a hash bucket of one
      folder); each unit is written as its own Parquet file per table and partition,
      ``data/<table>/<hive partition>/part-<unit>.parquet``, and is what an incremental
      build reuses or rewrites (:mod:`egoexo_sql.builder.units`).

    ``compile`` still works (it concatenates every file's chunks in memory), so
    :func:`egoexo_sql.tables.registry.compile_release` covers streaming sources too.
    """

    compile_file: FileCompiler = field(kw_only=True)
    unit_of: Callable[[str], str] = field(kw_only=True)
    #: globs of inputs every file's rows depend on (e.g. takes.json for take seconds): when
    #: one changes, every unit is compiled again
    context: tuple[str, ...] = ()
    #: a unit with a changed input compiles all its inputs (its files' rows depend on each
    #: other's inputs, e.g. a capture's timesync.csv), instead of copying unchanged rows
    whole_units: bool = False
    #: each input's rows start a new Parquet row group, so min/max statistics on its key
    #: (take_uid) let a reader skip every other input's rows
    row_group_per_input: bool = False


def streaming_source(
    *,
    name: str,
    group: str,
    inputs: tuple[str, ...],
    tables: tuple[str, ...],
    compile_file: FileCompiler,
    unit_of: Callable[[str], str],
    version: int = 1,
    context: tuple[str, ...] = (),
    whole_units: bool = False,
    row_group_per_input: bool = False,
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
        context=context,
        whole_units=whole_units,
        row_group_per_input=row_group_per_input,
    )


def is_streaming(source: Source) -> TypeGuard[StreamingSource]:
    """A source the build compiles file by file into its own Parquet parts (any object
    with a ``compile_file`` and a ``unit_of``, as test registries make them)."""
    return getattr(source, "compile_file", None) is not None and hasattr(source, "unit_of")


class CompileAll:
    """``Source.compile`` of a streaming source: every file's chunks, concatenated."""

    def __init__(self, compile_file: FileCompiler, tables: tuple[str, ...]):
        self.compile_file = compile_file
        self.tables = tables

    def __call__(self, release: Release, files: list[Path]) -> dict[str, pa.Table]:
        import pyarrow as pa

        from ..builder.parquet import with_partition_columns
        from ..schema import get

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
