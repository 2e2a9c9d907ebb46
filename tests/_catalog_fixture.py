"""A small catalog folder in the on-disk layout of docs/architecture.md, made without the
build engine: a few Parquet files (one table hive-partitioned), ``views.sql`` with
relative paths, and ``catalog.duckdb`` holding the same views.

Used by test_query.py, test_sandbox.py and test_shell_compat.py so that the read
side is tested on its own; the tests over a real built demo catalog use the
session fixtures of conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

VIEWS_SQL = """\
CREATE OR REPLACE VIEW mini_takes AS
SELECT take_uid, take_name, scenario, duration_sec, is_narrated, recorded_at, cams
FROM read_parquet('data/mini_takes/*.parquet');
CREATE OR REPLACE VIEW mini_segments AS
SELECT take_uid, segment_idx, start_time, CAST(split AS VARCHAR) AS split, step_name
FROM read_parquet('data/mini_segments/**/*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW mini_summary AS
SELECT t.take_uid, t.scenario, count(s.segment_idx) AS n_segments
FROM mini_takes t LEFT JOIN mini_segments s USING (take_uid)
GROUP BY ALL;
CREATE OR REPLACE MACRO mini_takes_in(sc) AS TABLE
SELECT * FROM mini_takes WHERE scenario = sc;
"""

N_TAKES = 5
SEGMENTS = {"train": 4, "val": 2}  # rows per partition


def make_catalog(dest: Path, views_sql: str = VIEWS_SQL) -> Path:
    """Write the mini catalog into ``dest`` (created) and return it."""
    dest = Path(dest)
    (dest / "data" / "mini_takes").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"""COPY (
            SELECT 'uid-' || i AS take_uid,
                   'take ' || i AS take_name,
                   CASE WHEN i % 2 = 0 THEN 'Cooking' ELSE 'Bike Repair' END AS scenario,
                   (10.5 * i)::DOUBLE AS duration_sec,
                   i % 2 = 0 AS is_narrated,
                   TIMESTAMP '2023-01-01 10:00:00' + INTERVAL (i) DAY AS recorded_at,
                   ['cam0' || i, 'aria'] AS cams
            FROM range({N_TAKES}) t(i)
        ) TO '{dest}/data/mini_takes/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)"""
    )
    for split, n in SEGMENTS.items():
        part = dest / "data" / "mini_segments" / f"split={split}"
        part.mkdir(parents=True)
        con.execute(
            f"""COPY (
                SELECT 'uid-' || (i % 3) AS take_uid, i AS segment_idx, (1.5 * i)::DOUBLE AS start_time,
                       'step ' || i || E'\\nline two' AS step_name
                FROM range({n}) t(i)
            ) TO '{part}/part-0.parquet' (FORMAT parquet)"""
        )
    con.close()
    (dest / "views.sql").write_text(views_sql, encoding="utf-8")
    db = duckdb.connect(str(dest / "catalog.duckdb"))
    db.execute(f"SET file_search_path = '{dest}'")
    db.execute(views_sql)
    db.close()
    return dest
