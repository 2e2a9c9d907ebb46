"""The synthetic release: real shapes (against real records), consistent across files,
the real quirks at any scale, published counts, deterministic output."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import real_samples

from egoexo_sql.demo import generate
from egoexo_sql.demo.published import ATOMIC_DESCRIPTIONS, SCENARIOS, SPLITS

# --------------------------------------------------------------------- shape comparison

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_JOINT = re.compile(r"^(left|right)[-_]|^nose$")


def key_class(k: str) -> str | None:
    """Keys that are ids (cameras, frames, uids, joints) rather than field names."""
    if re.fullmatch(r"aria\d\d", k):
        return "aria"
    if re.fullmatch(r"(cam|gp)\d\d", k):
        return "exo"
    if k.isdigit():
        return "number"
    if _UUID.match(k):
        return "uuid"
    if _JOINT.match(k):
        return "joint"
    return None


def jtype(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return type(v).__name__


# fields the format doc marks nullable: the generator may write null where the sample has a value
NULLABLE = {
    "best_exo",
    "task_start_sec",
    "task_end_sec",
    "participant_uid",
    "task_id",
    "task_name",
    "clip_uid",
    "relative_path",
    "gender",
    "native_language",
    "home_language",
    "education_completed",
    "current_student",
}


def assert_same_shape(gen, real, path: str = "$", allow_extra: frozenset = frozenset()) -> None:
    """Generated value ``gen`` has the real record's keys (recursively) and JSON types."""
    if real is None:
        return  # the sample shows null: the field is nullable, any value type is allowed
    if gen is None:
        leaf = path.rsplit(".", 1)[-1].split("[")[0]
        assert leaf in NULLABLE, f"{path}: null, but the real record has {jtype(real)}"
        return
    assert jtype(gen) == jtype(real), f"{path}: {jtype(gen)} but the real record has {jtype(real)}"
    if isinstance(real, dict):
        real_fixed = {k for k in real if key_class(k) is None}
        gen_fixed = {k for k in gen if key_class(k) is None}
        assert gen_fixed - allow_extra == real_fixed, (
            f"{path}: keys {sorted(gen_fixed)} differ from the real {sorted(real_fixed)}"
        )
        for k in real_fixed:
            assert_same_shape(gen[k], real[k], f"{path}.{k}", allow_extra)
        by_class: dict[str, object] = {}
        for k, v in real.items():
            c = key_class(k)
            if c and c not in by_class:
                by_class[c] = v
        for k, v in gen.items():
            c = key_class(k)
            if c is None:
                continue
            ref = by_class.get(c) or by_class.get("exo" if c == "aria" else "aria")
            assert ref is not None, f"{path}: id-like key {k!r} where the real record has none"
            assert_same_shape(v, ref, f"{path}[{k!r}]", allow_extra)
    elif isinstance(real, list) and real:
        for i, item in enumerate(gen[:50]):
            assert_same_shape(item, real[0], f"{path}[{i}]", allow_extra)


def read(release: Path, rel: str):
    return json.loads((release / rel).read_bytes())


# ----------------------------------------------------------------------------- conformance


@pytest.mark.parametrize(
    "sample, generated",
    [
        ("tasks.json", "takes.json"),  # the dump labels the takes block "tasks.json"
        ("captures.json", "captures.json"),
        ("participants.json", "participants.json"),
        ("physical_setting.json", "physical_setting.json"),
        ("visual_objects.json", "visual_objects.json"),
    ],
)
def test_metadata_records_have_the_real_keys_and_types(demo_release, sample, generated):
    release, _ = demo_release
    real = real_samples.load()[sample]
    gen = read(release, generated)
    assert isinstance(gen, list) and gen, f"{generated} is a non-empty JSON list"
    for i, record in enumerate(gen):
        assert_same_shape(record, real[0], f"{generated}[{i}]")


def test_participant_metadata_is_a_json_string_with_the_real_keys(demo_release):
    release, _ = demo_release
    real = json.loads(real_samples.load()["participants.json"][0]["metadata"])
    for p in read(release, "participants.json"):
        assert isinstance(p["metadata"], str)
        assert_same_shape(json.loads(p["metadata"]), real, "participants.metadata")


def test_metadata_and_splits_have_the_real_shape(demo_release):
    release, _ = demo_release
    samples = real_samples.load()
    meta = read(release, "metadata.json")
    assert_same_shape(meta, samples["metadata.json"], "metadata.json")
    assert meta["tasks"] == samples["metadata.json"]["tasks"], "the task table is the real one"
    assert_same_shape(
        read(release, "annotations/splits.json"), samples["annotations/splits.json"], "splits.json"
    )


def test_ego_pose_files_have_the_real_shape(demo_release):
    release, _ = demo_release
    samples = real_samples.load()
    pose = release / "annotations" / "ego_pose"
    cam_files = sorted(pose.glob("*/camera_pose/*.json"))
    body_manual = sorted(pose.glob("*/body/annotation/*.json"))
    body_auto = sorted(pose.glob("*/body/automatic/*.json"))
    assert cam_files and body_manual and body_auto
    for f in cam_files[:20]:
        assert_same_shape(
            json.loads(f.read_bytes()),
            samples["annotations/ego_pose/test/camera_pose/<take_uid>.json"],
            f.name,
        )
    real_body = samples["annotations/ego_pose/train/body/annotation/<take_uid>.json"]
    for f in body_manual[:20]:
        assert_same_shape(json.loads(f.read_bytes()), real_body, f.name)
    for f in body_auto[:20]:  # the docs' optional per-frame metadata appears in automatic files
        assert_same_shape(json.loads(f.read_bytes()), real_body, f.name, allow_extra=frozenset({"metadata"}))


def test_downscaled_video_names_match_the_real_listing(demo_release):
    release, _ = demo_release
    real_names = {k.rsplit("/", 1)[1] for k in real_samples.load() if "/downscaled/448/" in k}
    entries = read(release, "manifests/downscaled_takes/448/manifest.json")
    takes = {t["take_uid"]: t for t in read(release, "takes.json")}
    ok = 0
    for e in entries:
        names = {p["relative_path"].rsplit("/", 1)[1] for p in e["paths"]}
        t = takes[e["uid"]]
        assert all(
            p["relative_path"].startswith(f"takes/{t['take_name']}/frame_aligned_videos/downscaled/448/")
            for p in e["paths"]
        )
        if (
            "aria01" in t["frame_aligned_videos"]
            and set(t["frame_aligned_videos"]) >= {"cam01", "cam02", "cam03", "cam04"}
            and len(t["frame_aligned_videos"]) == 7
        ):
            assert real_names <= names | {"ego_preview.mp4"}
            ok += 1
    assert ok, "at least one take has the sampled camera set"


def test_annotation_files_have_the_documented_shapes(demo_release):
    release, _ = demo_release
    a = release / "annotations"
    ks = read(release, "annotations/keystep_train.json")
    assert set(ks) == {"annotations", "taxonomy", "vocabulary"}
    rec = next(iter(ks["annotations"].values()))
    assert {"take_uid", "take_name", "scenario", "segments"} <= set(rec)
    seg = rec["segments"][0]
    assert {k: jtype(v) for k, v in seg.items()} == {
        "start_time": "float",
        "end_time": "float",
        "step_id": "int",
        "step_unique_id": "int",
        "step_name": "str",
        "step_description": "str",
        "is_essential": "bool",
    }
    prof = read(release, "annotations/proficiency_demonstrator_train.json")
    assert list(prof) == ["annotations"] and isinstance(prof["annotations"], list)
    assert prof["annotations"][0]["proficiency_score"] in (
        "Novice",
        "Early Expert",
        "Intermediate Expert",
        "Late Expert",
    )
    atomic = read(release, "annotations/atomic_descriptions_train.json")
    assert set(atomic) == {"annotations", "ds", "take_cam_id_map"}
    ann = next(iter(atomic["annotations"].values()))[0]
    assert isinstance(ann["annotator_id"], str) and isinstance(ann["rejected"], bool)
    ec = read(release, "annotations/expert_commentary_train.json")
    assert set(ec) == {"ds", "annotations"}
    com = next(iter(ec["annotations"].values()))[0]
    assert (
        com["commentary"].endswith(com["commentary"][-6:]) and len(com["commentary"].rsplit("/", 1)[1]) == 6
    )
    folder = a / "expert_commentary" / com["commentary"]
    data = json.loads((folder / "data.json").read_bytes())
    assert 1 <= data["proficiency"]["rating"] <= 10 and data["video_name"] == com["take_name"]
    assert set(json.loads((folder / "transcriptions.json").read_bytes())) == {
        d["recording"] for d in com["commentary_data"]
    }
    rel = read(release, "annotations/relations_train.json")
    take_rel = next(iter(rel["annotations"].values()))
    assert set(take_rel) == {"scenario", "take_name", "object_names", "object_masks"}


def test_manifests_have_the_downloader_format(demo_release):
    release, _ = demo_release
    parts = sorted(
        str(p.parent.relative_to(release / "manifests"))
        for p in (release / "manifests").rglob("manifest.json")
    )
    assert {
        "metadata",
        "annotations",
        "takes",
        "captures",
        "downscaled_takes/448",
        "ego_pose_pseudo_gt",
        "expert_commentary",
    } <= set(parts)
    for part in parts:
        entries = read(release, f"manifests/{part}/manifest.json")
        assert isinstance(entries, list)
        for e in entries[:200]:
            assert list(e) == ["uid", "paths", "splits", "benchmarks"]
            for p in e["paths"]:
                assert list(p) == [
                    "source_path",
                    "relative_path",
                    "views",
                    "universities",
                    "file_type",
                    "size",
                    "checksum",
                ]
                assert p["source_path"].startswith("s3://") and isinstance(p["size"], int) and p["size"] > 0
    # JSON parts list the files written here with their real sizes
    for e in read(release, "manifests/annotations/manifest.json"):
        for p in e["paths"]:
            assert (release / p["relative_path"]).stat().st_size == p["size"]
    takes = {t["take_uid"] for t in read(release, "takes.json")}
    captures = {c["capture_uid"] for c in read(release, "captures.json")}
    assert {e["uid"] for e in read(release, "manifests/takes/manifest.json")} == takes
    assert {e["uid"] for e in read(release, "manifests/captures/manifest.json")} == captures
    assert {e["uid"] for e in read(release, "manifests/metadata/manifest.json")} == {
        "takes",
        "captures",
        "physical_setting",
        "participants",
        "visual_objects",
        "metadata",
    }


# ------------------------------------------------------------------- referential integrity


def test_every_key_refers_to_something_that_exists(demo_release):
    release, _ = demo_release
    takes = read(release, "takes.json")
    captures = {c["capture_uid"]: c for c in read(release, "captures.json")}
    participants = {p["participant_uid"] for p in read(release, "participants.json")}
    sites = {s["physical_uid"] for s in read(release, "physical_setting.json")}
    objects = read(release, "visual_objects.json")
    tasks = read(release, "metadata.json")["tasks"]
    object_uids = {o["object_uid"] for o in objects}
    assert all(o["physical_setting_uid"] in sites for o in objects)
    assert len({t["take_uid"] for t in takes}) == len(takes)
    assert len({t["take_name"] for t in takes}) == len(takes)
    for t in takes:
        cap = captures[t["capture_uid"]]
        assert t["capture"] == cap, "the embedded capture is the captures.json record"
        assert t["participant_uid"] is None or t["participant_uid"] in participants
        assert t["physical_setting_uid"] in sites and cap["physical_setting_uid"] in sites
        assert t["task_id"] is None or str(t["task_id"]) in tasks
        assert str(t["parent_task_id"]) in tasks and tasks[str(t["parent_task_id"])] == t["parent_task_name"]
        cams = {c["cam_id"] for c in cap["cameras"]}
        fav = t["frame_aligned_videos"]
        assert set(fav) - {"collage", "best_exo"} <= cams
        assert t["best_exo"] is None or t["best_exo"] in fav
        assert all(o["object_uid"] in object_uids for o in t["objects"])
        assert t["take_name"].startswith(cap["capture_name"] + "_")
        assert t["timesync_uid"] == cap["timesync_uid"]
        if t["task_start_sec"] is not None:
            assert 0 <= t["task_start_sec"] < t["task_end_sec"] <= t["duration_sec"]
    splits = read(release, "annotations/splits.json")
    uids = {t["take_uid"] for t in takes}
    assert set(splits["take_uid_to_split"]) == uids
    assert sorted(u for v in splits["split_to_take_uids"].values() for u in v) == sorted(uids)
    assert set(splits["take_uid_to_benchmark"]) <= uids


def test_annotations_agree_with_takes(demo_release):
    release, _ = demo_release
    takes = {t["take_uid"]: t for t in read(release, "takes.json")}
    split_of = read(release, "annotations/splits.json")["take_uid_to_split"]
    for split in ("train", "val"):
        ks = read(release, f"annotations/keystep_{split}.json")
        vocab = ks["vocabulary"]
        for uid, rec in ks["annotations"].items():
            t = takes[uid]
            assert (
                split_of[uid] == split
                and rec["take_name"] == t["take_name"]
                and rec["scenario"] == t["task_name"]
            )
            tax = ks["taxonomy"][rec["scenario"]]
            for s in rec["segments"]:
                node = tax[str(s["step_id"])]
                assert node["is_leafnode"] and node["unique_id"] == s["step_unique_id"]
                assert vocab[str(s["step_unique_id"])] == s["step_name"]
                assert 0 <= s["start_time"] < s["end_time"] <= t["duration_sec"]
        for uid, anns in read(release, f"annotations/atomic_descriptions_{split}.json")[
            "annotations"
        ].items():
            t = takes[uid]
            for a in anns:
                for d in a["descriptions"]:
                    assert 0 <= d["timestamp"] <= t["duration_sec"]
                    if d["best_exo"] and d["best_exo"]["cam_id"]:
                        assert d["best_exo"]["cam_id"] in t["frame_aligned_videos"]
        for uid, coms in read(release, f"annotations/expert_commentary_{split}.json")["annotations"].items():
            t = takes[uid]
            assert split_of[uid] == split
            for c in coms:
                assert c["commentary"].startswith(t["take_name"] + "/") and c["task_id"] == t["task_id"]
                assert all(0 <= d["video_time"] <= t["duration_sec"] for d in c["commentary_data"])
                assert (release / "annotations/expert_commentary" / c["commentary"] / "data.json").is_file()
        for name in ("demonstrator", "demonstration"):
            for r in read(release, f"annotations/proficiency_{name}_{split}.json")["annotations"]:
                if r["take_uid"] in takes:
                    t = takes[r["take_uid"]]
                    assert split_of[r["take_uid"]] == split and r["task_id"] == t["task_id"]
                    assert r["scenario_name"] == t["parent_task_name"]
    for split in ("train", "val", "test"):
        for uid, rel in read(release, f"annotations/relations_{split}.json")["annotations"].items():
            t = takes[uid]
            assert split_of[uid] == split and rel["take_name"] == t["take_name"]
            for cams in rel["object_masks"].values():
                for cam in cams:
                    assert cam.split("_")[0] in t["frame_aligned_videos"]
    for f in (release / "annotations/ego_pose").glob("*/*/**/*.json"):
        split = f.relative_to(release / "annotations/ego_pose").parts[0]
        assert split_of[f.stem] == split
        t = takes[f.stem]
        if "camera_pose" not in f.parts:
            for frame, anns in json.loads(f.read_bytes()).items():
                assert 0 <= int(frame) < t["duration_sec"] * 30
                for a in anns:  # one entry per rater; a frame may have none
                    assert set(a["annotation2D"]) <= set(t["frame_aligned_videos"])


def test_relations_masks_decode(demo_release):
    from egoexo_sql.demo.encoding import lz_decompress_uri

    release, _ = demo_release
    rel = read(release, "annotations/relations_train.json")["annotations"]
    n = 0
    for take in rel.values():
        for cams in take["object_masks"].values():
            for cam in cams.values():
                for frame, m in cam["annotation"].items():
                    assert int(frame) in cam["annotated_frames"]
                    counts = lz_decompress_uri(m["encodedMask"])
                    assert counts and all(48 <= ord(ch) < 48 + 64 for ch in counts)
                    n += 1
    assert n > 0


# ------------------------------------------------------------------------------ quirks


def test_the_real_quirks_are_present_even_at_a_tiny_scale(tmp_path):
    release = tmp_path / "r"
    generate(release, scale=0.01, seed=3)
    takes = read(release, "takes.json")
    participants = read(release, "participants.json")
    assert isinstance(participants[0]["metadata"], str)
    assert isinstance(read(release, "physical_setting.json")[0]["metadata"], str)
    assert "physical_uid" in read(release, "physical_setting.json")[0]
    assert "physical_setting_uid" in takes[0] and "physical_setting_uid" in read(release, "captures.json")[0]
    assert any(t["best_exo"] is None for t in takes)
    assert any(t["best_exo"] is not None for t in takes)
    assert any(t["task_start_sec"] is None and t["task_end_sec"] is None for t in takes)
    assert any(t["participant_uid"] is None for t in takes)
    assert any(t["task_id"] is None for t in takes)
    cams = [set(t["frame_aligned_videos"]) for t in takes]
    assert any(any(c.startswith("gp") for c in s) for s in cams), "gpNN exo cameras"
    assert any("cam01" in s and "cam02" not in s for s in cams), "a take without cam02"
    assert any("aria02" in s for s in cams) and any("cam05" in s for s in cams)
    subject_keys, meta_keys = Counter(), Counter()
    for split in ("train", "val"):
        for anns in read(release, f"annotations/atomic_descriptions_{split}.json")["annotations"].values():
            for a in anns:
                for d in a["descriptions"]:
                    subject_keys.update(k for k in ("subject", "narration_subject") if k in d)
        for rec in read(release, f"annotations/keystep_{split}.json")["annotations"].values():
            meta_keys.update(k for k in ("annotation_meta", "annotation_metadata") if k in rec)
    assert subject_keys["subject"] and subject_keys["narration_subject"]
    assert meta_keys["annotation_meta"] and meta_keys["annotation_metadata"]
    uids = {t["take_uid"] for t in takes}
    prof = [
        r
        for s in ("train", "val")
        for n in ("demonstrator", "demonstration")
        for r in read(release, f"annotations/proficiency_{n}_{s}.json")["annotations"]
    ]
    orphans = [r for r in prof if r["take_uid"] not in uids]
    assert orphans and len(orphans) < len(prof) / 4
    rejected = [
        a
        for s in ("train", "val")
        for anns in read(release, f"annotations/atomic_descriptions_{s}.json")["annotations"].values()
        for a in anns
        if a["rejected"]
    ]
    assert rejected and all(a["reject_reason"] for a in rejected)
    rel = [
        r
        for s in ("train", "val", "test")
        for r in read(release, f"annotations/relations_{s}.json")["annotations"].values()
    ]
    assert any(not r["object_masks"] for r in rel) and any(r["object_masks"] for r in rel)
    ks = read(release, "annotations/keystep_train.json")["annotations"]
    assert ks and all(k == v["take_uid"] for k, v in ks.items()), "keystep annotations keyed by take_uid"


# ------------------------------------------------------------------------------- counts


def test_counts_scale_linearly(tmp_path):
    scale = 0.1
    report = generate(tmp_path / "r", scale=scale, seed=1, only=["metadata", "splits", "atomic"])
    release = tmp_path / "r"
    takes = read(release, "takes.json")
    per = Counter(t["parent_task_name"] for t in takes)
    for sc, v in SCENARIOS.items():
        assert per[sc] == round(v[1] * scale), sc
    split = Counter(read(release, "annotations/splits.json")["take_uid_to_split"].values())
    total = sum(SPLITS.values())
    for k, v in SPLITS.items():
        assert abs(split[k] - v * len(takes) / total) <= 1
    n_desc = sum(
        len(a["descriptions"])
        for s in ("train", "val")
        for anns in read(release, f"annotations/atomic_descriptions_{s}.json")["annotations"].values()
        for a in anns
    )
    assert n_desc == report.truth["atomic_descriptions"] == round(ATOMIC_DESCRIPTIONS * scale)
    assert abs(len(read(release, "participants.json")) - 74) <= 2
    assert abs(len(read(release, "captures.json")) - 79) <= 2


@pytest.mark.slow
def test_scale_one_reproduces_the_published_counts(tmp_path):
    release = tmp_path / "r"
    report = generate(
        release,
        scale=1,
        seed=0,
        only=["metadata", "splits", "keystep", "proficiency", "atomic", "commentary", "relations"],
    )
    takes = read(release, "takes.json")
    split_of = read(release, "annotations/splits.json")["take_uid_to_split"]

    def near(got, want, tol=0.01):
        assert abs(got - want) <= tol * want, (got, want)

    assert len(takes) == 5035
    assert Counter(split_of.values()) == Counter(SPLITS)
    near(len(read(release, "participants.json")), 740)
    near(len(read(release, "captures.json")), 787)
    near(len(read(release, "physical_setting.json")), 123)
    near(sum(t["is_narrated"] for t in takes), 456)
    assert 0.88 <= sum(t["best_exo"] is not None for t in takes) / len(takes) <= 0.92
    assert len(read(release, "annotations/keystep_train.json")["annotations"]) == 668
    assert len(read(release, "annotations/keystep_val.json")["annotations"]) == 182
    atomic_takes = set()
    for s in ("train", "val"):
        atomic_takes |= set(read(release, f"annotations/atomic_descriptions_{s}.json")["annotations"])
    near(len(atomic_takes), 4965)
    near(report.truth["atomic_descriptions"], 432_467)
    com_takes, experts, n_com = set(), set(), 0
    for s in ("train", "val"):
        for uid, coms in read(release, f"annotations/expert_commentary_{s}.json")["annotations"].items():
            com_takes.add(uid)
            n_com += len(coms)
            experts |= {c["commentary"][-6:] for c in coms}
    near(n_com, 11_689)
    near(len(com_takes), 3055)
    assert len(experts) == 50
    rel = sum(
        len(read(release, f"annotations/relations_{s}.json")["annotations"]) for s in ("train", "val", "test")
    )
    near(rel, 1653)
    uids = {t["take_uid"] for t in takes}
    orphan_uids = {
        r["take_uid"]
        for s in ("train", "val")
        for n in ("demonstrator", "demonstration")
        for r in read(release, f"annotations/proficiency_{n}_{s}.json")["annotations"]
        if r["take_uid"] not in uids
    }
    near(len(orphan_uids), 258)
    mb = (
        sum(
            (release / f"{n}.json").stat().st_size
            for n in ("takes", "captures", "participants", "physical_setting", "visual_objects", "metadata")
        )
        / 1e6
    )
    assert 46 * 0.7 <= mb <= 46 * 1.3, mb


# ------------------------------------------------------------------------- determinism


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, scale=0.01, seed=5)
    generate(b, scale=0.01, seed=5)
    generate(c, scale=0.01, seed=6)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    assert da["takes.json"] != dc["takes.json"]


def test_only_writes_the_same_files_as_a_full_release(tmp_path, demo_release):
    release, _ = demo_release
    part = tmp_path / "part"
    generate(part, scale=0.02, seed=7, only=["keystep", "proficiency"])
    written = _digest(part)
    full = _digest(release)
    assert written and all(full[k] == v for k, v in written.items())
    assert not (part / "takes.json").exists()


def test_participants_belong_to_the_university_of_their_takes(tmp_path):
    for seed in (0, 3, 7):
        release = tmp_path / f"r{seed}"
        generate(release, scale=0.02, seed=seed, only=["metadata"])
        univ_of = {p["participant_uid"]: p["university_name"] for p in read(release, "participants.json")}
        for t in read(release, "takes.json"):
            if t["participant_uid"] is not None:
                assert univ_of[t["participant_uid"]] == t["university_name"], t["take_name"]
