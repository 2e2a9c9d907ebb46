"""Types of the native ego pose decoder, ``_posecols.c`` (its method table and module
constants); :mod:`egoexo_sql.tables.ego_pose` loads it when it is compiled."""

from typing import Any

ABI: int
SOURCE_SHA256: str
LONG_DOUBLE: int

def decode_pose(data: bytes, /) -> dict[str, Any] | None: ...
def parse_float(text: bytes, /) -> float | None: ...
