"""A take's texts as subtitles: one track per language source (atomic descriptions,
expert commentary, keystep names, narrations), as WebVTT for the browser's player and as
WebVTT or SubRip files beside the videos for VLC and mpv (``egoexo-sql export subtitles``).

Cue times are the catalog's times rounded to the millisecond (half up). An interval
(keystep, narration) is one cue from its start to its end. A moment (an atomic
description, a commentary recording) is shown until the source's next later moment, at
most :data:`MOMENT_SECONDS`: the same window the web browser uses for "what is
happening now" (:func:`windows`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog

#: take_timeline sources that are text in a language, in the order tracks are offered
SOURCES = ("atomic", "commentary", "keystep", "narration")
FORMATS = ("vtt", "srt")
#: how long a moment (an atomic description, a commentary) stays on screen at most
MOMENT_SECONDS = 4.0


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


def to_ms(seconds: float) -> int:
    """Seconds as whole milliseconds, half up (2.0005 s -> 2001 ms)."""
    return math.floor(seconds * 1000 + 0.5)


def windows(events: Sequence[tuple[str, float | None, float | None, str | None]]) -> list[float | None]:
    """For each (source, start, end, text) event: until when it is shown (seconds).

    An interval until its end; a moment until the next later moment of its source, at
    most :data:`MOMENT_SECONDS` after it; None for an event without a start.
    """
    starts: dict[str, list[float]] = {}
    for source, start, end, _ in events:
        if start is not None and end is None:
            starts.setdefault(source, []).append(start)
    for s in starts.values():
        s.sort()
    out: list[float | None] = []
    import bisect

    for source, start, end, _ in events:
        if start is None:
            out.append(None)
        elif end is not None:
            out.append(max(end, start))
        else:
            s = starts[source]
            i = bisect.bisect_right(s, start)
            nxt = s[i] if i < len(s) else math.inf
            out.append(min(start + MOMENT_SECONDS, nxt))
    return out


def cues(cat: Catalog, take_uid: str, source: str) -> list[Cue]:
    """The cues of one take's ``source`` track (:data:`SOURCES`), in time order."""
    check_sources([source])
    from .resources import queries_dir

    sql = (queries_dir() / "media" / "subtitle_events.sql").read_text(encoding="utf-8")
    events = cat.execute(sql, {"take_uid": take_uid, "sources": [source]}).fetchall()
    until = windows(events)
    out = []
    for (_, start, _, text), end in zip(events, until):
        a, b = to_ms(start), to_ms(end if end is not None else start)
        out.append(Cue(a, max(b, a + 1), " ".join(str(text).split())))
    return out


def check_sources(sources: Iterable[str]) -> list[str]:
    out = list(dict.fromkeys(sources))
    bad = [s for s in out if s not in SOURCES]
    if bad:
        raise UsageError(
            f"--source {', '.join(bad)}: not a subtitle source; choose from {', '.join(SOURCES)}"
        )
    return out


def _stamp(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cue_list: Sequence[Cue], title: str = "") -> str:
    """WebVTT: a header (with ``title`` as a NOTE), then one numbered cue per :class:`Cue`."""
    lines = ["WEBVTT", ""]
    if title:
        lines += ["NOTE " + " ".join(title.replace("-->", "->").split()), ""]
    for n, c in enumerate(cue_list, 1):
        lines += [str(n), f"{_stamp(c.start_ms, '.')} --> {_stamp(c.end_ms, '.')}", _vtt_text(c.text), ""]
    return "\n".join(lines)


def to_srt(cue_list: Sequence[Cue]) -> str:
    """SubRip: numbered cues with ``HH:MM:SS,mmm`` times, a blank line after each."""
    lines: list[str] = []
    for n, c in enumerate(cue_list, 1):
        lines += [str(n), f"{_stamp(c.start_ms, ',')} --> {_stamp(c.end_ms, ',')}", c.text, ""]
    return "\n".join(lines)


def render(cue_list: Sequence[Cue], fmt: str, title: str = "") -> str:
    if fmt == "vtt":
        return to_vtt(cue_list, title)
    if fmt == "srt":
        return to_srt(cue_list)
    raise UsageError(f"--format {fmt}: choose from {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- export


@dataclass
class Written:
    path: Path
    take_name: str
    source: str
    cues: int


def resolve_takes(cat: Catalog, keys: Sequence[str]) -> list[tuple[str, str]]:
    """(take_uid, take_name) of each take named by take_uid or take_name; unknown ones are an error."""
    out: list[tuple[str, str]] = []
    missing = []
    for k in keys:
        rows = cat.execute(
            "SELECT take_uid, take_name FROM takes WHERE take_uid = $k OR take_name = $k", {"k": k}
        ).fetchall()
        if not rows:
            missing.append(k)
        elif rows[0] not in out:
            out.append((rows[0][0], rows[0][1]))
    if missing:
        raise UsageError(f"--take {', '.join(missing)}: no take with that take_uid or take_name")
    return out


def export(
    cat: Catalog,
    release: Path | None,
    takes: Sequence[str] = (),
    sources: Sequence[str] = SOURCES,
    formats: Sequence[str] = FORMATS,
    out_dir: Path | None = None,
) -> list[Written]:
    """Write one subtitle file per take, source and format; return what was written.

    Each file goes beside each of the take's videos found under ``release``, named after
    the video (``cam04.mp4`` -> ``cam04.atomic.srt``) so that VLC and mpv load it with
    the video; for a take with no video on disk, into ``takes/<take_name>/`` as
    ``<take_name>.atomic.srt``. The paths are relative to ``out_dir`` (default: the
    release folder). Without ``takes``: the takes with a video under ``release``. A
    source without cues in a take writes no file.
    """
    from .media import take_media

    sources = check_sources(sources)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"--format {', '.join(bad) or '(none)'}: choose from {', '.join(FORMATS)}")
    base = out_dir if out_dir is not None else release
    if base is None:
        raise UsageError(
            "no folder to write into: the catalog does not record an existing release folder; "
            "give --release DIR or --out-dir DIR"
        )
    if takes:
        chosen = resolve_takes(cat, takes)
    else:
        if release is None:
            raise UsageError("no release folder to look for videos in: name the takes with --take")
        from .media import takes_with_videos

        chosen = takes_with_videos(cat, release)
        if not chosen:
            raise UsageError(
                f"no take has a video under {release} (takes/<take>/frame_aligned_videos/...): "
                "name the takes with --take"
            )
    written: list[Written] = []
    for uid, name in chosen:
        media = take_media(cat, uid, release)
        videos = media.present
        if not takes and not videos:
            continue
        stems = [v.path.rsplit(".", 1)[0] for v in videos] or [f"takes/{name}/{name}"]
        for source in sources:
            cue_list = cues(cat, uid, source)
            if not cue_list:
                continue
            for fmt in formats:
                text = render(cue_list, fmt, title=f"{name} {source}")
                for stem in stems:
                    dest = base.joinpath(*f"{stem}.{source}.{fmt}".split("/"))
                    _write_atomic(dest, text)
                    written.append(Written(dest, name, source, len(cue_list)))
    return written


def _write_atomic(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, dest)
