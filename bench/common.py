"""Helpers shared by the benchmark scripts: run a child process and read its peak RSS,
time in-process callables, print a table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def run_measured(
    cmd: Sequence[str], cwd: str | None = None, env: dict | None = None
) -> tuple[float, float, str]:
    """Like run_child, with the child's own peak RSS from wait4()."""
    t0 = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        p = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=devnull, text=True)
        out = p.stdout.read()
        _, status, rusage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode})")
    return secs, rusage.ru_maxrss / 1024, out


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_process(cmd: Sequence[str], repeat: int = 5, **kw) -> float:
    times = [run_measured(cmd, **kw)[0] for _ in range(repeat)]
    return statistics.median(times)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join("-" * w for w in widths)
    for i, r in enumerate(cells):
        print("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print(line)


def warm(files: Sequence[Path]) -> None:
    """Read every file once, untimed, so each timed job starts from the page cache (as far
    as it holds them)."""
    for p in files:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def tree_measured(cmd: Sequence[str]) -> tuple[float, int, str]:
    """Run ``cmd``; wall seconds, the peak RSS summed over its whole process tree (sampled
    every 50 ms), stdout."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{list(cmd)[:3]} failed ({proc.returncode})")
    return wall, peak, out
