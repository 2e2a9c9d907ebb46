"""Ego pose at the release's real volume: build speed against an orjson parse of the same
files, peak memory of the whole build at N, 2N and 4N, and the catalog's size on disk.

    .venv/bin/python bench/bench_volume.py [--multiples 1 2 4] [--work DIR] [--keep]

N is the pose volume of ``egoexo-sql demo --scale 1`` (the published frames per file;
docs/demo-volume.md); kN is ``--scale k`` (k times the takes, so k times the files, each
file of the same size as at N). For each multiple the script generates the release's
``metadata``, ``splits`` and ``ego_pose`` groups under ``--work`` (kept between runs
unless missing), then, in one run:

* reads and ``orjson.loads`` every pose file in one process (the parse floor), and in
  two processes (both cores);
* builds ``egoexo-sql build --only ego_pose --force`` in a child process, sampling the
  RSS of its whole process tree (the build, the forkserver, its workers, the resource
  tracker) every 50 ms; the build's own step times come from its report;
* measures ``catalog.duckdb`` and ``data/`` on disk: the large tables are stored once
  when ``(catalog.duckdb + data/) / max(catalog.duckdb, data/)`` stays near 1.

Prints one table; the goals are: build throughput >= 1.0x the one-process parse, peak
RSS < 1 GB at every multiple and within 15% between N and 4N, stored-once ratio <= 1.15.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, print_table  # noqa: E402

BUILD = """
import json, sys
from egoexo_sql.builder import build_catalog
rep = build_catalog(sys.argv[1], sys.argv[2], only=["ego_pose"], force=True)
print(json.dumps({"steps": rep.steps, "total": rep.total_seconds, "tables": rep.tables}))
"""


def pose_files(release: Path) -> list[Path]:
    return sorted((release / "annotations" / "ego_pose").rglob("*.json"))


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def generate(release: Path, multiple: int) -> None:
    if (release / "takes.json").is_file() and (release / ".complete").is_file():
        return
    from egoexo_sql.demo import generate as gen

    shutil.rmtree(release, ignore_errors=True)
    t0 = time.perf_counter()
    gen(release, scale=float(multiple), seed=0, only=["metadata", "splits", "ego_pose"])
    (release / ".complete").write_text("")
    print(f"[{multiple}N] generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def warm(files: list[Path]) -> None:
    """Read every file once, untimed, so each timed job starts from the page cache."""
    for p in files:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def _parse(paths: list[str]) -> int:
    import orjson

    n = 0
    for p in paths:
        with open(p, "rb") as f:
            n += len(orjson.loads(f.read()))
    return n


def parse_seconds(files: list[Path], workers: int) -> float:
    paths = [str(p) for p in files]
    t0 = time.perf_counter()
    if workers == 1:
        _parse(paths)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_parse, [paths[i::workers] for i in range(workers)]))
    return time.perf_counter() - t0


def build(release: Path, catalog: Path) -> dict:
    """Build in a child process; wall seconds and the peak RSS summed over its process tree."""
    import psutil

    shutil.rmtree(catalog, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-c", BUILD, str(release), str(catalog)], stdout=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = peak_main = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        rss = []
        for p in procs:
            try:
                rss.append(p.memory_info().rss)
            except psutil.Error:
                rss.append(0)
        peak, peak_main = max(peak, sum(rss)), max(peak_main, rss[0])
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"build of {release} failed ({proc.returncode})")
    rep = json.loads(out.strip().splitlines()[-1])
    rep.update(wall=wall, peak=peak, peak_main=peak_main)
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--work", default="/tmp/egoexo_bench_volume")
    ap.add_argument("--keep", action="store_true", help="keep the catalogs (the releases are always kept)")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for k in a.multiples:
        release, catalog = work / f"release_{k}N", work / f"catalog_{k}N"
        generate(release, k)
        files = pose_files(release)
        json_bytes = sum(p.stat().st_size for p in files)
        warm(files)
        p1 = parse_seconds(files, 1)
        p2 = parse_seconds(files, 2)
        warm(files)
        b = build(release, catalog)
        db = (catalog / "catalog.duckdb").stat().st_size
        data = dir_bytes(catalog / "data")
        results.append(
            {
                "k": k,
                "files": len(files),
                "json": json_bytes,
                "p1": p1,
                "p2": p2,
                "b": b,
                "db": db,
                "data": data,
            }
        )
        print(
            f"[{k}N] built in {b['wall']:.1f} s, peak RSS {b['peak'] / 1e6:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        if not a.keep:
            shutil.rmtree(catalog, ignore_errors=True)

    gb, mb = 1e9, 1e6
    rows = []

    def row(name: str, fn) -> None:
        rows.append((name, *(fn(r) for r in results)))

    row("pose JSON", lambda r: f"{r['json'] / gb:.2f} GB, {r['files']:,} files")
    row(
        "rows ego_pose_3d / 2d",
        lambda r: (
            f"{r['b']['tables']['ego_pose_3d'] / 1e6:.0f}M / {r['b']['tables']['ego_pose_2d'] / 1e6:.0f}M"
        ),
    )
    row("orjson parse, 1 process", lambda r: f"{r['p1']:.1f} s ({r['json'] / mb / r['p1']:.0f} MB/s)")
    row("orjson parse, 2 processes", lambda r: f"{r['p2']:.1f} s ({r['json'] / mb / r['p2']:.0f} MB/s)")
    row(
        "build --only ego_pose --force",
        lambda r: f"{r['b']['wall']:.1f} s ({r['json'] / mb / r['b']['wall']:.0f} MB/s)",
    )
    row("build throughput / 1-process parse", lambda r: f"{r['p1'] / r['b']['wall']:.2f}x (goal >= 1.0)")
    row("build throughput / 2-process parse", lambda r: f"{r['p2'] / r['b']['wall']:.2f}x")
    for step in ("scan", "hash", "plan", "compile", "write", "views", "swap"):
        row(f"  step {step}", lambda r, s=step: f"{r['b']['steps'].get(s, 0):.2f} s")
    row("peak RSS, build process tree", lambda r: f"{r['peak'] / mb:.0f} MB (goal < 1000)")
    row("  of which the main process", lambda r: f"{r['peak_main'] / mb:.0f} MB")
    base = results[0]["peak"]
    row("peak RSS / first column", lambda r: f"{r['peak'] / base:.2f} (goal within 1.15)")
    row("catalog.duckdb", lambda r: f"{r['db'] / mb:.1f} MB")
    row("data/", lambda r: f"{r['data'] / mb:.0f} MB")
    row(
        "(catalog.duckdb + data/) / larger",
        lambda r: f"{(r['db'] + r['data']) / max(r['db'], r['data']):.3f} (goal <= 1.15)",
    )
    print_table(
        f"ego pose at volume: {os.cpu_count()} cores, build with one worker per core; "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        ("", *(f"{r['k']}N" for r in results)),
        rows,
    )


if __name__ == "__main__":
    main()
