"""The demo at the published volume (docs/demo-volume.md): a small release written with
the published frames per pose file, every take frame in camera-pose files and the
published masks per relations take extrapolates to the published part size; its files
have the real shape, compile to the generator's truth and do not depend on the workers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from egoexo_sql.demo import generate, volume
from egoexo_sql.demo.annotation_files import EMPTY_RELATIONS
from egoexo_sql.demo.world import World

SCALE = 0.005
GROUPS = ["metadata", "splits", "relations", "ego_pose", "atomic", "commentary", "keystep", "proficiency"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "release"
    report = generate(out, scale=SCALE, seed=2, only=GROUPS, pose_frames=None, masks_per_object=None)
    return out, report


def by_family(release: Path) -> dict[str, volume.FamilyVolume]:
    return {r.family: r for r in volume.measure(release)}


def test_pose_files_have_the_published_frames_and_entries(published):
    release, _ = published
    for (kind, source), ps in volume.POSE_SETS.items():
        files = sorted((release / "annotations/ego_pose").glob(f"*/{kind}/{source}/*.json"))
        assert files, (kind, source)
        docs = [json.loads(f.read_bytes()) for f in files]
        frames = sum(len(d) for d in docs)
        entries = sum(len(v) for d in docs for v in d.values())
        views = sum(len(e["annotation2D"]) for d in docs for v in d.values() for e in v)
        want_frames = ps.frames_per_take * volume.share(source)
        assert frames / len(files) == pytest.approx(want_frames, rel=0.15), (kind, source)
        assert entries / frames == pytest.approx(ps.entries_per_frame, rel=0.1), (kind, source)
        assert views / entries == pytest.approx(ps.views_2d / ps.entries, rel=0.15), (kind, source)
        for d in docs:
            for entries_of_frame in d.values():
                for e in entries_of_frame:
                    assert set(e) == {"annotation3D", "annotation2D"}  # no metadata, as in v2


def test_small_release_extrapolates_to_the_published_annotations_part(published):
    """Bytes per unit measured at scale 0.005 times the published units (pose entries,
    relations masks, descriptions, commentaries; camera frames of the scale-1 world)
    land within 25% of the 10.533 GB of part ``annotations``; the automatic files stay
    a small share of it."""
    release, _ = published
    fam = by_family(release)
    world = World(scale=1, seed=2)
    camera_frames = sum(int(t.duration * volume.FPS) for t in world.takes if t.camera_pose)
    total = 0.0
    for r in fam.values():
        if r.part != "annotations":
            continue
        if r.real_estimate is not None:
            total += r.real_estimate
        elif r.family == "camera pose":
            total += r.bytes_per_unit * camera_frames * (1 - volume.CAMERA_GAP)
        else:
            total += r.bytes / SCALE
    assert total == pytest.approx(volume.PART_BYTES["annotations"], rel=0.25)
    automatic = sum(r.bytes for r in fam.values() if r.part == "ego_pose_pseudo_gt") / SCALE
    assert automatic < 0.25 * volume.PART_BYTES["annotations"]
    # relations: the published masks per take, in proportion to the take's duration
    small = World(scale=SCALE, seed=2)
    durations = [t.duration for t in small.takes if t.relations]
    dur = {t.uid: t.duration for t in small.takes}
    want = masks = 0.0
    for f in release.glob("annotations/relations_*.json"):
        for uid, rec in json.loads(f.read_bytes())["annotations"].items():
            if rec["object_masks"]:
                want += volume.relations_masks_per_take() * dur[uid] / (sum(durations) / len(durations))
                masks += sum(len(c["annotation"]) for o in rec["object_masks"].values() for c in o.values())
    assert masks == pytest.approx(want / (1 - EMPTY_RELATIONS), rel=0.1)
    assert fam["relations"].units == masks


def test_published_release_compiles_to_the_truth(published, tmp_path):
    from egoexo_sql.builder import build_catalog

    release, report = published
    cat = tmp_path / "cat"
    build_catalog(release, cat)
    con = duckdb.connect(str(cat / "catalog.duckdb"), read_only=True)
    con.execute(f"SET file_search_path = '{cat}'")
    for table in ("ego_pose_3d", "ego_pose_2d", "ego_pose_takes", "camera_poses", "relations_masks"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == report.truth[table], table


def test_pose_files_do_not_depend_on_the_workers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, workers in ((a, 1), (b, 2)):
        generate(
            out, scale=0.002, seed=4, only=["ego_pose"], pose_frames=None, pose_volume=0.05, workers=workers
        )
    fa = sorted(p.relative_to(a) for p in (a / "annotations").rglob("*.json"))
    assert fa == sorted(p.relative_to(b) for p in (b / "annotations").rglob("*.json"))
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in fa)


def test_pose_volume_multiplies_the_frames_per_file():
    durations = [60.0, 120.0, 300.0]
    one = volume.pose_frame_counts("body", "annotation", durations, 1.0)
    two = volume.pose_frame_counts("body", "annotation", durations, 2.0)
    assert sum(one) == round(volume.POSE_SETS["body", "annotation"].frames_per_take * 3)
    assert sum(two) == pytest.approx(2 * sum(one), abs=2)
    assert one[0] < one[1] < one[2], "apportioned by duration"
