"""Reading the Aria sensor CSV files (MPS trajectory and eye gaze, timesync.csv) fast
and strictly, and placing their device times on the take's time axis.

* :func:`header` and :func:`match_form`: a file's header and which of the known forms it
  is (docs/real-data-variants.md, "Sensor files"); a missing or unknown column is an
  InputError naming both.
* :func:`stream_csv`: the file as Arrow record batches with pinned column types, read by
  pyarrow's streaming CSV reader in one pass that also computes the file's sha256 (the
  build records it, so the file is not read a second time to hash it); memory is one
  block whatever the file's size. When pyarrow refuses the file, the file is read again
  with Python's csv module to name the line and column (:func:`locate_error`), as the
  ego pose decoder falls back on msgspec for its errors.
* :class:`TakeClock` and :func:`take_clock`: a take's sync rows of its capture's
  timesync.csv and the mapping from Aria device time to take seconds.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import msgspec

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

    from ..release import Release

FPS = 30
#: the Aria stream whose frames are the take's frames (rgb, the frame-aligned ego video)
RGB_STREAM = "214-1"
BLOCK_BYTES = 4 << 20


# --------------------------------------------------------------------------- headers and forms
def open_text(release: Release, rel: str) -> BinaryIO:
    """The file's bytes (decompressed for ``.gz``), as a binary stream."""
    if rel.endswith(".gz"):
        return cast(BinaryIO, gzip.open(release.path(rel), "rb"))
    return open(release.path(rel), "rb")  # noqa: SIM115 - the caller closes it


def header(release: Release, rel: str) -> list[str]:
    """The column names of the file's first line (an empty file or a damaged gzip
    stream is an InputError)."""
    try:
        with open_text(release, rel) as f:
            line = f.readline(1 << 16)
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(rel, None, "a complete gzip file", _gzip_problem(e)) from None
    if not line.strip():
        raise InputError(rel, "line 1", "a header line naming the columns", "an empty file")
    try:
        text = line.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(rel, "line 1", "UTF-8 text", "bytes that are not UTF-8") from None
    return [c.strip() for c in text.split(",")]


def match_form(rel: str, names: list[str], forms: Mapping[str, tuple[str, ...]]) -> str:
    """Which form (a key of ``forms``) has exactly the columns ``names`` (in any order).

    Otherwise an InputError at line 1 naming the nearest form, the columns it misses
    and the columns it does not know."""
    have = set(names)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(rel, "line 1", "each column named once", f"{', '.join(dup)} more than once")
    for form, cols in forms.items():
        if have == set(cols):
            return form
    best = max(forms, key=lambda f: (len(have & set(forms[f])), -len(forms[f])))
    missing = [c for c in forms[best] if c not in have]
    unknown = [c for c in names if c not in set(forms[best])]
    got = []
    if missing:
        got.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        got.append(f"unknown column(s) {', '.join(unknown)}")
    raise InputError(
        rel, "line 1", f"the header of a known form ({best}: {', '.join(forms[best])})", "; ".join(got)
    )


# --------------------------------------------------------------------------- streaming
class HashingReader(io.RawIOBase):
    """A binary file that hashes what is read from it."""

    def __init__(self, f: Any):
        self.f = f
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.f.readinto(b)
        if n:
            self.sha.update(memoryview(b)[:n])
        return n or 0

    def close(self) -> None:
        self.f.close()
        super().close()


def stream_csv(
    release: Release, rel: str, types: Mapping[str, pa.DataType], *, threads: bool = False
) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches of the columns in ``types`` (every column of the
    file must be in ``types``; :func:`match_form` checks that first). The file's sha256
    goes to ``release.read_hashes`` when the build asks for it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    at = time.time_ns()
    raw = HashingReader(open(release.path(rel), "rb"))  # noqa: SIM115 - closed below
    src: Any = raw
    if rel.endswith(".gz"):
        src = gzip.GzipFile(fileobj=raw, mode="rb")
    try:
        try:
            reader = pacsv.open_csv(
                src,
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=threads),
                parse_options=pacsv.ParseOptions(newlines_in_values=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict(types), strings_can_be_null=True, quoted_strings_can_be_null=True
                ),
            )
            yield from reader
        except (pa.ArrowInvalid, UnicodeDecodeError) as e:
            src.close()
            raise locate_error(release, rel, types, str(e)) from None
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(rel, None, "a complete gzip file", _gzip_problem(e)) from None
        while raw.readinto(bytearray(1 << 16)):  # the rest (a gzip trailer) for the hash
            pass
    finally:
        src.close()
        raw.close()
    if release.read_hashes is not None:
        release.read_hashes[rel] = (raw.sha.hexdigest(), at)


def _gzip_problem(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    if isinstance(e, EOFError) or "end-of-stream" in msg:
        return "a file cut short (no end-of-stream marker)"
    return msg


_INT_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def locate_error(
    release: Release, rel: str, types: Mapping[str, pa.DataType], arrow_message: str
) -> InputError:
    """The first bad line of a CSV file pyarrow refused: a line with another number of
    fields than the header, or a value that is not of its column's type."""
    try:
        with open_text(release, rel) as f:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            rows = csv.reader(text)
            names = [c.strip() for c in next(rows)]
            names[0] = names[0].lstrip("\ufeff")
            kinds = [_kind(types.get(n)) for n in names]
            for line_no, row in enumerate(rows, start=2):
                if len(row) != len(names):
                    if not row:
                        continue  # a blank line; pyarrow skips those too
                    return InputError(
                        rel,
                        f"line {line_no}",
                        f"{len(names)} comma-separated fields as in the header",
                        f"{len(row)} field(s){' (the file ends inside this line)' if _is_last(text) else ''}",
                    )
                for name, kind, value in zip(names, kinds, row):
                    if kind and value.strip() and not _parses(kind, value.strip()):
                        return InputError(
                            rel,
                            f"line {line_no}, column {name}",
                            "an integer" if kind == "int" else "a number",
                            repr(value),
                        )
    except UnicodeDecodeError:
        return InputError(rel, None, "UTF-8 text", "bytes that are not UTF-8")
    except (OSError, EOFError, zlib.error) as e:
        return InputError(rel, None, "a complete gzip file", _gzip_problem(e))
    return InputError(rel, None, "CSV the reader accepts", arrow_message.splitlines()[0][:200])


def _is_last(text: io.TextIOWrapper) -> bool:
    return text.read(1) == ""


def _kind(t: pa.DataType | None) -> str:
    if t is None:
        return ""
    s = str(t)
    if s in _INT_TYPES:
        return "int"
    if s in ("double", "float", "halffloat"):
        return "float"
    return ""


def _parses(kind: str, value: str) -> bool:
    try:
        if kind == "int":
            int(value)
        else:
            float(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- takes and clocks
class _Camera(msgspec.Struct):
    # only what picks the Aria camera: is_ego also comes as text in real files (the
    # takes.camera_flags_text variant), so it is not read here
    cam_id: str | None = None
    device_type: str | None = None


class _Capture(msgspec.Struct):
    capture_name: str | None = None
    capture_uid: str | None = None
    cameras: list[_Camera] = []


class _Take(msgspec.Struct):
    take_uid: str
    take_name: str
    timesync_start_idx: int | None = None
    timesync_end_idx: int | None = None
    capture: _Capture | None = None
    capture_uid: str | None = None


@dataclass(frozen=True)
class TakeRef:
    """What the sensor compilers need of a take in takes.json."""

    take_uid: str
    take_name: str
    capture_name: str
    start_idx: int | None
    end_idx: int | None
    ego_cam: str


TAKES_JSON = "takes.json"
CAPTURES_JSON = "captures.json"


def capture_of(take_name: str) -> str:
    """The capture folder of a take's name, as the Ego-Exo4D tutorials find it
    (``re.sub(r"_\\d+$", "", take_name)``)."""
    return re.sub(r"_\d+$", "", take_name)


def takes_by_name(release: Release) -> dict[str, TakeRef]:
    """takes.json by take_name (read once per process and version of the file)."""
    p = release.path(TAKES_JSON)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(
            TAKES_JSON,
            None,
            "takes.json (sensor files are placed on the take's time axis with it)",
            "nothing",
        ) from None
    return _takes_by_name(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=2)
def _takes_by_name(path: str, size: int, mtime_ns: int) -> dict[str, TakeRef]:
    from ..release import decode_json

    with open(path, "rb") as f:
        data = f.read()
    takes: list[_Take] = decode_json(data, list[_Take], TAKES_JSON)
    out: dict[str, TakeRef] = {}
    for t in takes:
        cap = t.capture or _Capture()
        cams = cap.cameras
        aria = [c.cam_id for c in cams if c.cam_id and (c.device_type or "").lower() == "aria"]
        aria = aria or [c.cam_id for c in cams if c.cam_id and c.cam_id.startswith("aria")]
        out[t.take_name] = TakeRef(
            t.take_uid,
            t.take_name,
            cap.capture_name or capture_of(t.take_name),
            t.timesync_start_idx,
            t.timesync_end_idx,
            aria[0] if aria else "aria01",
        )
    return out


def captures_by_name(release: Release) -> dict[str, str]:
    """capture_name -> capture_uid from captures.json ({} when there is no such file)."""
    p = release.path(CAPTURES_JSON)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return {}
    return _captures_by_name(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=2)
def _captures_by_name(path: str, size: int, mtime_ns: int) -> dict[str, str]:
    from ..release import decode_json

    with open(path, "rb") as f:
        caps: list[_Capture] = decode_json(f.read(), list[_Capture], CAPTURES_JSON)
    return {c.capture_name: c.capture_uid for c in caps if c.capture_name and c.capture_uid}


def take_of(release: Release, rel: str) -> TakeRef:
    """The take of a file under ``takes/<take_name>/``."""
    name = rel.split("/")[1]
    take = takes_by_name(release).get(name)
    if take is None:
        raise InputError(
            rel, None, "a file of a take that takes.json lists", f"the folder {name!r}, which it does not"
        )
    return take


@dataclass
class TakeClock:
    """A take's sync rows: take frame index -> Aria device time (ns, as float64)."""

    frames: np.ndarray  # take frame k of every usable row (float64)
    device_ns: np.ndarray  # its Aria capture timestamp, minus ``origin``
    origin: float
    n_rows: int  # the take's sync rows
    n_gaps: int  # of which without an Aria timestamp

    def take_sec(self, tracking_us: np.ndarray) -> np.ndarray:
        """Take seconds of device times in microseconds: linear between the sync rows,
        continued at the first and last rows' rate beyond them."""
        import numpy as np

        t = tracking_us.astype(np.float64) * 1000.0 - self.origin
        f, d = self.frames, self.device_ns
        k = np.interp(t, d, f)
        lo, hi = t < d[0], t > d[-1]
        if lo.any():
            k[lo] = f[0] + (t[lo] - d[0]) * (f[1] - f[0]) / (d[1] - d[0])
        if hi.any():
            k[hi] = f[-1] + (t[hi] - d[-1]) * (f[-1] - f[-2]) / (d[-1] - d[-2])
        return np.asarray(k / FPS)


def take_clock(release: Release, take: TakeRef, for_file: str) -> TakeClock:
    """The clock of ``take`` from its capture's timesync.csv (see
    docs/real-data-variants.md: rows ``start + 1 ... end - 1``, column
    ``<ego>_214-1_capture_timestamp_ns``); missing rows are an InputError."""
    ts_rel = f"captures/{take.capture_name}/timesync.csv"
    if take.start_idx is None or take.end_idx is None:
        raise InputError(
            TAKES_JSON,
            f'$[take_name="{take.take_name}"].timesync_start_idx',
            f"the take's rows of timesync.csv (needed for {for_file})",
            "null",
        )
    p = release.path(ts_rel)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(
            ts_rel,
            None,
            f"the capture's timesync.csv: take {take.take_name}'s rows {take.start_idx + 1}..{take.end_idx - 1} "
            f"place {for_file} on the take's time axis",
            "no such file",
        ) from None
    col = f"{take.ego_cam}_{RGB_STREAM}_capture_timestamp_ns"
    values = _sync_column(str(release.root), ts_rel, col, st.st_size, st.st_mtime_ns)
    import numpy as np

    first, last = take.start_idx + 1, take.end_idx - 1
    if len(values) <= last:
        raise InputError(
            ts_rel,
            f"rows {first}..{last}",
            f"take {take.take_name}'s sync rows (takes.json timesync_start_idx + 1 .. timesync_end_idx - 1)",
            f"{len(values)} data rows",
        )
    rows = values[first : last + 1]
    ok = ~np.isnan(rows)
    if ok.sum() < 2:
        raise InputError(
            ts_rel,
            f"rows {first}..{last}, column {col}",
            f"at least two Aria timestamps among take {take.take_name}'s sync rows",
            f"{int(ok.sum())}",
        )
    frames = np.arange(len(rows), dtype=np.float64)[ok]
    dev = rows[ok]
    origin = float(dev[0])
    dev = dev - origin
    bad = np.nonzero(np.diff(dev) <= 0)[0]
    if len(bad):
        i = int(np.nonzero(ok)[0][bad[0] + 1]) + first
        raise InputError(
            ts_rel, f"row {i}, column {col}", "Aria timestamps that increase from row to row", "a step back"
        )
    return TakeClock(frames, dev, origin, len(rows), int((~ok).sum()))


@lru_cache(maxsize=4)
def _sync_column(root: str, rel: str, col: str, size: int, mtime_ns: int) -> np.ndarray:
    """One column of a timesync.csv as float64 (empty values NaN)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ..release import Release

    release = Release(root)
    names = header(release, rel)
    if col not in names:
        raise InputError(rel, "line 1", f"a column {col} (the take's Aria rgb stream)", "no such column")
    try:
        table = pacsv.read_csv(
            release.path(rel),
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            convert_options=pacsv.ConvertOptions(include_columns=[col], column_types={col: pa.float64()}),
        )
    except pa.ArrowInvalid as e:
        raise locate_error(release, rel, {col: pa.float64()}, str(e)) from None
    return table.column(0).to_numpy(zero_copy_only=False).astype("float64")
