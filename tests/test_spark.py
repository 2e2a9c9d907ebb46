"""The catalog on Spark (issue 7.4): `egoexo-sql export-views --dialect spark` run in a
local-mode SparkSession over the demo catalog's Parquet files, and queries printed by
`egoexo-sql query --dialect spark`, compared with DuckDB's answers.

One SparkSession for the module (its start is the slow part). Skipped, with the
reason, when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[test]')")


def _java_problem() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        return "no Java runtime (java on PATH or $JAVA_HOME) for pyspark; Spark 4 needs Java 17+"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`java -version` failed: {e}"
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if m:
        major = int(m.group(1)) if m.group(1) != "1" else int(m.group(2) or 0)
        needed = 17 if int(pyspark.__version__.split(".")[0]) >= 4 else 8
        if major < needed:
            return f"Java {major} found; pyspark {pyspark.__version__} needs Java {needed}+"
    return None


_problem = _java_problem()
if _problem:
    pytest.skip(_problem, allow_module_level=True)

from egoexo_sql import engines  # noqa: E402
from egoexo_sql.catalog import Catalog  # noqa: E402
from egoexo_sql.docs import examples  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    saved = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("egoexo-sql-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        # a short-lived JVM: the C1 compiler and the serial GC start it in about half the
        # time; its compiled code in one heap, not segments: CI once failed with "Out of
        # space in CodeCache for method handle intrinsic" in the second session's queries
        .config(
            "spark.driver.extraJavaOptions",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-SegmentedCodeCache -XX:ReservedCodeCacheSize=256m",
        )
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("SPARK_LOCAL_IP", None)
    else:
        os.environ["SPARK_LOCAL_IP"] = saved


def export_spark_views(catalog, out) -> str:
    """views.sql for Spark, written by the CLI as a user would."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "egoexo_sql",
            "export-views",
            "--dialect",
            "spark",
            "--catalog",
            str(catalog),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def exported(demo_catalog, tmp_path_factory) -> str:
    return export_spark_views(demo_catalog, tmp_path_factory.mktemp("spark") / "views.sql")


def _statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


@pytest.fixture(scope="module")
def spark_views(spark, exported) -> list[str]:
    """Run the exported script in the session; the view names it created."""
    for statement in _statements(exported):
        spark.sql(statement)
    return sorted(r.viewName for r in spark.sql("SHOW VIEWS").collect())


@pytest.fixture(scope="module")
def duck(demo_catalog):
    with Catalog.open(demo_catalog) as cat:
        yield cat.connection


def _spark_sql(duckdb_sql: str) -> str:
    """What `egoexo-sql query --dialect spark` prints, ready for spark.sql()."""
    return engines.transpile(duckdb_sql, "spark").sql.rstrip().rstrip(";")


def _norm(rows) -> list[tuple]:
    def v(x):
        if isinstance(x, float):
            return None if math.isnan(x) else round(x, 6)
        if hasattr(x, "asDict"):  # a Spark Row inside a row
            return tuple(v(y) for y in x)
        if isinstance(x, list):
            return [v(y) for y in x]
        return x

    return [tuple(v(x) for x in r) for r in rows]


def test_every_view_exists_on_spark(spark_views, duck):
    ours = sorted(
        r[0]
        for r in duck.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'catalog' AND NOT internal "
            "UNION SELECT table_name FROM duckdb_tables() WHERE database_name = 'catalog' AND NOT internal"
        ).fetchall()
    )
    assert spark_views == ours


def test_row_counts_per_view(spark, spark_views, duck):
    counts = " UNION ALL ".join(f"SELECT '{v}' AS view, count(*) AS n FROM {v}" for v in spark_views)
    got = dict(spark.sql(counts).collect())
    want = {v: duck.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0] for v in spark_views}
    assert got == want
    assert want["takes"] > 0 and want["keystep_segments"] > 0


def test_partition_column_and_filter(spark, spark_views, duck):
    """Hive partitions come back as a column (read from the table folder as base path)
    and a filter on it prunes folders, on Spark as on DuckDB."""
    sql = (
        "SELECT split, count(*) AS n, count(DISTINCT take_uid) AS takes FROM camera_poses "
        "WHERE split = 'val' GROUP BY split"
    )
    spark_df = spark.sql(_spark_sql(sql))
    assert _norm(spark_df.collect()) == _norm(duck.execute(sql).fetchall())
    assert duck.execute(sql).fetchall()[0][1] > 0
    plan = spark_df._jdf.queryExecution().executedPlan().toString()
    assert re.search(r"PartitionFilters: \[[^\]]*split", plan), plan
    # every split value, and the column's type and position as in the schema
    per_split = "SELECT split, count(*) AS n FROM camera_poses GROUP BY split ORDER BY split"
    assert _norm(spark.sql(_spark_sql(per_split)).collect()) == _norm(duck.execute(per_split).fetchall())
    fields = spark.table("camera_poses").schema.fields
    assert [f.name for f in fields][:2] == ["take_uid", "split"]
    assert fields[1].dataType.simpleString() == "string"


def test_join(spark, spark_views, duck):
    sql = """
        SELECT t.scenario, k.split, count(*) AS segments, count(DISTINCT k.take_uid) AS takes,
               round(sum(k.end_time - k.start_time), 3) AS seconds
        FROM keystep_segments AS k
        JOIN takes AS t USING (take_uid)
        GROUP BY t.scenario, k.split
        ORDER BY t.scenario, k.split
    """
    want = _norm(duck.execute(sql).fetchall())
    assert want
    assert _norm(spark.sql(_spark_sql(sql)).collect()) == want


def test_derived_view_take_summary(spark, spark_views, duck):
    """take_summary transpiled: ordered benchmark lists, first-by-split proficiency, counts."""
    sql = (
        "SELECT take_uid, n_exo_cams, benchmarks, proficiency_score, has_keystep, "
        "n_keystep_segments, n_atomic_descriptions, n_expert_commentaries, mean_expert_rating "
        "FROM take_summary ORDER BY take_uid"
    )
    want = _norm(duck.execute(sql).fetchall())
    assert any(r[2] for r in want) and any(r[3] for r in want)
    assert _norm(spark.sql(_spark_sql(sql)).collect()) == want


@pytest.mark.parametrize(
    "name",
    ["02_cooking_keystep_late_expert", "04_proficiency_vs_expert_rating", "05_top_keysteps_per_scenario"],
)
def test_cookbook_examples_on_spark(spark, spark_views, duck, name):
    (example,) = [e for e in examples() if e.name == name]
    want = _norm(duck.execute(example.sql).fetchall())
    assert _norm(spark.sql(_spark_sql(example.sql)).collect()) == want


# --------------------------------------------------------------------------- sensor tables
SENSOR_VIEWS = (
    "trajectory",
    "trajectory_files",
    "motion_bins",
    "eye_gaze",
    "eye_gaze_files",
    "gaze_bins",
    "timesync",
    "exo_calibrations",
    "mps_summaries",
    "take_motion",
    "point_clouds",
)


@pytest.fixture(scope="module")
def sensor_spark(spark, sensor_catalog, tmp_path_factory):
    """A session of its own (temporary views are per session) with the views exported
    from the catalog with the Aria sensor tables."""
    views = export_spark_views(sensor_catalog, tmp_path_factory.mktemp("spark_sensors") / "views.sql")
    session = spark.newSession()
    for statement in _statements(views):
        session.sql(statement)
    return session


@pytest.fixture(scope="module")
def sensor_duck(sensor_catalog):
    with Catalog.open(sensor_catalog) as cat:
        yield cat.connection


def test_sensor_views_on_spark(sensor_spark, sensor_duck):
    views = {r.viewName for r in sensor_spark.sql("SHOW VIEWS").collect()}
    assert set(SENSOR_VIEWS) <= views
    counts = " UNION ALL ".join(f"SELECT '{v}' AS view, count(*) AS n FROM {v}" for v in SENSOR_VIEWS)
    got = dict(sensor_spark.sql(counts).collect())
    want = {v: sensor_duck.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0] for v in SENSOR_VIEWS}
    assert got == want and all(want.values())


def test_one_takes_trajectory_and_summaries_on_spark(sensor_spark, sensor_duck):
    (uid,) = sensor_duck.execute(
        "SELECT take_uid FROM trajectory_files ORDER BY n_rows DESC LIMIT 1"
    ).fetchone()
    for sql in (
        f"SELECT tracking_timestamp_us, take_sec, tx, ty, tz, speed_mps FROM trajectory "
        f"WHERE take_uid = '{uid}' ORDER BY tracking_timestamp_us",
        f"SELECT kind, tracking_timestamp_us, take_sec, yaw, pitch, depth_m FROM eye_gaze "
        f"WHERE take_uid = '{uid}' ORDER BY kind, tracking_timestamp_us",
        "SELECT take_uid, has_trajectory, has_eye_gaze, path_length_m, net_displacement_m, area_m2, "
        "trajectory_coverage, gaze_coverage FROM take_summary ORDER BY take_uid",
        "SELECT take_uid, segment_idx, path_length_m, mean_speed_mps, head_turn_rad, gaze_dispersion_rad "
        "FROM keystep_context ORDER BY take_uid, segment_idx",
    ):
        want = _norm(sensor_duck.execute(sql).fetchall())
        assert want
        assert _norm(sensor_spark.sql(_spark_sql(sql)).collect()) == want, sql


@pytest.mark.parametrize(
    "name", ["13_gaze_during_a_keystep", "14_basketball_takes_over_30m", "15_head_turn_per_recipe_step"]
)
def test_sensor_cookbook_examples_on_spark(sensor_spark, sensor_duck, name):
    (example,) = [e for e in examples() if e.name == name]
    want = _norm(sensor_duck.execute(example.sql).fetchall())
    assert want
    assert _norm(sensor_spark.sql(_spark_sql(example.sql)).collect()) == want
