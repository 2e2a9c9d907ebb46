"""Result formats for the CLI: table, csv, json, ndjson, parquet.

Text formats take column names, DuckDB type names and an iterator of row batches
(lists of tuples, as ``fetchmany`` returns them) and write to a text stream, so a
large result streams instead of being held in memory (``table`` excepted: it
needs every width first). ``parquet`` takes an Arrow record batch reader.

Only the standard library is imported here; orjson and pyarrow are imported by
the formats that need them, so that ``egoexo-sql query`` starts fast.

- ``table``: aligned plain text for people; NULL shown as ``NULL``, numbers right
  aligned, long cells cut at :data:`MAX_CELL` characters with ``…``, a row count last.
- ``csv``: a header row; NULL is an empty field, booleans ``true``/``false``,
  lists and structs as JSON, timestamps ``YYYY-MM-DD HH:MM:SS[.ffffff]``.
- ``json``: one array of objects; ``ndjson``: one object a line. Dates and
  timestamps are ISO 8601 strings, DECIMAL a number, NaN ``null``.
- ``parquet``: zstd; needs a file (never a terminal).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import decimal
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "ndjson", "parquet")
TEXT_FORMATS = ("table", "csv", "json", "ndjson")
MAX_CELL = 60

_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
)

Batches = Iterable[Sequence[tuple[Any, ...]]]


def unique_names(columns: Sequence[str]) -> list[str]:
    """Column names made unique (``a``, ``a_1``) so they can be object keys."""
    seen: set[str] = set()
    out = []
    for c in columns:
        name, i = c, 0
        while name in seen:
            i += 1
            name = f"{c}_{i}"
        seen.add(name)
        out.append(name)
    return out


# ---------------------------------------------------------------- plain values


def _json_default(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, _dt.timedelta):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    return str(v)


def _dumps(v: Any) -> bytes:
    import orjson

    try:
        return orjson.dumps(v, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer beyond 64 bits (HUGEINT): the standard library has no limit
        import json
        import math

        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {str(k): clean(y) for k, y in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(y) for y in x]
            return x

        return json.dumps(clean(v), default=_json_default, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (list, dict, tuple)):
        return _dumps(v).decode("utf-8")
    if isinstance(v, _dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    return v


def _text(v: Any, nested: bool = False) -> str:
    """A value as DuckDB's shell shows it (strings quoted inside lists and structs)."""
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return repr(v) if nested else v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, _dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time, decimal.Decimal, uuid.UUID, int)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_text(x, True) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_text(k, True)}: {_text(x, True)}" for k, x in v.items()) + "}"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "".join(f"\\x{b:02X}" if b < 32 or b > 126 else chr(b) for b in bytes(v))
    return str(v)


def _cell(v: Any, max_cell: int) -> str:
    s = _text(v).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if max_cell and len(s) > max_cell:
        s = s[: max_cell - 1] + "…"
    return s


# ---------------------------------------------------------------- writers


def write_table(
    columns: Sequence[str], types: Sequence[str], batches: Batches, out: TextIO, *, max_cell: int = MAX_CELL
) -> int:
    rows = [[_cell(v, max_cell) for v in row] for batch in batches for row in batch]
    header = [_cell(c, max_cell) for c in columns]
    widths = [len(h) for h in header]
    for r in rows:
        for i, s in enumerate(r):
            if len(s) > widths[i]:
                widths[i] = len(s)
    right = [str(t).upper().startswith(_NUMERIC) for t in types]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if rj else c.ljust(w) for c, w, rj in zip(cells, widths, right)]
        return "  ".join(parts).rstrip() + "\n"

    out.write(line(header))
    out.write(line(["-" * w for w in widths]))
    for r in rows:
        out.write(line(r))
    n = len(rows)
    out.write(f"({n} row{'' if n == 1 else 's'})\n")
    return n


def write_csv(columns: Sequence[str], types: Sequence[str], batches: Batches, out: TextIO) -> int:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    n = 0
    for batch in batches:
        w.writerows([_csv_cell(v) for v in row] for row in batch)
        n += len(batch)
    return n


def write_json(columns: Sequence[str], types: Sequence[str], batches: Batches, out: TextIO) -> int:
    keys = unique_names(columns)
    n = 0
    out.write("[")
    for batch in batches:
        for row in batch:
            out.write(",\n" if n else "\n")
            out.write(_dumps(dict(zip(keys, row))).decode("utf-8"))
            n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def write_ndjson(columns: Sequence[str], types: Sequence[str], batches: Batches, out: TextIO) -> int:
    keys = unique_names(columns)
    n = 0
    for batch in batches:
        out.write("".join(_dumps(dict(zip(keys, row))).decode("utf-8") + "\n" for row in batch))
        n += len(batch)
    return n


_WRITERS = {"table": write_table, "csv": write_csv, "json": write_json, "ndjson": write_ndjson}


def write_text(
    fmt: str,
    columns: Sequence[str],
    types: Sequence[str],
    batches: Batches,
    out: TextIO,
    *,
    max_cell: int = MAX_CELL,
) -> int:
    """Write rows in a text format; returns the number of rows written.

    ``max_cell`` (``table`` only): cut longer cells; 0 keeps them whole.
    """
    try:
        writer = _WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown text format {fmt!r}; one of {', '.join(TEXT_FORMATS)}") from None
    if fmt == "table":
        return write_table(columns, types, batches, out, max_cell=max_cell)
    return writer(columns, types, batches, out)


def write_parquet(reader: Any, sink: Any) -> int:
    """Write an Arrow RecordBatchReader to ``sink`` (a path or a binary stream) with zstd."""
    import pyarrow.parquet as pq

    n = 0
    with pq.ParquetWriter(sink, reader.schema, compression="zstd") as w:
        for batch in reader:
            if batch.num_rows:
                w.write_batch(batch)
                n += batch.num_rows
    return n


def arrow_row_batches(reader: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Row batches (lists of tuples) from an Arrow RecordBatchReader."""
    for batch in reader:
        if batch.num_rows:
            yield list(zip(*(col.to_pylist() for col in batch.columns)))


def batches_of(cursor: Any, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
    """Row batches from a DuckDB cursor until it is exhausted."""
    while True:
        batch = cursor.fetchmany(size)
        if not batch:
            return
        yield batch
