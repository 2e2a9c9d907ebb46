"""Helpers shared by the source compilers (not a source family itself)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

SPLITS = ("train", "val", "test")


def split_of(rel: str, prefix: str) -> str | None:
    """``annotations/<prefix>_train.json`` -> ``"train"``; None when the name does not fit."""
    m = re.fullmatch(rf"{re.escape(prefix)}_(train|val|test)\.json", rel.rpartition("/")[2])
    return m.group(1) if m else None


def split_files(release: Release, files: Iterable[Path], prefix: str) -> list[tuple[str, str]]:
    """(relative path, split) for the inputs named ``<prefix>_<split>.json``, in split order."""
    out = []
    for f in files:
        rel = release.rel(f)
        split = split_of(rel, prefix)
        if split is not None:
            out.append((rel, split))
    out.sort(key=lambda rs: (SPLITS.index(rs[1]), rs[0]))
    return out


def split_files_once(release: Release, files: Iterable[Path], stem: str) -> list[tuple[str, str]]:
    """(relative path, split) of ``<stem>_<train|val|test>[_unannotated].json`` files, in
    split order; another name, or a second file for one split, is an InputError."""
    pattern = re.compile(rf"{re.escape(stem)}_(train|val|test)(_unannotated)?\.json")
    found = []
    for f in files:
        rel = release.rel(f)
        m = pattern.fullmatch(rel.rpartition("/")[2])
        if m is None:
            raise InputError(
                rel, None, f"a file named {stem}_<train|val|test>[_unannotated].json", "another name"
            )
        found.append((SPLITS.index(m.group(1)), rel, m.group(1)))
    seen: dict[str, str] = {}
    out = []
    for _, rel, split in sorted(found):
        if split in seen:
            raise InputError(
                rel, None, f"one {stem} file for the {split} split", f"a second one besides {seen[split]}"
            )
        seen[split] = rel
        out.append((rel, split))
    return out


class gc_free:
    """Run a compiler with the cyclic GC paused (decoded records hold no cycles, and
    collections triggered by millions of fresh objects would cost more than the work).

    A class, not a closure: the build pickles sources to send them to its worker
    processes, and a closure would make it fall back to compiling in one process."""

    def __init__(self, compile_fn: Callable[..., Any]):
        self.compile_fn = compile_fn
        functools.update_wrapper(self, compile_fn)

    def __call__(self, release: Release, files: list[Path], *tables: Any) -> Any:
        from ..release import gc_paused

        with gc_paused():
            return self.compile_fn(release, files, *tables)

    def __reduce__(self) -> tuple[Any, ...]:
        return (gc_free, (self.compile_fn,))


def to_table(table: str, cols: dict[str, Any]) -> pa.Table:
    """Columns (Python lists, or Arrow arrays built another way) -> the conformed table."""
    import pyarrow as pa

    from ..schema import conform, get

    arrays = {}
    for f in get(table).arrow_schema():
        if f.name in cols:
            v = cols[f.name]
            arrays[f.name] = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, type=f.type)
    extra = set(cols) - set(arrays)
    if extra:
        raise ValueError(f"{table}: compiler produced unknown columns {sorted(extra)}")
    return conform(table, pa.table(arrays))


def row_groups(counts: Sequence[int]) -> pa.Array[Any]:
    """Group index of each row when group i has counts[i] rows: [2, 0, 1] -> [0, 0, 2]."""
    import numpy as np
    import pyarrow as pa

    index = np.repeat(np.arange(len(counts), dtype=np.int64), np.asarray(counts, dtype=np.int64))
    return pa.array(index, type=pa.int64())


def repeat_per_row(values: Sequence[Any], rows: pa.Array[Any], type_: pa.DataType) -> pa.Array[Any]:
    """One value per group -> one value per row (``rows`` from :func:`row_groups`), in C."""
    import pyarrow as pa

    return pa.array(values, type=type_).take(rows)


def has_duplicates(table: pa.Table, keys: Sequence[str]) -> bool:
    """Whether some combination of the key columns occurs twice (computed in Arrow)."""
    if table.num_rows == 0:
        return False
    return table.select(list(keys)).group_by(list(keys)).aggregate([]).num_rows != table.num_rows


def column(items: Sequence[Any], attr: str) -> list[Any]:
    """The attribute ``attr`` of every item, as a list (one pass in C)."""
    return list(map(attrgetter(attr), items))


def check_unique(
    keys: Sequence[Any], file: str, path_of: Callable[..., str], what: str
) -> None:  # path_of(index): lambdas that bind loop variables as defaults
    """InputError at the second occurrence of a key, naming both positions."""
    if len(set(keys)) == len(keys):
        return
    seen: dict[Any, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            raise InputError(
                file,
                path_of(i),
                f"a {what} not used before in the file",
                f"{k!r}, already at {path_of(seen[k])}",
            )
        seen[k] = i


def to_text(v: Any) -> str | None:
    """A scalar given as a string or a number -> its text; None stays None."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
