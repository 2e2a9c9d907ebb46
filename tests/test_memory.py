"""The build's workers: which allocator Arrow uses in them, and that a user's choice stands."""

from __future__ import annotations

import os
import subprocess
import sys

from egoexo_sql import memory, processes


def test_build_workers_allocate_with_the_preferred_allocator():
    # mimalloc, pyarrow's default, cost a fresh worker about 2 s of kernel time per
    # large source; the pool's workers ask for jemalloc (a user's own choice stands)
    expected = os.environ.get(memory.ARROW_POOL_VARIABLE, memory.preferred_arrow_allocator())
    with processes.process_pool(2) as pool:
        futures = [pool.submit(memory.arrow_allocator, (), i) for i in range(2)]
    assert [f.result() for f in futures] == [expected, expected]


def test_a_user_allocator_choice_stands():
    code = "from egoexo_sql import memory; memory.prefer_arrow_allocator(); print(memory.arrow_allocator())"
    for chosen in ("jemalloc", "mimalloc"):
        env = dict(os.environ, **{memory.ARROW_POOL_VARIABLE: chosen})
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == chosen
    env = {k: v for k, v in os.environ.items() if k != memory.ARROW_POOL_VARIABLE}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == memory.preferred_arrow_allocator()
    assert out.stderr == ""  # (an allocator pyarrow lacks would be warned about)


def test_workers_convert_without_pandas_and_other_pools_keep_it():
    # pyarrow imports pandas at its first conversion (0.3 s, 33 MB a worker): the
    # build's workers hide it; a pool of the caller's own from the same forkserver has it
    import importlib
    import multiprocessing
    import pydoc

    import pyarrow as pa
    import pytest

    with processes.process_pool(2) as pool:
        converted = pool.submit(pa.array, ([1, 2],), "convert")
        imported = [pool.submit(importlib.import_module, ("pandas",), i) for i in range(2)]
    assert converted.result().to_pylist() == [1, 2]
    for f in imported:
        with pytest.raises(ImportError):
            f.result()
    pytest.importorskip(
        "pandas", reason="pandas is not installed: nothing for a pool of the caller's to import"
    )
    ctx = processes._context()
    if ctx.get_start_method() == "forkserver":
        with ctx.Pool(1) as own:
            assert own.apply(pydoc.locate, ("pandas.__version__",)) == sys.modules["pandas"].__version__
    assert multiprocessing.current_process().name == "MainProcess"
