"""egoexo-sql: the Ego-Exo4D metadata and annotations as a typed Parquet catalog with DuckDB views.

    import egoexo_sql
    cat = egoexo_sql.open("egoexo_catalog")          # read-only
    cat.sql("SELECT scenario, count(*) FROM takes GROUP BY ALL")   # -> polars.DataFrame
    egoexo_sql.build("path/to/release", "egoexo_catalog")          # -> BuildReport
    egoexo_sql.demo("demo_release", scale=0.1)                     # synthetic release
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["open", "build", "demo", "Catalog", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog


def open(path: str | None = None) -> "Catalog":  # noqa: A001 - the contract's name
    """Open a catalog read-only (default: $EGOEXO_SQL_CATALOG or ./egoexo_catalog)."""
    from .catalog import Catalog

    return Catalog.open(path)


def build(release_dir: str, catalog_dir: str = "egoexo_catalog", **options: Any):
    """Compile a release folder into a catalog; returns a report (tables, rows, seconds)."""
    from .build import build_catalog

    return build_catalog(release_dir, catalog_dir, **options)


def demo(out_dir: str, **options: Any):
    """Write a synthetic release; returns a report with the ground-truth counts."""
    from .demo import generate

    return generate(out_dir, **options)


def __getattr__(name: str):
    if name == "Catalog":
        from .catalog import Catalog

        return Catalog
    raise AttributeError(name)
