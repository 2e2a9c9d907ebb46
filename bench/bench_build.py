"""Build cost and selection speed at --scale 1 (without ego pose).

    python bench/bench_build.py [--scale 1] [--work /tmp/egoexo-bench] [--repeat 5] [--pairs 5]

Prints two tables:
(a) the build (fresh, --force) against merely parsing the same JSON files with orjson in
    one process (builds and parses alternate, ``--pairs`` of each, and the ratio printed
    under the table is the median of the pairs' ratios), and against a naive json.load +
    pandas flattening script; plus a no-op incremental rebuild. Wall time; peak RSS of
    the build's whole process tree, and of the other jobs' one process.
(b) the selection "Cooking takes in train with keystep annotations and a Late Expert
    rating": in process through the Python API vs a plain Python script over the raw JSON
    and vs DuckDB read_json over the raw files; and as whole processes, `egoexo-sql query`
    vs the plain script. Medians; all four answers are checked to be identical.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    HERE,
    PYTHON,
    median_process,
    median_time,
    print_table,
    run_measured,
    tree_measured,
)

SELECTION_SQL = (
    "SELECT take_uid, take_name FROM take_summary "
    "WHERE scenario = 'Cooking' AND split = 'train' AND has_keystep AND proficiency_score = 'Late Expert' "
    "ORDER BY take_uid"
)

# The same selection with DuckDB reading the raw release JSON (types pinned: no UUID guessing,
# uid-keyed objects read as MAPs).
READ_JSON_SQL = """
WITH t AS (
    SELECT take_uid, take_name, parent_task_name
    FROM read_json('{r}/takes.json', format = 'array',
                   columns = {{take_uid: 'VARCHAR', take_name: 'VARCHAR', parent_task_name: 'VARCHAR'}})
), s AS (
    SELECT unnest(map_keys(m)) AS take_uid, unnest(map_values(m)) AS split
    FROM (SELECT take_uid_to_split AS m
          FROM read_json('{r}/annotations/splits.json', columns = {{take_uid_to_split: 'MAP(VARCHAR, VARCHAR)'}}))
), k AS (
    SELECT DISTINCT unnest(map_keys(a)) AS take_uid
    FROM read_json(['{r}/annotations/keystep_train.json', '{r}/annotations/keystep_val.json'],
                   columns = {{annotations: 'MAP(VARCHAR, STRUCT(segments JSON[]))'}}, maximum_object_size = 1000000000) AS x(a)
), p AS (
    SELECT DISTINCT r.take_uid
    FROM (SELECT unnest(annotations) AS r
          FROM read_json(['{r}/annotations/proficiency_demonstrator_train.json', '{r}/annotations/proficiency_demonstrator_val.json'],
                         columns = {{annotations: 'STRUCT(take_uid VARCHAR, proficiency_score VARCHAR)[]'}},
                         maximum_object_size = 1000000000))
    WHERE r.proficiency_score = 'Late Expert'
)
SELECT t.take_uid, t.take_name
FROM t JOIN s USING (take_uid) JOIN k USING (take_uid) JOIN p USING (take_uid)
WHERE t.parent_task_name = 'Cooking' AND s.split = 'train'
ORDER BY t.take_uid
"""

ORJSON_PARSE = """
import json, sys, orjson
from pathlib import Path
from typing import Callable
root = Path(sys.argv[1]); inputs = json.loads(Path(sys.argv[2]).read_text())
n = 0
for rel in inputs:
    if rel.endswith('.json'):
        orjson.loads((root / rel).read_bytes()); n += 1
print(n)
"""


def median_of_3(run: Callable[[], tuple[float, float, str]]) -> tuple[float, float]:
    """Median seconds and largest peak RSS of three runs of a measured child process."""
    runs = [run() for _ in range(3)]
    return sorted(r[0] for r in runs)[1], max(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="/tmp/egoexo-bench")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=5, help="builds and parses, alternating (default 5)")
    args = ap.parse_args()

    from egoexo_sql.demo import GROUPS, generate

    work = Path(args.work)
    release = work / f"release-{args.scale:g}"
    if not (release / "takes.json").exists():
        print(
            f"generating a synthetic release at scale {args.scale:g} (no ego pose) in {release} ...",
            flush=True,
        )
        generate(release, scale=args.scale, seed=args.seed, only=[g for g in GROUPS if g != "ego_pose"])
    exe = str(Path(PYTHON).with_name("egoexo-sql"))
    catalog = work / "catalog"

    # (a) build cost ---------------------------------------------------------------------
    def fresh_build() -> tuple[float, float, str]:
        shutil.rmtree(catalog, ignore_errors=True)
        return run_measured([exe, "build", str(release), "--catalog", str(catalog), "--force"])

    fresh_build()  # untimed: warms the page cache and lists the inputs for the parse
    info = json.loads((catalog / "build.json").read_text())
    inputs = [i["path"] for i in info["inputs"]]
    input_mb = sum(i["bytes"] for i in info["inputs"]) / 1e6
    inputs_file = work / "inputs.json"
    inputs_file.write_text(json.dumps(inputs))

    def parse() -> tuple[float, float, str]:
        return run_measured([PYTHON, "-c", ORJSON_PARSE, str(release), str(inputs_file)])

    # builds and parses alternate, so that both see the machine in the same state; the
    # ratio is the median of the pairs' ratios
    pairs = [(fresh_build(), parse()) for _ in range(args.pairs)]
    build_s = statistics.median(b[0] for b, _ in pairs)
    parse_s = statistics.median(p[0] for _, p in pairs)
    ratio = statistics.median(b[0] / p[0] for b, p in pairs)
    parse_rss = max(p[1] for _, p in pairs)
    # peak RSS of the build's whole process tree (forkserver and workers too), sampled
    shutil.rmtree(catalog, ignore_errors=True)
    build_rss = tree_measured([exe, "build", str(release), "--catalog", str(catalog), "--force"])[1] / 2**20
    # a no-op rebuild takes about a second and a half: one run is mostly noise
    noop_s, noop_rss = median_of_3(
        lambda: run_measured([exe, "build", str(release), "--catalog", str(catalog)])
    )
    naive_s, naive_rss, _ = run_measured(
        [PYTHON, str(HERE / "naive_flatten.py"), str(release), str(work / "naive")]
    )
    rows = [
        (
            "egoexo-sql build --force",
            f"{build_s:.2f}",
            f"{build_rss:.0f}",
            "1.00",
            f"{input_mb / build_s:.0f}",
        ),
        (
            "orjson parse of the same files",
            f"{parse_s:.2f}",
            f"{parse_rss:.0f}",
            f"{parse_s / build_s:.2f}",
            f"{input_mb / parse_s:.0f}",
        ),
        (
            "naive json.load + pandas flatten",
            f"{naive_s:.2f}",
            f"{naive_rss:.0f}",
            f"{naive_s / build_s:.2f}",
            f"{input_mb / naive_s:.0f}",
        ),
        (
            "egoexo-sql build (unchanged, incremental)",
            f"{noop_s:.2f}",
            f"{noop_rss:.0f}",
            f"{noop_s / build_s:.2f}",
            "-",
        ),
    ]
    print_table(
        f"(a) build at scale {args.scale:g} without ego pose: {len(inputs):,} input files, {input_mb:,.0f} MB "
        f"(wall: median of {args.pairs} builds alternating with {args.pairs} parses, of 3 for the others; "
        "peak RSS: the build's process tree, the others' one process; x build = time / build time)",
        ("job", "seconds", "peak RSS MB", "x build", "MB/s"),
        rows,
    )
    print(
        f"build / orjson parse: {ratio:.2f}x (median of the {args.pairs} pairs' ratios; "
        f"{', '.join(f'{b[0]:.2f}/{p[0]:.2f}' for b, p in pairs)})"
    )

    # (b) the selection ------------------------------------------------------------------
    import duckdb
    from plain_selection import select as plain_select

    import egoexo_sql

    cat = egoexo_sql.open(str(catalog))
    api_rows = [tuple(r) for r in cat.sql(SELECTION_SQL).iter_rows()]
    plain_rows = plain_select(release)
    con = duckdb.connect()
    rj_sql = READ_JSON_SQL.format(r=str(release))
    rj_rows = con.sql(rj_sql).fetchall()
    cli_out = run_measured([exe, "query", "--catalog", str(catalog), "--format", "csv", SELECTION_SQL])[2]
    cli_rows = [tuple(line.split(",")) for line in cli_out.strip().splitlines()[1:]]
    script_out = run_measured([PYTHON, str(HERE / "plain_selection.py"), str(release)])[2]
    script_rows = [tuple(line.split(",")) for line in script_out.strip().splitlines()]
    assert api_rows == plain_rows == [tuple(r) for r in rj_rows] == cli_rows == script_rows, (
        "the approaches disagree"
    )

    api_s = median_time(lambda: cat.sql(SELECTION_SQL), repeat=max(20, args.repeat))
    plain_s = median_time(lambda: plain_select(release), repeat=args.repeat)
    rj_s = median_time(lambda: con.sql(rj_sql).fetchall(), repeat=args.repeat)
    cli_s = median_process(
        [exe, "query", "--catalog", str(catalog), "--format", "csv", SELECTION_SQL], repeat=args.repeat
    )
    script_s = median_process([PYTHON, str(HERE / "plain_selection.py"), str(release)], repeat=args.repeat)
    rows = [
        ("in process: egoexo_sql.open(...).sql(...)", f"{api_s * 1000:.1f}", "1", "-"),
        (
            "in process: plain Python over the raw JSON",
            f"{plain_s * 1000:.1f}",
            f"{plain_s / api_s:.0f}",
            "50",
        ),
        ("in process: DuckDB read_json over the raw JSON", f"{rj_s * 1000:.1f}", f"{rj_s / api_s:.0f}", "30"),
        ("process: egoexo-sql query --format csv", f"{cli_s * 1000:.0f}", "1", "-"),
        ("process: python plain_selection.py", f"{script_s * 1000:.0f}", f"{script_s / cli_s:.1f}", "3"),
    ]
    print_table(
        f'(b) "Cooking takes in train with keystep annotations and a Late Expert rating": {len(api_rows)} takes '
        f"(medians; 'x slower' = time / the egoexo-sql time of the same kind)",
        ("approach", "ms", "x slower", "goal"),
        rows,
    )


if __name__ == "__main__":
    main()
