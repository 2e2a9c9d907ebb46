"""Ego pose, camera poses and relations (issue 5): compiled tables equal the generator's
truth and the JSON they come from; per-file incremental rebuilds; the streaming engine
(parallel units, bounded buffers, take-by-take relations reading); precise input errors."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import duckdb
import orjson
import pytest

from egoexo_sql.builder import build_catalog
from egoexo_sql.builder import compiling as streaming
from egoexo_sql.errors import InputError
from egoexo_sql.release import Release
from egoexo_sql.tables._json_stream import StreamError, iter_members

POSE_TABLES = (
    "ego_pose_3d",
    "ego_pose_2d",
    "ego_pose_takes",
    "camera_poses",
    "relations_objects",
    "relations_masks",
)


def connect(catalog: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(catalog / "catalog.duckdb"), read_only=True)
    con.execute(f"SET file_search_path = '{catalog}'")
    return con


def rows(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def load(p: Path):
    return orjson.loads(p.read_bytes())


def pose_files(release: Path, pattern: str = "*/*/*/*.json") -> list[Path]:
    return sorted(p for p in (release / "annotations/ego_pose").glob(pattern) if "camera_pose" not in p.parts)


# --------------------------------------------------------------------------- contents
def test_row_counts_equal_the_generator_truth(demo_release, demo_catalog):
    _, demo = demo_release
    con = connect(demo_catalog)
    for t in POSE_TABLES:
        assert rows(con, f"SELECT count(*) FROM {t}")[0][0] == demo.truth[t], t
        assert demo.truth[t] > 0, t


def test_pose_rows_are_the_json_joints_absent_joints_absent(demo_release, demo_catalog):
    release, _ = demo_release
    con = connect(demo_catalog)
    files = pose_files(release)
    checked = 0
    for f in files[:: max(1, len(files) // 12)]:
        split, kind, source = f.parts[-4], f.parts[-3], f.parts[-2]
        doc = load(f)
        # every rater's entry of a frame (0 to n of them, annotation_idx is the position)
        want3 = {
            (int(fr), i, j, v["x"], v["y"], v["z"], v["num_views_for_3d"])
            for fr, anns in doc.items()
            for i, a in enumerate(anns)
            for j, v in a["annotation3D"].items()
        }
        got3 = set(
            rows(
                con,
                "SELECT frame_number, annotation_idx, joint, x, y, z, num_views_for_3d FROM ego_pose_3d "
                "WHERE take_uid = ? AND kind = ? AND source = ? AND split = ?",
                f.stem,
                kind,
                source,
                split,
            )
        )
        assert got3 == want3
        want2 = {
            (int(fr), i, cam, j, v["x"], v["y"], v["placement"])
            for fr, anns in doc.items()
            for i, a in enumerate(anns)
            for cam, js in a["annotation2D"].items()
            for j, v in js.items()
        }
        got2 = set(
            rows(
                con,
                "SELECT frame_number, annotation_idx, cam_id, joint, x, y, placement FROM ego_pose_2d "
                "WHERE take_uid = ? AND kind = ? AND source = ?",
                f.stem,
                kind,
                source,
            )
        )
        assert got2 == want2
        ((n_frames, first, last, n3, n2),) = rows(
            con,
            "SELECT n_frames, first_frame, last_frame, n_joints_3d, n_joints_2d FROM ego_pose_takes "
            "WHERE take_uid = ? AND kind = ? AND source = ?",
            f.stem,
            kind,
            source,
        )
        frames = sorted(map(int, doc))
        assert (n_frames, first, last, n3, n2) == (len(frames), frames[0], frames[-1], len(want3), len(want2))
        checked += 1
    assert checked >= 8
    # absent joints are absent rows: nothing is NULL, and frames hold fewer joints than the full set
    assert rows(con, "SELECT count(*) FROM ego_pose_3d WHERE x IS NULL OR joint IS NULL")[0][0] == 0
    assert (
        rows(
            con,
            "SELECT count(*) FROM (SELECT take_uid, frame_number FROM ego_pose_3d WHERE kind = 'body' "
            "GROUP BY ALL HAVING count(*) < 17)",
        )[0][0]
        > 0
    )


def test_types_frames_are_integers_and_matrices_are_arrays(demo_catalog):
    con = connect(demo_catalog)
    types = {
        (t, c): ty
        for t, c, ty in rows(
            con,
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('ego_pose_3d', 'ego_pose_2d', 'camera_poses', 'relations_masks')",
        )
    }
    assert types["ego_pose_3d", "frame_number"] == "INTEGER"
    assert types["ego_pose_2d", "frame_number"] == "INTEGER"
    assert types["relations_masks", "frame_number"] == "INTEGER"
    assert types["camera_poses", "intrinsics"] == "DOUBLE[3][3]"
    assert types["camera_poses", "extrinsics"] == "DOUBLE[4][3]"
    assert types["camera_poses", "distortion"] == "DOUBLE[]"
    # partition columns come back as plain text columns
    assert types["ego_pose_3d", "kind"] == "VARCHAR"


def test_camera_poses_static_and_per_frame(demo_release, demo_catalog):
    release, demo = demo_release
    con = connect(demo_catalog)
    files = sorted((release / "annotations/ego_pose").glob("*/camera_pose/*.json"))
    assert {f.parts[-3] for f in files} == {"train", "val", "test"}
    total = 0
    for f in files:
        doc = load(f)
        for cam, pose in doc.items():
            if cam == "metadata":
                continue
            got = rows(
                con,
                "SELECT is_static, frame_number, intrinsics, extrinsics, distortion FROM camera_poses "
                "WHERE take_uid = ? AND cam_id = ? ORDER BY frame_number",
                f.stem,
                cam,
            )
            ext = pose["camera_extrinsics"]
            intr = tuple(tuple(r) for r in pose["camera_intrinsics"])
            if isinstance(ext, dict):  # Aria: one row per frame, ordered by frame number
                assert [g[1] for g in got] == sorted(map(int, ext))
                assert all(g[0] is False and g[2] == intr for g in got)
                assert got[0][3] == tuple(tuple(r) for r in ext[str(got[0][1])])
                assert got[0][4] is None
            else:  # exo: one row, no frame
                assert len(got) == 1 and got[0][0] is True and got[0][1] is None
                assert got[0][2] == intr and got[0][3] == tuple(tuple(r) for r in ext)
                assert got[0][4] == pose["distortion_coeffs"]
            total += len(got)
    assert total == demo.truth["camera_poses"]
    # extrinsics element [row][col]: DuckDB indexes from 1
    ((t_x,),) = rows(
        con, "SELECT extrinsics[1][4] FROM camera_poses WHERE is_static ORDER BY take_uid, cam_id LIMIT 1"
    )
    assert isinstance(t_x, float)


def test_relations_tables_follow_the_files(demo_release, demo_catalog):
    release, demo = demo_release
    con = connect(demo_catalog)
    n_obj = n_masks = 0
    for split in ("train", "val", "test"):
        for uid, take in load(release / f"annotations/relations_{split}.json")["annotations"].items():
            for obj, cams in take["object_masks"].items():
                for cam_key, cm in cams.items():
                    got = rows(
                        con,
                        "SELECT split, cam_id, is_ego, n_annotated_frames, n_masks FROM relations_objects "
                        "WHERE take_uid = ? AND object_name = ? AND cam_key = ?",
                        uid,
                        obj,
                        cam_key,
                    )
                    assert got == [
                        (
                            split,
                            cam_key.split("_")[0],
                            cam_key.startswith("aria"),
                            len(cm["annotated_frames"]),
                            len(cm["annotation"]),
                        )
                    ]
                    n_obj += 1
                    for frame, mask in list(cm["annotation"].items())[:1]:
                        ((enc,),) = rows(
                            con,
                            "SELECT encoded_mask FROM relations_masks WHERE take_uid = ? AND "
                            "object_name = ? AND cam_key = ? AND frame_number = ?",
                            uid,
                            obj,
                            cam_key,
                            int(frame),
                        )
                        assert enc == mask["encodedMask"]  # kept encoded, byte for byte
                    n_masks += len(cm["annotation"])
    assert (n_obj, n_masks) == (demo.truth["relations_objects"], demo.truth["relations_masks"])
    assert rows(con, "SELECT sum(n_masks) FROM relations_objects")[0][0] == demo.truth["relations_masks"]


def test_take_summary_flags(demo_release, demo_catalog):
    release, _ = demo_release
    con = connect(demo_catalog)
    want: dict[str, set] = {}
    for f in pose_files(release):
        doc = load(f)
        if any(a["annotation3D"] or a["annotation2D"] for anns in doc.values() for a in anns):
            want.setdefault(f.stem, set()).add((f.parts[-3], f.parts[-2]))
    rel_takes = {
        uid
        for s in ("train", "val", "test")
        for uid, t in load(release / f"annotations/relations_{s}.json")["annotations"].items()
        if any(cm["annotation"] for cams in t["object_masks"].values() for cm in cams.values())
    }
    got = rows(
        con,
        "SELECT take_uid, has_body_pose, has_body_pose_manual, has_body_pose_automatic, has_hand_pose, "
        "has_hand_pose_manual, has_hand_pose_automatic, has_relations FROM take_summary",
    )
    assert got
    for uid, body, bm, ba, hand, hm, ha, relations in got:
        w = want.get(uid, set())
        assert (bm, ba, hm, ha) == (
            ("body", "annotation") in w,
            ("body", "automatic") in w,
            ("hand", "annotation") in w,
            ("hand", "automatic") in w,
        )
        assert body == (bm or ba) and hand == (hm or ha)
        assert relations == (uid in rel_takes)
    assert any(r[1] and r[4] for r in got), "some take has both body and hand pose"
    assert any(not r[7] for r in got) and any(r[7] for r in got)


# --------------------------------------------------------------------------- incremental
@pytest.fixture(scope="module")
def pose_release(tmp_path_factory):
    from egoexo_sql.demo import generate

    out = tmp_path_factory.mktemp("pose_release")
    report = generate(out, scale=0.02, seed=11, only=["metadata", "splits", "relations", "ego_pose"])
    return out, report


def _source(catalog: Path, name: str) -> dict:
    return json.loads((catalog / "build.json").read_text())["sources"][name]


def _dump(con, table: str) -> list[tuple]:
    return rows(con, f"SELECT * FROM {table} ORDER BY ALL")


def test_rebuild_after_changing_one_pose_file_parses_only_that_file(pose_release, tmp_path):
    src, demo = pose_release
    release = tmp_path / "release"
    shutil.copytree(src, release)
    cat = tmp_path / "cat"
    first = build_catalog(release, cat)
    assert _source(cat, "ego_pose")["files_parsed"] == len(pose_files(release))

    # drop one frame from one file: only that file is parsed again
    f = pose_files(release, "*/body/automatic/*.json")[2]
    doc = load(f)
    frame = sorted(doc, key=int)[0]
    lost3 = sum(len(a["annotation3D"]) for a in doc[frame])
    lost2 = sum(len(js) for a in doc[frame] for js in a["annotation2D"].values())
    del doc[frame]
    f.write_bytes(orjson.dumps(doc))
    rep = build_catalog(release, cat)
    assert rep.recompiled == ["ego_pose"]
    rec = _source(cat, "ego_pose")
    assert rec["files_parsed"] == 1
    assert "1 of" in rep.reasons["ego_pose"]
    assert rec["units_linked"] >= len(rec["units"]) - 1
    assert rep.tables["ego_pose_3d"] == first.tables["ego_pose_3d"] - lost3
    assert rep.tables["ego_pose_2d"] == first.tables["ego_pose_2d"] - lost2
    con = connect(cat)
    assert rows(
        con,
        "SELECT count(*) FROM ego_pose_3d WHERE take_uid = ? AND frame_number = ? AND source = 'automatic' "
        "AND kind = 'body'",
        f.stem,
        int(frame),
    ) == [(0,)]
    incremental = {t: _dump(con, t) for t in ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes")}
    con.close()

    # the same as compiling from scratch
    fresh = tmp_path / "fresh"
    build_catalog(release, fresh)
    con = connect(fresh)
    for t, data in incremental.items():
        assert _dump(con, t) == data, t
    con.close()

    # a new file and a vanished one: only the new one is parsed; nothing else is
    g = pose_files(release, "*/hand/automatic/*.json")[0]
    new = g.with_name("00000000-0000-0000-0000-000000000000.json")
    shutil.copy(g, new)
    gone = pose_files(release, "*/body/annotation/*.json")[0]
    gone.unlink()
    rep = build_catalog(release, cat)
    assert _source(cat, "ego_pose")["files_parsed"] == 1
    con = connect(cat)
    assert rows(con, "SELECT count(*) FROM ego_pose_takes WHERE take_uid = ?", new.stem) == [(1,)]
    assert rows(
        con,
        "SELECT count(*) FROM ego_pose_3d WHERE take_uid = ? AND source = 'annotation' AND kind = 'body'",
        gone.stem,
    ) == [(0,)]
    con.close()

    # nothing changed: the source is reused whole
    rep = build_catalog(release, cat)
    assert "ego_pose" in rep.reused and rep.recompiled == []
    # a camera file change touches camera_poses only
    c = sorted(release.glob("annotations/ego_pose/*/camera_pose/*.json"))[0]
    c.write_bytes(c.read_bytes() + b"\n")
    rep = build_catalog(release, cat)
    assert rep.recompiled == ["camera_poses"] and _source(cat, "camera_poses")["files_parsed"] == 1
    # --force parses everything again
    build_catalog(release, cat, force=True)
    assert _source(cat, "ego_pose")["files_parsed"] == len(pose_files(release))


def _recorded_sha_is_the_files(release: Path, catalog: Path) -> int:
    import hashlib

    recs = json.loads((catalog / "build.json").read_text())["inputs"]
    for r in recs:
        assert r["sha256"] == hashlib.sha256((release / r["path"]).read_bytes()).hexdigest(), r["path"]
        assert isinstance(r["hashed_at_ns"], int) and r["hashed_at_ns"] > 0, r["path"]
    return len(recs)


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_inputs_are_hashed_by_the_workers_that_parse_them(
    pose_release, tmp_path, monkeypatch, workers
):
    """A fresh (or --force) build hashes ego pose and relations files (and any file one
    source reads) from the bytes the compile step reads, not in a pass of its own; build.json records the same sha256,
    and the next build trusts it (nothing to do) or hashes a changed file up front."""
    from egoexo_sql.builder import scan as b

    release, _ = pose_release
    monkeypatch.setattr(streaming, "WORKERS", workers)
    monkeypatch.setattr(streaming, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(b, "RACY_NS", 0)  # the release was written a moment ago
    hashed_up_front: list[str] = []
    real = b._hash_file
    monkeypatch.setattr(b, "_hash_file", lambda i: hashed_up_front.append(i.rel) or real(i))
    from egoexo_sql.builder import pipeline

    meanwhile: list[str] = []  # hashed on a thread while the workers compile
    real_hashing = pipeline._Hashing.__init__
    monkeypatch.setattr(
        pipeline._Hashing,
        "__init__",
        lambda self, inputs: meanwhile.extend(i.rel for i in inputs) or real_hashing(self, inputs),
    )
    cat = tmp_path / "cat"
    rep = build_catalog(release, cat)
    streamed = [
        r for r in hashed_up_front if r.startswith(("annotations/ego_pose/", "annotations/relations"))
    ]
    assert hashed_up_front and not streamed, streamed[:3]
    # a file one whole source reads is hashed from the bytes it parses too; one that
    # several read (takes.json) is hashed once, by the building process while the
    # workers compile (no plan decision needs it in a build from scratch)
    assert "takes.json" in hashed_up_front and "participants.json" not in hashed_up_front
    assert "takes.json" in meanwhile and "participants.json" not in meanwhile
    assert _recorded_sha_is_the_files(release, cat) == rep.n_inputs
    assert rep.hashed_bytes == rep.input_bytes
    hashed_up_front.clear()
    meanwhile.clear()
    rep = build_catalog(release, cat)
    assert rep.recompiled == [] and hashed_up_front == []  # the recorded hashes are trusted
    assert meanwhile == []  # an incremental build needs every hash to plan
    hashed_up_front.clear()
    build_catalog(release, cat, force=True)
    assert not [r for r in hashed_up_front if r.startswith("annotations/ego_pose/")]
    assert _recorded_sha_is_the_files(release, cat) == rep.n_inputs


def test_parallel_workers_write_the_same_tables(pose_release, tmp_path, monkeypatch):
    release, demo = pose_release
    serial = tmp_path / "serial"
    build_catalog(release, serial)
    monkeypatch.setattr(streaming, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "WORKERS", 2)
    calls = []
    real = streaming._run_parallel
    monkeypatch.setattr(streaming, "_run_parallel", lambda *a, **k: calls.append(1) or real(*a, **k))
    par = tmp_path / "par"
    build_catalog(release, par)
    assert calls, "units ran in worker processes"
    a, b = connect(serial), connect(par)
    for t in POSE_TABLES:
        assert _dump(a, t) == _dump(b, t), t
        assert rows(b, f"SELECT count(*) FROM {t}")[0][0] == demo.truth[t]


def test_units_and_whole_sources_share_one_pool(pose_release, tmp_path, monkeypatch):
    """When both the streaming units and the whole sources go to worker processes, the
    workers start once: one pool runs both kinds, and the tables are those of a build
    in one process."""
    from egoexo_sql import processes

    release, demo = pose_release
    serial = tmp_path / "serial"
    build_catalog(release, serial)
    monkeypatch.setattr(streaming, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "WORKERS", 2)
    monkeypatch.setenv("EGOEXO_SQL_WORKERS", "2")
    pools = []
    real = processes.process_pool
    monkeypatch.setattr(
        processes, "process_pool", lambda workers, calls=(): pools.append(workers) or real(workers, calls)
    )
    par = tmp_path / "par"
    rep = build_catalog(release, par)
    assert pools == [2]
    assert json.loads((par / "build.json").read_text())["compile_workers"] == 2
    assert {"takes", "ego_pose", "relations"} <= set(rep.recompiled)
    a, b = connect(serial), connect(par)
    for t in (*POSE_TABLES, "takes", "captures", "take_benchmarks"):
        assert _dump(a, t) == _dump(b, t), t


def test_worker_input_errors_keep_file_and_path(pose_release, tmp_path, monkeypatch):
    src, _ = pose_release
    release = tmp_path / "release"
    shutil.copytree(src, release)
    f = pose_files(release)[0]
    doc = load(f)
    doc["twelve"] = doc.pop(next(iter(doc)))
    f.write_bytes(orjson.dumps(doc))
    monkeypatch.setattr(streaming, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "WORKERS", 2)
    with pytest.raises(InputError) as e:
        build_catalog(release, tmp_path / "cat")
    assert e.value.file == f.relative_to(release).as_posix()
    assert e.value.json_path == '$["twelve"]' and "frame number" in e.value.expected
    assert not (tmp_path / "cat").exists()


# --------------------------------------------------------------------------- input errors
def _rel(tmp_path: Path, rel: str, data: bytes) -> Release:
    p = tmp_path / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return Release(tmp_path)


def test_pose_value_errors_name_the_path(tmp_path):
    from egoexo_sql.tables.ego_pose import compile_camera_file, compile_pose_file

    rel = "annotations/ego_pose/train/body/annotation/u1.json"
    r = _rel(tmp_path, rel, b'{"3": [{"annotation3D": {"nose": {"x": "far", "y": 1, "z": 2}}}]}')
    with pytest.raises(InputError) as e:
        list(compile_pose_file(r, r.path(rel)))
    assert e.value.file == rel and e.value.json_path == '$["3"][0].annotation3D["nose"].x'
    rel = "annotations/ego_pose/val/camera_pose/u2.json"
    r = _rel(
        tmp_path, rel, b'{"metadata": {}, "cam01": {"camera_extrinsics": [[1,2,3],[1,2,3,4],[1,2,3,4]]}}'
    )
    with pytest.raises(InputError) as e:
        list(compile_camera_file(r, r.path(rel)))
    assert e.value.json_path == '$["cam01"].camera_extrinsics[0]' and "length 4" in e.value.expected
    rel = "annotations/ego_pose/later/camera_pose/u3.json"
    r = _rel(tmp_path, rel, b"{}")
    with pytest.raises(InputError, match="train, val or test"):
        list(compile_camera_file(r, r.path(rel)))


def _mat(k: int) -> list[list[float]]:
    return [[k + r * 4 + c + 0.5 for c in range(4)] for r in range(3)]


def test_camera_file_rows_every_frame_in_frame_order(tmp_path):
    """Every moving-camera row carries its own frame's matrix, frames in numeric order
    whatever the file's key order; static cameras come first with a NULL frame."""
    from egoexo_sql.tables.ego_pose import compile_camera_file

    frames = [10, 2, 33, 0, 7]
    doc = {
        "metadata": {"take_name": "t"},
        "aria01": {
            "camera_intrinsics": [[1.0, 0, 2], [0, 1.0, 3], [0, 0, 1]],
            "camera_extrinsics": {str(f): _mat(f) for f in frames},
        },
        "cam01": {"camera_intrinsics": [[5.0, 0, 1], [0, 5.0, 1], [0, 0, 1]], "camera_extrinsics": _mat(99)},
        "aria02": {"camera_intrinsics": None, "camera_extrinsics": {}, "distortion_coeffs": [0.1]},
    }
    rel = "annotations/ego_pose/train/camera_pose/u1.json"
    r = _rel(tmp_path, rel, orjson.dumps(doc))
    [(name, table, part)] = list(compile_camera_file(r, r.path(rel)))
    assert name == "camera_poses" and part == {"split": "train"}
    got = table.to_pylist()
    assert [(g["cam_id"], g["is_static"], g["frame_number"]) for g in got] == [("cam01", True, None)] + [
        ("aria01", False, f) for f in sorted(frames)
    ]
    for g in got:
        want = _mat(99 if g["is_static"] else g["frame_number"])
        assert g["extrinsics"] == want
        assert g["intrinsics"] == doc[g["cam_id"]]["camera_intrinsics"]
        assert g["take_uid"] == "u1" and g["distortion"] is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [("x1", "a frame number"), ("-3", "a frame number"), ("", "a frame number"), ("2147483648", "INTEGER")],
)
def test_camera_frame_keys_that_are_not_frame_numbers_name_the_key(tmp_path, key, expected):
    from egoexo_sql.tables.ego_pose import compile_camera_file

    doc = {"aria01": {"camera_extrinsics": {"0": _mat(0), key: _mat(1)}}}
    rel = "annotations/ego_pose/val/camera_pose/u2.json"
    r = _rel(tmp_path, rel, orjson.dumps(doc))
    with pytest.raises(InputError) as e:
        list(compile_camera_file(r, r.path(rel)))
    assert e.value.file == rel and expected in e.value.expected
    assert e.value.json_path == f'$["aria01"].camera_extrinsics["{key}"]'


def test_malformed_relations_file_gives_the_line_and_column(tmp_path):
    from egoexo_sql.tables.relations import compile_relations_file

    rel = "annotations/relations_val.json"
    r = _rel(tmp_path, rel, b'{"annotations": {\n "t1": {"object_masks": {}},\n "t2": {"object_masks": {]}}}')
    with pytest.raises(InputError) as e:
        list(compile_relations_file(r, r.path(rel)))
    assert e.value.file == rel and "line 3" in str(e.value)
    r = _rel(
        tmp_path,
        rel,
        b'{"annotations": {"t1": {"object_masks": {"cup_0": {"cam01": {"annotated_frames": "x"}}}}}}',
    )
    with pytest.raises(InputError) as e:
        list(compile_relations_file(r, r.path(rel)))
    assert e.value.json_path == '$.annotations["t1"].object_masks["cup_0"]["cam01"].annotated_frames'
    r = _rel(tmp_path, rel, b'{"annotations": {"t1": {}, "t1": {}}}')
    with pytest.raises(InputError, match="once"):
        list(compile_relations_file(r, r.path(rel)))


# --------------------------------------------------------------------------- streaming pieces
@pytest.mark.parametrize("chunk", [1, 5, 64, 1 << 20])
def test_iter_members_reads_any_chunking(tmp_path, chunk):
    doc = {
        "ds": 'x{"}',
        "annotations": {"a": {"k": [1, 2.5e3, "}", {"z": None}]}, "b\u00e9": 12345, "c": "s,}"},
        "after": [1, {"annotations": 3}],
    }
    p = tmp_path / "f.json"
    p.write_bytes(b"\xef\xbb\xbf " + json.dumps(doc, indent=2).encode())
    got = [(k, json.loads(v)) for k, v in iter_members(p, "annotations", chunk=chunk)]
    assert got == list(doc["annotations"].items())
    p.write_bytes(b'{"annotations": {}}')
    assert list(iter_members(p, "annotations", chunk=chunk)) == []
    for bad in (
        b'{"annotations": {"a": 1,}}',
        b'{"annotations": {"a": 1}',
        b"[1]",
        b'{"annotations": {"a": 1}} x',
    ):
        p.write_bytes(bad)
        with pytest.raises(StreamError):
            list(iter_members(p, "annotations", chunk=chunk))


def test_iter_members_memory_does_not_grow_with_the_file(tmp_path):
    """Structural: the buffer holds about one chunk plus one member, whatever the file size."""
    from egoexo_sql.tables import _json_stream

    member = {
        "object_masks": {
            f"obj_{i}": {"cam01": {"annotation": {"0": {"encodedMask": "A" * 500}}}} for i in range(20)
        }
    }
    peaks = []
    for n in (200, 800):
        p = tmp_path / f"r{n}.json"
        p.write_bytes(orjson.dumps({"annotations": {f"take{i}": member for i in range(n)}}))
        seen = []
        orig = _json_stream._Reader.fill

        def fill(self, at_least=1, _orig=orig, _seen=seen):
            out = _orig(self, at_least)
            _seen.append(len(self.buf))
            return out

        _json_stream._Reader.fill = fill
        try:
            tracemalloc.start()
            count = sum(1 for _ in iter_members(p, "annotations", chunk=4096))
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        finally:
            _json_stream._Reader.fill = orig
        assert count == n
        assert max(seen) < 3 * 4096 + 2 * len(orjson.dumps(member))
        assert p.stat().st_size > 20 * max(seen)
    assert peaks[1] < 1.5 * peaks[0] + 100_000  # 4x the takes, the same peak


def test_unit_writer_writes_full_row_groups_and_spans(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from egoexo_sql.builder import parquet as build
    from egoexo_sql.schema import get

    monkeypatch.setattr(build, "ROW_GROUP_ROWS", 1000)
    sch = get("ego_pose_takes")
    w = build.TableWriter(sch, tmp_path / "t", "part-u.parquet")
    sizes = [700, 900, 10, 2500, 0, 33]
    for i, n in enumerate(sizes):
        w.begin_input(f"in{i}")
        w.add(
            pa.table(
                {
                    "take_uid": [f"t{i}"] * n,
                    "split": ["train"] * n,
                    "kind": ["body"] * n,
                    "source": ["automatic"] * n,
                    "n_frames": [1] * n,
                    "first_frame": [0] * n,
                    "last_frame": [0] * n,
                    "n_joints_3d": [0] * n,
                    "n_joints_2d": [0] * n,
                    "cam_ids": [["cam01"]] * n,
                }
            )
        )
        assert all(v < 1000 for v in w.buffered.values()), "never more than one row group buffered"
        w.end_input()
    spans = w.close()
    assert spans == {
        "part-u.parquet": [
            ["in0", 0, 700],
            ["in1", 700, 900],
            ["in2", 1600, 10],
            ["in3", 1610, 2500],
            ["in5", 4110, 33],
        ]
    }
    md = pq.ParquetFile(tmp_path / "t" / "part-u.parquet").metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [1000, 1000, 1000, 1000, 143]


def test_units_are_stable_hash_buckets_of_one_folder():
    from egoexo_sql.tables.ego_pose import BUCKETS, unit_of_camera, unit_of_pose
    from egoexo_sql.tables.relations import unit_of_relations

    u = unit_of_pose("annotations/ego_pose/train/body/automatic/0e680f8a-dc8c-421b-a16c-f205b089944a.json")
    assert u.startswith("train-body-automatic-") and 0 <= int(u.rsplit("-", 1)[1]) < BUCKETS
    assert u == unit_of_pose(
        "annotations/ego_pose/train/body/automatic/0e680f8a-dc8c-421b-a16c-f205b089944a.json"
    )
    assert unit_of_camera("annotations/ego_pose/test/camera_pose/x.json").startswith("camera_pose-test-")
    assert unit_of_relations("annotations/relations_val.json") == "relations-val"
    units = {unit_of_pose(f"annotations/ego_pose/val/hand/annotation/{i}.json") for i in range(500)}
    assert len(units) == BUCKETS


def test_relations_are_read_take_by_take_not_whole(demo_release, monkeypatch):
    """The whole-file decode is only the error path: a good file never takes it."""
    from egoexo_sql.tables import relations

    release, demo = demo_release
    r = Release(release)
    monkeypatch.setattr(r, "decode", lambda *a, **k: pytest.fail("decoded the whole relations file"))
    monkeypatch.setattr(relations, "CHUNK_MASKS", 50)
    n = {"relations_masks": 0, "relations_objects": 0, "relations_boxes": 0}
    chunks = 0
    for split in ("train", "val", "test"):
        for t, chunk in relations.compile_relations_file(r, r.path(f"annotations/relations_{split}.json")):
            n[t] += chunk.num_rows
            chunks += 1
    assert n == {t: demo.truth[t] for t in n}
    assert chunks > 6  # written in chunks, not one table per file
