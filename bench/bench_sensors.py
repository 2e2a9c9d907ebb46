"""Aria sensor tables at volume: compile speed of trajectory and eye gaze CSV against
DuckDB's own CSV-to-Parquet copy of the same files, peak memory of the whole build at N
and 4N trajectory rows, and query times on the catalog against pandas over the CSV.

    .venv/bin/python bench/bench_sensors.py [--scale 0.0225] [--hz 1000] [--work DIR] [--keep]

N is the trajectory volume of ``egoexo-sql demo --scale S --trajectory-hz 1000`` (the
real MPS rate; eye gaze at its real 10 Hz) with the ``metadata``, ``trajectory``,
``eye_gaze`` and ``timesync`` groups; 4N is ``--scale 4S``. The default S puts more than
50 million trajectory rows in 4N. The releases stay under ``--work`` between runs (they
take minutes to write); the catalogs are deleted unless ``--keep``. In one run, for N
and 4N:

* ``egoexo-sql build`` of the metadata and timesync groups first (not timed), then
  ``build --only trajectory eye_gaze --force`` in a child process: wall time, and the
  RSS of its whole process tree (the build, the forkserver, its workers) sampled every
  50 ms;
* DuckDB's ``COPY (FROM read_csv([...every trajectory file...])) TO 'x.parquet'`` and the
  same for the eye gaze files, in a child process with DuckDB's default threads (both
  cores): the floor of "CSV in, Parquet out" without take seconds, summaries or checks;
  the ratio build / COPY has the goal <= 1.2;

and on the 4N catalog (in this process, warm page cache, median of 5):

* one take's trajectory (``SELECT take_sec, tx, ty, tz FROM trajectory WHERE take_uid =
  ?``, every row to Arrow, in file order), over takes picked across the catalog (goal < 100 ms);
* the per-take motion summary of every take (``take_motion``: path length, displacement,
  speeds, height range, area, coverage; goal < 1 s), and for scale the same figures
  aggregated from the raw trajectory rows in one query;
* pandas: ``read_csv`` of every closed_loop_trajectory.csv (the columns needed) and the
  same per-take figures (rows, path length, net displacement, height range, mean quality),
  timed once; the ratio pandas / catalog.

Prints one table with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, median_time, print_table, tree_measured, warm  # noqa: E402

GROUPS = ["metadata", "trajectory", "eye_gaze", "timesync"]

BUILD = """
import json, sys
from egoexo_sql.builder import build_catalog
only = sys.argv[3].split(",")
rep = build_catalog(sys.argv[1], sys.argv[2], only=only, force=True)
print(json.dumps({"steps": rep.steps, "total": rep.total_seconds, "tables": rep.tables}))
"""

COPY = """
import duckdb, json, sys, time
files = json.loads(open(sys.argv[1]).read())
out = sys.argv[2]
con = duckdb.connect()
times = {}
for name, paths in files.items():
    t0 = time.perf_counter()
    con.execute(f"COPY (FROM read_csv($p, header = true)) TO '{out}/{name}.parquet' (FORMAT parquet)", {"p": paths})
    times[name] = time.perf_counter() - t0
print(json.dumps(times))
"""


def generate(release: Path, scale: float, hz: float) -> None:
    if (release / ".complete").is_file():
        return
    from egoexo_sql.demo import generate as gen

    shutil.rmtree(release, ignore_errors=True)
    t0 = time.perf_counter()
    gen(release, scale=scale, seed=0, only=GROUPS, trajectory_hz=hz)
    (release / ".complete").write_text("")
    print(f"[scale {scale}] generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def pandas_summary(files: list[Path]) -> tuple[float, int]:
    """Per-take figures from the CSV files with pandas: seconds and the number of takes."""
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    rows = []
    for p in files:
        df = pd.read_csv(
            p,
            usecols=[
                "tracking_timestamp_us",
                "tx_world_device",
                "ty_world_device",
                "tz_world_device",
                "quality_score",
            ],
        )
        xyz = df[["tx_world_device", "ty_world_device", "tz_world_device"]].to_numpy()
        rows.append(
            {
                "take": p.parent.parent.name,
                "n": len(df),
                "path_m": float(np.linalg.norm(np.diff(xyz, axis=0), axis=1).sum()),
                "net_m": float(np.linalg.norm(xyz[-1] - xyz[0])),
                "height_m": float(xyz[:, 2].max() - xyz[:, 2].min()),
                "quality": float(df["quality_score"].mean()),
            }
        )
    out = pd.DataFrame(rows)
    return time.perf_counter() - t0, len(out)


def queries(catalog: Path) -> dict:
    import egoexo_sql

    with egoexo_sql.open(catalog) as cat:
        con = cat.connection
        con.execute("SET enable_progress_bar = false")
        takes = [
            r[0]
            for r in con.execute(
                "SELECT take_uid FROM trajectory_files ORDER BY n_rows DESC, take_uid"
            ).fetchall()
        ]
        picked = takes[:: max(1, len(takes) // 5)][:5]
        one = "SELECT take_sec, tx, ty, tz FROM trajectory WHERE take_uid = $1"  # in file (time) order
        per_take = [median_time(lambda t=t: con.sql(one, params=[t]).to_arrow_table()) for t in picked]
        n_rows = [
            con.execute("SELECT n_rows FROM trajectory_files WHERE take_uid = $1", [t]).fetchall()[0][0]
            for t in picked
        ]
        summary = "SELECT * FROM take_motion"
        t_summary = median_time(lambda: con.sql(summary).to_arrow_table())
        n_takes = len(con.execute(summary).fetchall())
        raw = (
            "SELECT take_uid, count(*) AS n, min(take_sec), max(take_sec), min(tz), max(tz), avg(quality_score), "
            "avg(speed_mps) FROM trajectory GROUP BY take_uid"
        )
        t_raw = median_time(lambda: con.sql(raw).to_arrow_table(), repeat=3)
        (total,) = con.execute("SELECT count(*) FROM trajectory").fetchall()[0]
    return {
        "one_take": per_take,
        "one_take_rows": n_rows,
        "summary": t_summary,
        "summary_takes": n_takes,
        "raw": t_raw,
        "rows": total,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.0225, help="the demo scale of N (4N is 4 times it)")
    ap.add_argument("--hz", type=float, default=1000.0, help="trajectory sample rate (the real one: 1000)")
    ap.add_argument("--work", default="/work/bench/sensors")
    ap.add_argument("--keep", action="store_true", help="keep the catalogs (the releases are always kept)")
    ap.add_argument("--generate-only", action="store_true", help="write the two releases and stop")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.generate_only:
        for k in (1, 4):
            generate(work / f"release_{k}N", a.scale * k, a.hz)
        return
    results = []
    for k in (1, 4):
        release, catalog = work / f"release_{k}N", work / f"catalog_{k}N"
        generate(release, a.scale * k, a.hz)
        traj = sorted(release.glob("takes/*/trajectory/closed_loop_trajectory.csv"))
        gaze = sorted(release.glob("takes/*/eye_gaze/*_eye_gaze.csv"))
        nbytes = {
            "trajectory": sum(p.stat().st_size for p in traj),
            "eye_gaze": sum(p.stat().st_size for p in gaze),
        }
        shutil.rmtree(catalog, ignore_errors=True)
        tree_measured([PYTHON, "-c", BUILD, str(release), str(catalog), "metadata,timesync"])
        warm(traj + gaze)
        wall, peak, out = tree_measured(
            [PYTHON, "-c", BUILD, str(release), str(catalog), "trajectory,eye_gaze"]
        )
        rep = json.loads(out.strip().splitlines()[-1])
        lists = work / "copy_files.json"
        lists.write_text(
            json.dumps({"trajectory": [str(p) for p in traj], "eye_gaze": [str(p) for p in gaze]})
        )
        copy_dir = work / "duckdb_copy"
        shutil.rmtree(copy_dir, ignore_errors=True)
        copy_dir.mkdir()
        warm(traj + gaze)
        c_wall, c_peak, c_out = tree_measured([PYTHON, "-c", COPY, str(lists), str(copy_dir)])
        copy = json.loads(c_out.strip().splitlines()[-1])
        shutil.rmtree(copy_dir, ignore_errors=True)
        r = {
            "k": k,
            "bytes": nbytes,
            "files": len(traj) + len(gaze),
            "rows": rep["tables"].get("trajectory", 0),
            "gaze_rows": rep["tables"].get("eye_gaze", 0),
            "build": wall,
            "steps": rep["steps"],
            "peak": peak,
            "copy": copy,
            "copy_wall": c_wall,
            "copy_peak": c_peak,
        }
        if k == 4:
            r["q"] = queries(catalog)
            r["pandas"], r["pandas_takes"] = pandas_summary(traj)
        results.append(r)
        print(f"[{k}N] build {wall:.1f} s, COPY {sum(copy.values()):.1f} s", file=sys.stderr, flush=True)
        if not a.keep:
            shutil.rmtree(catalog, ignore_errors=True)

    mb = 1e6
    rows = []

    def row(name: str, fn) -> None:
        rows.append((name, *(fn(r) for r in results)))

    row("trajectory rows", lambda r: f"{r['rows'] / 1e6:.1f}M ({r['bytes']['trajectory'] / 1e9:.2f} GB CSV)")
    row("eye gaze rows", lambda r: f"{r['gaze_rows'] / 1e6:.2f}M ({r['bytes']['eye_gaze'] / 1e9:.2f} GB CSV)")
    row("files", lambda r: f"{r['files']:,}")
    row(
        "build --only trajectory eye_gaze --force",
        lambda r: f"{r['build']:.1f} s ({sum(r['bytes'].values()) / mb / r['build']:.0f} MB/s)",
    )
    for step in ("scan", "hash", "compile", "write", "views", "swap"):
        row(f"  step {step}", lambda r, s=step: f"{r['steps'].get(s, 0):.1f} s")
    row(
        "DuckDB COPY read_csv -> parquet",
        lambda r: (
            f"{sum(r['copy'].values()):.1f} s (traj {r['copy']['trajectory']:.1f}, gaze {r['copy']['eye_gaze']:.1f})"
        ),
    )
    row("build / COPY", lambda r: f"{r['build'] / sum(r['copy'].values()):.2f}x (goal <= 1.2)")
    row("peak RSS, build process tree", lambda r: f"{r['peak'] / mb:.0f} MB")
    base = results[0]["peak"]
    row("peak RSS / N", lambda r: f"{r['peak'] / base:.2f} (goal within 1.15)")
    row("peak RSS, DuckDB COPY process", lambda r: f"{r['copy_peak'] / mb:.0f} MB")

    def q(fn):
        return lambda r: fn(r) if "q" in r else ""

    row(
        "one take's trajectory (median over 5 takes)",
        q(
            lambda r: (
                f"{statistics.median(r['q']['one_take']) * 1000:.0f} ms, max "
                f"{max(r['q']['one_take']) * 1000:.0f} ms ({min(r['q']['one_take_rows']):,}-"
                f"{max(r['q']['one_take_rows']):,} rows; goal < 100 ms)"
            )
        ),
    )
    row(
        "take_motion, every take",
        q(lambda r: f"{r['q']['summary'] * 1000:.0f} ms ({r['q']['summary_takes']} takes; goal < 1 s)"),
    )
    row("  the same from the raw rows (GROUP BY)", q(lambda r: f"{r['q']['raw']:.2f} s"))
    row("pandas over the CSV files", q(lambda r: f"{r['pandas']:.1f} s ({r['pandas_takes']} takes)"))
    row("pandas / take_motion", q(lambda r: f"{r['pandas'] / r['q']['summary']:.0f}x"))
    row("pandas / raw GROUP BY", q(lambda r: f"{r['pandas'] / r['q']['raw']:.0f}x"))
    la = os.getloadavg()
    print_table(
        f"Aria sensors at volume: {os.cpu_count()} cores; trajectory {a.hz:g} Hz, N = --scale {a.scale}; "
        f"load average at the end {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f} (1/5/15 min)",
        ("", *(f"{r['k']}N" for r in results)),
        rows,
    )


if __name__ == "__main__":
    main()
