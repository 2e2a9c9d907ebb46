"""Bad input -> InputError naming the file (relative to the release root), the JSON path
and what was expected (egoexo_sql.release and the compilers' own checks).

Each test starts from a valid synthetic release, breaks one thing, and compiles.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest

from egoexo_sql.errors import InputError
from egoexo_sql.release import Release, decode_json
from egoexo_sql.tables.registry import compile_release


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from egoexo_sql.demo import generate

    out = tmp_path_factory.mktemp("pristine") / "release"
    generate(
        out,
        scale=0.02,
        seed=3,
        only=["metadata", "splits", "keystep", "proficiency", "atomic", "commentary", "manifests"],
    )
    return out


@pytest.fixture
def release(pristine, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(pristine, root)
    return root


def _load(root: Path, rel: str):
    return json.loads((root / rel).read_text(encoding="utf-8"))


def _save(root: Path, rel: str, obj) -> None:
    (root / rel).write_text(json.dumps(obj), encoding="utf-8")


def _error(root: Path, groups=None) -> InputError:
    with pytest.raises(InputError) as e:
        compile_release(root, groups=groups)
    assert e.value.exit_code == 2
    return e.value


def test_pristine_release_compiles(release):
    compile_release(release)


def test_invalid_json_names_line_and_column(release):
    text = (release / "captures.json").read_text()
    lines = text.splitlines()
    lines[3] = lines[3].rstrip(",") + " oops,"
    (release / "captures.json").write_text("\n".join(lines))
    e = _error(release, ["metadata"])
    assert e.file == "captures.json"
    assert e.expected == "valid JSON"
    assert "line 4" in e.got


def test_truncated_and_empty_files(release):
    data = (release / "annotations/splits.json").read_bytes()
    (release / "annotations/splits.json").write_bytes(data[: len(data) // 2])
    e = _error(release, ["splits"])
    assert e.file == "annotations/splits.json" and "ends early" in e.got
    (release / "annotations/splits.json").write_bytes(b"")
    e = _error(release, ["splits"])
    assert e.got == "an empty file"


def test_wrong_top_level_shape(release):
    takes = _load(release, "takes.json")
    _save(release, "takes.json", {"takes": takes})
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == ("takes.json", "$")
    assert "array" in e.expected and "object" in e.got


def test_wrong_value_type_in_a_list(release):
    parts = _load(release, "participants.json")
    parts[2]["participant_uid"] = str(parts[2]["participant_uid"])
    _save(release, "participants.json", parts)
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == ("participants.json", "$[2].participant_uid")
    assert (e.expected, e.got) == ("an integer", "a string")


def test_wrong_value_type_under_a_take_uid_key(release):
    rel = "annotations/atomic_descriptions_train.json"
    f = _load(release, rel)
    uid = list(f["annotations"])[1]
    f["annotations"][uid][0]["descriptions"][2]["timestamp"] = "12.5"
    _save(release, rel, f)
    e = _error(release, ["atomic"])
    assert e.file == rel
    assert e.json_path == f'$.annotations["{uid}"][0].descriptions[2].timestamp'
    assert (e.expected, e.got) == ("a number or null", "a string")


def test_missing_required_key(release):
    rel = "annotations/expert_commentary_val.json"
    f = _load(release, rel)
    uid = list(f["annotations"])[0]
    del f["annotations"][uid][0]["commentary"]
    _save(release, rel, f)
    e = _error(release, ["commentary"])
    assert e.file == rel and e.json_path == f'$.annotations["{uid}"][0]'
    assert '"commentary"' in e.expected


def test_not_utf8(release):
    data = (release / "visual_objects.json").read_bytes()
    i = data.index(b'"name": "') + len(b'"name": "')
    (release / "visual_objects.json").write_bytes(data[:i] + b"\xff\xfe" + data[i:])
    e = _error(release, ["metadata"])
    assert e.file == "visual_objects.json" and e.expected == "UTF-8 text"
    assert "0xff" in e.got and "line " in e.got


def test_not_utf8_inside_a_skipped_key_is_still_refused(release):
    rel = "annotations/keystep_train.json"
    data = (release / rel).read_bytes()
    assert data.startswith(b"{")
    (release / rel).write_bytes(b'{"not_a_known_key": "\xc3\x28", ' + data[1:])
    e = _error(release, ["keystep"])
    assert e.file == rel and e.expected == "UTF-8 text"


def test_utf8_bom_and_non_ascii_text_are_fine(release):
    parts = _load(release, "participants.json")
    meta = json.loads(parts[0]["metadata"])
    meta["country_born"] = "Colombia — Bogotá"
    parts[0]["metadata"] = json.dumps(meta, ensure_ascii=False)
    (release / "participants.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(parts, ensure_ascii=False).encode("utf-8")
    )
    out = compile_release(release, ["metadata"])
    assert out["participants"].column("country_born")[0].as_py() == "Colombia — Bogotá"


def test_missing_required_file(release):
    (release / "physical_setting.json").unlink()
    e = _error(release, ["metadata"])
    assert e.file == "physical_setting.json" and e.json_path is None
    assert "required" in e.expected


def test_folder_where_a_file_belongs(release):
    (release / "metadata.json").unlink()
    (release / "metadata.json").mkdir()
    e = _error(release, ["metadata"])
    assert (e.file, e.got) == ("metadata.json", "a folder")


def test_folder_where_an_optional_file_belongs(release):
    shutil.rmtree(release / "annotations")
    (release / "annotations/splits.json").mkdir(parents=True)
    e = _error(release, ["splits"])
    assert (e.file, e.got) == ("annotations/splits.json", "a folder")


def test_duplicate_primary_key(release):
    takes = _load(release, "takes.json")
    takes[5]["take_uid"] = takes[1]["take_uid"]
    _save(release, "takes.json", takes)
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == ("takes.json", "$[5].take_uid")
    assert "$[1].take_uid" in e.got


def test_duplicate_take_across_keystep_split_files(release):
    train = _load(release, "annotations/keystep_train.json")
    val = _load(release, "annotations/keystep_val.json")
    uid, rec = next(iter(train["annotations"].items()))
    val["annotations"][uid] = rec
    _save(release, "annotations/keystep_val.json", val)
    e = _error(release, ["keystep"])
    assert e.file == "annotations/keystep_val.json"
    assert e.json_path == f'$.annotations["{uid}"]' and "keystep_train.json" in e.got


def test_participant_metadata_that_is_not_json(release):
    parts = _load(release, "participants.json")
    parts[1]["metadata"] = "{age_range: 29"
    _save(release, "participants.json", parts)
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == ("participants.json", "$[1].metadata")
    assert "JSON object" in e.expected


def test_bad_date(release):
    parts = _load(release, "participants.json")
    parts[0]["collection_date"] = "09/03/2023"
    _save(release, "participants.json", parts)
    e = _error(release, ["metadata"])
    assert e.json_path == "$[0].collection_date" and "YYYY-MM-DD" in e.expected


def test_flag_that_is_not_a_flag(release):
    rel = "annotations/atomic_descriptions_val.json"
    f = _load(release, rel)
    uid = list(f["annotations"])[-1]
    f["annotations"][uid][-1]["descriptions"][-1]["ego_visible"] = "maybe"
    _save(release, rel, f)
    e = _error(release, ["atomic"])
    n = len(f["annotations"][uid][-1]["descriptions"]) - 1
    a = len(f["annotations"][uid]) - 1
    assert e.json_path == f'$.annotations["{uid}"][{a}].descriptions[{n}].ego_visible'
    assert e.got == "'maybe'"


def test_unknown_extra_keys_do_not_fail(release):
    takes = _load(release, "takes.json")
    takes[0]["a_new_field"] = {"nested": [1, 2, 3]}
    takes[0]["capture"]["cameras"][0]["lens"] = "fisheye"
    _save(release, "takes.json", takes)
    rel = "annotations/keystep_train.json"
    f = _load(release, rel)
    f["release_notes"] = "v3"
    for rec in f["annotations"].values():
        rec["segments"][0]["confidence"] = 0.9
        break
    _save(release, rel, f)
    out = compile_release(release, ["metadata", "keystep"])
    assert out["takes"].num_rows == len(takes)


def test_messages_read_as_one_line():
    e = InputError("annotations/x.json", '$.annotations["u"][0].timestamp', "a number", "a string")
    assert str(e) == 'annotations/x.json: $.annotations["u"][0].timestamp: expected a number, got a string'


def test_decode_json_maps_paths_through_nested_dict_keys():
    T = dict[str, dict[str, list[int]]]
    with pytest.raises(InputError) as e:
        decode_json(b'{"a": {"x": [1]}, "b": {"y": [1, 2], "z": [3, "4"]}}', T, "f.json")
    assert e.value.json_path == '$["b"]["z"][1]'


def test_release_paths_are_relative_in_errors(tmp_path):
    r = Release(tmp_path)
    with pytest.raises(InputError) as e:
        r.decode(tmp_path / "annotations" / "nothing.json", msgspec.Raw)
    assert e.value.file == "annotations/nothing.json"


@pytest.mark.parametrize("how", ["again", "with a doubled slash", "in a second entry of the uid"])
def test_duplicate_manifest_path(release, how):
    rel = "manifests/takes/manifest.json"
    entries = _load(release, rel)
    first = dict(entries[3]["paths"][0])
    if how == "in a second entry of the uid":
        entries.append({"uid": entries[3]["uid"], "paths": [first]})
        where = f"$[{len(entries) - 1}].paths[0].relative_path"
    else:
        if how == "with a doubled slash":
            first["relative_path"] = first["relative_path"].replace("/", "//", 1)
        entries[3]["paths"].append(first)
        where = f"$[3].paths[{len(entries[3]['paths']) - 1}].relative_path"
    _save(release, rel, entries)
    e = _error(release, ["manifests"])
    assert e.file == rel
    assert e.json_path == where
    assert "$[3].paths[0].relative_path" in e.got


def test_one_path_under_two_uids_is_two_rows(release):
    """A path repeats only within a uid: the same file listed by two uids is fine."""
    rel = "manifests/takes/manifest.json"
    entries = _load(release, rel)
    shared = dict(entries[3]["paths"][0])
    entries[4]["paths"].append(shared)
    _save(release, rel, entries)
    t = compile_release(release, groups=["manifests"])["manifest_files"]
    rows = [
        r for r in t.to_pylist() if r["relative_path"] == shared["relative_path"] and r["part"] == "takes"
    ]
    assert sorted(r["uid"] for r in rows) == sorted([entries[3]["uid"], entries[4]["uid"]])


def test_gc_paused_restores_the_collector_state_across_threads():
    import gc
    import threading

    from egoexo_sql.release import gc_paused

    def overlapped(initially_enabled: bool) -> bool:
        (gc.enable if initially_enabled else gc.disable)()
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen_in_b: list[bool] = []

        def a():
            with gc_paused():
                a_in.set()
                b_in.wait()
            a_out.set()

        def b():
            a_in.wait()
            with gc_paused():
                b_in.set()
                a_out.wait()
                seen_in_b.append(gc.isenabled())  # A has left, B is still decoding

        ts = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert seen_in_b == [False]
        return gc.isenabled()

    try:
        assert overlapped(True) is True
        assert overlapped(False) is False
    finally:
        gc.enable()


def test_splits_that_disagree(release):
    rel = "annotations/splits.json"
    f = _load(release, rel)
    uid = f["split_to_take_uids"]["val"][0]
    f["take_uid_to_split"][uid] = "train"
    _save(release, rel, f)
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == (rel, '$.split_to_take_uids["val"][0]')
    assert '"train"' in e.expected and e.got == '"val"'


def test_task_ids_must_be_integers(release):
    f = _load(release, "metadata.json")
    f["tasks"]["cooking"] = "Cooking again"
    _save(release, "metadata.json", f)
    e = _error(release, ["metadata"])
    assert (e.file, e.json_path) == ("metadata.json", '$.tasks["cooking"]')


def _manifest(root: Path) -> str:
    return next(
        p.relative_to(root).as_posix()
        for p in sorted((root / "manifests").rglob("manifest.json"))
        if len({e["uid"] for e in _load(root, p.relative_to(root).as_posix())[:2]}) == 2
    )


@pytest.mark.parametrize("how", ["same entry", "another entry of the uid", "a doubled slash"])
def test_a_path_listed_twice_for_one_uid_names_both_places(release, how):
    rel = _manifest(release)
    doc = _load(release, rel)
    first = doc[0]["paths"][0]
    if how == "same entry":
        doc[0]["paths"].append(dict(first))
        where = f"$[0].paths[{len(doc[0]['paths']) - 1}].relative_path"
    elif how == "another entry of the uid":
        doc.append({"uid": doc[0]["uid"], "paths": [dict(first)]})
        where = f"$[{len(doc) - 1}].paths[0].relative_path"
    else:
        doc[0]["paths"].append(dict(first, relative_path=first["relative_path"].replace("/", "//", 1)))
        where = f"$[0].paths[{len(doc[0]['paths']) - 1}].relative_path"
    _save(release, rel, doc)
    e = _error(release, groups=["manifests"])
    assert e.file == rel and e.json_path == where
    assert "listed once per uid" in e.expected and "$[0].paths[0].relative_path" in e.got


def test_the_same_path_under_two_uids_is_not_a_duplicate(release):
    rel = _manifest(release)
    doc = _load(release, rel)
    doc[1]["paths"].append(dict(doc[0]["paths"][0]))
    _save(release, rel, doc)
    compile_release(release, groups=["manifests"])
