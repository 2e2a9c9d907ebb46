"""The export stamps of the release's files -> release_files.

``metadata.json`` names the release (``{"version": "v2", "date": "240325", ...}``) and
several annotation files carry the moment they were exported (``"ds":
"20240404_08:13:53"`` in splits, atomic descriptions and expert commentary; ``"date":
"04/02/2024"`` in the keystep benchmark files). One row per file that has one, so
:mod:`egoexo_sql.reconcile` can tell files of another release mixed into the folder.

Only the top-level stamp keys are decoded; msgspec skips the rest of each file in C.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import msgspec

from ..schema import conform
from ._common import to_text
from .metadata import METADATA_JSON

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

# The files that carry one. Not the relations files (no stamp, and GBs that the
# relations source reads take by take) nor the per-take folders (ego pose, data.json).
INPUTS = (
    METADATA_JSON,
    "annotations/splits.json",
    "annotations/keystep_*.json",
    "annotations/proficiency_*.json",
    "annotations/atomic_descriptions_*.json",
    "annotations/expert_commentary_*.json",
    "annotations/keystep_benchmark/*.json",
)

_Scalar = Union[str, int, float, None]  # noqa: UP007


class Stamps(msgspec.Struct, gc=False):
    version: _Scalar = None
    date: _Scalar = None
    ds: _Scalar = None


# the proficiency files may be a bare list (the docs' form): no stamps there
FileType = Union[Stamps, list[msgspec.Raw]]  # noqa: UP007

_FORMATS = (
    (re.compile(r"(\d{8})(?:[_ T].*)?"), "%Y%m%d"),  # ds: 20240404_08:13:53
    (re.compile(r"(\d{6})"), "%y%m%d"),  # metadata.json date: 240325
    (re.compile(r"(\d{1,2}/\d{1,2}/\d{4})"), "%m/%d/%Y"),  # keystep benchmark: 04/02/2024
    (re.compile(r"(\d{4}-\d{2}-\d{2})(?:[_ T].*)?"), "%Y-%m-%d"),
)


def export_date(value: Any) -> _dt.date | None:
    """The calendar date of a stamp as the release writes them; None when it is not one."""
    text = to_text(value)
    if not text:
        return None
    for pattern, fmt in _FORMATS:
        m = pattern.fullmatch(text.strip())
        if m:
            try:
                return _dt.datetime.strptime(m.group(1), fmt).date()
            except ValueError:
                return None
    return None


def compile_release_files(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    cols: dict[str, list[Any]] = {k: [] for k in ("source_file", "version", "date", "ds", "exported_on")}
    for f in files:
        rel = release.rel(f)
        s = release.decode(rel, FileType)
        if not isinstance(s, Stamps) or (s.version is None and s.date is None and s.ds is None):
            continue
        cols["source_file"].append(rel)
        cols["version"].append(to_text(s.version))
        cols["date"].append(to_text(s.date))
        cols["ds"].append(to_text(s.ds))
        cols["exported_on"].append(export_date(s.ds if s.ds is not None else s.date))
    return {"release_files": conform("release_files", cols)}
