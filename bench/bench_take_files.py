"""How many bytes does "only the best exo view" save? The Cooking takes in train, all
cameras vs best_exo only, on the manifests of the synthetic release at --scale 1.

    python bench/bench_take_files.py [--scale 1] [--work /tmp/egoexo-bench-files]

Generates the release (metadata, splits, manifests), builds the catalog, then counts
per part, through the same library calls as `egoexo-sql takes --format files`:

    egoexo-sql takes --scenario Cooking --split train --format files --parts P              (all cameras)
    egoexo-sql takes --scenario Cooking --split train --format files --parts P --cams best_exo

for P = takes (full-resolution frame-aligned videos) and downscaled_takes/448. Each byte
count is checked against a sum over the manifest JSON, takes.json and splits.json made
here without the catalog. Prints a table: files and bytes of both, and their ratio.
The media sizes are the generator's plausible numbers, not the real release's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table  # noqa: E402

PARTS = ("takes", "downscaled_takes/448")


def from_json(release: Path, part: str, best_exo_only: bool) -> tuple[int, int]:
    """(files, bytes) of the Cooking takes in train, straight from the JSON."""
    splits = json.loads((release / "annotations" / "splits.json").read_text())["take_uid_to_split"]
    takes = {
        t["take_uid"]: t
        for t in json.loads((release / "takes.json").read_text())
        if t["parent_task_name"] == "Cooking" and splits.get(t["take_uid"]) == "train"
    }
    # the best exo camera's files: <root_dir>/frame_aligned_videos/[downscaled/448/]<best_exo>.mp4
    seen: dict[tuple[str, str], int] = {}
    for e in json.loads((release / "manifests" / part / "manifest.json").read_text()):
        t = takes.get(e["uid"])
        if t is None:
            continue
        for p in e["paths"]:
            name = p["relative_path"].rsplit("/", 1)[-1]
            if best_exo_only and (t["best_exo"] is None or name != f"{t['best_exo']}.mp4"):
                continue
            seen[(p["source_path"], p["relative_path"])] = p["size"]
    return len([s for s in seen.values() if s]), sum(s for s in seen.values() if s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--work", default="/tmp/egoexo-bench-files")
    args = ap.parse_args()

    from egoexo_sql import download as dl
    from egoexo_sql import select as sel
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.catalog import Catalog
    from egoexo_sql.demo import generate

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    release, catalog = work / "release", work / "catalog"
    t0 = time.perf_counter()
    generate(release, scale=args.scale, seed=0, only=["metadata", "splits", "manifests"])
    build_catalog(release, catalog, only=["metadata", "splits", "manifests"])
    print(f"release at --scale {args.scale:g} generated and built in {time.perf_counter() - t0:.1f} s")

    rows = []
    with Catalog.open(catalog, sandbox=True) as cat:
        uids = sel.take_uids(cat, scenario="Cooking", split="train")
        no_best = 0
        for part in PARTS:
            run_list = dl.runs(cat, uids, [part])
            counts = {}
            for label, cams in (("all cameras", None), ("best_exo only", dl.cams_of(cat, ["best_exo"]))):
                t1 = time.perf_counter()
                listed = dl.files(cat, run_list, cams)
                secs = time.perf_counter() - t1
                files, size = len(listed.rows), listed.bytes
                assert (files, size) == from_json(release, part, cams is not None), (part, label)
                counts[label] = (files, size, secs)
                no_best = len(listed.no_best_exo) or no_best
            (fa, ba, sa), (fb, bb, sb) = counts["all cameras"], counts["best_exo only"]
            rows.append(
                (
                    part,
                    f"{fa:,}",
                    f"{ba:,}",
                    dl.human_bytes(ba),
                    f"{fb:,}",
                    f"{bb:,}",
                    dl.human_bytes(bb),
                    f"{ba / bb:.1f}x",
                    f"{sa * 1000:.0f} / {sb * 1000:.0f}",
                )
            )
    print_table(
        f"Cooking takes in train ({len(uids):,} takes, {no_best:,} without best_exo), scale {args.scale:g}; "
        "byte counts checked against the manifest JSON",
        (
            "part",
            "files (all)",
            "bytes (all cameras)",
            "size",
            "files (best_exo)",
            "bytes (best_exo only)",
            "size",
            "all / best_exo",
            "list ms (all / best)",
        ),
        rows,
    )


if __name__ == "__main__":
    main()
