"""annotations/procedure_understanding_{train,val}.json and
procedure_understanding_test_unannotated.json -> procedure_understanding.

No public source establishes these files' schema (docs/real-data-variants.md says what
was searched), so each record is kept whole, as written, in a typed envelope: which
split, which record, where in the file, and the take it names. The records are the
items of the file's ``annotations`` member (a list, or an object keyed by uid), or of
the file itself when it has no such member (a list, or an object whose members holding
an object or a list are records; scalar members such as a ``ds`` stamp are not).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import msgspec

from ..errors import InputError
from ..schema import conform
from ._common import split_files_once

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

GLOB = "annotations/procedure_understanding_*.json"
_UID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

Members = Union[dict[str, msgspec.Raw], list[msgspec.Raw]]  # noqa: UP007


class _Names(msgspec.Struct, gc=False):
    take_uid: str | None = None
    take_name: str | None = None


_names = msgspec.json.Decoder(_Names)
_members = msgspec.json.Decoder(Members)


def compile_procedure_understanding(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    cols: dict[str, list[Any]] = {
        k: [] for k in ("split", "record_idx", "record_key", "json_path", "take_uid", "take_name", "record")
    }
    for rel, split in split_files_once(release, files, "procedure_understanding"):
        top = release.decode(rel, Members)
        prefix = "$"
        if isinstance(top, dict) and "annotations" in top:
            try:
                top = _members.decode(top["annotations"])
            except msgspec.ValidationError:
                raise InputError(
                    rel, "$.annotations", "a list or an object of records", "another JSON value"
                ) from None
            prefix = "$.annotations"
        if isinstance(top, dict):
            items = [(k, v) for k, v in top.items() if bytes(v)[:1] in (b"{", b"[")]
            if top and not items and prefix == "$":
                raise InputError(rel, "$", "records (objects or lists) in the file", "scalar members only")
        else:
            items = [(None, v) for v in top]
        for i, (key, raw) in enumerate(items):
            text = bytes(raw)
            path = f'{prefix}["{key}"]' if key is not None else f"{prefix}[{i}]"
            names = _Names()
            if text[:1] == b"{":
                try:
                    names = _names.decode(text)
                except msgspec.ValidationError as e:
                    raise InputError(
                        rel, path, "take_uid and take_name as strings when present", str(e).split(" - at ")[0]
                    ) from None
            take_uid = names.take_uid or (key if key is not None and _UID.fullmatch(key) else None)
            cols["split"].append(split)
            cols["record_idx"].append(i)
            cols["record_key"].append(key)
            cols["json_path"].append(path)
            cols["take_uid"].append(take_uid)
            cols["take_name"].append(names.take_name)
            cols["record"].append(text.decode("utf-8"))
    return {"procedure_understanding": conform("procedure_understanding", cols)}
