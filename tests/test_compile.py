"""The compilers (egoexo_sql.tables): release files -> Arrow tables, and the derived views.

Two kinds of input:
- a synthetic release from egoexo_sql.demo, whose ``truth`` gives the rows each table
  must have; expected values are recomputed from the raw JSON with the json module,
  independently of the compilers;
- records from the real v2 release (shared/real-samples, Apache-2.0), trimmed, for the
  exact key names and value types the real files use.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from egoexo_sql import schema
from egoexo_sql.errors import InputError
from egoexo_sql.release import Release
from egoexo_sql.resources import queries_dir
from egoexo_sql.tables import GROUPS, SENSOR_GROUPS, all_sources
from egoexo_sql.tables.registry import compile_release, input_files

ISSUE3_TABLES = (
    "takes",
    "take_videos",
    "captures",
    "capture_cameras",
    "participants",
    "physical_settings",
    "visual_objects",
    "tasks",
    "take_benchmarks",
    "keystep_segments",
    "keystep_taxonomy",
    "keystep_vocabulary",
    "proficiency_demonstrator",
    "proficiency_demonstration",
    "atomic_descriptions",
    "expert_commentary",
    "expert_ratings",
    "manifest_files",
)
DERIVED = ("take_references", "take_motion", "take_summary", "orphans")


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from egoexo_sql.demo import generate

    out = tmp_path_factory.mktemp("demo") / "release"
    # the Aria sensor files are compiled by tests/test_sensors.py
    rep = generate(out, scale=0.02, seed=0, only=[g for g in GROUPS if g not in SENSOR_GROUPS])
    return out, rep


@pytest.fixture(scope="module")
def compiled(demo):
    root, _rep = demo
    return compile_release(root)


def _raw(root: Path, rel: str):
    return json.loads((root / rel).read_text(encoding="utf-8"))


def _connect(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """DuckDB with one view per compiled table and the derived views from queries/views."""
    con = duckdb.connect()
    for name in schema.load_schemas():
        sch = schema.get(name)
        if sch.kind != "table":
            continue
        t = tables.get(name, sch.empty_table())
        con.register(f"_arrow_{name}", t)
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "_arrow_{name}"')
    for v in DERIVED:
        con.execute((queries_dir() / "views" / f"{v}.sql").read_text(encoding="utf-8"))
    return con


@pytest.fixture(scope="module")
def con(compiled):
    c = _connect(compiled)
    yield c
    c.close()


# ----------------------------------------------------------------------------- registry
def test_registry_covers_every_issue3_table_once():
    produced = Counter(t for s in all_sources() for t in s.tables)
    assert all(n == 1 for n in produced.values()), produced
    assert set(ISSUE3_TABLES) <= set(produced)
    for s in all_sources():
        assert s.group in GROUPS
        for t in s.tables:
            assert schema.get(t).kind == "table"
            assert schema.get(t).group == s.group, (t, s.group)
    for v in DERIVED:
        assert schema.get(v).kind == "view"
        assert (queries_dir() / "views" / f"{v}.sql").is_file()


def test_metadata_files_are_required_and_annotations_are_not():
    required = {r for s in all_sources() for r in s.required}
    assert required == {
        "takes.json",
        "captures.json",
        "participants.json",
        "physical_setting.json",
        "visual_objects.json",
        "metadata.json",
    }
    for s in all_sources():
        if s.group != "metadata":
            assert s.required == ()


# ----------------------------------------------------------------------------- demo release
@pytest.mark.parametrize("table", ISSUE3_TABLES)
def test_row_count_matches_what_the_generator_wrote(compiled, demo, table):
    _root, rep = demo
    assert compiled[table].num_rows == rep.truth[table]


@pytest.mark.parametrize("table", ISSUE3_TABLES)
def test_tables_have_their_schema_and_unique_primary_keys(compiled, con, table):
    t = compiled[table]
    sch = schema.get(table)
    assert t.schema == sch.arrow_schema()
    for c in sch.columns:
        if not c.nullable:
            assert t.column(c.name).null_count == 0, c.name
    if sch.primary_key:
        keys = ", ".join(f'"{k}"' for k in sch.primary_key)
        dup = con.execute(
            f'SELECT {keys}, count(*) FROM "{table}" GROUP BY ALL HAVING count(*) > 1 LIMIT 3'
        ).fetchall()
        assert dup == []
    for c in sch.columns:
        if c.enum:
            bad = set(t.column(c.name).drop_null().to_pylist()) - set(c.enum)
            assert not bad, (c.name, bad)


def test_every_source_returns_all_its_tables_even_without_its_files(tmp_path):
    (tmp_path / "annotations").mkdir()
    rel = Release(tmp_path)
    for s in all_sources():
        if s.required:
            continue
        used = ({t: schema.get(t).empty_table() for t in s.uses},) if s.uses else ()
        out = s.compile(rel, input_files(rel, s), *used)
        assert set(out) == set(s.tables)
        for name, t in out.items():
            assert t.num_rows == 0 and t.schema == schema.get(name).arrow_schema()


def test_take_columns_come_from_the_right_keys(compiled, demo):
    root, _ = demo
    raw = {t["take_uid"]: t for t in _raw(root, "takes.json")}
    splits = _raw(root, "annotations/splits.json")["take_uid_to_split"]
    rows = compiled["takes"].to_pylist()
    assert {r["take_uid"] for r in rows} == set(raw)
    for r in rows:
        t = raw[r["take_uid"]]
        assert r["university"] == t["university_name"]
        assert r["scenario"] == t["parent_task_name"]
        assert r["scenario_id"] == t["parent_task_id"]
        assert r["task_id"] == t["task_id"]
        assert r["physical_setting_uid"] == t["physical_setting_uid"]
        assert r["duration_sec"] == pytest.approx(t["duration_sec"])
        assert r["best_exo"] == t["best_exo"]
        assert r["split"] == splits.get(r["take_uid"])
        assert r["capture_name"] == t["capture"]["capture_name"]
    # the generator's quirks arrive as NULLs, not as made-up values
    assert any(r["participant_uid"] is None for r in rows)
    assert any(r["task_id"] is None for r in rows)
    assert any(r["best_exo"] is None for r in rows)


def test_joins_users_rely_on(con):
    # takes -> participants / physical settings / tasks / captures / splits
    n = con.execute("""
        SELECT count(*) FROM takes t LEFT JOIN participants p USING (participant_uid)
        WHERE t.participant_uid IS NOT NULL AND p.participant_uid IS NULL""").fetchone()[0]
    assert n == 0
    n = con.execute("""
        SELECT count(*) FROM takes t
        LEFT JOIN physical_settings s USING (physical_setting_uid)
        WHERE s.physical_setting_uid IS NULL""").fetchone()[0]
    assert n == 0
    n = con.execute("""
        SELECT count(*) FROM takes t LEFT JOIN tasks k USING (task_id)
        WHERE t.task_id IS NOT NULL AND (k.task_id IS NULL OR k.task_name <> t.task_name
                                         OR k.scenario_id <> t.scenario_id
                                         OR k.scenario <> t.scenario)""").fetchone()[0]
    assert n == 0
    n = con.execute("""
        SELECT count(*) FROM takes t LEFT JOIN captures c USING (capture_uid)
        WHERE c.capture_uid IS NULL""").fetchone()[0]
    assert n == 0
    n = con.execute("SELECT count(*) FROM takes WHERE split IS NULL").fetchone()[0]
    assert n == 0
    n = con.execute("""
        SELECT count(*) FROM take_benchmarks b ANTI JOIN takes t USING (take_uid)""").fetchone()[0]
    assert n == 0
    # keystep segments resolve to the vocabulary and to their taxonomy node
    n = con.execute("""
        SELECT count(*) FROM keystep_segments s
        ANTI JOIN keystep_taxonomy x ON x.scenario = s.scenario AND x.node_id = s.step_id
                                     AND x.unique_id = s.step_unique_id""").fetchone()[0]
    assert n == 0
    n = con.execute("""
        SELECT count(*) FROM keystep_segments s ANTI JOIN keystep_vocabulary v USING (step_unique_id)
    """).fetchone()[0]
    assert n == 0
    # proficiency records of known takes carry the take's institution and task
    n = con.execute("""
        SELECT count(*) FROM proficiency_demonstrator d JOIN takes t USING (take_uid)
        WHERE d.university_id <> t.university_id OR d.task_id IS DISTINCT FROM t.task_id
           OR d.scenario <> t.scenario""").fetchone()[0]
    assert n == 0


def test_take_videos_and_capture_cameras(compiled, demo):
    root, _ = demo
    takes = _raw(root, "takes.json")
    caps = {c["capture_uid"]: c for c in _raw(root, "captures.json")}
    ego = {(cu, cam["cam_id"]): cam["is_ego"] for cu, c in caps.items() for cam in c["cameras"]}
    expected = {}
    for t in takes:
        for cam, streams in t["frame_aligned_videos"].items():
            for stream, v in streams.items():
                composite = cam in ("collage", "best_exo")
                expected[(t["take_uid"], cam, stream)] = (
                    None if composite else ego.get((t["capture_uid"], cam)),
                    v["relative_path"],
                )
    got = {
        (r["take_uid"], r["cam_id"], r["stream"]): (r["is_ego"], r["relative_path"])
        for r in compiled["take_videos"].to_pylist()
    }
    assert got == expected
    assert {k[1] for k in got} >= {"collage", "best_exo"}
    cams = compiled["capture_cameras"].to_pylist()
    assert {(r["capture_uid"], r["cam_id"]) for r in cams} == set(ego)
    recorded = {r["capture_uid"]: r["recorded_at"] for r in compiled["captures"].to_pylist()}
    for cu, c in caps.items():
        want = dt.datetime.fromtimestamp(c["ds_recorded"], dt.UTC).replace(tzinfo=None)
        assert recorded[cu] == want


def test_participant_metadata_is_decoded_into_columns(compiled, demo):
    root, _ = demo
    raw = {p["participant_uid"]: p for p in _raw(root, "participants.json")}
    for r in compiled["participants"].to_pylist():
        p = raw[r["participant_uid"]]
        meta = json.loads(p["metadata"])
        assert r["metadata_json"] == p["metadata"]
        assert r["collection_date"] == dt.date.fromisoformat(p["collection_date"])
        for k in ("gender", "race_ethnicity", "country_born", "field"):
            assert r[k] == meta.get(k)
        if isinstance(meta.get("age_range"), int):
            assert r["age"] == meta["age_range"]


def test_tasks_from_metadata_json(compiled, demo):
    root, _ = demo
    tasks = _raw(root, "metadata.json")["tasks"]
    rows = {r["task_id"]: r for r in compiled["tasks"].to_pylist()}
    assert rows.keys() == {int(k) for k in tasks}
    for k, name in tasks.items():
        r = rows[int(k)]
        assert r["task_name"] == name
        assert r["scenario"] == tasks[str(int(k) // 1000 * 1000)]


def test_keystep_accepts_both_metadata_spellings(compiled, demo):
    root, _ = demo
    spelled = Counter()
    want = {}
    for split in ("train", "val"):
        for uid, rec in _raw(root, f"annotations/keystep_{split}.json")["annotations"].items():
            key = "annotation_meta" if "annotation_meta" in rec else "annotation_metadata"
            spelled[key] += 1
            want[uid] = (rec[key]["annotation_uid"], str(rec[key]["annotator_id"]), split)
    assert spelled["annotation_meta"] and spelled["annotation_metadata"], spelled
    got = {
        r["take_uid"]: (r["annotation_uid"], r["annotator_id"], r["split"])
        for r in compiled["keystep_segments"].to_pylist()
    }
    assert got == want


def test_atomic_descriptions_accept_both_subject_spellings(compiled, demo):
    root, _ = demo
    want = {}
    spelled = Counter()
    for split in ("train", "val"):
        for uid, anns in _raw(root, f"annotations/atomic_descriptions_{split}.json")["annotations"].items():
            for a in anns:
                for i, d in enumerate(a["descriptions"]):
                    key = "subject" if "subject" in d else "narration_subject"
                    spelled[key] += 1
                    best = d.get("best_exo") or {}
                    want[(a["annotation_uid"], i)] = (
                        uid,
                        split,
                        d[key],
                        d["timestamp"],
                        a["rejected"],
                        best.get("cam_id"),
                    )
    assert spelled["subject"] and spelled["narration_subject"], spelled
    got = {
        (r["annotation_uid"], r["description_idx"]): (
            r["take_uid"],
            r["split"],
            r["subject"],
            r["timestamp"],
            r["rejected"],
            r["best_exo_cam_id"],
        )
        for r in compiled["atomic_descriptions"].to_pylist()
    }
    assert got == want


def test_expert_commentary_and_ratings(compiled, demo):
    root, _ = demo
    want = {}
    for split in ("train", "val"):
        for uid, comms in _raw(root, f"annotations/expert_commentary_{split}.json")["annotations"].items():
            for c in comms:
                for i, r in enumerate(c["commentary_data"]):
                    want[(c["commentary"], i)] = (
                        uid,
                        split,
                        r["text"],
                        r["error"],
                        r.get("_error_desc", r.get("error_desc")),
                    )
    got = {
        (r["commentary_id"], r["recording_idx"]): (
            r["take_uid"],
            r["split"],
            r["text"],
            r["error"],
            r["error_desc"],
        )
        for r in compiled["expert_commentary"].to_pylist()
    }
    assert got == want
    assert any(v[4] for v in got.values())  # _error_desc arrived
    uid_of = {t["take_name"]: t["take_uid"] for t in _raw(root, "takes.json")}
    ratings = compiled["expert_ratings"].to_pylist()
    for r in ratings:
        data = _raw(root, f"annotations/expert_commentary/{r['take_name']}/{r['expert_uid']}/data.json")
        assert r["rating"] == data["proficiency"]["rating"]
        assert r["why"] == data["proficiency"]["why"]
        assert r["take_uid"] == uid_of[r["take_name"]]


def test_proficiency(compiled, demo):
    root, _ = demo
    rank = {"Novice": 1, "Early Expert": 2, "Intermediate Expert": 3, "Late Expert": 4}
    want = {}
    for split in ("train", "val"):
        for rec in _raw(root, f"annotations/proficiency_demonstrator_{split}.json")["annotations"]:
            want[rec["take_uid"]] = (split, rec["proficiency_score"], rank[rec["proficiency_score"]])
    got = {
        r["take_uid"]: (r["split"], r["proficiency_score"], r["proficiency_rank"])
        for r in compiled["proficiency_demonstrator"].to_pylist()
    }
    assert got == want
    kinds = Counter(r["kind"] for r in compiled["proficiency_demonstration"].to_pylist())
    assert set(kinds) == {"good_execution", "tip_for_improvement"}
    for r in compiled["proficiency_demonstration"].to_pylist():
        assert r["comments"] and all(isinstance(s, str) for s in r["comments"])


def test_manifest_parts_are_folder_paths(compiled, demo):
    root, _ = demo
    parts = {str(p.parent.relative_to(root / "manifests")) for p in root.glob("manifests/**/manifest.json")}
    got = Counter(compiled["manifest_files"].column("part").to_pylist())
    assert set(got) == parts
    assert any("/" in p for p in parts)  # e.g. downscaled_takes/448
    for part in parts:
        entries = _raw(root, f"manifests/{part}/manifest.json")
        assert got[part] == sum(len(e["paths"]) for e in entries)


# ----------------------------------------------------------------------------- derived views
@pytest.mark.parametrize("view", DERIVED)
def test_view_columns_match_their_schema(con, view):
    cols = [r[0] for r in con.execute(f'DESCRIBE "{view}"').fetchall()]
    assert cols == schema.get(view).column_names


def test_take_summary_repeats_the_takes_schema():
    takes, summary = schema.get("takes"), schema.get("take_summary")
    head = summary.columns[: len(takes.columns)]
    assert [(c.name, c.type, c.nullable) for c in head] == [
        (c.name, c.type, c.nullable) for c in takes.columns
    ]


def test_take_summary_counts(con, demo):
    root, _ = demo
    assert (
        con.execute("SELECT count(*) FROM take_summary").fetchone()[0]
        == con.execute("SELECT count(*) FROM takes").fetchone()[0]
    )
    takes = {t["take_uid"] for t in _raw(root, "takes.json")}
    atomic = Counter()
    for split in ("train", "val"):
        for uid, anns in _raw(root, f"annotations/atomic_descriptions_{split}.json")["annotations"].items():
            for a in anns:
                if not a["rejected"]:
                    atomic[uid] += len(a["descriptions"])
    commentaries = Counter()
    for split in ("train", "val"):
        for uid, comms in _raw(root, f"annotations/expert_commentary_{split}.json")["annotations"].items():
            commentaries[uid] += len(comms)
    bench = _raw(root, "annotations/splits.json")["take_uid_to_benchmark"]
    rows = con.execute("""SELECT take_uid, n_atomic_descriptions, n_expert_commentaries, benchmarks,
                                 has_keystep, n_keystep_segments, n_exo_cams
                          FROM take_summary""").fetchall()
    keystep = Counter()
    for split in ("train", "val"):
        for uid, rec in _raw(root, f"annotations/keystep_{split}.json")["annotations"].items():
            keystep[uid] += len(rec["segments"])
    assert any(n for _, n, *_ in rows)
    for uid, n_atomic, n_comm, benchmarks, has_ks, n_ks, n_exo in rows:
        assert uid in takes
        assert n_atomic == atomic[uid]
        assert n_comm == commentaries[uid]
        assert benchmarks == sorted(set(bench.get(uid, [])))
        assert n_ks == keystep[uid] and has_ks == (keystep[uid] > 0)
        assert n_exo >= 1
    # rejected annotations exist and are left out of n_atomic_descriptions
    n_rejected = con.execute("SELECT count(*) FROM atomic_descriptions WHERE rejected").fetchone()[0]
    assert n_rejected > 0


def test_orphans_lists_annotation_rows_of_unknown_takes(con, demo):
    root, rep = demo
    takes = {t["take_uid"] for t in _raw(root, "takes.json")}
    want = set()
    for fam in ("proficiency_demonstrator", "proficiency_demonstration"):
        for split in ("train", "val"):
            rel = f"annotations/{fam}_{split}.json"
            for rec in _raw(root, rel)["annotations"]:
                if rec["take_uid"] not in takes:
                    want.add((rel, rec["take_uid"]))
    got = con.execute("SELECT source_file, take_uid, take_name, reason FROM orphans").fetchall()
    assert {(f, u) for f, u, _, _ in got} == want
    assert len(got) == rep.truth["orphans"]
    assert all(name for _, _, name, _ in got)  # the proficiency files give a take name
    # the orphans are still rows of their tables (the contract: orphans included)
    n = con.execute("""SELECT count(*) FROM proficiency_demonstrator
                       WHERE take_uid IN (SELECT take_uid FROM orphans)""").fetchone()[0]
    assert n > 0


def test_views_work_on_an_empty_catalog():
    c = _connect({})
    try:
        assert c.execute("SELECT count(*) FROM take_summary").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM orphans").fetchone()[0] == 0
    finally:
        c.close()


# ----------------------------------------------------------------------------- --only groups
def test_only_metadata(tmp_path):
    from egoexo_sql.demo import generate

    rep = generate(tmp_path / "r", scale=0.02, seed=1, only=["metadata"])
    out = compile_release(tmp_path / "r", groups=["metadata"])
    assert {s.group for s in all_sources() if set(s.tables) & set(out)} == {"metadata"}
    for t, n in out.items():
        assert n.num_rows == rep.truth[t]
    assert out["takes"].column("split").null_count == out["takes"].num_rows  # no splits.json


def test_annotation_groups_without_their_files_give_empty_tables(tmp_path):
    from egoexo_sql.demo import generate

    generate(tmp_path / "r", scale=0.02, seed=1, only=["metadata"])
    out = compile_release(tmp_path / "r", groups=["keystep", "atomic", "commentary", "proficiency"])
    assert out and all(t.num_rows == 0 for t in out.values())


# ----------------------------------------------------------------------------- real records
# Trimmed records of the real v2 release, from shared/real-samples/json_format_summary.jsonc
# (KanokphanL/EgoExo4D_Pose_Proficiency, Apache-2.0): key names and value types unchanged.
_CAMERAS = [
    {
        "cam_id": "aria01",
        "is_ego": True,
        "has_walkaround": True,
        "includes_audio": True,
        "device_type": "aria",
        "relative_path": "videos/aria01.vrs",
        "video_artifact_uid": "355f22a8-1796-491b-b531-118a026dd1c5",
    },
    {
        "cam_id": "cam01",
        "is_ego": False,
        "has_walkaround": False,
        "includes_audio": True,
        "device_type": "hero10",
        "relative_path": "videos/cam01.mp4",
        "video_artifact_uid": "8c2debd0-95e1-4186-bcca-8945bd530011",
    },
    {
        "cam_id": "moblie",
        "is_ego": False,
        "has_walkaround": False,
        "includes_audio": True,
        "device_type": "hero10",
        "relative_path": "videos/moblie.mp4",
        "video_artifact_uid": "20ae64bd-10a7-44ca-9c29-3e3d19a4fe6e",
    },
]
_CAPTURE = {
    "root_dir": "captures/cmu_bike01",
    "capture_name": "cmu_bike01",
    "capture_uid": "d37b73eb-fa42-43a6-8115-56832996ebd7",
    "university_name": "cmu",
    "origin_capture_id": "bike01",
    "physical_setting_uid": 97,
    "ds_recorded": 1689793200,
    "has_trajectory": True,
    "has_gaze": True,
    "has_postsurvey": True,
    "cameras": _CAMERAS,
    "timesync_uid": "f66bd964-1bc1-4da5-a55f-4d5fc770db60",
    "timesync_validated": True,
    "validated": True,
}
REAL = {
    "takes.json": [
        {
            "root_dir": "takes/cmu_bike01_2",
            "take_name": "cmu_bike01_2",
            "participant_uid": 657,
            "is_dropped": False,
            "objects": [],
            "task_id": 4001,
            "task_name": "Remove a Wheel",
            "parent_task_id": 4000,
            "parent_task_name": "Bike Repair",
            "take_idx": 2,
            "duration_sec": 110.93333333333334,
            "best_exo": "cam04",
            "task_start_sec": 0.28164,
            "task_end_sec": 110.06668,
            "task_timing_annotation_uid": "543a6b43-73ee-41d0-a45e-dbb8ce12434d",
            "is_narrated": False,
            "capture_uid": "d37b73eb-fa42-43a6-8115-56832996ebd7",
            "take_uid": "ed3ec638-8363-4e1d-9851-c7936cbfad8c",
            "take_timing_uid": "7811bafb-e625-4bd4-ab50-bf61c18e57c1",
            "timesync_uid": "f66bd964-1bc1-4da5-a55f-4d5fc770db60",
            "timesync_start_idx": 7170,
            "timesync_end_idx": 10498,
            "frame_aligned_videos": {
                "aria01": {
                    "rgb": {
                        "cam_id": "aria01",
                        "stream_id": "214-1",
                        "readable_stream_id": "rgb",
                        "clip_uid": "1ce4ecbc-af7c-488c-9ada-fe3b9cdb4814",
                        "is_collage": False,
                        "relative_path": "frame_aligned_videos/aria01_214-1.mp4",
                    }
                },
                "cam01": {
                    "0": {
                        "cam_id": "cam01",
                        "stream_id": "0",
                        "readable_stream_id": "0",
                        "clip_uid": "e8d24e60-48f2-43b8-94c0-61e58fb675af",
                        "is_collage": False,
                        "relative_path": "frame_aligned_videos/cam01.mp4",
                    }
                },
                "collage": {
                    "0": {
                        "clip_uid": "5f157b1d-4428-43fc-b165-731cae1169ae",
                        "is_collage": True,
                        "stream_id": "0",
                        "readable_stream_id": "0",
                        "relative_path": "ego_preview.mp4",
                    }
                },
                "best_exo": {
                    "0": {
                        "clip_uid": None,
                        "stream_id": "0",
                        "readable_stream_id": "0",
                        "is_collage": True,
                        "relative_path": None,
                    }
                },
            },
            "vrs_all_streams_relative_path": "aria01.vrs",
            "vrs_relative_path": "aria01_noimagestreams.vrs",
            "trimmed_eye_gaze_relative_path": "eye_gaze",
            "trimmed_trajectory_relative_path": "trajectory",
            "has_trimmed_eye_gaze": True,
            "has_trimmed_trajectory": True,
            "has_trimmed_vrs": True,
            "university_id": "ego4d-cmu",
            "university_name": "cmu",
            "origin_id": "2",
            "capture": _CAPTURE,
            "physical_setting_uid": 97,
            "validated": True,
        }
    ],
    # the real captures.json sample record lacks cameras, has_gaze and has_postsurvey
    "captures.json": [
        {
            "root_dir": "captures/cmu_bike01",
            "capture_name": "cmu_bike01",
            "capture_uid": "d37b73eb-fa42-43a6-8115-56832996ebd7",
            "university_name": "cmu",
            "origin_capture_id": "bike01",
            "physical_setting_uid": 97,
            "ds_recorded": 1689793200,
            "has_trajectory": True,
            "timesync_uid": "d928bbf6-dbda-4b0c-a4af-6c8fe49c82eb",
            "timesync_validated": True,
            "validated": True,
        }
    ],
    "participants.json": [
        {
            "participant_uid": 2,
            "origin_participant_id": "056",
            "university_id": "ego4d-university-sa",
            "university_name": "uniandes",
            "collection_date": "2023-03-09",
            "metadata": '{"age_range": 29, "gender": "female", "race_ethnicity": "Mixed", '
            '"country_born": "colombian", "field": "Cultural manager / Art history", '
            '"native_language": null, "home_language": null, '
            '"education_completed": null, "current_student": null}',
        }
    ],
    "physical_setting.json": [
        {
            "origin_physical_setting_id": "bikebay01",
            "video_source_id": 4,
            "metadata": "{}",
            "univ_name": "cmu",
            "physical_uid": 97,
        }
    ],
    "visual_objects.json": [
        {
            "object_uid": "d600fdce-6058-4195-8054-9f0e9fc1455e",
            "name": "allen_wrench_set",
            "physical_setting_uid": 47,
            "additional_metadata": "nan",
        }
    ],
    "metadata.json": {
        "version": "v2",
        "date": "240325",
        "tasks": {
            "0": "Unknown",
            "4000": "Bike Repair",
            "4001": "Remove a Wheel",
            "7000": "Rock Climbing",
            "7300": "Minnesota_Bouldering",
        },
    },
    "annotations/splits.json": {
        "take_uid_to_split": {"ed3ec638-8363-4e1d-9851-c7936cbfad8c": "train"},
        "split_to_take_uids": {"train": ["ed3ec638-8363-4e1d-9851-c7936cbfad8c"], "val": [], "test": []},
        "take_uid_to_benchmark": {
            "ed3ec638-8363-4e1d-9851-c7936cbfad8c": [
                "atomic_action_descriptions",
                "ego_pose",
                "egopose",
                "keystep",
            ]
        },
        "ds": "20240404_08:13:53",
    },
}


def write_release(root: Path, files: dict) -> Path:
    for rel, obj in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(obj, indent=4), encoding="utf-8")
    return root


def test_real_records(tmp_path):
    out = compile_release(write_release(tmp_path, REAL), groups=["metadata", "splits"])
    take = out["takes"].to_pylist()[0]
    assert take["take_uid"] == "ed3ec638-8363-4e1d-9851-c7936cbfad8c"
    assert (take["university"], take["scenario"], take["scenario_id"]) == ("cmu", "Bike Repair", 4000)
    assert take["split"] == "train" and take["physical_setting_uid"] == 97
    videos = {(r["cam_id"], r["stream"]): r for r in out["take_videos"].to_pylist()}
    assert videos[("aria01", "rgb")]["is_ego"] is True
    assert videos[("cam01", "0")]["is_ego"] is False
    assert videos[("collage", "0")]["is_ego"] is None and videos[("collage", "0")]["is_collage"]
    assert videos[("best_exo", "0")]["relative_path"] is None
    cap = out["captures"].to_pylist()[0]
    assert cap["recorded_at"] == dt.datetime(2023, 7, 19, 19, 0)
    assert cap["has_gaze"] is None  # absent in the real record: NULL, not false
    # the record has no camera list: the one embedded in the take is used
    assert {r["cam_id"] for r in out["capture_cameras"].to_pylist()} == {"aria01", "cam01", "moblie"}
    p = out["participants"].to_pylist()[0]
    assert (p["age"], p["gender"], p["field"], p["native_language"]) == (
        29,
        "female",
        "Cultural manager / Art history",
        None,
    )
    assert p["collection_date"] == dt.date(2023, 3, 9)
    s = out["physical_settings"].to_pylist()[0]
    assert (s["physical_setting_uid"], s["university"], s["metadata_json"]) == (97, "cmu", "{}")
    assert out["visual_objects"].to_pylist()[0]["additional_metadata"] is None
    tasks = {r["task_id"]: r for r in out["tasks"].to_pylist()}
    assert tasks[7300]["scenario"] == "Rock Climbing" and not tasks[7300]["is_scenario"]
    assert tasks[4000]["is_scenario"]
    assert sorted(out["take_benchmarks"].column("benchmark").to_pylist()) == [
        "atomic_action_descriptions",
        "ego_pose",
        "egopose",
        "keystep",
    ]


def test_variant_spellings_in_small_files(tmp_path):
    files = copy.deepcopy(REAL)
    files["captures.json"][0]["timesync_validated"] = 0  # the Dev notebook compares > 0
    uid = "ed3ec638-8363-4e1d-9851-c7936cbfad8c"
    files["annotations/keystep_val.json"] = {
        "annotations": {
            uid: {
                "take_uid": uid,
                "take_name": "cmu_bike01_2",
                "scenario": "Remove a Wheel",
                "annotation_metadata": {"annotation_uid": "a1", "annotator_id": 7},
                "segments": [
                    {
                        "start_time": 1,
                        "end_time": 2.5,
                        "step_id": 3,
                        "step_unique_id": 843,
                        "step_name": "x",
                        "step_description": "y",
                        "is_essential": True,
                    }
                ],
            }
        },
        "taxonomy": {},
        "vocabulary": {"843": "x"},
    }
    files["annotations/atomic_descriptions_train.json"] = {
        "annotations": {
            uid: [
                {
                    "annotation_uid": "b1",
                    "annotator_id": 5284063695022975,
                    "rejected": False,
                    "reject_reason": None,
                    "unknown_key": {"kept": "out"},
                    "descriptions": [
                        {
                            "text": "C picks",
                            "timestamp": 1.5,
                            "narration_subject": "C",
                            "ego_visible": "1",
                            "best_exo": {"raw_cam_id": 1, "cam_id": "cam01"},
                            "unsure": "0",
                        },
                        {
                            "text": "O waves",
                            "timestamp": 2,
                            "subject": "O",
                            "ego_visible": False,
                            "best_exo": None,
                            "unsure": None,
                        },
                    ],
                }
            ]
        }
    }
    files["annotations/expert_commentary_train.json"] = {
        "ds": "x",
        "annotations": {
            uid: [
                {
                    "take_name": "cmu_bike01_2",
                    "take_uid": uid,
                    "task_id": 4001,
                    "task_name": "Remove a Wheel",
                    "commentary": "cmu_bike01_2/6jm95g",
                    "commentary_data": [
                        {
                            "recording": "0.webm",
                            "video_time": 3.2,
                            "text": None,
                            "error": True,
                            "error_desc": "empty audio",
                            "duration_approx": 2.0,
                        }
                    ],
                }
            ]
        },
    }
    # a rating folder the commentary files do not mention: resolved through takes.json
    files["annotations/expert_commentary/cmu_bike01_2/abc123/data.json"] = {
        "user_id": "abc123",
        "video_name": "cmu_bike01_2",
        "annotations": [],
        "proficiency": {"rating": 8, "why": "steady hands"},
    }
    files["annotations/expert_commentary/nowhere_9/abc123/data.json"] = {
        "user_id": "abc123",
        "video_name": "nowhere_9",
        "annotations": [],
    }
    files["annotations/proficiency_demonstrator_train.json"] = [  # the docs' bare-list form
        {
            "take_uid": uid,
            "task_id": 4001,
            "scenario_name": "Bike Repair",
            "university_id": "ego4d-cmu",
            "origin_participant_id": 30,
            "proficiency_score": "Late Expert",
            "video_paths": {"ego": "takes/cmu_bike01_2/frame_aligned_videos/aria01_214-1.mp4"},
        }
    ]
    out = compile_release(write_release(tmp_path, files))
    assert out["captures"].column("timesync_validated").to_pylist() == [False]
    seg = out["keystep_segments"].to_pylist()[0]
    assert (seg["annotation_uid"], seg["annotator_id"], seg["split"], seg["start_time"]) == (
        "a1",
        "7",
        "val",
        1.0,
    )
    rows = out["atomic_descriptions"].to_pylist()
    assert [(r["subject"], r["ego_visible"], r["unsure"], r["best_exo_raw_cam_id"]) for r in rows] == [
        ("C", True, False, "1"),
        ("O", False, None, None),
    ]
    assert rows[0]["annotator_id"] == "5284063695022975"
    c = out["expert_commentary"].to_pylist()[0]
    assert (c["expert_uid"], c["error_desc"], c["text"]) == ("6jm95g", "empty audio", None)
    ratings = {r["take_name"]: r for r in out["expert_ratings"].to_pylist()}
    assert ratings["cmu_bike01_2"]["take_uid"] == uid and ratings["cmu_bike01_2"]["rating"] == 8
    assert ratings["nowhere_9"]["take_uid"] is None and ratings["nowhere_9"]["rating"] is None
    d = out["proficiency_demonstrator"].to_pylist()[0]
    assert (d["proficiency_rank"], d["origin_participant_id"], d["take_name"]) == (4, "30", "cmu_bike01_2")
    con = _connect(out)
    try:
        orphans = con.execute("SELECT source_file, take_uid, reason FROM orphans").fetchall()
    finally:
        con.close()
    assert orphans == [
        (
            "annotations/expert_commentary/nowhere_9/abc123/data.json",
            None,
            "take_name is in neither the commentary files nor takes.json",
        )
    ]


def test_missing_required_file_is_an_input_error(tmp_path):
    files = dict(REAL)
    del files["participants.json"]
    write_release(tmp_path, files)
    with pytest.raises(InputError) as e:
        compile_release(tmp_path, groups=["metadata"])
    assert e.value.file == "participants.json"
    # not required when the metadata group is not built
    compile_release(tmp_path, groups=["splits"])
