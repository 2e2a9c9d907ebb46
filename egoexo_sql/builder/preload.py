"""Imported by the build's forkserver before it forks any worker (its ``preload``).

Every worker needs the same libraries (numpy, pyarrow with its Parquet and compute
modules, msgspec, orjson) and this package's compilers: about 0.4 s of imports.
Imported once in the forkserver, they are in every worker it forks, so a worker starts
at once. The build starts the forkserver at its very beginning when it will compile
from scratch (:func:`egoexo_sql.processes.warm_up`), so these imports run on the other
core while the build scans and hashes the release.

Neither pandas nor DuckDB is imported: no compiler uses them (the search index's plain
SQL form uses DuckDB, in the tests only), and what the forkserver holds counts again in
the resident memory of every worker it forks. pyarrow would import pandas at its first
conversion (to look for pandas objects): the pool's workers hide it
(:func:`egoexo_sql.processes.hide_pandas`).

Arrow's allocator is chosen at pyarrow's import, so the build's choice is made
first (:func:`egoexo_sql.memory.prefer_arrow_allocator`): the imports follow that call.
"""

# ruff: noqa: E402

from __future__ import annotations

from ..memory import prefer_arrow_allocator

prefer_arrow_allocator()  # before pyarrow's import, which reads it

import msgspec  # noqa: F401
import numpy  # noqa: F401
import orjson  # noqa: F401
import pyarrow  # noqa: F401
import pyarrow.compute  # noqa: F401
import pyarrow.parquet  # noqa: F401

from .. import release, schema  # noqa: F401
from ..tables import all_sources
from . import compiling, parquet, units  # noqa: F401

all_sources()  # imports every compiler module
