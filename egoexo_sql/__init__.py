"""egoexo-sql: the Ego-Exo4D metadata and annotations as a typed Parquet catalog with DuckDB views.

import egoexo_sql
cat = egoexo_sql.open("egoexo_catalog")          # read-only
cat.sql("SELECT scenario, count(*) FROM takes GROUP BY ALL")   # -> polars.DataFrame
egoexo_sql.build("path/to/release", "egoexo_catalog")          # -> BuildReport
egoexo_sql.demo("demo_release", scale=0.1)                     # synthetic release
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The subpackage egoexo_sql.demo (the generator) has the name of the function below.
# Python binds a subpackage as an attribute of this package when it is first
# imported, which would replace the function; so it is imported here, before the
# function takes its name (it is light: nothing else is imported until one of its
# names is used), and `import egoexo_sql.demo` still finds it (in sys.modules). The
# build's steps are the package egoexo_sql.builder, a name no tool excludes.
from . import demo as _demo_package  # noqa: F401
from .version import __version__

__all__ = ["open", "build", "demo", "Catalog", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .builder.report import BuildReport
    from .catalog import Catalog
    from .demo.generator import DemoReport


def open(path: str | None = None) -> Catalog:  # noqa: A001 - the contract's name
    """Open a catalog read-only (default: $EGOEXO_SQL_CATALOG or ./egoexo_catalog)."""
    from .catalog import Catalog

    return Catalog.open(path)


def build(release_dir: str, catalog_dir: str = "egoexo_catalog", **options: Any) -> BuildReport:
    """Compile a release folder into a catalog; returns a report (tables, rows, seconds).
    Options: see :func:`egoexo_sql.builder.pipeline.build_catalog`."""
    from .builder.pipeline import build_catalog

    return build_catalog(release_dir, catalog_dir, **options)


def demo(out_dir: str, **options: Any) -> DemoReport:
    """Write a synthetic release; returns a report with the ground-truth counts.
    Options: see :func:`egoexo_sql.demo.generator.generate`."""
    from .demo.generator import generate

    return generate(out_dir, **options)


# `import egoexo_sql.demo; egoexo_sql.demo.generate(...)` (the examples' spelling): the
# name egoexo_sql.demo is the function above, which therefore also answers to .generate
demo.generate = demo  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "Catalog":
        from .catalog import Catalog

        return Catalog
    raise AttributeError(name)
