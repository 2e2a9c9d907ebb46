"""take_timeline and keystep_context: every time-stamped annotation on one axis, and each
keystep segment with what falls inside it, checked against the source tables in Python."""

from __future__ import annotations

from collections import defaultdict

import pytest

from egoexo_sql.catalog import Catalog


@pytest.fixture(scope="module")
def con(demo_catalog):
    cat = Catalog.open(demo_catalog)
    yield cat.connection
    cat.close()


def rows(con, sql: str) -> list[tuple]:
    return con.sql(sql).fetchall()


SOURCES = {
    "keystep": "SELECT count(*) FROM keystep_segments",
    "keystep_benchmark": "SELECT count(*) FROM keystep_benchmark_segments",
    "atomic": "SELECT count(*) FROM atomic_descriptions WHERE rejected IS DISTINCT FROM true",
    "commentary": "SELECT count(*) FROM expert_commentary WHERE take_uid IS NOT NULL",
    "narration": "SELECT count(*) FROM narrations",
    "demonstration": "SELECT count(*) FROM proficiency_demonstration",
}


def test_every_time_stamped_annotation_is_on_the_timeline(con):
    got = dict(rows(con, "SELECT source, count(*) FROM take_timeline GROUP BY ALL"))
    for source, sql in SOURCES.items():
        n = rows(con, sql)[0][0]
        assert n > 0, source
        assert got.get(source) == n, source
    # moments have no end; intervals do
    assert rows(
        con,
        "SELECT count(*) FROM take_timeline WHERE source IN ('atomic', 'commentary', "
        "'demonstration') AND end_time IS NOT NULL",
    ) == [(0,)]
    assert rows(
        con,
        "SELECT count(*) FROM take_timeline WHERE source IN ('keystep', 'narration') AND end_time IS NULL",
    ) == [(0,)]


@pytest.mark.parametrize(
    "source, join",
    [
        (
            "keystep",
            "keystep_segments s ON s.take_uid = t.take_uid AND s.segment_idx = CAST(t.ref->>'$.segment_idx' AS INTEGER) "
            "AND s.step_name IS NOT DISTINCT FROM t.text AND s.start_time = t.start_time",
        ),
        (
            "atomic",
            "atomic_descriptions s ON s.take_uid = t.take_uid AND s.annotation_uid = t.ref->>'$.annotation_uid' "
            "AND s.description_idx = CAST(t.ref->>'$.description_idx' AS INTEGER) AND s.text IS NOT DISTINCT FROM t.text",
        ),
        (
            "commentary",
            "expert_commentary s ON s.take_uid = t.take_uid AND s.commentary_id = t.ref->>'$.commentary_id' "
            "AND s.recording_idx = CAST(t.ref->>'$.recording_idx' AS INTEGER) AND s.video_time = t.start_time",
        ),
        (
            "narration",
            "narrations s ON s.take_uid = t.take_uid AND s.cam_id = t.ref->>'$.cam_id' "
            "AND s.segment_idx = CAST(t.ref->>'$.segment_idx' AS INTEGER) AND s.text IS NOT DISTINCT FROM t.text",
        ),
        (
            "demonstration",
            "proficiency_demonstration s ON s.take_uid = t.take_uid AND s.split = t.ref->>'$.split' "
            "AND s.kind = t.ref->>'$.kind' AND s.point_idx = CAST(t.ref->>'$.point_idx' AS INTEGER)",
        ),
    ],
)
def test_ref_joins_back_to_exactly_its_row(con, source, join):
    n, joined = rows(
        con,
        f"SELECT count(*), count(s.take_uid) FROM take_timeline t LEFT JOIN {join} "
        f"WHERE t.source = '{source}'",
    )[0]
    assert n > 0 and joined == n


def test_keystep_context_holds_what_falls_inside_each_segment(con):
    """Recomputed in Python from the source tables: boundaries inclusive, time order."""
    segs = rows(con, "SELECT take_uid, segment_idx, start_time, end_time FROM keystep_segments")
    atomic = defaultdict(list)
    for take, ts, uid, idx, text in rows(
        con,
        "SELECT take_uid, timestamp, annotation_uid, description_idx, text "
        "FROM atomic_descriptions WHERE rejected IS DISTINCT FROM true "
        "AND text IS NOT NULL AND timestamp IS NOT NULL",
    ):
        atomic[take].append((ts, uid, idx, text))
    comm = defaultdict(list)
    for take, t, cid, ridx, text in rows(
        con,
        "SELECT take_uid, video_time, commentary_id, recording_idx, text "
        "FROM expert_commentary WHERE text IS NOT NULL AND video_time IS NOT NULL",
    ):
        comm[take].append((t, cid, ridx, text))
    narr = defaultdict(list)
    for take, t, cam, idx, text in rows(
        con,
        "SELECT take_uid, start_time, cam_id, segment_idx, text FROM narrations "
        "WHERE text IS NOT NULL AND start_time IS NOT NULL",
    ):
        narr[take].append((t, cam, idx, text))
    frames = defaultdict(set)
    for take, kind, f in rows(con, "SELECT DISTINCT take_uid, kind, frame_number FROM ego_pose_3d"):
        frames[(take, kind)].add(f)
    want = {}
    for take, idx, a, b in segs:

        def inside(items):
            return [x[-1] for x in sorted(items) if a is not None and b is not None and a <= x[0] <= b]  # noqa: B023

        want[(take, idx)] = (
            inside(atomic[take]),
            inside(comm[take]),
            inside(narr[take]),
            sum(1 for f in frames[(take, "body")] if a is not None and b is not None and a <= f / 30.0 <= b),
            sum(1 for f in frames[(take, "hand")] if a is not None and b is not None and a <= f / 30.0 <= b),
        )
    got = {
        (r[0], r[1]): tuple(r[2:])
        for r in rows(
            con,
            "SELECT take_uid, segment_idx, atomic_texts, commentary_texts, narration_texts, "
            "n_body_pose_frames, n_hand_pose_frames FROM keystep_context",
        )
    }
    assert got == want
    assert sum(1 for v in got.values() if v[0]) > 0  # some segments do have descriptions
    assert rows(con, "SELECT count(*) FROM keystep_context") == rows(
        con, "SELECT count(*) FROM keystep_segments"
    )
