"""Source families: which release files produce which catalog tables.

The build pipeline is declared as data (the model is dataset-viewer's processing
graph): each :class:`Source` names its input files (globs relative to the release
root), the tables it produces and a ``version``. The incremental build recompiles a
source when any input's sha256 changed, an input appeared or vanished, or the
version was bumped; everything else is reused from the previous catalog.

A compiler is ``compile(release, files) -> {table_name: pyarrow.Table}``; it must
return every table it declares (empty when its optional inputs are missing), each
already conformed to ``schemas/<table>.toml`` (use :func:`egoexo_sql.schema.conform`).

A source that ``uses`` tables of other sources is compiled from them, not from its
files alone: ``compile(release, files, tables)`` gets ``{table: pyarrow.Table}`` for
each name in ``uses``, as the catalog holds them. The build runs it once those tables
are written (compiled in this build or kept from the previous one) and recompiles it
whenever a source it uses is recompiled; its ``inputs`` still decide when its own
files changed. The text search index is built this way from the five text tables.
"""

from __future__ import annotations

from ..names import GROUPS, SENSOR_GROUPS
from .source import Compiler, Source, StreamingSource, is_streaming, streaming_source

__all__ = [
    "GROUPS",
    "SENSOR_GROUPS",
    "Compiler",
    "Source",
    "StreamingSource",
    "all_sources",
    "is_streaming",
    "streaming_source",
]


def all_sources() -> list[Source]:
    """Every source family, in build order. Imported lazily to keep the CLI start fast."""
    from .registry import SOURCES

    return list(SOURCES)
