"""catalog.duckdb opens in any DuckDB client, from any folder, with no set-up; the folder
can move; paths with commas, quotes, spaces and non-ASCII characters build and open."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from egoexo_sql.catalog import Catalog

#: a small table, a large Parquet-backed one, and derived views over them
COUNT_SQL = (
    "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM ego_pose_3d), "
    "(SELECT count(*) FROM take_summary), (SELECT count(*) FROM keystep_segments)"
)


def plain_client(db: str | Path, cwd: Path, sql: str = COUNT_SQL) -> tuple[int, str, str]:
    """A plain DuckDB client in its own process: connect(path, read_only=True), nothing else."""
    code = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps(con.sql(sys.argv[2]).fetchall()))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOEXO_SQL")}
    p = subprocess.run(
        [sys.executable, "-c", code, str(db), sql],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p.returncode, p.stdout, p.stderr


def api_counts(catalog: Path) -> list:
    with Catalog.open(catalog) as cat:
        return [list(r) for r in cat.connection.sql(COUNT_SQL).fetchall()]


@pytest.fixture()
def catalog_copy(demo_catalog, tmp_path) -> Path:
    dest = tmp_path / "first place" / "egoexo_catalog"
    shutil.copytree(demo_catalog, dest)
    return dest


def test_a_plain_client_reads_every_view_from_another_folder(catalog_copy, tmp_path):
    want = api_counts(catalog_copy)
    assert all(n > 0 for n in want[0])
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    code, out, err = plain_client(catalog_copy / "catalog.duckdb", elsewhere)
    assert code == 0, err
    assert json.loads(out) == want
    rel = os.path.relpath(catalog_copy / "catalog.duckdb", elsewhere)
    code, out, err = plain_client(rel, elsewhere)
    assert code == 0, err
    assert json.loads(out) == want


def test_every_view_answers_in_a_plain_client(catalog_copy, tmp_path):
    with Catalog.open(catalog_copy) as cat:
        names = cat.views()
        want = {n: cat.connection.sql(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}
    sql = "SELECT [" + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names) + "]"
    code, out, err = plain_client(catalog_copy / "catalog.duckdb", tmp_path, sql)
    assert code == 0, err
    assert dict(zip(names, json.loads(out)[0][0])) == want


def test_a_moved_catalog_answers_at_once_in_the_api_and_in_a_plain_client(catalog_copy, tmp_path, capsys):
    from test_validate import run_cli

    want = api_counts(catalog_copy)
    moved = tmp_path / "moved, renamed" / "cat"
    moved.parent.mkdir()
    shutil.move(catalog_copy, moved)
    assert not catalog_copy.exists()
    assert api_counts(moved) == want  # the API, before any rebuild
    code, out, err = plain_client(moved / "catalog.duckdb", tmp_path)
    assert code == 0, err  # a plain client too: the rows are in the database file
    assert json.loads(out) == want
    code, out, _ = run_cli(
        capsys, "query", "--catalog", str(moved), "--format", "json", "SELECT count(*) AS n FROM ego_pose_3d"
    )
    assert code == 0 and json.loads(out)[0]["n"] == want[0][1]


def test_the_database_file_holds_no_path_of_the_folder(catalog_copy):
    raw = (catalog_copy / "catalog.duckdb").read_bytes()
    assert str(catalog_copy.parent).encode() not in raw
    assert b"first place" not in raw


def test_views_sql_still_reads_data_relative_to_the_folder(catalog_copy):
    text = (catalog_copy / "views.sql").read_text()
    assert "read_parquet('data/" in text and str(catalog_copy) not in text


def test_a_folder_path_duckdb_cannot_write_is_refused_up_front(tmp_path, capsys):
    from test_validate import run_cli

    release = tmp_path / "release"
    release.mkdir()
    (release / "takes.json").write_text("[]")
    code, _, err = run_cli(capsys, "build", str(release), "--catalog", str(tmp_path / "why?" / "cat"))
    assert code == 2 and "contains '?'" in err
    assert not (tmp_path / "why?").exists()


@pytest.mark.parametrize(
    "name", ["with, comma", 'it\'s "quoted"', "spaces and ü ñ 字", "glob * chars [1]", "split=train"]
)
def test_odd_paths_build_and_open(tmp_path, capsys, name):
    from test_validate import run_cli

    from egoexo_sql.demo import generate

    base = tmp_path / name
    release = base / "release, v2"
    generate(
        release,
        scale=0.01,
        seed=3,
        pose_frames=2,
        masks_per_object=1,
        only=["metadata", "splits", "keystep", "proficiency", "ego_pose"],
    )
    catalog = base / f"catalog {name}"
    code, out, err = run_cli(capsys, "build", str(release), "--catalog", str(catalog))
    assert code == 0, err
    counts = api_counts(catalog)
    assert counts[0][0] > 0 and counts[0][1] > 0
    with Catalog.open(catalog) as cat:  # polars over the Parquet, hive partitions included
        pose = cat.table("ego_pose_3d").collect()
        assert pose.height == counts[0][1] and set(pose["split"].unique()) <= {"train", "val", "test"}
    code, out, err = run_cli(
        capsys,
        "query",
        "--catalog",
        str(catalog),
        "--format",
        "csv",
        "SELECT count(*) AS n FROM keystep_segments",
    )
    assert code == 0, err
    assert int(out.splitlines()[1]) == counts[0][3]
    code, _, err = run_cli(
        capsys, "query", "--catalog", str(catalog), "SELECT * FROM read_csv('/etc/passwd')"
    )
    assert code == 1 and "read_csv" in err  # the sandbox still refuses files
    code, out, err = plain_client(catalog / "catalog.duckdb", tmp_path)
    assert code == 0, err
    assert json.loads(out) == counts
    # a rebuild in place (nothing changed) keeps it
    code, _, err = run_cli(capsys, "build", str(release), "--catalog", str(catalog))
    assert code == 0, err
    assert api_counts(catalog) == counts


def test_harlequin_reads_the_database_file_alone(catalog_copy, tmp_path):
    beside = Path(sys.executable).parent / "hsql"  # the test environment's own scripts
    hsql = str(beside) if beside.exists() else shutil.which("hsql")
    if hsql is None:
        pytest.skip("harlequin's hsql command is not installed (pip install harlequin)")
    want = api_counts(catalog_copy)
    p = subprocess.run(
        [hsql, "--read-only", "--csv", "-c", COUNT_SQL, str(catalog_copy / "catalog.duckdb")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    rows = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert [int(x) for x in rows[-1].split(",")] == want[0]
