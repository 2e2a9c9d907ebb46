"""Benchmark: compiling ego pose against parsing the same JSON with orjson.

    .venv/bin/python bench/bench_ego_pose.py [--scale 1] [--pose-frames 40] [--out /tmp/egoexo_bench]

Generates the synthetic release's ego pose group (body/hand x annotation/automatic and
camera poses, with takes.json) at ``--scale`` and at twice that scale (twice the takes),
builds each with ``egoexo-sql build --only ego_pose`` in a child process whose process
tree (the build and its worker processes) is sampled for RSS, and prints one table.
Each release is built twice: with the native decoder (``egoexo_sql._posecols``, when it
was compiled at install) and with the reference msgspec decoder (``EGOEXO_SQL_NATIVE=0``;
skip with ``--no-reference``). The table shows:

* build throughput (MB of pose JSON per second, wall clock of the whole build) against
  reading + ``orjson.loads`` of every pose file, in one process and in two;
* peak RSS of the build (sum over its process tree, and the largest process);
* Parquet bytes against JSON bytes;
* three queries, DuckDB over the catalog against the same answer computed by reading
  the JSON in Python (orjson): frames per take, joints seen in fewer than 3 views,
  takes with both body and hand pose. Answers are checked to agree.

Everything is written under ``--out`` and deleted at the end unless ``--keep``.
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

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import warm  # noqa: E402

PY = sys.executable
BUILD = """
import json, resource, sys
from pathlib import Path
from egoexo_sql.builder import build_catalog
rep = build_catalog(sys.argv[1], sys.argv[2], only=["ego_pose"])
ru = resource.getrusage(resource.RUSAGE_SELF)
src = json.loads((Path(sys.argv[2]) / "build.json").read_text())["sources"]
workers = sum(src[s].get("cpu_seconds", 0) for s in ("ego_pose", "camera_poses"))
from egoexo_sql.tables.ego_pose import pose_decoder
print(json.dumps({"decoder": pose_decoder(), "steps": rep.steps, "total": rep.total_seconds, "tables": rep.tables,
                  "cpu": ru.ru_utime + ru.ru_stime + workers}))
"""


def pose_files(release: Path) -> list[Path]:
    return sorted(p for p in (release / "annotations" / "ego_pose").rglob("*.json"))


def body_hand_files(release: Path) -> list[Path]:
    return [p for p in pose_files(release) if "camera_pose" not in p.parts]


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- generate
def generate(out: Path, scale: float, frames: int) -> tuple[float, int]:
    from egoexo_sql.demo import generate as gen

    t0 = time.perf_counter()
    gen(out, scale=scale, seed=0, only=["metadata", "splits", "ego_pose"], pose_frames=frames)
    return time.perf_counter() - t0, sum(p.stat().st_size for p in pose_files(out))


# --------------------------------------------------------------------------- build with RSS sampling
def build(release: Path, catalog: Path, native: bool = True) -> dict:
    import psutil

    shutil.rmtree(catalog, ignore_errors=True)
    warm(pose_files(release))
    env = dict(os.environ, EGOEXO_SQL_NATIVE="1" if native else "0")
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", BUILD, str(release), str(catalog)], stdout=subprocess.PIPE, env=env)
    ps = psutil.Process(proc.pid)
    peak_sum = peak_one = peak_main = peak_worker = 0
    while proc.poll() is None:
        try:
            procs = [ps] + ps.children(recursive=True)
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    rss.append(0)
            peak_sum = max(peak_sum, sum(rss))
            peak_one = max(peak_one, max(rss, default=0))
            peak_main = max(peak_main, rss[0])
            peak_worker = max(peak_worker, max(rss[1:], default=0))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"build failed ({proc.returncode})")
    rep = json.loads(out.strip().splitlines()[-1])  # the last line: DuckDB may print a progress bar before it
    rep.update(wall=wall, peak_sum=peak_sum, peak_one=peak_one, peak_main=peak_main, peak_worker=peak_worker)
    return rep


# --------------------------------------------------------------------------- orjson baseline
def _parse(paths: list[str]) -> int:
    n = 0
    for p in paths:
        with open(p, "rb") as f:
            n += len(orjson.loads(f.read()))
    return n


def _cpu(who: int) -> float:
    import resource

    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def parse_all(files: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of reading and orjson-parsing every file."""
    import resource

    paths = [str(p) for p in files]
    t0 = time.perf_counter()
    if workers == 1:
        c0 = _cpu(resource.RUSAGE_SELF)
        _parse(paths)
        cpu = _cpu(resource.RUSAGE_SELF) - c0
    else:
        c0 = _cpu(resource.RUSAGE_CHILDREN)
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_parse, [paths[i::workers] for i in range(workers)]))
        cpu = _cpu(resource.RUSAGE_CHILDREN) - c0  # includes the workers' start-up
    return time.perf_counter() - t0, cpu


# --------------------------------------------------------------------------- queries
Q_FRAMES = """SELECT take_uid, kind, source, count(DISTINCT frame_number) AS frames
FROM ego_pose_3d GROUP BY ALL"""
Q_FEW_VIEWS = """SELECT kind, joint, count(*) AS n FROM ego_pose_3d
WHERE num_views_for_3d < 3 GROUP BY ALL"""
Q_BOTH = """SELECT take_uid FROM ego_pose_3d GROUP BY take_uid HAVING count(DISTINCT kind) = 2"""


def py_frames(release: Path) -> set:
    out = set()
    for p in body_hand_files(release):
        doc = orjson.loads(p.read_bytes())
        frames = {k for k, anns in doc.items() if any(a.get("annotation3D") for a in anns)}
        if frames:
            out.add((p.stem, p.parts[-3], p.parts[-2], len(frames)))
    return out


def py_few_views(release: Path) -> set:
    counts: dict = {}
    for p in body_hand_files(release):
        kind = p.parts[-3]
        for anns in orjson.loads(p.read_bytes()).values():
            for a in anns:
                for joint, v in a.get("annotation3D", {}).items():
                    if v.get("num_views_for_3d") is not None and v["num_views_for_3d"] < 3:
                        counts[kind, joint] = counts.get((kind, joint), 0) + 1
    return {(k, j, n) for (k, j), n in counts.items()}


def py_both(release: Path) -> set:
    kinds: dict = {}
    for p in body_hand_files(release):
        doc = orjson.loads(p.read_bytes())
        if any(a.get("annotation3D") for anns in doc.values() for a in anns):
            kinds.setdefault(p.stem, set()).add(p.parts[-3])
    return {(u,) for u, k in kinds.items() if len(k) == 2}


def timed(fn, *args):
    t0 = time.perf_counter()
    r = fn(*args)
    return time.perf_counter() - t0, r


def run_queries(release: Path, catalog: Path) -> list[tuple[str, float, float, int]]:
    import duckdb

    con = duckdb.connect(str(catalog / "catalog.duckdb"), read_only=True)
    con.execute(f"SET file_search_path = '{catalog}'")
    out = []
    for name, sql, py in (
        ("frames per take", Q_FRAMES, py_frames),
        ("joints in < 3 views", Q_FEW_VIEWS, py_few_views),
        ("takes with body and hand", Q_BOTH, py_both),
    ):
        best = None
        for _ in range(3):
            t, res = timed(lambda: con.execute(sql).fetchall())  # noqa: B023
            best = t if best is None else min(best, t)
        tp, pres = timed(py, release)
        if set(map(tuple, res)) != pres:
            raise SystemExit(f"query {name!r}: DuckDB and Python disagree")
        out.append((name, best, tp, len(res)))
    con.close()
    return out


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pose-frames", type=int, default=40)
    ap.add_argument("--out", default="/tmp/egoexo_bench")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-reference", action="store_true", help="skip the build with the msgspec decoder")
    a = ap.parse_args()
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cpus = os.cpu_count() or 1
    results = []
    try:
        for label, scale in (("N", a.scale), ("2N", 2 * a.scale)):
            rel, cat = out / f"release_{label}", out / f"catalog_{label}"
            gen_s, json_bytes = generate(rel, scale, a.pose_frames)
            print(
                f"[{label}] generated {json_bytes / 1e9:.2f} GB of pose JSON in {gen_s:.0f} s",
                file=sys.stderr,
            )
            files = pose_files(rel)
            os.sync()
            warm(files)
            parse_1 = parse_all(files, 1)
            parse_2 = parse_all(files, 2)
            ref = None
            if not a.no_reference:
                ref = build(rel, cat, native=False)
                print(
                    f"[{label}] built with the {ref['decoder']} decoder in {ref['wall']:.1f} s",
                    file=sys.stderr,
                )
            b = build(rel, cat)
            print(f"[{label}] built with the {b['decoder']} decoder in {b['wall']:.1f} s", file=sys.stderr)
            pq_bytes = sum(
                dir_bytes(cat / "data" / t)
                for t in ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes", "camera_poses")
            )
            queries = run_queries(rel, cat) if label == "N" else None
            results.append(
                {
                    "label": label,
                    "scale": scale,
                    "files": len(files),
                    "json": json_bytes,
                    "parse_1": parse_1,
                    "parse_2": parse_2,
                    "build": b,
                    "ref": ref,
                    "parquet": pq_bytes,
                    "queries": queries,
                }
            )
            if not a.keep:
                shutil.rmtree(rel, ignore_errors=True)
                shutil.rmtree(cat, ignore_errors=True)
    finally:
        if not a.keep:
            shutil.rmtree(out, ignore_errors=True)
    report(results, a, cpus)


def report(results: list[dict], a, cpus: int) -> None:
    mb = 1e6
    print(
        f"\nego pose benchmark: synthetic release, --pose-frames {a.pose_frames}, {cpus} cores "
        f"(build uses {cpus} worker processes); load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    hdr = "| | " + " | ".join(f"{r['label']}: scale {r['scale']:g}" for r in results) + " |"
    print(hdr)
    print("|---" * (len(results) + 1) + "|")

    def row(name, fn):
        print(f"| {name} | " + " | ".join(fn(r) for r in results) + " |")

    row("pose JSON (files)", lambda r: f"{r['json'] / 1e9:.2f} GB ({r['files']:,} files)")
    row(
        "rows 3D / 2D / camera",
        lambda r: (
            f"{r['build']['tables']['ego_pose_3d'] / 1e6:.1f}M / "
            f"{r['build']['tables']['ego_pose_2d'] / 1e6:.1f}M / {r['build']['tables']['camera_poses'] / 1e6:.2f}M"
        ),
    )
    row(
        "orjson parse only, 1 process: wall",
        lambda r: f"{r['json'] / mb / r['parse_1'][0]:.0f} MB/s ({r['parse_1'][0]:.1f} s)",
    )
    row(
        "orjson parse only, 2 processes: wall",
        lambda r: f"{r['json'] / mb / r['parse_2'][0]:.0f} MB/s ({r['parse_2'][0]:.1f} s)",
    )
    row(
        "build --only ego_pose: wall",
        lambda r: (
            f"{r['json'] / mb / r['build']['wall']:.0f} MB/s "
            f"({r['build']['wall']:.1f} s, {r['build']['decoder']} decoder)"
        ),
    )
    row(
        "build / orjson parse (1 process), wall",
        lambda r: f"{r['parse_1'][0] / r['build']['wall']:.2f}x (goal >= 1)",
    )
    row(
        "  of which the compile step",
        lambda r: (
            f"{r['json'] / mb / r['build']['steps']['compile']:.0f} MB/s "
            f"({r['build']['steps']['compile']:.1f} s)"
        ),
    )
    row(
        "orjson parse only: MB per CPU-second",
        lambda r: (
            f"{r['json'] / mb / r['parse_1'][1]:.0f} (1 proc), "
            f"{r['json'] / mb / r['parse_2'][1]:.0f} (2 procs)"
        ),
    )
    row(
        "build: MB per CPU-second (all processes)",
        lambda r: f"{r['json'] / mb / r['build']['cpu']:.0f} ({r['build']['cpu']:.1f} CPU-s)",
    )
    if all(r["ref"] for r in results):
        row(
            "build with the msgspec decoder: wall",
            lambda r: (
                f"{r['json'] / mb / r['ref']['wall']:.0f} MB/s "
                f"({r['ref']['wall']:.1f} s; {r['parse_1'][0] / r['ref']['wall']:.2f}x parse)"
            ),
        )
        row(
            "  MB per CPU-second; peak RSS sum",
            lambda r: f"{r['json'] / mb / r['ref']['cpu']:.0f}; {r['ref']['peak_sum'] / 2**20:.0f} MiB",
        )
    row("peak RSS, build + workers (sum)", lambda r: f"{r['build']['peak_sum'] / 2**20:.0f} MiB")
    row("peak RSS, largest process", lambda r: f"{r['build']['peak_one'] / 2**20:.0f} MiB")
    row(
        "peak RSS, build process / largest worker",
        lambda r: f"{r['build']['peak_main'] / 2**20:.0f} / {r['build']['peak_worker'] / 2**20:.0f} MiB",
    )
    row(
        "Parquet / JSON",
        lambda r: f"{r['parquet'] / 1e6:.0f} MB / {r['json'] / 1e6:.0f} MB = {r['parquet'] / r['json']:.1%}",
    )
    for i, (name, *_rest) in enumerate(results[0]["queries"] or []):
        row(
            f"query: {name} (DuckDB vs Python+orjson)",
            lambda r, i=i: (
                (
                    f"{r['queries'][i][1] * 1000:.0f} ms vs {r['queries'][i][2]:.1f} s "
                    f"({r['queries'][i][3]:,} rows)"
                )
                if r["queries"]
                else "-"
            ),
        )


if __name__ == "__main__":
    main()
