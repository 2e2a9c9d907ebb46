"""The records inside a typed JSON document: the parts of a file that become rows.

A compiler decodes a file into a type such as ``list[Take]`` or ``AtomicFile``
(``{"annotations": {take_uid: [Annotation, ...]}}``) and names its *record* types
(``Take``, ``Annotation``): the Structs one of which becomes one row (or one group of
rows) of a table. From the type and the record types this module derives a parallel
*skeleton* type, the same containers with each record left undecoded, so that

* :func:`unknown_keys` gives, for every record, the keys its Struct does not name
  (kept in the tables' ``extra`` column rather than dropped), and
* :class:`RecordFilter` decodes every record on its own, so a ``--lenient`` build can
  set bad records aside (with their JSON path and raw JSON) and build the rest.

Fields outside the records are kept verbatim (``msgspec.Raw``), so a filtered
document re-encodes to the same JSON minus the records left out. Record paths are
written like the InputError paths: ``$[3]``, ``$.annotations["<uid>"][0]``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec

Records = tuple[type, ...]


# --------------------------------------------------------------------------- types
def _members(t: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return typing.get_args(t)
    return None


def _is_struct(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, msgspec.Struct)


@cache
def contains(t: Any, records: Records) -> bool:
    """Whether values of type ``t`` can hold one of the record types."""
    if t in records:
        return True
    m = _members(t)
    if m is not None:
        return any(contains(a, records) for a in m)
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        return contains(typing.get_args(t)[0], records)
    if origin is dict:
        return contains(typing.get_args(t)[1], records)
    if _is_struct(t):
        return any(contains(f.type, records) for f in msgspec.structs.fields(t))
    return False


@cache
def skeleton(t: Any, records: Records, leaf: Any = msgspec.Raw) -> Any:
    """``t`` with every record type replaced by ``leaf`` and other fields kept as Raw."""
    if t in records:
        return leaf
    if not contains(t, records):
        return msgspec.Raw
    m = _members(t)
    if m is not None:
        members = tuple(skeleton(a, records, leaf) if a is not type(None) else a for a in m)
        return typing.Union[members]  # noqa: UP007
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        return list[skeleton(typing.get_args(t)[0], records, leaf)]  # type: ignore[misc]  # made at run time
    if origin is dict:
        k, v = typing.get_args(t)
        return dict[k, skeleton(v, records, leaf)]  # type: ignore[misc,valid-type]  # made at run time
    # a Struct holding records: same fields; absent optional ones stay absent
    fields: list[tuple[Any, ...]] = []
    rename = {}
    for f in msgspec.structs.fields(t):
        ft = skeleton(f.type, records, leaf)
        if f.required:
            fields.append((f.name, ft))
        else:
            fields.append((f.name, typing.Union[ft, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        rename[f.name] = f.encode_name
    return msgspec.defstruct(f"{t.__name__}Skeleton", fields, rename=rename, gc=False, omit_defaults=True)


def walk(obj: Any, t: Any, records: Records, path: str = "$") -> Iterator[tuple[str, type, Any]]:
    """(path, record type, value) of every record in a skeleton object, in document order."""
    if t in records:
        yield path, t, obj
        return
    if obj is None or obj is msgspec.UNSET or not contains(t, records):
        return
    m = _members(t)
    if m is not None:
        for a in m:
            if a is not type(None) and _fits(obj, a, records):
                yield from walk(obj, a, records, path)
                return
        return
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        inner = typing.get_args(t)[0]
        for i, x in enumerate(obj):
            yield from walk(x, inner, records, f"{path}[{i}]")
    elif origin is dict:
        inner = typing.get_args(t)[1]
        for k, x in obj.items():
            yield from walk(x, inner, records, f'{path}["{k}"]')
    elif _is_struct(t):
        for f in msgspec.structs.fields(t):
            if contains(f.type, records):
                yield from walk(getattr(obj, f.name), f.type, records, f"{path}.{f.encode_name}")


def _fits(obj: Any, t: Any, records: Records) -> bool:
    """Which member of a union a decoded skeleton value came from."""
    origin = typing.get_origin(t)
    if t in records:
        return isinstance(obj, (msgspec.Raw, dict))
    if origin in (list, tuple):
        return isinstance(obj, list)
    if origin is dict:
        return isinstance(obj, dict)
    if _is_struct(t):
        return isinstance(obj, msgspec.Struct)
    return False


def _without(obj: Any, t: Any, records: Records, path: str, drop: Callable[[str], bool]) -> Any:
    """A copy of a skeleton object without the records whose path ``drop`` says."""
    if obj is None or obj is msgspec.UNSET or t in records or not contains(t, records):
        return obj
    m = _members(t)
    if m is not None:
        for a in m:
            if a is not type(None) and _fits(obj, a, records):
                return _without(obj, a, records, path, drop)
        return obj
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        inner = typing.get_args(t)[0]
        out = []
        for i, x in enumerate(obj):
            p = f"{path}[{i}]"
            if not (inner in records and drop(p)):
                out.append(_without(x, inner, records, p, drop))
        return out
    if origin is dict:
        inner = typing.get_args(t)[1]
        return {
            k: _without(x, inner, records, f'{path}["{k}"]', drop)
            for k, x in obj.items()
            if not (inner in records and drop(f'{path}["{k}"]'))
        }
    values = {
        f.name: _without(getattr(obj, f.name), f.type, records, f"{path}.{f.encode_name}", drop)
        for f in msgspec.structs.fields(t)
    }
    return msgspec.structs.replace(obj, **values)


# --------------------------------------------------------------------------- unknown keys
def unknown_keys(data: bytes, t: Any, record: type) -> list[str | None]:
    """Per ``record`` in ``data`` (document order): its keys the Struct does not name,
    as a JSON object text, or None when it has none. ``data`` must decode as ``t``."""
    skel = skeleton(t, (record,), dict[str, msgspec.Raw])
    obj = msgspec.json.decode(data, type=skel)
    known = {f.encode_name for f in msgspec.structs.fields(record)}
    out: list[str | None] = []
    enc = msgspec.json.encode
    for _, _, rec in walk(obj, t, (record,)):
        extra = [k for k in rec if k not in known]
        if not extra:
            out.append(None)
        else:
            out.append("{" + ",".join(enc(k).decode() + ":" + bytes(rec[k]).decode() for k in extra) + "}")
    return out


# --------------------------------------------------------------------------- lenient decoding
@dataclass
class RecordFilter:
    """One file decoded record by record: what was set aside, and the path of each kept record.

    ``rejects`` are (json_path, why, raw JSON) of the records left out (why: what
    ``check`` returned);
    ``data`` is the document without them (re-encoded), which decodes as ``t``;
    ``original`` maps a kept record's path in ``data`` to its path in the file.
    """

    data: bytes
    rejects: list[tuple[str, Any, str]] = field(default_factory=list)
    original: dict[str, str] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # original path -> raw JSON


def filter_records(
    data: bytes, t: Any, records: Records, excluded: set[str], check: Callable[[bytes, type], Any]
) -> RecordFilter:
    """Decode the skeleton of ``data``, leave out the ``excluded`` records (original paths)
    and those ``check(raw, record type)`` finds bad (it returns why, or None).

    Raises msgspec errors when the document is wrong outside its records.
    """
    skel_t = skeleton(t, records)
    obj = msgspec.json.decode(data, type=skel_t)
    out = RecordFilter(b"")
    drop: set[str] = set()
    for path, rtype, raw in walk(obj, t, records):
        out.raw[path] = bytes(raw)
        if path in excluded:
            drop.add(path)
            continue
        reason = check(bytes(raw), rtype)
        if reason is not None:
            drop.add(path)
            out.rejects.append((path, reason, bytes(raw).decode("utf-8", "replace")))
    kept = _without(obj, t, records, "$", drop.__contains__)
    out.data = msgspec.json.encode(kept)
    for (new, _, _), (old, _, _) in zip(
        walk(kept, t, records), (w for w in walk(obj, t, records) if w[0] not in drop)
    ):
        out.original[new] = old
    return out


def record_prefix(path: str, record_paths: typing.Iterable[str]) -> str | None:
    """The record path that ``path`` (a JSON path in the document) lies in, if any."""
    best = None
    for p in record_paths:
        if path == p or path.startswith(p + ".") or path.startswith(p + "["):
            if best is None or len(p) > len(best):
                best = p
    return best
