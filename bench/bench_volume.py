"""Ego pose at the release's real volume: build speed against an orjson parse of the same
files, peak memory of the whole build at N, 2N and 4N, and the catalog's size on disk.

    .venv/bin/python bench/bench_volume.py [--release DIR] [--multiples 1 2 4] [--work DIR]

N is the pose volume of ``egoexo-sql demo --scale 1`` (the published frames per file,
10.9 GB of ego pose JSON; docs/demo-volume.md): ``--release`` names such a release, or the
script generates the ``metadata``, ``splits`` and ``ego_pose`` groups under ``--work``.
kN is N's pose files k times, each copy under other take uids (hard links: no disk, the
same bytes): k times the files, rows and bytes to parse, each file as at N. For each
multiple, in one run:

* reads and ``orjson.loads`` every pose file in one process (the parse floor), and in
  two processes (both cores), at the multiples ``--parse-at`` names (default N: the
  throughput goal is stated there; parsing 44 GB takes minutes);
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

from common import PYTHON, print_table, warm  # noqa: E402

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


def generate(release: Path) -> None:
    """The scale-1 release's metadata, splits and ego pose groups (kept between runs)."""
    if (release / "takes.json").is_file() and (release / ".complete").is_file():
        return
    from egoexo_sql.demo import generate as gen

    shutil.rmtree(release, ignore_errors=True)
    t0 = time.perf_counter()
    gen(
        release,
        scale=1.0,
        seed=0,
        only=["metadata", "splits", "ego_pose"],
        pose_frames=None,
        masks_per_object=None,
    )
    (release / ".complete").write_text("")
    print(f"[N] generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def replicate(base: Path, dest: Path, k: int) -> None:
    """``dest``: ``base`` with every pose file k times (copy c > 0 under take uids whose
    first hex digit is shifted by c), all hard links."""
    shutil.rmtree(dest, ignore_errors=True)
    for src in base.rglob("*"):
        if src.is_dir() or src.name == ".complete":
            continue
        rel = src.relative_to(base)
        copies = range(k) if rel.parts[:2] == ("annotations", "ego_pose") else range(1)
        for c in copies:
            name = src.name
            if c:
                name = f"{(int(name[0], 16) + c) % 16:x}{name[1:]}"
            out = dest / rel.parent / name
            out.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, out)


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
    peak = peak_main = peak_children = 0
    by_pid: dict[int, tuple[str, int]] = {}  # pid -> (role, peak RSS)
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        rss = []
        for p in procs:
            try:
                r = p.memory_info().rss
                if p.pid not in by_pid:
                    cmd = " ".join(p.cmdline())
                    role = (
                        "main"
                        if p is root
                        else "resource tracker"
                        if "resource_tracker" in cmd
                        else "forkserver"
                        if p.ppid() == root.pid and "forkserver" in cmd
                        else "worker"  # forked by the forkserver: its command line
                    )
                    by_pid[p.pid] = (role, r)
                by_pid[p.pid] = (by_pid[p.pid][0], max(by_pid[p.pid][1], r))
            except psutil.Error:
                r = 0
            rss.append(r)
        peak, peak_main = max(peak, sum(rss)), max(peak_main, rss[0])
        peak_children = max(peak_children, sum(rss[1:]))
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"build of {release} failed ({proc.returncode})")
    rep = json.loads(out.strip().splitlines()[-1])
    workers = sorted((r for role, r in by_pid.values() if role == "worker"), reverse=True)
    rep.update(
        wall=wall,
        peak=peak,
        peak_main=peak_main,
        peak_children=peak_children,
        peak_worker=workers[0] if workers else 0,
    )
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--release", help="a scale-1 release with the published pose volume (default: generate one)"
    )
    ap.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument(
        "--parse-at", type=int, nargs="+", default=[1], help="multiples at which to time the parse"
    )
    ap.add_argument("--work", default="/tmp/egoexo_bench_volume")
    ap.add_argument("--keep", action="store_true", help="keep the catalogs")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    base = Path(a.release) if a.release else work / "release_N"
    if not a.release:
        generate(base)
    results = []
    for k in a.multiples:
        release, catalog = work / f"release_{k}N", work / f"catalog_{k}N"
        if k == 1:
            release = base
        else:
            replicate(base, release, k)
        files = pose_files(release)
        json_bytes = sum(p.stat().st_size for p in files)
        p1 = p2 = None
        if k in a.parse_at:
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
        if release != base:
            shutil.rmtree(release, ignore_errors=True)

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
    row(
        "orjson parse, 1 process",
        lambda r: f"{r['p1']:.1f} s ({r['json'] / mb / r['p1']:.0f} MB/s)" if r["p1"] else "-",
    )
    row(
        "orjson parse, 2 processes",
        lambda r: f"{r['p2']:.1f} s ({r['json'] / mb / r['p2']:.0f} MB/s)" if r["p2"] else "-",
    )
    row(
        "build --only ego_pose --force",
        lambda r: f"{r['b']['wall']:.1f} s ({r['json'] / mb / r['b']['wall']:.0f} MB/s)",
    )
    row(
        "build throughput / 1-process parse",
        lambda r: f"{r['p1'] / r['b']['wall']:.2f}x (goal >= 1.0)" if r["p1"] else "-",
    )
    row(
        "build throughput / 2-process parse", lambda r: f"{r['p2'] / r['b']['wall']:.2f}x" if r["p2"] else "-"
    )
    for step in ("scan", "hash", "plan", "compile", "write", "views", "swap"):
        row(f"  step {step}", lambda r, s=step: f"{r['b']['steps'].get(s, 0):.2f} s")
    row("peak RSS, build process tree", lambda r: f"{r['b']['peak'] / mb:.0f} MB (goal < 1000)")
    row("  the main process alone", lambda r: f"{r['b']['peak_main'] / mb:.0f} MB")
    row("  its child processes together", lambda r: f"{r['b']['peak_children'] / mb:.0f} MB")
    row("  the largest worker alone", lambda r: f"{r['b']['peak_worker'] / mb:.0f} MB")
    base = results[0]["b"]["peak"]
    row("peak RSS / first column", lambda r: f"{r['b']['peak'] / base:.2f} (goal within 1.15)")
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
