"""egoexo-sql serve: server time per page, and throughput with 48 concurrent clients.

    python bench/bench_serve.py CATALOG [--repeat 21]

Starts the app under uvicorn on 127.0.0.1 (a free port) and measures, over HTTP, the
median time of: /takes with three filters, /facets.json, a take page (the take with the
most kinds of annotation), /table/keystep_segments; then 48 clients requesting those
pages at once (requests per second, errors). Goal: every page under 100 ms median.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog")
    ap.add_argument("--repeat", type=int, default=21)
    a = ap.parse_args()
    import duckdb
    import httpx
    import uvicorn

    from egoexo_sql.serve import create_app

    con = duckdb.connect(str(Path(a.catalog) / "catalog.duckdb"), read_only=True)
    uid = con.sql(
        "SELECT take_uid FROM take_timeline GROUP BY 1 ORDER BY count(DISTINCT source) DESC, "
        "count(*) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    con.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(a.catalog), host="127.0.0.1", port=port, log_level="warning")
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    pages = {
        "/takes, three filters": "/takes?scenario=Cooking&split=train&has=keystep",
        "/facets.json": "/facets.json",
        "/take/<uid> (richest take)": f"/take/{uid}",
        "/table/keystep_segments": "/table/keystep_segments",
    }
    rows = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        for name, url in pages.items():
            c.get(url)  # warm
            times = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                r = c.get(url)
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, (url, r.status_code)
            rows.append(
                [
                    name,
                    f"{statistics.median(times) * 1000:.1f}",
                    f"{max(times) * 1000:.1f}",
                    "yes" if statistics.median(times) < 0.1 else "NO",
                ]
            )
        urls = list(pages.values()) * 12
        t0 = time.perf_counter()
        with ThreadPoolExecutor(48) as pool:
            statuses = list(pool.map(lambda u: c.get(u).status_code, urls))
        wall = time.perf_counter() - t0
    server.should_exit = True
    th.join(10)
    print_table(f"server pages, median of {a.repeat} (ms)", ["page", "median ms", "max ms", "< 100 ms"], rows)
    errors = sum(s != 200 for s in statuses)
    print_table(
        "48 concurrent clients",
        ["requests", "seconds", "requests/s", "errors"],
        [[len(urls), f"{wall:.2f}", f"{len(urls) / wall:.1f}", errors]],
    )


if __name__ == "__main__":
    main()
