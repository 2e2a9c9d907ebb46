"""Where the data files that ship with the package live.

In an installed wheel ``schemas/`` and ``queries/`` sit inside the package
(``egoexo_sql/schemas``); in a checkout or an editable install they sit at the
repository root. Both are looked up here, so no other module cares.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"egoexo-sql is installed without its '{name}/' folder (looked in {_PKG} and {_PKG.parent})"
    )


@cache
def schemas_dir() -> Path:
    return _find("schemas")


@cache
def queries_dir() -> Path:
    return _find("queries")
