"""The build: a release folder compiled into a catalog, one module per step.

    import egoexo_sql
    report = egoexo_sql.build("release", "egoexo_catalog", only=["metadata"])
    # the same: from egoexo_sql.builder import build_catalog

:func:`~egoexo_sql.builder.pipeline.build_catalog` runs the steps in order:

- :mod:`~egoexo_sql.builder.scan`: find every input of the selected sources, and hash
  the ones whose recorded sha256 cannot be trusted;
- :mod:`~egoexo_sql.builder.plan`: what each source does (compile, reuse, empty) and why;
  whether the catalog is already current;
- :mod:`~egoexo_sql.builder.compiling`: the engine that compiles whole sources and
  streaming sources' units (:mod:`~egoexo_sql.builder.units`) in worker processes;
- :mod:`~egoexo_sql.builder.parquet`: the Parquet writer both use (partitioning,
  encodings, statistics, row groups, row spans);
- :mod:`~egoexo_sql.builder.links`: hard links for what is reused;
- :mod:`~egoexo_sql.builder.views`: ``catalog.duckdb`` and ``views.sql``;
- :mod:`~egoexo_sql.builder.report`: the :class:`~egoexo_sql.builder.report.BuildReport`
  and ``build.json``;
- :mod:`~egoexo_sql.builder.swap`: the staging folder, the lock, the atomic swap and the
  repair of killed builds' leftovers.

The package is named ``builder``, not ``build``: ruff, black, the standard Python
``.gitignore`` and code-structure tools exclude folders named ``build`` by default.
It imports nothing else until one of its names is used.
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
