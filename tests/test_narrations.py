"""Audio transcripts (take_transcription) in the synthetic release and in the catalog:
Whisper's shape, times that nest (words in segments, segments in takes), speech-rich
Narrate & Act takes, rows equal to the generator's truth, take_summary's count, the
manifest's real sizes, take names resolved through takes.json, precise input errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from egoexo_sql.errors import InputError
from egoexo_sql.release import Release
from egoexo_sql.tables.narrations import compile_narrations

SEGMENT_KEYS = [
    "id",
    "seek",
    "start",
    "end",
    "text",
    "tokens",
    "temperature",
    "avg_logprob",
    "compression_ratio",
    "no_speech_prob",
    "words",
]
WORD_KEYS = ["word", "start", "end", "probability"]


@pytest.fixture(scope="module")
def con(demo_catalog):
    c = duckdb.connect(str(demo_catalog / "catalog.duckdb"), read_only=True)
    c.execute(f"SET file_search_path = '{demo_catalog}'")
    yield c
    c.close()


@pytest.fixture(scope="module")
def transcripts(demo_release):
    release, _ = demo_release
    takes = {t["take_name"]: t for t in json.loads((release / "takes.json").read_text())}
    files = sorted(release.glob("takes/*/audio/*_transcriptions.json"))
    return release, takes, [(f, json.loads(f.read_text())) for f in files]


def test_every_take_has_one_transcript_named_after_its_aria_camera(transcripts):
    release, takes, files = transcripts
    assert len(files) == len(takes)
    for f, _ in files:
        take_name = f.parts[-3]
        assert take_name in takes
        cams = takes[take_name]["frame_aligned_videos"]
        assert f.name.removesuffix("_transcriptions.json") in cams  # aria01 or aria02
    assert any(f.name.startswith("aria02") for f, _ in files) or all(
        "aria02" not in t["frame_aligned_videos"] for t in takes.values()
    )


def test_whisper_shape_and_times_nest(transcripts):
    _, takes, files = transcripts
    for f, doc in files:
        assert list(doc) == ["text", "segments", "language"]
        assert isinstance(doc["text"], str) and doc["language"] in ("en", "es")
        assert doc["text"] == "".join(s["text"] for s in doc["segments"])
        duration = takes[f.parts[-3]]["duration_sec"]
        prev_end = 0.0
        for i, s in enumerate(doc["segments"]):
            assert list(s) == SEGMENT_KEYS
            assert s["id"] == i and s["text"].startswith(" ")
            assert all(isinstance(t, int) for t in s["tokens"]) and s["tokens"]
            assert 0 <= s["start"] <= s["end"] <= duration
            assert s["start"] >= prev_end  # segments do not overlap
            assert s["seek"] <= s["start"] * 100 + 1e-6
            prev_end = s["end"]
            assert 0 <= s["no_speech_prob"] <= 1 and s["avg_logprob"] < 0
            assert [w["word"].strip() for w in s["words"]] == s["text"].split()
            for w in s["words"]:
                assert list(w) == WORD_KEYS
                assert s["start"] <= w["start"] <= w["end"] <= s["end"]
                assert 0 <= w["probability"] <= 1


def test_narrated_takes_are_speech_rich_the_others_sparse(transcripts):
    _, takes, files = transcripts
    rich = [
        len(d["segments"]) / takes[f.parts[-3]]["duration_sec"] * 60
        for f, d in files
        if takes[f.parts[-3]]["is_narrated"]
    ]
    sparse = [len(d["segments"]) for f, d in files if not takes[f.parts[-3]]["is_narrated"]]
    assert rich and min(rich) >= 2  # at least two segments a minute
    assert sum(sparse) / len(sparse) < 5 and 0 in sparse  # some takes: no speech at all
    assert max(sparse) <= 8


def test_catalog_rows_equal_the_generator_truth(con, demo_release):
    _, report = demo_release
    for table in ("narrations", "narration_words"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == report.truth[table]


def test_catalog_joins_takes_and_keeps_whisper_values(con, transcripts):
    _, takes, files = transcripts
    # every folder is a take of takes.json: take_uid and is_narrated_take come from it
    assert con.execute("SELECT count(*) FROM narrations WHERE take_uid IS NULL").fetchone()[0] == 0
    bad = con.execute("""
        SELECT count(*) FROM narrations n JOIN takes t USING (take_uid)
        WHERE n.is_narrated_take IS DISTINCT FROM t.is_narrated OR n.take_name <> t.take_name
           OR n.end_time > t.duration_sec OR n.start_time > n.end_time""").fetchone()[0]
    assert bad == 0
    # the words of a segment are its text; word times inside the segment
    assert (
        con.execute("""
        SELECT count(*) FROM narrations n
        LEFT JOIN (SELECT take_name, cam_id, segment_idx, count(*) AS k,
                          string_agg(word, ' ' ORDER BY word_idx) AS words,
                          min(start_time) AS lo, max(end_time) AS hi
                   FROM narration_words GROUP BY ALL) w USING (take_name, cam_id, segment_idx)
        WHERE n.n_words <> coalesce(w.k, 0) OR (w.k > 0 AND (w.words <> n.text
              OR w.lo < n.start_time OR w.hi > n.end_time))""").fetchone()[0]
        == 0
    )
    # one file, value for value
    f, doc = next((f, d) for f, d in files if len(d["segments"]) > 2)
    rows = con.execute(
        """SELECT segment_idx, seek, start_time, end_time, text, temperature, avg_logprob,
                                 compression_ratio, no_speech_prob, language, cam_id
                          FROM narrations WHERE take_name = ? ORDER BY segment_idx""",
        [f.parts[-3]],
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows] == [
        (
            s["id"],
            s["seek"],
            s["start"],
            s["end"],
            s["text"].strip(),
            s["temperature"],
            s["avg_logprob"],
            s["compression_ratio"],
            s["no_speech_prob"],
        )
        for s in doc["segments"]
    ]
    assert {r[9] for r in rows} == {doc["language"]}
    assert {r[10] for r in rows} == {f.name.removesuffix("_transcriptions.json")}


def test_take_summary_counts_narration_segments(con):
    bad = con.execute("""
        SELECT count(*) FROM take_summary s
        LEFT JOIN (SELECT take_uid, count(*) AS n FROM narrations GROUP BY take_uid) n USING (take_uid)
        WHERE s.n_narration_segments <> coalesce(n.n, 0)""").fetchone()[0]
    assert bad == 0
    narrated, other = con.execute("""
        SELECT avg(n_narration_segments) FILTER (WHERE is_narrated),
               avg(n_narration_segments) FILTER (WHERE NOT is_narrated) FROM take_summary""").fetchone()
    assert narrated > 5 * other


def test_manifest_lists_the_transcripts_with_their_real_sizes(con, transcripts):
    release, takes, files = transcripts
    rows = con.execute(
        "SELECT relative_path, size_bytes FROM manifest_files WHERE part = 'take_transcription'"
    ).fetchall()
    sizes = {f.relative_to(release).as_posix(): f.stat().st_size for f, _ in files}
    assert dict(rows) == sizes


def _release(tmp_path: Path, transcripts: dict[str, object], takes: list[dict] | None) -> Release:
    for rel, doc in transcripts.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    if takes is not None:
        (tmp_path / "takes.json").write_text(json.dumps(takes))
    return Release(tmp_path)


def _files(rel: Release) -> list[Path]:
    return sorted(rel.glob("takes/*/audio/*_transcriptions.json")) + (
        [rel.path("takes.json")] if rel.is_file("takes.json") else []
    )


SEG = {
    "id": 0,
    "seek": 0,
    "start": 1.0,
    "end": 2.5,
    "text": " Okay, go.",
    "tokens": [1, 2],
    "temperature": 0.0,
    "avg_logprob": -0.2,
    "compression_ratio": 1.1,
    "no_speech_prob": 0.01,
    "words": [
        {"word": " Okay,", "start": 1.0, "end": 1.4, "probability": 0.9},
        {"word": " go.", "start": 1.5, "end": 2.5, "probability": 0.8},
    ],
}


def test_unknown_take_folder_keeps_its_name_and_gets_no_uid(tmp_path):
    rel = _release(
        tmp_path,
        {
            "takes/known_1/audio/aria01_transcriptions.json": {
                "text": " Okay, go.",
                "segments": [SEG],
                "language": "en",
            },
            "takes/stray_2/audio/aria02_transcriptions.json": {"text": "", "segments": [], "language": "en"},
            "takes/stray_3/audio/aria01_transcriptions.json": {
                "text": " Okay, go.",
                "segments": [SEG],
                "language": "en",
            },
        },
        [{"take_uid": "u-1", "take_name": "known_1", "is_narrated": True}],
    )
    out = compile_narrations(rel, _files(rel))
    n = out["narrations"].to_pylist()
    assert [(r["take_name"], r["cam_id"], r["take_uid"], r["is_narrated_take"], r["text"]) for r in n] == [
        ("known_1", "aria01", "u-1", True, "Okay, go."),
        ("stray_3", "aria01", None, None, "Okay, go."),
    ]
    words = out["narration_words"].to_pylist()
    assert [(w["take_uid"], w["word"], w["word_idx"]) for w in words] == [
        ("u-1", "Okay,", 0),
        ("u-1", "go.", 1),
        (None, "Okay,", 0),
        (None, "go.", 1),
    ]


def test_without_takes_json_every_uid_is_null(tmp_path):
    rel = _release(
        tmp_path,
        {
            "takes/a_1/audio/aria01_transcriptions.json": {
                "text": " Okay, go.",
                "segments": [SEG],
                "language": "en",
            }
        },
        None,
    )
    out = compile_narrations(rel, _files(rel))
    assert out["narrations"].column("take_uid").to_pylist() == [None]


@pytest.mark.parametrize(
    "doc, path",
    [
        ({"text": "", "language": "en"}, "$"),  # no segments
        ({"text": "", "segments": {"0": SEG}, "language": "en"}, "$.segments"),  # not a list
        ({"text": "", "segments": [dict(SEG, start="1.0")], "language": "en"}, "$.segments[0].start"),
        (
            {"text": "", "segments": [dict(SEG, words=[{"word": 3}])], "language": "en"},
            "$.segments[0].words[0].word",
        ),
        ("{not json", None),
    ],
)
def test_bad_transcripts_are_input_errors_naming_file_and_path(tmp_path, doc, path):
    rel = _release(tmp_path, {"takes/a_1/audio/aria01_transcriptions.json": doc}, [])
    with pytest.raises(InputError) as e:
        compile_narrations(rel, _files(rel))
    msg = str(e.value)
    assert "takes/a_1/audio/aria01_transcriptions.json" in msg
    if path:
        assert path in msg
