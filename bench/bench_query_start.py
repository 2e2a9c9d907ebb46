"""How long a whole `egoexo-sql query` process takes, against the floor: a Python
process that only imports duckdb, opens the same catalog read-only and runs SELECT 1.

    python bench/bench_query_start.py CATALOG [--repeat 15] [--before EXE --before-catalog DIR]

Prints the median wall time of each process (the console script, as users run it; all
processes run round-robin, one of each per round) and its ratio to the floor: `query "SELECT 1"`, `query` of a small view, `--help`, `tables`,
and `python -c pass` for scale; with --before, the same for another installation's
console script (an older checkout) on its own catalog. Goal: the query process at most
1.3x the floor.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, print_table  # noqa: E402


def run_ms(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {p.stderr.decode()[-300:]}")
    return ms


def medians_ms(jobs: list[tuple[str, list[str]]], repeat: int) -> dict[str, float]:
    """Median wall time of each command, run round-robin (one of each per round) so that
    a machine getting busier or quieter during the run shifts every row alike."""
    for _, cmd in jobs:
        run_ms(cmd)  # warm the page cache
    times: dict[str, list[float]] = {name: [] for name, _ in jobs}
    for _ in range(repeat):
        for name, cmd in jobs:
            times[name].append(run_ms(cmd))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--before", help="another installation's egoexo-sql console script")
    ap.add_argument("--before-catalog", help="a catalog that installation built")
    a = ap.parse_args()
    cat = str(Path(a.catalog).resolve())
    exe = shutil.which("egoexo-sql") or str(Path(PYTHON).parent / "egoexo-sql")
    floor_code = (
        "import duckdb, sys\ncon = duckdb.connect(sys.argv[1] + '/catalog.duckdb', read_only=True)\n"
        "print(con.sql('SELECT 1').fetchall())\n"
    )
    floor_name = "floor: import duckdb, connect read-only, SELECT 1"
    jobs = [
        ("python -c pass", [PYTHON, "-c", "pass"]),
        (floor_name, [PYTHON, "-c", floor_code, cat]),
        ('egoexo-sql query "SELECT 1"', [exe, "query", "--catalog", cat, "SELECT 1"]),
        ("egoexo-sql query (a small view)", [exe, "query", "--catalog", cat, "SELECT count(*) FROM tasks"]),
        ("egoexo-sql --help", [exe, "--help"]),
        ("egoexo-sql tables", [exe, "tables", "--catalog", cat]),
    ]
    if a.before:
        bcat = str(Path(a.before_catalog or cat).resolve())
        jobs += [
            ('before: egoexo-sql query "SELECT 1"', [a.before, "query", "--catalog", bcat, "SELECT 1"]),
            (
                "before: egoexo-sql query (a small view)",
                [a.before, "query", "--catalog", bcat, "SELECT count(*) FROM tasks"],
            ),
            ("before: egoexo-sql --help", [a.before, "--help"]),
            ("before: egoexo-sql tables", [a.before, "tables", "--catalog", bcat]),
        ]
    ms = medians_ms(jobs, a.repeat)
    floor = ms[floor_name]
    rows = [[name, f"{ms[name]:.0f}", f"{ms[name] / floor:.2f}"] for name, _ in jobs]
    print_table(
        f"whole processes, median of {a.repeat} rounds, run round-robin (ms)",
        ["process", "ms", "vs floor"],
        rows,
    )


if __name__ == "__main__":
    main()
