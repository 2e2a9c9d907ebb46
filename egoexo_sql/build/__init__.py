"""The build: a release folder compiled into a catalog, one module per step.

    import egoexo_sql
    report = egoexo_sql.build("release", "egoexo_catalog", only=["metadata"])
    # the same: from egoexo_sql.build import build_catalog

:func:`~egoexo_sql.build.pipeline.build_catalog` runs the steps in order:

- :mod:`~egoexo_sql.build.scan`: find every input of the selected sources, and hash
  the ones whose recorded sha256 cannot be trusted;
- :mod:`~egoexo_sql.build.plan`: what each source does (compile, reuse, empty) and why;
  whether the catalog is already current;
- :mod:`~egoexo_sql.build.compiling`: the engine that compiles whole sources and
  streaming sources' units (:mod:`~egoexo_sql.build.units`) in worker processes;
- :mod:`~egoexo_sql.build.parquet`: the Parquet writer both use (partitioning,
  encodings, statistics, row groups, row spans);
- :mod:`~egoexo_sql.build.links`: hard links for what is reused;
- :mod:`~egoexo_sql.build.views`: ``catalog.duckdb`` and ``views.sql``;
- :mod:`~egoexo_sql.build.report`: the :class:`~egoexo_sql.build.report.BuildReport`
  and ``build.json``;
- :mod:`~egoexo_sql.build.swap`: the staging folder, the lock, the atomic swap and the
  repair of killed builds' leftovers.

``import egoexo_sql`` imports this package (so that ``egoexo_sql.build`` stays the
function): it imports nothing else until one of its names is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_catalog", "BuildReport", "write_table"]


def __getattr__(name: str) -> Any:
    if name == "build_catalog":
        from .pipeline import build_catalog

        return build_catalog
    if name == "BuildReport":
        from .report import BuildReport

        return BuildReport
    if name == "write_table":
        from .parquet import write_table

        return write_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
