"""egoexo-sql serve playing videos: time to the first byte of a video, a seek into a 1 GiB
file, the take page, and the server's memory while 8 clients stream.

    python bench/bench_media.py CATALOG [--repeat 21] [--stream-mib 256]

CATALOG is built from a ``demo --videos`` release (``egoexo-sql demo R --videos &&
egoexo-sql build R --catalog CATALOG``). The script makes a scratch release folder
holding that release's videos plus one sparse 1 GiB file with a real video's bytes at
its start, runs ``egoexo-sql serve --release SCRATCH`` as a child process on 127.0.0.1,
and measures over HTTP (median of --repeat):

- first byte of a video: a GET of a demo video from byte 0 until its first body byte;
- seek into the 1 GiB file: a GET with ``Range: bytes=<700 MB>-<+64 KiB>`` until the
  first body byte, and until the whole 64 KiB;
- the take page (``/take/<uid>`` of a take with videos);
- a baseline in the same run: the first byte of /static/style.css (a small file);
- 8 clients at once each streaming --stream-mib MiB of the 1 GiB file from its own
  offset: throughput, and the server's RSS before, at its peak (sampled every 20 ms and
  VmHWM) and after. Goals: first byte and seek under 50 ms, page under 100 ms, memory flat.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table  # noqa: E402

GIB = 1 << 30


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_byte(
    port: int, path: str, headers: dict[str, str] | None = None, read: int = 1
) -> tuple[float, int]:
    """(seconds until ``read`` body bytes arrived, status) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    got = 0
    while got < read:
        chunk = r.read1(read - got)
        if not chunk:
            break
        got += len(chunk)
    dt = time.perf_counter() - t0
    conn.close()
    return dt, r.status


def median_of(repeat: int, fn) -> float:
    fn()  # warm-up
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog")
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--stream-mib", type=int, default=256)
    a = ap.parse_args()
    import duckdb

    con = duckdb.connect(str(Path(a.catalog) / "catalog.duckdb"), read_only=True)
    import json

    release = Path(json.loads((Path(a.catalog) / "build.json").read_text())["release_dir"])
    con.close()
    videos = sorted(p.relative_to(release).as_posix() for p in release.glob("takes/*/**/*.mp4"))
    if not videos:
        sys.exit(f"no videos under {release}: build the catalog from a `egoexo-sql demo --videos` release")
    take_name = videos[0].split("/")[1]
    con = duckdb.connect(str(Path(a.catalog) / "catalog.duckdb"), read_only=True)
    uid = con.execute("SELECT take_uid FROM takes WHERE take_name = ?", [take_name]).fetchall()[0][0]
    con.close()

    scratch = Path(tempfile.mkdtemp(prefix="bench-media-"))
    proc = None
    try:
        for rel in videos:
            (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(release / rel, scratch / rel)
        big_rel = f"takes/{take_name}/frame_aligned_videos/big_1gib.mp4"
        with open(scratch / big_rel, "wb") as f:
            f.write((release / videos[0]).read_bytes())
            f.truncate(GIB)  # sparse: the rest reads as zeros without taking disk space
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "egoexo_sql",
                "serve",
                "--catalog",
                a.catalog,
                "--release",
                str(scratch),
                "--port",
                str(port),
            ],
            stderr=subprocess.DEVNULL,
        )
        for _ in range(400):
            try:
                if first_byte(port, "/static/style.css")[1] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        rows = []
        base = median_of(a.repeat, lambda: first_byte(port, "/static/style.css")[0])

        def row(name: str, secs: float, goal: str) -> None:
            rows.append((name, f"{secs * 1000:.1f}", f"{secs / base:.1f}x", goal))

        row("baseline: first byte of /static/style.css", base, "")
        row(
            f"first byte of a video ({(release / videos[0]).stat().st_size / 1e3:.0f} kB)",
            median_of(a.repeat, lambda: first_byte(port, "/media/" + videos[0], {"Range": "bytes=0-"})[0]),
            "< 50 ms",
        )
        seek = {"Range": f"bytes={700_000_000}-{700_000_000 + 65535}"}
        row(
            "seek into the 1 GiB file: first byte",
            median_of(a.repeat, lambda: first_byte(port, "/media/" + big_rel, seek)[0]),
            "< 50 ms",
        )
        row(
            "seek into the 1 GiB file: 64 KiB",
            median_of(a.repeat, lambda: first_byte(port, "/media/" + big_rel, seek, read=65536)[0]),
            "< 50 ms",
        )
        row(
            "take page /take/<uid> (with its player)",
            median_of(a.repeat, lambda: first_byte(port, f"/take/{uid}", read=1 << 30)[0]),
            "< 100 ms",
        )
        print_table("serving videos (median over HTTP)", ("measure", "ms", "vs baseline", "goal"), rows)

        # 8 clients streaming, memory sampled
        before = rss_mib(proc.pid)
        peak = [before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mib(proc.pid))
                time.sleep(0.02)

        n_bytes = a.stream_mib << 20

        def stream(i: int) -> int:
            start = i * ((GIB - n_bytes) // 7)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request(
                "GET", "/media/" + big_rel, headers={"Range": f"bytes={start}-{start + n_bytes - 1}"}
            )
            r = conn.getresponse()
            got = 0
            while chunk := r.read(1 << 20):
                got += len(chunk)
            conn.close()
            return got

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(stream, range(8)))
        secs = time.perf_counter() - t0
        stop.set()
        sampler.join()
        after = rss_mib(proc.pid)
        hwm = rss_mib(proc.pid, "VmHWM")
        print_table(
            "8 clients streaming the 1 GiB file at once",
            ("measure", "value"),
            [
                (
                    "bytes streamed",
                    f"{sum(got) / 2**20:,.0f} MiB ({8} x {a.stream_mib} MiB, all complete: {all(g == n_bytes for g in got)})",
                ),
                ("time, throughput", f"{secs:.1f} s, {sum(got) / 2**20 / secs:,.0f} MiB/s"),
                ("server RSS before", f"{before:.0f} MiB"),
                ("server RSS peak while streaming (sampled)", f"{peak[0]:.0f} MiB (+{peak[0] - before:.0f})"),
                ("server RSS after", f"{after:.0f} MiB"),
                ("server VmHWM (peak over its life)", f"{hwm:.0f} MiB"),
            ],
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
