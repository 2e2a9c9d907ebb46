"""Other engines without running them: `query --dialect` and `export-views` (issue 7.4).

Running the exported views on Spark is tests/test_spark.py (integration).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from egoexo_sql import engines
from egoexo_sql.errors import QueryError, UsageError
from egoexo_sql.schema import load_schemas

CLI = [sys.executable, "-m", "egoexo_sql"]


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, **kw)


# --------------------------------------------------------------------------- transpile


@pytest.mark.parametrize(
    "dialect, expected",
    [
        ("spark", "CAST(duration_sec AS INT)"),
        ("trino", "CAST(duration_sec AS INTEGER)"),
        ("bigquery", "CAST(duration_sec AS INT64)"),
        ("postgres", "CAST(duration_sec AS INT)"),
    ],
)
def test_transpile_each_dialect(dialect, expected):
    out = engines.transpile(
        "SELECT take_uid, duration_sec::INTEGER AS d FROM takes WHERE split = 'val'", dialect
    )
    assert expected in out.sql
    assert out.sql.rstrip().endswith(";")
    assert "FROM takes" in out.sql


def test_transpile_spark_keeps_aggregate_order():
    sql = (
        "SELECT take_uid, list(benchmark ORDER BY benchmark) AS b, list(x ORDER BY y DESC) AS c, "
        "first(score ORDER BY split) AS s, list(DISTINCT split ORDER BY split) AS d "
        "FROM t GROUP BY take_uid"
    )
    out = engines.transpile(sql, "spark", pretty=False).sql
    assert "ARRAY_SORT(COLLECT_LIST(benchmark))" in out
    assert re.search(r"REVERSE\(TRANSFORM\(ARRAY_SORT\(COLLECT_LIST\(.*y.*x.*\)\)\), e -> e\.v\)\)", out)
    assert "MIN_BY(score, split)" in out
    assert "ARRAY_SORT(COLLECT_SET(split))" in out


def test_transpile_warns_when_order_is_lost():
    out = engines.transpile("SELECT list(DISTINCT a ORDER BY b) FROM t", "spark")
    assert any("no Spark equivalent" in w for w in out.warnings)


def test_transpile_several_statements():
    out = engines.transpile("SELECT 1; SELECT 2;", "trino")
    assert out.sql.count(";") == 2


def test_transpile_errors():
    with pytest.raises(QueryError, match=r"syntax error at line 1"):
        engines.transpile("SELEC 1 FROM", "spark")
    with pytest.raises(UsageError, match="unknown dialect"):
        engines.transpile("SELECT 1", "oracle")


def test_spark_type():
    assert engines.spark_type("VARCHAR") == "STRING"
    assert engines.spark_type("VARCHAR[]") == "ARRAY<STRING>"
    assert engines.spark_type("INTEGER") == "INT"


# --------------------------------------------------------------------------- CLI: query --dialect


def test_query_dialect_prints_without_a_catalog(tmp_path):
    r = run(
        "query",
        "--dialect",
        "spark",
        "--catalog",
        str(tmp_path / "none"),
        "SELECT scenario, count(*) AS n FROM takes GROUP BY ALL ORDER BY n DESC",
    )
    assert r.returncode == 0, r.stderr
    assert "COUNT(*) AS n" in r.stdout and "GROUP BY ALL" in r.stdout


def test_query_dialect_output_file_and_stdin(tmp_path):
    out = tmp_path / "q.sql"
    r = run("query", "--dialect", "postgres", "--output", str(out), "-", input="SELECT x::VARCHAR FROM t")
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "SELECT\n  CAST(x AS TEXT)\nFROM t;\n"


def test_query_dialect_bad_input():
    r = run("query", "--dialect", "trino", "SELEC 1 FROM")
    assert r.returncode == 1 and r.stderr.startswith("error: syntax error")
    r = run("query", "--dialect", "oracle", "SELECT 1")
    assert r.returncode == 2 and "oracle" in r.stderr


# --------------------------------------------------------------------------- export-views


def _statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def test_export_views_covers_every_view(demo_catalog):
    r = run("export-views", "--dialect", "spark", "--catalog", str(demo_catalog))
    assert r.returncode == 0, r.stderr
    names = [
        re.match(r"(?:/\*.*?\*/\s*)*CREATE OR REPLACE TEMPORARY VIEW `?(\w+)`?", s, re.S).group(1)
        for s in _statements(r.stdout)
    ]
    schemas = load_schemas()
    assert sorted(names) == sorted(schemas)
    # derived views come after every table they read
    assert names.index("take_summary") > names.index("takes")
    assert f"FROM parquet.`{demo_catalog.resolve().as_posix()}/data/takes`" in r.stdout


def test_export_views_partitions_are_cast_and_read_from_the_table_folder(demo_catalog):
    export = engines.spark_views(demo_catalog)
    by_name = dict(export.statements)
    ks = by_name["camera_poses"]  # hive-partitioned by split
    assert "CAST(`split` AS STRING) AS `split`" in ks
    assert ks.rstrip().endswith(f"FROM parquet.`{demo_catalog.resolve().as_posix()}/data/camera_poses`")
    # columns in schema order
    cols = re.findall(r"^  (?:CAST\()?`(\w+)`", ks, re.M)
    assert cols == load_schemas()["camera_poses"].column_names
    assert "ARRAY_SORT(COLLECT_LIST(benchmark))" in by_name["take_summary"]
    assert "TEMPORARY VIEW" in by_name["take_summary"]


def test_export_views_location_and_output(demo_catalog, tmp_path):
    out = tmp_path / "views.sql"
    r = run(
        "export-views",
        "--catalog",
        str(demo_catalog),
        "--location",
        "s3a://bucket/egoexo_catalog/",
        "--output",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "wrote" in r.stderr
    text = out.read_text()
    assert "FROM parquet.`s3a://bucket/egoexo_catalog/data/takes`" in text
    assert str(demo_catalog) not in text


def test_export_views_skips_tables_missing_from_the_catalog(demo_catalog, tmp_path):
    cat = tmp_path / "cat"
    shutil.copytree(demo_catalog, cat)
    shutil.rmtree(cat / "data" / "keystep_segments")
    r = run("export-views", "--catalog", str(cat))
    assert r.returncode == 0, r.stderr
    assert "warning: skipped keystep_segments" in r.stderr
    assert "warning: skipped take_summary" in r.stderr  # it reads keystep_segments
    assert "VIEW `takes`" in r.stdout and "VIEW take_summary" not in r.stdout
    assert "-- skipped keystep_segments:" in r.stdout


def test_export_views_needs_a_catalog(tmp_path):
    r = run("export-views", "--catalog", str(tmp_path / "nope"))
    assert r.returncode == 2 and "no catalog" in r.stderr


def test_transpile_spark_qualify_keeps_the_final_order():
    sql = (
        "SELECT t.scenario, k.step_name, count(*) AS n FROM k JOIN t USING (take_uid) "
        "GROUP BY ALL QUALIFY row_number() OVER (PARTITION BY t.scenario ORDER BY count(*) DESC) <= 3 "
        "ORDER BY t.scenario, n DESC"
    )
    out = engines.transpile(sql, "spark", pretty=False)
    # the ORDER BY is outside the filtered subquery (inside it would not order the result)
    assert re.search(r"\) AS _t WHERE _w <= 3 ORDER BY scenario NULLS LAST, n DESC;$", out.sql), out.sql
    assert not out.warnings
    odd = engines.transpile("SELECT a FROM t QUALIFY row_number() OVER (ORDER BY b) = 1 ORDER BY c", "spark")
    assert any("QUALIFY" in w for w in odd.warnings)
