"""What storing the tables in catalog.duckdb costs and gives: size, build time, and a plain
DuckDB client's queries on a small and a large view.

    python bench/bench_catalog_file.py RELEASE [--before PYTHON] [--repeat 3] [--work DIR]

Builds RELEASE (`egoexo-sql build --force`, a child process) --repeat times with this
checkout's egoexo-sql, and, with --before, with another installation's Python (an older
checkout, whose catalog.duckdb holds views over data/). Prints the median build time, the
size of catalog.duckdb and of data/, and the median time of a plain client process
(`duckdb.connect(path, read_only=True)`, nothing else) started in another folder, for a
small view (`SELECT count(*) FROM take_summary WHERE has_keystep`) and a large one
(frames per take of ego_pose_3d). The old layout needs `SET file_search_path` first
(shown as such: a plain client started elsewhere gets "No files found" without it).
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

from common import PYTHON, print_table, run_measured  # noqa: E402

SMALL = "SELECT count(*) FROM take_summary WHERE has_keystep"
LARGE = (
    "SELECT count(*) FROM (SELECT take_uid, count(DISTINCT frame_number) FROM ego_pose_3d GROUP BY take_uid)"
)


def size(p: Path) -> int:
    return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def client_ms(db: Path, sql: str, cwd: Path, search_path: Path | None, repeat: int) -> tuple[float, str]:
    pre = 'con.execute("SET file_search_path = \'" + sys.argv[3] + "\'")\n' if search_path else ""
    code = (
        "import duckdb, sys\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
        + pre
        + "print(con.sql(sys.argv[2]).fetchall()[0][0])\n"
    )
    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(
            [PYTHON, "-c", code, str(db), sql, str(search_path)], cwd=cwd, capture_output=True, text=True
        )
        times.append(time.perf_counter() - t0)
        out = p.stdout.strip() if p.returncode == 0 else "error: " + p.stderr.strip().splitlines()[-1][:60]
    return statistics.median(times) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("release")
    ap.add_argument("--before", help="python of an installation with the old layout")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default="/tmp/egoexo-catalog-file")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "elsewhere").mkdir(parents=True)
    layouts = [("tables stored in catalog.duckdb (now)", PYTHON, False)]
    if a.before:
        layouts.insert(0, ("views over data/ (before)", a.before, True))
    rows, qrows = [], []
    base = None
    for label, python, relative in layouts:
        cat = work / ("before" if relative else "now")
        secs = []
        for _ in range(a.repeat):
            # from the work folder: `python -m` would import a checkout in the working directory
            s, _, _ = run_measured(
                [
                    python,
                    "-m",
                    "egoexo_sql",
                    "build",
                    str(Path(a.release).resolve()),
                    "--catalog",
                    str(cat),
                    "--force",
                ],
                cwd=str(work),
            )
            secs.append(s)
        t = statistics.median(secs)
        base = base or t
        rows.append(
            [
                label,
                f"{t:.2f}",
                f"{t / base:.3f}",
                f"{size(cat / 'catalog.duckdb') / 1e6:.1f}",
                f"{size(cat / 'data') / 1e6:.1f}",
            ]
        )
        for qname, sql in (("small: take_summary", SMALL), ("large: ego_pose_3d", LARGE)):
            ms, out = client_ms(cat / "catalog.duckdb", sql, work / "elsewhere", None, a.repeat)
            line = [label, qname, "plain client, no setting", f"{ms:.0f}", out]
            qrows.append(line)
            if relative:
                ms, out = client_ms(cat / "catalog.duckdb", sql, work / "elsewhere", cat, a.repeat)
                qrows.append([label, qname, "with SET file_search_path", f"{ms:.0f}", out])
    print_table(
        f"build --force of {a.release}, medians of {a.repeat}",
        ["catalog.duckdb", "build s", "vs first", "catalog.duckdb MB", "data/ MB"],
        rows,
    )
    print_table(
        "a plain DuckDB client process started in another folder (median ms, whole process)",
        ["catalog.duckdb", "query", "how", "ms", "answer"],
        qrows,
    )


if __name__ == "__main__":
    main()
