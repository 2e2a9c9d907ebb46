"""What the modules that work on an open catalog need of it: :class:`CatalogLike`.

:class:`egoexo_sql.catalog.Catalog` is one. :mod:`egoexo_sql.select` and
:mod:`egoexo_sql.search` type their ``cat`` parameters with this protocol instead of
the class, so that ``Catalog.takes()`` and ``Catalog.search()`` can call them without
an import circle (the class uses those modules; they do not reach back into it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


class CatalogLike(Protocol):
    """An open catalog: its folder, its DuckDB connection, and queries run on it."""

    @property
    def path(self) -> Path:
        """The catalog folder."""
        ...

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, the catalog attached as the default database."""
        ...

    def execute(
        self, query: str, params: list[Any] | dict[str, Any] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """Run ``query``; the connection holds the result."""
        ...
