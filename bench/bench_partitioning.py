"""Does hive partitioning pay? Query times of the large fact tables in three file layouts.

    python bench/bench_partitioning.py --catalog /tmp/egoexo-bench/catalog [--repeat 7]

For the large fact tables of a built catalog (atomic_descriptions, expert_commentary,
keystep_segments) this rewrites the same rows three ways (one file; hive-partitioned by
split; by split and scenario, the scenario joined from takes) and times, in DuckDB:
a filtered count (split = 'train' AND scenario = 'Cooking'), a filtered text fetch, and a
full-table aggregate. Prints medians in ms, and the files and bytes of each layout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median_time, print_table  # noqa: E402

TABLES = {
    "atomic_descriptions": "text",
    "expert_commentary": "text",
    "keystep_segments": "step_description",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", default="/tmp/egoexo-bench/catalog")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    import duckdb

    catalog = Path(args.catalog)
    work = Path(tempfile.mkdtemp(prefix="egoexo-part-"))
    con = duckdb.connect()
    con.sql(f"SET file_search_path = '{catalog}'")
    con.sql((catalog / "views.sql").read_text())
    rows_out = []
    try:
        for table, text_col in TABLES.items():
            n = con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            src = work / table
            src.mkdir()
            # attach the take's scenario so the two-level layout can be written
            cols = [r[0] for r in con.sql(f"DESCRIBE {table}").fetchall()]
            exclude = " EXCLUDE (scenario)" if "scenario" in cols else ""
            con.sql(
                f"CREATE OR REPLACE TEMP TABLE t AS SELECT x.*{exclude}, k.scenario "
                f"FROM {table} x JOIN takes k USING (take_uid)"
            )
            layouts = {
                "one file": (src / "single.parquet", "", f"'{src}/single.parquet'"),
                "split": (
                    src / "by_split",
                    "PARTITION_BY (split), ",
                    f"'{src}/by_split/**/*.parquet', hive_partitioning = true",
                ),
                "split, scenario": (
                    src / "by_split_scenario",
                    "PARTITION_BY (split, scenario), ",
                    f"'{src}/by_split_scenario/**/*.parquet', hive_partitioning = true",
                ),
            }
            for name, (path, part, reader) in layouts.items():
                con.sql(f"COPY t TO '{path}' (FORMAT parquet, {part}COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
                files = list([path] if path.is_file() else path.rglob("*.parquet"))
                size = sum(p.stat().st_size for p in files) / 1e6
                q_count = f"SELECT count(*) FROM read_parquet({reader}) WHERE split = 'train' AND scenario = 'Cooking'"
                q_text = f"SELECT take_uid, {text_col} FROM read_parquet({reader}) WHERE split = 'train' AND scenario = 'Cooking'"
                q_full = f"SELECT split, count(*), count(DISTINCT take_uid) FROM read_parquet({reader}) GROUP BY ALL"
                t_count = median_time(lambda: con.sql(q_count).fetchall(), args.repeat)  # noqa: B023
                t_text = median_time(lambda: con.sql(q_text).fetchall(), args.repeat)  # noqa: B023
                t_full = median_time(lambda: con.sql(q_full).fetchall(), args.repeat)  # noqa: B023
                rows_out.append(
                    (
                        table,
                        f"{n:,}",
                        name,
                        len(files),
                        f"{size:.1f}",
                        f"{t_count * 1000:.1f}",
                        f"{t_text * 1000:.1f}",
                        f"{t_full * 1000:.1f}",
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(
        "Hive partitioning vs one file (DuckDB, medians in ms)",
        ("table", "rows", "layout", "files", "MB", "filtered count", "filtered text", "full aggregate"),
        rows_out,
    )


if __name__ == "__main__":
    main()
