"""``egoexo-sql demo --videos``: small but real H.264 MP4 files for a few takes, where the
downloader puts the real ones, so that the web browser's player can be tried and tested.

For each of :data:`N_TAKES` takes (the shortest of those with the most kinds of
annotation) three files, covering the whole take at 30 frames per second like the
frame-aligned videos, each frame showing the camera and the take second:

- the best exo camera (else the first exo camera), frame-aligned:
  ``takes/<take>/frame_aligned_videos/cam04.mp4``, 256 x 144 (16:9, as the GoPro frames);
- the ego camera's RGB stream, downscaled: ``takes/<take>/frame_aligned_videos/downscaled/448/aria01_214-1.mp4``,
  144 x 144 (square, as the Aria frames);
- the collage: ``takes/<take>/ego_preview.mp4``, 256 x 144.

The other cameras stay absent, as after ``takes --format s3 --cams best_exo``. The
manifests keep the sizes of the real files. Encoded with PyAV (FFmpeg's libx264), the
text drawn with Pillow: ``pip install 'egoexo-sql[videos]'``.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .world import Take, World

N_TAKES = 3
FPS = 30
#: takes longer than this are not picked (the files would grow; a few seconds to minutes)
MAX_SECONDS = 150.0
EXO_SIZE = (256, 144)
EGO_SIZE = (144, 144)
COLORS = {"exo": (38, 78, 112), "ego": (92, 56, 104), "collage": (44, 96, 64)}


def _modules() -> tuple[Any, Any, tuple[Any, Any, Any]]:
    try:
        import av
        import numpy as np
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:
        raise UsageError(
            f"egoexo-sql demo --videos needs PyAV and Pillow ({e.name} is missing): "
            "pip install 'egoexo-sql[videos]'"
        ) from None
    return av, np, (Image, ImageDraw, ImageFont)


def pick_takes(world: World, n: int = N_TAKES) -> list[Take]:
    """The ``n`` takes that get videos: among those up to :data:`MAX_SECONDS` long, the ones
    with the most kinds of annotation (keystep, body pose, commentary, atomic, narration),
    shortest first."""

    def kinds(t: Take) -> int:
        body = any(v for (kind, _), v in t.pose.items() if kind == "body")
        return sum((t.keystep, body, bool(t.commentary_experts), bool(t.atomic_split), t.is_narrated))

    short = [t for t in world.takes if t.duration <= MAX_SECONDS] or list(world.takes)
    return sorted(short, key=lambda t: (-kinds(t), t.duration, t.name))[:n]


def planned(
    world: World, takes_records: list[dict[str, Any]], n: int = N_TAKES
) -> Iterator[tuple[str, str, Take]]:
    """(path relative to the release, kind, take) of each video :func:`write_videos` writes."""
    by_uid = {r["take_uid"]: r for r in takes_records}
    for t in pick_takes(world, n):
        rec = by_uid[t.uid]
        root = rec["root_dir"]
        fav = rec["frame_aligned_videos"]
        exo = t.best_exo or (t.exo_cams[0] if t.exo_cams else None)
        if exo and exo in fav and fav[exo].get("0", {}).get("relative_path"):
            yield f"{root}/{fav[exo]['0']['relative_path']}", "exo", t
        rgb = fav.get(t.ego_cam, {}).get("rgb", {}).get("relative_path")
        if rgb:
            yield f"{root}/frame_aligned_videos/downscaled/448/{posixpath.basename(rgb)}", "ego", t
        collage = fav.get("collage", {}).get("0", {}).get("relative_path")
        if collage:
            yield f"{root}/{collage}", "collage", t


def write_videos(
    out: Path, world: World, takes_records: list[dict[str, Any]], n: int = N_TAKES
) -> list[tuple[str, int]]:
    """Write the videos of :func:`planned` under ``out``; (relative path, bytes) of each."""
    av, np, (Image, ImageDraw, ImageFont) = _modules()
    written = []
    for rel, kind, take in planned(world, takes_records, n):
        size = EGO_SIZE if kind == "ego" else EXO_SIZE
        label = {
            "exo": rel.rsplit("/", 1)[-1].removesuffix(".mp4"),
            "ego": take.ego_cam,
            "collage": "collage",
        }[kind]
        dest = out.joinpath(*rel.split("/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        frames = math.ceil(take.duration * FPS)
        font_big = ImageFont.load_default(size=size[1] // 4)
        font_small = ImageFont.load_default(size=max(9, size[1] // 12))
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "30"})
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.options["g"] = str(FPS)  # a key frame a second: seeks land fast
            for second in range(math.ceil(frames / FPS)):
                img = Image.new("RGB", size, COLORS[kind])
                draw = ImageDraw.Draw(img)
                draw.text((6, 4), label, font=font_small, fill=(230, 236, 240))
                draw.text((6, size[1] // 3), f"{second} s", font=font_big, fill=(255, 255, 255))
                draw.text(
                    (6, size[1] - size[1] // 8 - 4), take.name[:40], font=font_small, fill=(200, 210, 215)
                )
                frame = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24").reformat(format="yuv420p")
                for k in range(second * FPS, min(frames, (second + 1) * FPS)):
                    frame.pts = k
                    for packet in stream.encode(frame):
                        container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        tmp.replace(dest)
        written.append((rel, dest.stat().st_size))
    return written
