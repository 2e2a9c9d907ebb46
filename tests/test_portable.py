"""catalog.duckdb opens in any DuckDB client, from any folder, with no set-up; the large
tables are stored once (Parquet only, a view over the folder's absolute path); the
folder can move (the API answers at once, a plain client after a build with nothing to
compile); paths with commas, quotes, spaces and non-ASCII characters build and open."""

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
def catalog_copy(demo_release, demo_catalog, tmp_path) -> Path:
    """A copy of the session's catalog, made its own by a build with nothing to compile
    (which points the large tables' views at the copy)."""
    from egoexo_sql.builder import build_catalog

    dest = tmp_path / "first place" / "egoexo_catalog"
    shutil.copytree(demo_catalog, dest)
    build_catalog(demo_release[0], dest)
    return dest


def parquet_only_tables() -> list[str]:
    from egoexo_sql.schema import load_schemas

    return [t for t, sch in load_schemas().items() if sch.parquet_only]


def file_state(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file under ``folder`` but catalog.duckdb."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.name != "catalog.duckdb"
    }


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


def test_a_moved_catalog_answers_in_the_api_at_once_and_in_a_plain_client_after_a_build(
    demo_release, catalog_copy, tmp_path, capsys
):
    from test_validate import run_cli

    from egoexo_sql.builder import build_catalog

    want = api_counts(catalog_copy)
    moved = tmp_path / "moved, renamed" / "cat"
    moved.parent.mkdir()
    shutil.move(catalog_copy, moved)
    assert not catalog_copy.exists()
    assert api_counts(moved) == want  # the API, before any rebuild
    code, out, _ = run_cli(
        capsys, "query", "--catalog", str(moved), "--format", "json", "SELECT count(*) AS n FROM ego_pose_3d"
    )
    assert code == 0 and json.loads(out)[0]["n"] == want[0][1]
    # a plain client cannot find the large tables' files: its error names where it looked
    code, out, err = plain_client(moved / "catalog.duckdb", tmp_path)
    assert code != 0
    assert str(catalog_copy / "data" / "ego_pose_3d") in err
    # ... but it can read the small tables, stored in the file
    code, out, err = plain_client(moved / "catalog.duckdb", tmp_path, "SELECT count(*) FROM take_summary")
    assert code == 0 and json.loads(out) == [[want[0][2]]], err
    # a build with nothing to compile points the views at the new place, and writes
    # nothing else
    before = file_state(moved)
    report = build_catalog(demo_release[0], moved)
    assert not report.recompiled
    assert any("now read" in n and str(moved) in n for n in report.notes), report.notes
    assert file_state(moved) == before
    code, out, err = plain_client(moved / "catalog.duckdb", tmp_path)
    assert code == 0, err
    assert json.loads(out) == want
    assert api_counts(moved) == want


def test_the_large_tables_are_stored_once(catalog_copy):
    """catalog.duckdb holds no row of a ``storage = "parquet"`` table: a view over the
    folder's own data/, by its absolute path; every other table's rows are stored."""
    import duckdb

    large = parquet_only_tables()
    assert {"ego_pose_2d", "ego_pose_3d"} <= set(large)
    con = duckdb.connect(str(catalog_copy / "catalog.duckdb"), read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall())
    finally:
        con.close()
    assert not stored & set(large)
    for t in large:
        assert f"'{catalog_copy}/data/{t}/" in views[t]
    assert {"takes", "keystep_segments", "take_summary"} <= stored


def test_the_database_file_does_not_grow_with_the_pose_volume(tmp_path):
    """Ten times the pose frames: data/ grows tenfold, catalog.duckdb stays the same size
    (the pose rows are stored once, in Parquet)."""
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.demo import generate

    sizes = {}
    for frames in (2, 20):
        release = tmp_path / f"release{frames}"
        generate(release, scale=0.02, seed=5, pose_frames=frames, only=["metadata", "splits", "ego_pose"])
        cat = tmp_path / f"cat{frames}"
        build_catalog(release, cat)
        pose = sum(
            p.stat().st_size for t in ("ego_pose_2d", "ego_pose_3d") for p in (cat / "data" / t).rglob("*")
        )
        sizes[frames] = ((cat / "catalog.duckdb").stat().st_size, pose)
    assert sizes[20][1] > 5 * sizes[2][1]  # the pose Parquet grew
    assert sizes[20][0] <= sizes[2][0] * 1.05 + (1 << 18), sizes  # catalog.duckdb did not


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
