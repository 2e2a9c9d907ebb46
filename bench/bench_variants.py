"""Build cost of the recorded real-data variants: a --variants release against the plain
release of the same seed.

    python bench/bench_variants.py [--scale 1] [--pose-frames 8] [--work /tmp/egoexo-variants] [--repeat 3]

Writes both releases (the same seed, every group), then builds each from scratch
(`egoexo-sql build --force`, a child process) --repeat times and prints the median wall
time and peak RSS of each, their ratio, and what the variants build normalised (values
per variant, from build.json). Both catalogs are checked to hold the same row counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, print_table, run_measured  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pose-frames", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default="/tmp/egoexo-variants")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    from egoexo_sql.demo import generate

    releases = {}
    for name, variants in (("plain", False), ("variants", True)):
        rep = generate(work / name, scale=a.scale, seed=a.seed, pose_frames=a.pose_frames, variants=variants)
        releases[name] = rep
        print(f"{name}: {rep.files:,} files, {rep.bytes / 1e6:,.0f} MB", flush=True)

    rows = []
    times: dict[str, float] = {}
    for name in ("plain", "variants"):
        cat = work / f"cat_{name}"
        runs = []
        for _ in range(a.repeat):
            secs, rss, _ = run_measured(
                [PYTHON, "-m", "egoexo_sql", "build", str(work / name), "--catalog", str(cat), "--force"]
            )
            runs.append((secs, rss))
        times[name] = statistics.median(s for s, _ in runs)
        rows.append(
            [
                f"build --force, {name} release",
                f"{times[name]:.2f}",
                f"{max(r for _, r in runs):.0f}",
                f"{times[name] / times['plain']:.3f}",
            ]
        )
    print_table(
        f"scale {a.scale:g}, pose frames {a.pose_frames}, medians of {a.repeat}",
        ["job", "seconds", "peak RSS MB", "vs plain"],
        rows,
    )

    info = {n: json.loads((work / f"cat_{n}" / "build.json").read_text()) for n in ("plain", "variants")}
    counts = {n: {t: r["rows"] for t, r in info[n]["tables"].items()} for n in info}
    if counts["plain"] != counts["variants"]:
        raise SystemExit("the two catalogs differ in row counts")
    norm: dict[str, int] = {}
    for s in info["variants"]["sources"].values():
        for _, vid, n in s.get("normalised", []):
            norm[vid] = norm.get(vid, 0) + n
    print_table(
        "values normalised by the variants build (build.json)",
        ["variant", "values"],
        [[k, f"{v:,}"] for k, v in sorted(norm.items())] + [["total", f"{sum(norm.values()):,}"]],
    )


if __name__ == "__main__":
    main()
