"""A release folder on disk: find its files, read them, decode their JSON.

Every problem with the input becomes an :class:`~egoexo_sql.errors.InputError`
that names the file (relative to the release root), the JSON path and what was
expected: a missing required file, a folder where a file belongs, bytes that are
not UTF-8, malformed JSON, a wrong top-level shape or a wrong value type.

Decoding is typed: the compilers in :mod:`egoexo_sql.tables` describe the fields
they read as :class:`msgspec.Struct` types and :meth:`Release.decode` validates
while parsing. Keys a Struct does not name are skipped without being built,
which is both why unknown extra keys never fail a build and why typed decoding
is faster than building dicts; :meth:`Release.decode_records` also returns them,
per record, for the tables' ``extra`` column.

``Release(root, lenient=True)`` (``build --lenient``) sets bad *records* aside
instead of failing: the compilers name their record types (``records=(Take,)``,
see :mod:`egoexo_sql.records`); a file whose typed decoding fails is decoded record
by record, and a record the compiler refuses afterwards (a duplicate key, a bad
date) is left out by :func:`compile_leniently`, which compiles the source again.
Each record left out is one row of :attr:`Release.rejects`. Problems of the whole
file (missing, a folder, not UTF-8, not JSON, a wrong shape outside the records)
still fail.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import threading
import time
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, overload

import msgspec

from .errors import InputError

T = TypeVar("T")

_BOM = b"\xef\xbb\xbf"

# Python's cyclic GC walks every container it tracks each time enough allocations
# pile up; decoding a file into ~10^6 Structs triggers it hundreds of times for
# nothing (decoded data has no cycles). Disabled while any decode runs; a counter
# makes this safe when sources are compiled on several threads.
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration (re-entrant, thread-safe).

    The first entry remembers whether the collector was on; the last exit restores that.
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


class Release:
    """The release folder rooted at ``root`` (the downloader's ``--out_dir``).

    Paths may be given relative to the root (``"annotations/splits.json"``) or absolute;
    error messages always show them relative to the root. The per-file methods work on
    strings, not ``Path`` objects: a release has ~12k small commentary files and pathlib
    parsing would cost more than reading them.
    """

    def __init__(self, root: str | Path, lenient: bool = False):
        self.root = Path(root).resolve()
        self._prefix = str(self.root).rstrip(os.sep) + os.sep
        self.lenient = lenient
        #: records set aside (lenient): dicts of source_file, json_path, reason, raw
        self.rejects: list[dict[str, str]] = []
        self._excluded: dict[str, set[str]] = {}  # file -> record paths (in the file) left out
        self._decoded: dict[str, _Decoded] = {}  # file -> how it was last decoded (lenient)
        #: when a dict, :meth:`read_bytes` records (sha256, time the read began) of each
        #: file it reads, by relative path (the build's workers hash what they parse)
        self.read_hashes: dict[str, tuple[str, int]] | None = None

    def __repr__(self) -> str:
        return f"Release({str(self.root)!r})"

    # -- locating files -------------------------------------------------------
    def _abs(self, rel: str | os.PathLike[str]) -> str:
        s = os.fspath(rel)
        return s if os.path.isabs(s) else self._prefix + s

    def path(self, rel: str | os.PathLike[str]) -> Path:
        """Absolute path of a file given relative to the root (absolute paths pass through)."""
        return Path(self._abs(rel))

    def rel(self, path: str | os.PathLike[str]) -> str:
        """The path relative to the root, with forward slashes (as error messages show it)."""
        s = os.fspath(path)
        if s.startswith(self._prefix):
            s = s[len(self._prefix) :]
        elif os.path.isabs(s):
            return s
        return s if os.sep == "/" else s.replace(os.sep, "/")

    def exists(self, rel: str | os.PathLike[str]) -> bool:
        return os.path.exists(self._abs(rel))

    def is_file(self, rel: str | os.PathLike[str]) -> bool:
        return os.path.isfile(self._abs(rel))

    def glob(self, pattern: str) -> list[Path]:
        """Files (not folders) matching a glob relative to the root, sorted by relative path."""
        return sorted((p for p in self.root.glob(pattern) if p.is_file()), key=lambda p: self.rel(p))

    # -- reading --------------------------------------------------------------
    def read_bytes(self, rel: str | os.PathLike[str]) -> bytes:
        """The file's bytes; a missing file or a folder is an InputError."""
        full = self._abs(rel)
        at = time.time_ns() if self.read_hashes is not None else 0
        try:
            with open(full, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise InputError(
                self.rel(full), None, "a file (it is required)", "nothing at this path"
            ) from None
        except IsADirectoryError:
            raise InputError(self.rel(full), None, "a JSON file", "a folder") from None
        except PermissionError:
            if os.path.isdir(full):  # Windows reports a folder this way
                raise InputError(self.rel(full), None, "a JSON file", "a folder") from None
            raise InputError(self.rel(full), None, "a readable file", "permission denied") from None
        if self.read_hashes is not None:
            self.read_hashes[self.rel(full)] = (hashlib.sha256(data).hexdigest(), at)
        return data

    @overload
    def decode(
        self,
        rel: str | os.PathLike[str],
        type: type[T],  # noqa: A002 - msgspec's name
        records: tuple[type, ...] = (),
    ) -> T: ...

    @overload  # a type form that is not a class (a Union, ...): the value is Any to mypy
    def decode(
        self,
        rel: str | os.PathLike[str],
        type: Any = Any,  # noqa: A002 - msgspec's name
        records: tuple[type, ...] = (),
    ) -> Any: ...

    def decode(
        self,
        rel: str | os.PathLike[str],
        type: Any = Any,  # noqa: A002 - msgspec's name
        records: tuple[type, ...] = (),
    ) -> Any:
        """Read and decode a JSON file into ``type`` (a msgspec-compatible type).

        ``records`` names the Struct types whose values are records (one row or group
        of rows each); a lenient Release leaves bad ones out instead of failing.
        Raises InputError naming the file, the JSON path and what was expected.
        """
        return self._decode(rel, type, records)[0]

    def decode_records(
        self,
        rel: str | os.PathLike[str],
        type: Any,
        record: type,
        *more_records: type,  # noqa: A002
    ) -> tuple[Any, list[str | None]]:
        """``decode(rel, type, (record, *more_records))`` and, per ``record`` in document
        order, the keys its Struct does not name as a JSON object (None when none)."""
        from .records import unknown_keys

        obj, _, data = self._decode(rel, type, (record, *more_records))
        with gc_paused():
            return obj, unknown_keys(data, type, record)

    def _name(self, rel: str | os.PathLike[str]) -> tuple[str, str]:
        s = os.fspath(rel)
        if os.path.isabs(s):
            return s, self.rel(s)
        return self._prefix + s, s.replace(os.sep, "/")

    def _decode(
        self, rel: str | os.PathLike[str], type_: Any, records: tuple[type, ...]
    ) -> tuple[Any, str, bytes]:
        """(decoded value, file name, the bytes it was decoded from)."""
        full, name = self._name(rel)
        data = self.read_bytes(full)
        if data.startswith(_BOM):
            data = data[3:]
        if not (self.lenient and records):
            return decode_json(data, type_, name), name, data
        excluded = self._excluded.setdefault(name, set())
        if not excluded:
            try:
                obj = decode_json(data, type_, name)
            except InputError as e:
                if e.json_path is None:  # the file itself: not UTF-8, not JSON, empty
                    raise
                first = e
            else:
                self._decoded[name] = _Decoded(type_, records, data, None)
                return obj, name, data
        else:
            first = None
        from .records import filter_records

        def check(raw: bytes, rtype: type) -> tuple[str, str] | None:
            try:
                decoder(rtype).decode(raw)
            except msgspec.ValidationError as e:
                err = _validation_error(e, raw, rtype, name)
                return err.json_path or "$", _reason(err)
            return None

        try:
            with gc_paused():
                f = filter_records(data, type_, records, excluded, check)
        except (msgspec.ValidationError, msgspec.DecodeError):
            if first is not None:
                raise first from None  # wrong outside the records: the whole file
            return decode_json(data, type_, name), name, data  # pragma: no cover - raises
        for path, (inner, reason), raw in f.rejects:
            excluded.add(path)
            self.rejects.append(
                {"source_file": name, "json_path": path + inner[1:], "reason": reason, "raw": raw}
            )
        self._decoded[name] = _Decoded(type_, records, f.data, f)
        return decode_json(f.data, type_, name), name, f.data

    def reject(self, error: InputError) -> bool:
        """Lenient: leave out the record ``error`` (raised by a compiler) points into.

        True when the error lies inside a record of a file decoded with ``records``
        (the caller then compiles again); False for a problem of the whole file.
        """
        if not self.lenient or not error.json_path:
            return False
        d = self._decoded.get(error.file)
        if d is None:
            return False
        from .records import filter_records, record_prefix

        if d.filter is None:  # decoded whole: find its records now
            with gc_paused():
                d.filter = filter_records(d.data, d.type, d.records, set(), lambda raw, t: None)
        prefix = record_prefix(error.json_path, d.filter.original)
        if prefix is None:
            return False
        path = d.filter.original[prefix]
        excluded = self._excluded.setdefault(error.file, set())
        if path in excluded:  # pragma: no cover - the compiler saw a record left out
            return False
        excluded.add(path)
        self.rejects.append(
            {
                "source_file": error.file,
                "json_path": path + error.json_path[len(prefix) :],
                "reason": _reason(error),
                "raw": d.filter.raw[path].decode("utf-8", "replace"),
            }
        )
        return True

    def take_rejects(self) -> list[dict[str, str]]:
        """The rejects recorded since the last call."""
        out, self.rejects = self.rejects, []
        return out


class _Decoded:
    """How a file was last decoded by a lenient Release (for :meth:`Release.reject`)."""

    def __init__(self, type_: Any, records: tuple[type, ...], data: bytes, filter_: Any):
        self.type = type_
        self.records = records
        self.data = data
        self.filter = filter_


def _reason(e: InputError) -> str:
    return f"expected {e.expected}" + (f", got {e.got}" if e.got else "")


#: A source whose records are refused one by one is compiled again after each; past
#: this many rejects in one source, the build stops with the last error.
MAX_REJECTS_PER_SOURCE = 10_000


def compile_leniently(compile_fn: Any, release: Release, files: list[Any], *tables: Any) -> Any:
    """Run a compiler on a lenient Release, compiling again without each record it refuses."""
    from .variants import take_counts

    for _ in range(MAX_REJECTS_PER_SOURCE):
        take_counts()  # count the normalised values of the last attempt only
        try:
            return compile_fn(release, files, *tables)
        except InputError as e:
            if not release.reject(e):
                raise
    return compile_fn(release, files, *tables)


# -- decoding -----------------------------------------------------------------
@cache
def decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    """The msgspec JSON decoder of ``type_`` (one per type, reused)."""
    return msgspec.json.Decoder(type_)


def decode_json(data: bytes, type_: Any, file: str) -> Any:
    """Decode JSON bytes into ``type_``; every failure is an InputError about ``file``."""
    if data.startswith(_BOM):
        data = data[3:]
    if not data.isascii():
        # msgspec checks UTF-8 only inside the strings it builds; keys and values it
        # skips are not looked at. Non-ASCII files are checked whole (ASCII is UTF-8).
        check_utf8(data, file)
    try:
        with gc_paused():
            return decoder(type_).decode(data)
    except msgspec.ValidationError as e:
        raise _validation_error(e, data, type_, file) from None
    except msgspec.DecodeError as e:
        raise _syntax_error(e, data, file) from None
    except UnicodeDecodeError:  # pragma: no cover - check_utf8 ran first
        check_utf8(data, file)
        raise


def check_utf8(data: bytes, file: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col(data, e.start)
        raise InputError(
            file,
            None,
            "UTF-8 text",
            f"byte 0x{data[e.start]:02x} that is not UTF-8 at line {line}, column {col} "
            f"(byte offset {e.start})",
        ) from None


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(data)))
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


_BYTE = re.compile(r"^(?P<what>.*?)\s*\(byte (?P<offset>\d+)\)$")


def _syntax_error(e: msgspec.DecodeError, data: bytes, file: str) -> InputError:
    msg = str(e)
    if not data.strip():
        return InputError(file, None, "a JSON document", "an empty file")
    if msg.startswith("Input data was truncated"):
        line, col = _line_col(data, len(data))
        return InputError(file, None, "valid JSON", f"the file ends early, at line {line}, column {col}")
    msg = msg.removeprefix("JSON is malformed: ")
    m = _BYTE.match(msg)
    if m:
        offset = int(m["offset"])
        line, col = _line_col(data, offset)
        return InputError(
            file, None, "valid JSON", f"{m['what']} at line {line}, column {col} (byte {offset})"
        )
    return InputError(file, None, "valid JSON", msg)


_EXPECTED_GOT = re.compile(r"^Expected `(?P<exp>[^`]+)`(?P<more>[^,]*), got `(?P<got>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def _validation_error(e: msgspec.ValidationError, data: bytes, type_: Any, file: str) -> InputError:
    msg = str(e)
    path = "$"
    if " - at `" in msg:
        msg, _, path = msg.rpartition(" - at `")
        path = path.rstrip("`")
    if "[...]" in path:
        path = _resolve_dict_keys(path, data, type_)
    m = _EXPECTED_GOT.match(msg)
    if m:
        return InputError(file, path, f"{_plain(m['exp'])}{m['more']}", _plain(m["got"]))
    m = _MISSING.match(msg)
    if m:
        return InputError(file, path, f'an object with the required key "{m["field"]}"', "no such key")
    return InputError(file, path, msg)


_PLAIN = {
    "object": "a JSON object",
    "array": "a JSON array",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
}


def _plain(t: str) -> str:
    parts = [p.strip() for p in t.split("|")]
    return " or ".join(_PLAIN.get(p, p) for p in parts)


# -- turning msgspec's `[...]` (an unnamed dict key) into the real key ----------
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\.\.\.|\d+)\]")


def _resolve_dict_keys(path: str, data: bytes, type_: Any) -> str:
    """msgspec writes ``[...]`` for a key of a dict; find the key whose value fails.

    Runs only on the error path: decodes the file untyped, follows the path, and at
    each ``[...]`` re-checks each value against the dict's value type.
    """
    try:
        obj = msgspec.json.decode(data)
    except Exception:  # pragma: no cover - typed decoding got this far
        return path
    out = ["$"]
    typ = type_
    for m in _SEGMENT.finditer(path[1:]):
        name, index = m.group(1), m.group(2)
        if name is not None:
            typ = _field_type(typ, name)
            obj = obj.get(name) if isinstance(obj, dict) else None
            out.append(f".{name}")
        elif index == "...":
            typ = _value_type(typ)
            found = None
            if isinstance(obj, dict) and typ is not None:
                dec = msgspec.json.Decoder(typ)
                for k, v in obj.items():
                    try:
                        dec.decode(msgspec.json.encode(v))
                    except msgspec.ValidationError:
                        found = k
                        break
            if found is None:
                out.append("[...]")
                obj = None
            else:
                out.append(f'["{found}"]')
                obj = obj[found]
        else:
            i = int(index)
            typ = _item_type(typ)
            obj = obj[i] if isinstance(obj, list) and i < len(obj) else None
            out.append(f"[{i}]")
        if obj is None:
            # keep the rest of msgspec's path as it was
            rest = path[1 + m.end() :]
            return "".join(out) + rest
    return "".join(out)


def _strip_optional(typ: Any) -> list[Any]:
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(typ) if a is not type(None)]
    return [typ]


def _field_type(typ: Any, name: str) -> Any:
    for t in _strip_optional(typ):
        if isinstance(t, type) and issubclass(t, msgspec.Struct):
            for f in msgspec.structs.fields(t):
                if f.encode_name == name:
                    return f.type
    return None


def _value_type(typ: Any) -> Any:
    for t in _strip_optional(typ):
        if typing.get_origin(t) is dict:
            return typing.get_args(t)[1]
    return None


def _item_type(typ: Any) -> Any:
    for t in _strip_optional(typ):
        if typing.get_origin(t) in (list, tuple):
            return typing.get_args(t)[0]
    return None
