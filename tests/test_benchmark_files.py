"""The annotation files that used to be skipped: the keystep benchmark (segments and
label_mapping.csv), the relations boxes and procedure_understanding."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from egoexo_sql.catalog import Catalog
from egoexo_sql.errors import InputError
from egoexo_sql.release import Release
from egoexo_sql.tables.keystep_benchmark import compile_keystep_benchmark
from egoexo_sql.tables.procedure_understanding import compile_procedure_understanding


def _rows(cat: Path, sql: str) -> list[tuple]:
    with Catalog.open(cat) as c:
        return c.connection.sql(sql).fetchall()


def test_keystep_benchmark_segments_are_the_files_segments(demo_release, demo_catalog):
    release, demo = demo_release
    want = []
    for split, name in (("train", "train"), ("val", "val"), ("test", "test_unannotated")):
        doc = json.loads(
            (release / f"annotations/keystep_benchmark/keystep_segment_{name}.json").read_bytes()
        )
        assert isinstance(doc["splits"], str) and "/" in doc["date"]
        for i, s in enumerate(doc["segments"]):
            want.append(
                (
                    split,
                    i,
                    s["take_uid"],
                    s["start_time"],
                    s["end_time"],
                    s.get("label_id"),
                    s.get("step_unique_id"),
                    s["ego_segment_name"],
                    s["segment_name_list"],
                )
            )
    got = _rows(
        demo_catalog,
        "SELECT split, segment_idx, take_uid, start_time, end_time, label_id, "
        "step_unique_id, ego_segment_name, segment_names FROM keystep_benchmark_segments",
    )
    assert sorted(got) == sorted(want)
    assert len(got) == demo.truth["keystep_benchmark_segments"] > 0
    # the unannotated test file has no labels
    assert _rows(
        demo_catalog,
        "SELECT count(*) FROM keystep_benchmark_segments WHERE split = 'test' AND label_id IS NOT NULL",
    ) == [(0,)]


def test_keystep_labels_are_the_csv_rows_and_join_the_segments(demo_release, demo_catalog):
    release, demo = demo_release
    with open(release / "annotations/keystep_benchmark/label_mapping.csv", newline="") as f:
        want = [
            (int(r["label_id"]), int(r["step_unique_id"]), r["step_name"], r["scenario_name"])
            for r in csv.DictReader(f)
        ]
    got = _rows(
        demo_catalog, "SELECT label_id, step_unique_id, step_name, scenario FROM keystep_labels ORDER BY 1"
    )
    assert got == sorted(want) and len(got) == demo.truth["keystep_labels"]
    orphans = _rows(
        demo_catalog,
        "SELECT count(*) FROM keystep_benchmark_segments s "
        "LEFT JOIN keystep_labels l USING (label_id) "
        "WHERE s.label_id IS NOT NULL AND (l.label_id IS NULL OR l.step_unique_id <> s.step_unique_id)",
    )
    assert orphans == [(0,)]


def test_relations_boxes_are_the_object_names_boxes(demo_release, demo_catalog):
    release, demo = demo_release
    want = []
    for split in ("train", "val", "test"):
        doc = json.loads((release / f"annotations/relations_{split}.json").read_bytes())
        for uid, rec in doc["annotations"].items():
            for i, b in enumerate(rec["object_names"]["annotation"]):
                want.append(
                    (
                        uid,
                        split,
                        i,
                        b["track_id"],
                        b["frameNumber"],
                        b["x"],
                        b["y"],
                        b["width"],
                        b["height"],
                        float(b["rotation"]),
                        b["interpolated"],
                        b["endInterpolation"],
                    )
                )
    got = _rows(
        demo_catalog,
        "SELECT take_uid, split, box_idx, track_id, frame_number, x, y, width, height, "
        "rotation, interpolated, end_interpolation FROM relations_boxes",
    )
    assert sorted(got) == sorted(want) and len(got) == demo.truth["relations_boxes"] > 0


def test_take_summary_says_which_takes_have_them(demo_catalog):
    got = _rows(
        demo_catalog,
        """
        SELECT count(*) FILTER (WHERE s.has_keystep_benchmark <> (b.take_uid IS NOT NULL)),
               count(*) FILTER (WHERE s.has_relations_boxes <> (r.take_uid IS NOT NULL)),
               count(*) FILTER (WHERE s.has_keystep_benchmark), count(*) FILTER (WHERE s.has_relations_boxes)
        FROM take_summary s
        LEFT JOIN (SELECT DISTINCT take_uid FROM keystep_benchmark_segments) b USING (take_uid)
        LEFT JOIN (SELECT DISTINCT take_uid FROM relations_boxes) r USING (take_uid)""",
    )
    wrong_b, wrong_r, n_b, n_r = got[0]
    assert (wrong_b, wrong_r) == (0, 0) and n_b > 0 and n_r > 0


# -- label_mapping.csv: bad rows are input errors naming the line ------------------------
def _labels(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "annotations" / "keystep_benchmark"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "label_mapping.csv"
    p.write_text(text)
    return p


def test_label_mapping_keeps_quoted_names_with_commas(tmp_path):
    p = _labels(
        tmp_path, 'label_id,step_unique_id,step_name,scenario_name\n0,1567,"Stir, then fold",cooking\n'
    )
    t = compile_keystep_benchmark(Release(tmp_path), [p])["keystep_labels"]
    assert t.to_pylist() == [
        {"label_id": 0, "step_unique_id": 1567, "step_name": "Stir, then fold", "scenario": "cooking"}
    ]


@pytest.mark.parametrize(
    "text, where, expected",
    [
        ("label,step\n", "line 1", "the header label_id,step_unique_id,step_name,scenario_name"),
        (
            "label_id,step_unique_id,step_name,scenario_name\nx,1,a,b\n",
            "line 2, column label_id",
            "an integer",
        ),
        ("label_id,step_unique_id,step_name,scenario_name\n0,1,a\n", "line 2", "4 fields"),
        (
            "label_id,step_unique_id,step_name,scenario_name\n0,1,a,b\n0,2,c,d\n",
            "line 3",
            "each label_id once",
        ),
    ],
)
def test_label_mapping_errors_name_the_line(tmp_path, text, where, expected):
    p = _labels(tmp_path, text)
    with pytest.raises(InputError) as e:
        compile_keystep_benchmark(Release(tmp_path), [p])
    assert e.value.file == "annotations/keystep_benchmark/label_mapping.csv"
    assert e.value.json_path == where and expected in e.value.expected


def test_a_segment_of_the_wrong_type_names_its_path(tmp_path):
    d = tmp_path / "annotations" / "keystep_benchmark"
    d.mkdir(parents=True)
    p = d / "keystep_segment_train.json"
    p.write_text(json.dumps({"segments": [{"take_uid": "u", "start_time": "soon"}]}))
    with pytest.raises(
        InputError, match=r"keystep_segment_train\.json: \$\.segments\[0\]\.start_time: expected a number"
    ):
        compile_keystep_benchmark(Release(tmp_path), [p])


# -- procedure_understanding: records kept whole whatever the (unpublished) shape ---------------
UID = "3c6e1a0e-7b4a-4f6e-9d43-2a0b6a1c5d10"


@pytest.mark.parametrize(
    "doc, keys, paths",
    [
        (
            {"annotations": {UID: {"take_name": "t1", "segments": [1, 2]}}, "ds": "20240404_08:13:53"},
            [UID],
            [f'$.annotations["{UID}"]'],
        ),
        (
            {"annotations": [{"take_uid": UID, "graph": {"a": ["b"]}}, {"x": 1}]},
            [None, None],
            ["$.annotations[0]", "$.annotations[1]"],
        ),
        ([{"take_uid": UID}], [None], ["$[0]"]),
        ({UID: {"steps": []}, "ds": "20240404"}, [UID], [f'$["{UID}"]']),
    ],
)
def test_procedure_understanding_records_are_kept_whole(tmp_path, doc, keys, paths):
    d = tmp_path / "annotations"
    d.mkdir()
    p = d / "procedure_understanding_test_unannotated.json"
    p.write_text(json.dumps(doc))
    t = compile_procedure_understanding(Release(tmp_path), [p])["procedure_understanding"]
    rows = t.to_pylist()
    assert [r["record_key"] for r in rows] == keys and [r["json_path"] for r in rows] == paths
    assert {r["split"] for r in rows} == {"test"}
    assert rows[0]["take_uid"] == UID
    records = doc["annotations"] if isinstance(doc, dict) and "annotations" in doc else doc
    first = records[keys[0]] if keys[0] else records[0]
    assert json.loads(rows[0]["record"]) == first


def test_procedure_understanding_bad_take_uid_names_the_record(tmp_path):
    d = tmp_path / "annotations"
    d.mkdir()
    p = d / "procedure_understanding_train.json"
    p.write_text(json.dumps({"annotations": [{"take_uid": 5}]}))
    with pytest.raises(InputError, match=r"\$\.annotations\[0\]: expected take_uid and take_name as strings"):
        compile_procedure_understanding(Release(tmp_path), [p])


def test_one_file_per_split_and_names_that_fit(tmp_path):
    d = tmp_path / "annotations"
    d.mkdir()
    a, b = d / "procedure_understanding_test.json", d / "procedure_understanding_test_unannotated.json"
    for p in (a, b):
        p.write_text("[]")
    with pytest.raises(InputError, match="one procedure_understanding file for the test split"):
        compile_procedure_understanding(Release(tmp_path), [a, b])
    odd = d / "procedure_understanding_dev.json"
    odd.write_text("[]")
    with pytest.raises(InputError, match=r"expected a file named procedure_understanding_<train\|val\|test>"):
        compile_procedure_understanding(Release(tmp_path), [odd])
