"""Measure a demo release's annotation volume per family against the published figures
and write the table of docs/demo-volume.md.

    egoexo-sql demo /work/demo_full --scale 1
    python tools/demo_volume.py /work/demo_full --seconds S --rss-mb M > docs/demo-volume-table.md

Each family's bytes, files and units (pose entries, camera frames, masks, ...) are
measured in the folder (one file read at a time); where the release's unit count is
published, the demo's bytes per unit times that count estimates the real family's size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from egoexo_sql.demo.volume import PART_BYTES, measure  # noqa: E402


def gb(n: float | None) -> str:
    return "" if n is None else f"{n / 1e9:,.3f}"


def table(release: Path) -> str:
    rows = measure(release)
    lines = [
        "| family | download part | files | demo GB | unit | demo units | bytes / unit | published units "
        "| real GB (published units x bytes/unit) | published figure |",
        "|---|---|--:|--:|---|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.family} | {r.part} | {r.files:,} | {gb(r.bytes)} | {r.unit} | {r.units:,} | "
            f"{r.bytes_per_unit:,.0f} | {'' if r.published_units is None else f'{r.published_units:,}'} | "
            f"{gb(r.real_estimate)} | {r.source} |"
        )
    lines.append("")
    lines.append(
        "| download part | demo GB | real GB (estimate: published units, else the demo's) | published GB |"
    )
    lines.append("|---|--:|--:|--:|")
    for part in dict.fromkeys(r.part for r in rows):
        demo = sum(r.bytes for r in rows if r.part == part)
        est = sum(r.real_estimate if r.real_estimate is not None else r.bytes for r in rows if r.part == part)
        pub = PART_BYTES.get(part)
        lines.append(f"| {part} | {gb(demo)} | {gb(est)} | {gb(pub)} |")
    folder = sum(r.bytes for r in rows if r.part != "take_transcription")
    lines.append(
        f"| **demo `annotations/` folder** | **{gb(folder)}** | | {gb(PART_BYTES['annotations'])} (part `annotations`) |"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("release", type=Path)
    a = ap.parse_args()
    print(table(a.release))


if __name__ == "__main__":
    main()
