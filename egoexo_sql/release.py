"""A release folder on disk: find its files, read them, decode their JSON.

Every problem with the input becomes an :class:`~egoexo_sql.errors.InputError`
that names the file (relative to the release root), the JSON path and what was
expected: a missing required file, a folder where a file belongs, bytes that are
not UTF-8, malformed JSON, a wrong top-level shape or a wrong value type.

Decoding is typed: the compilers in :mod:`egoexo_sql.tables` describe the fields
they read as :class:`msgspec.Struct` types and :meth:`Release.decode` validates
while parsing. Keys a Struct does not name are skipped without being built,
which is both why unknown extra keys never fail a build and why typed decoding
is faster than building dicts.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import types
import typing
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Iterator, TypeVar

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

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self._prefix = str(self.root).rstrip(os.sep) + os.sep

    def __repr__(self) -> str:
        return f"Release({str(self.root)!r})"

    # -- locating files -------------------------------------------------------
    def _abs(self, rel: str | os.PathLike) -> str:
        s = os.fspath(rel)
        return s if os.path.isabs(s) else self._prefix + s

    def path(self, rel: str | os.PathLike) -> Path:
        """Absolute path of a file given relative to the root (absolute paths pass through)."""
        return Path(self._abs(rel))

    def rel(self, path: str | os.PathLike) -> str:
        """The path relative to the root, with forward slashes (as error messages show it)."""
        s = os.fspath(path)
        if s.startswith(self._prefix):
            s = s[len(self._prefix):]
        elif os.path.isabs(s):
            return s
        return s if os.sep == "/" else s.replace(os.sep, "/")

    def exists(self, rel: str | os.PathLike) -> bool:
        return os.path.exists(self._abs(rel))

    def is_file(self, rel: str | os.PathLike) -> bool:
        return os.path.isfile(self._abs(rel))

    def glob(self, pattern: str) -> list[Path]:
        """Files (not folders) matching a glob relative to the root, sorted by relative path."""
        return sorted(
            (p for p in self.root.glob(pattern) if p.is_file()), key=lambda p: self.rel(p)
        )

    # -- reading --------------------------------------------------------------
    def read_bytes(self, rel: str | os.PathLike) -> bytes:
        """The file's bytes; a missing file or a folder is an InputError."""
        full = self._abs(rel)
        try:
            with open(full, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise InputError(self.rel(full), None, "a file (it is required)",
                             "nothing at this path") from None
        except IsADirectoryError:
            raise InputError(self.rel(full), None, "a JSON file", "a folder") from None
        except PermissionError:
            if os.path.isdir(full):  # Windows reports a folder this way
                raise InputError(self.rel(full), None, "a JSON file", "a folder") from None
            raise InputError(self.rel(full), None, "a readable file", "permission denied") from None

    def decode(self, rel: str | os.PathLike, type: type[T] = Any) -> T:  # noqa: A002 - msgspec's name
        """Read and decode a JSON file into ``type`` (a msgspec-compatible type).

        Raises InputError naming the file, the JSON path and what was expected.
        """
        s = os.fspath(rel)
        if os.path.isabs(s):
            full, name = s, self.rel(s)
        else:
            full, name = self._prefix + s, s.replace(os.sep, "/")
        return decode_json(self.read_bytes(full), type, name)


# -- decoding -----------------------------------------------------------------
@cache
def _decoder(type_: Any) -> msgspec.json.Decoder:
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
            return _decoder(type_).decode(data)
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
        return InputError(
            file, None, "valid JSON", f"the file ends early, at line {line}, column {col}"
        )
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
        return InputError(file, path, f"an object with the required key \"{m['field']}\"", "no such key")
    return InputError(file, path, msg)


_PLAIN = {"object": "a JSON object", "array": "a JSON array", "str": "a string", "int": "an integer",
          "float": "a number", "bool": "true or false", "null": "null"}


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
            rest = path[1 + m.end():]
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
