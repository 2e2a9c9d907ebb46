"""``views.sql`` loads in the stock DuckDB shell started inside the catalog folder.

The shell is the ``duckdb`` binary of the ``duckdb-cli`` package (1.5.x). It cannot
open the 2.x ``catalog.duckdb`` file, which is expected: ``views.sql`` is the
portable form, so it must only use SQL that the 1.5 shell understands and paths
relative to the catalog folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _catalog_fixture import N_TAKES, SEGMENTS, make_catalog

from egoexo_sql.catalog import Catalog

pytestmark = pytest.mark.integration


def _duckdb_shell() -> str | None:
    beside = Path(sys.executable).parent / "duckdb"  # installed into the venv by duckdb-cli
    if beside.is_file():
        return str(beside)
    return shutil.which("duckdb")


SHELL = _duckdb_shell()
needs_shell = pytest.mark.skipif(
    SHELL is None, reason="the DuckDB shell is not installed (pip install 'duckdb-cli>=1.5,<1.6')"
)


def shell(cwd: Path, *sql: str) -> list[list[str]]:
    """Run the shell in ``cwd`` on ``.read views.sql`` then ``sql``; rows as lists of fields."""
    args = [SHELL, "-noheader", "-csv", "-c", ".read views.sql"]
    for s in sql:
        args += ["-c", s]
    res = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "Error" not in res.stderr, res.stderr
    return [line.split(",") for line in res.stdout.splitlines()]


@needs_shell
def test_shell_is_the_1_5_cli():
    out = subprocess.run([SHELL, "--version"], capture_output=True, text=True, timeout=60).stdout
    assert out.startswith("v1."), out


@needs_shell
def test_views_sql_of_the_mini_catalog(tmp_path):
    cat = make_catalog(tmp_path / "cat")
    rows = shell(
        cat,
        "SELECT count(*) FROM mini_takes",
        "SELECT split, count(*) FROM mini_segments GROUP BY ALL ORDER BY 1",
        "SELECT count(*) FROM mini_summary",
    )
    assert rows == [[str(N_TAKES)], *([k, str(v)] for k, v in sorted(SEGMENTS.items())), [str(N_TAKES)]]


@needs_shell
def test_views_sql_of_a_built_catalog_gives_the_same_counts(demo_catalog):
    with Catalog.open(demo_catalog) as cat:
        views = cat.views()
        want = {name: n for name, _, n, _ in cat.table_rows()}
    union = " UNION ALL ".join(f"SELECT '{v}', count(*) FROM \"{v}\"" for v in views)
    got = {name: int(n) for name, n in shell(demo_catalog, union)}
    assert got == want
    assert "takes" in got and "take_summary" in got


@needs_shell
def test_the_1_5_shell_reads_the_values_the_build_encoded(demo_catalog):
    """Doubles are written BYTE_STREAM_SPLIT and strings dictionary-encoded
    (egoexo_sql.builder.parquet.parquet_options): the 1.5 shell must read the same values as DuckDB 2.x."""
    sql = (
        "SELECT count(*), count(DISTINCT joint), round(sum(x), 6), round(sum(y), 6), "
        "round(sum(z), 6), sum(num_views_for_3d) FROM ego_pose_3d"
    )
    with Catalog.open(demo_catalog) as cat:
        want = [str(v) for v in cat.sql(sql).rows()[0]]
    got = shell(demo_catalog, sql)[0]
    assert [float(v) for v in got] == [float(v) for v in want]
    assert int(got[0]) > 0


@needs_shell
def test_views_sql_of_a_relocated_catalog(demo_catalog, tmp_path):
    moved = tmp_path / "somewhere else" / "catalog copy"
    shutil.copytree(demo_catalog, moved)
    rows = shell(moved, "SELECT count(*) FROM takes", "SELECT count(*) FROM keystep_segments")
    with Catalog.open(demo_catalog) as cat:
        n_takes = cat.execute("SELECT count(*) FROM takes").fetchone()[0]
        n_seg = cat.execute("SELECT count(*) FROM keystep_segments").fetchone()[0]
    assert rows == [[str(n_takes)], [str(n_seg)]]


@needs_shell
def test_views_sql_does_not_work_from_outside_the_folder(tmp_path):
    """Paths are relative: the shell must be started inside the folder (what the docs say)."""
    cat = make_catalog(tmp_path / "cat")
    res = subprocess.run(
        [SHELL, "-c", f".read {cat / 'views.sql'}", "-c", "SELECT count(*) FROM mini_takes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "No files found" in res.stderr or res.returncode != 0
