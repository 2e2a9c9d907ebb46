"""Audio transcripts (part take_transcription) -> narrations, narration_words.

``takes/<take_name>/audio/<aria cam>_transcriptions.json`` is the raw result of Whisper
large-v3 ``transcribe(..., word_timestamps=True)``: ``text``, ``language`` and
``segments`` (``id, seek, start, end, text, tokens, temperature, avg_logprob,
compression_ratio, no_speech_prob, words[{word, start, end, probability}]``). The take
is known by its folder's name only; takes.json (optional input) gives its take_uid and
is_narrated. Token ids are not read. Times are kept as written (a word outside its
segment is a data-quality question for the checks, not a reason to refuse the build).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..schema import conform
from ._common import column

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

TRANSCRIPT_GLOB = "takes/*/audio/*_transcriptions.json"
SUFFIX = "_transcriptions.json"


class Word(msgspec.Struct, gc=False):
    word: str | None = None
    start: float | None = None
    end: float | None = None
    probability: float | None = None


class Segment(msgspec.Struct, gc=False):
    start: float | None
    end: float | None
    text: str | None = None
    seek: int | None = None
    temperature: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None
    words: list[Word] = []


class Transcript(msgspec.Struct, gc=False):
    segments: list[Segment]
    text: str | None = None
    language: str | None = None


class _TakeRef(msgspec.Struct, gc=False):
    take_uid: str
    take_name: str
    is_narrated: bool | None = None


def _strip(s: str | None) -> str | None:
    return None if s is None else s.strip()


def transcript_location(rel: str) -> tuple[str, str] | None:
    """``takes/<take_name>/audio/<cam>_transcriptions.json`` -> (take_name, cam); else None."""
    parts = rel.split("/")
    if len(parts) != 4 or parts[0] != "takes" or parts[2] != "audio" or not parts[3].endswith(SUFFIX):
        return None
    cam = parts[3][: -len(SUFFIX)]
    return (parts[1], cam) if cam and parts[1] else None


def compile_narrations(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    seg_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "take_name",
            "cam_id",
            "segment_idx",
            "seek",
            "start_time",
            "end_time",
            "text",
            "n_words",
            "temperature",
            "avg_logprob",
            "compression_ratio",
            "no_speech_prob",
            "language",
        )
    }
    word_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "take_name",
            "cam_id",
            "segment_idx",
            "word_idx",
            "word",
            "start_time",
            "end_time",
            "probability",
        )
    }
    rels = sorted(r for r in map(release.rel, files) if transcript_location(r) is not None)
    for rel in rels:
        take_name, cam = transcript_location(rel)  # type: ignore[misc]
        f: Transcript = release.decode(rel, Transcript)
        segs = f.segments
        n = len(segs)
        seg_cols["take_name"] += [take_name] * n
        seg_cols["cam_id"] += [cam] * n
        seg_cols["segment_idx"] += range(n)
        seg_cols["seek"] += column(segs, "seek")
        seg_cols["start_time"] += column(segs, "start")
        seg_cols["end_time"] += column(segs, "end")
        seg_cols["text"] += [_strip(s.text) for s in segs]
        seg_cols["temperature"] += column(segs, "temperature")
        seg_cols["avg_logprob"] += column(segs, "avg_logprob")
        seg_cols["compression_ratio"] += column(segs, "compression_ratio")
        seg_cols["no_speech_prob"] += column(segs, "no_speech_prob")
        seg_cols["language"] += [f.language] * n
        for i, s in enumerate(segs):
            w = s.words
            k = len(w)
            seg_cols["n_words"].append(k)
            if not k:
                continue
            word_cols["take_name"] += [take_name] * k
            word_cols["cam_id"] += [cam] * k
            word_cols["segment_idx"] += [i] * k
            word_cols["word_idx"] += range(k)
            word_cols["word"] += [_strip(x.word) for x in w]
            word_cols["start_time"] += column(w, "start")
            word_cols["end_time"] += column(w, "end")
            word_cols["probability"] += column(w, "probability")
        del f, segs

    takes: dict[str, _TakeRef] = {}
    if rels and release.is_file("takes.json"):
        takes = {t.take_name: t for t in release.decode("takes.json", list[_TakeRef])}
    ref = [takes.get(n) for n in seg_cols["take_name"]]
    seg_cols["take_uid"] = [None if t is None else t.take_uid for t in ref]
    seg_cols["is_narrated_take"] = [None if t is None else t.is_narrated for t in ref]
    uid_of = {n: t.take_uid for n, t in takes.items()}
    word_cols["take_uid"] = [uid_of.get(n) for n in word_cols["take_name"]]
    return {
        "narrations": conform("narrations", seg_cols),
        "narration_words": conform("narration_words", word_cols),
    }
