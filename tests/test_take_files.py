"""`egoexo-sql takes --format files|s3 [--cams ...]` and the plan with --cams.

Expected file lists are computed here from the release's JSON: the manifests
(manifests/<part>/manifest.json) give paths, sizes and sources, takes.json gives each
file's camera (the take's frame_aligned_videos: the relative paths of its videos, the
cam_id and stream_id the feature files are named after), whether a camera is ego (the
capture's camera list) and the take's best_exo. Nothing is read from the catalog.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import shlex
from collections import defaultdict
from pathlib import Path

import pytest

from egoexo_sql import download as dl
from egoexo_sql.catalog import Catalog
from egoexo_sql.cli import main

CAMERA_PARTS = ("takes", "downscaled_takes/448", "features/omnivore_video")


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def takes_cli(catalog: Path, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["takes", "--catalog", str(catalog), *args])
    out, err = capsys.readouterr()
    return (0 if e.value.code is None else e.value.code), out, err


@pytest.fixture(scope="module")
def takes_json(demo_release) -> dict[str, dict]:
    release, _ = demo_release
    return {t["take_uid"]: t for t in _load(release / "takes.json")}


@pytest.fixture(scope="module")
def camera_of(takes_json) -> dict[tuple[str, str], tuple[str, bool | None]]:
    """(take_uid, relative_path) -> (camera, is_ego) for every file of a camera, from takes.json.

    camera is the frame_aligned_videos key: a cam_id, or "collage" for the two composite
    entries (collage, best_exo); is_ego from the capture's camera list (None for composites).
    """
    out = {}
    for uid, t in takes_json.items():
        ego = {c["cam_id"]: c["is_ego"] for c in t["capture"]["cameras"]}
        for key, streams in t["frame_aligned_videos"].items():
            for v in streams.values():
                if v["relative_path"] is None:
                    continue
                cam = "collage" if key in ("collage", "best_exo") else v["cam_id"]
                is_ego = None if cam == "collage" else ego.get(cam)
                base = posixpath.basename(v["relative_path"])
                out[(uid, f"{t['root_dir']}/{v['relative_path']}")] = (cam, is_ego)
                out[(uid, f"{t['root_dir']}/frame_aligned_videos/downscaled/448/{base}")] = (cam, is_ego)
                if cam != "collage":
                    for feat in ("omnivore_video", "maws_clip_2b"):
                        out[(uid, f"features/{feat}/{uid}_{cam}_{v['stream_id']}.pt")] = (cam, is_ego)
    return out


def expected_files(
    release: Path, parts_uids: dict[str, set[str] | None], keep=lambda uid, rel: True
) -> list[tuple]:
    """CSV rows (part, uid, relative_path, size_bytes, source_path) from the manifests' JSON:
    entries of the uids (every entry: None), one row per (source_path, relative_path),
    size-0 files left out, sorted by part and relative_path; ``keep`` filters by camera."""
    seen: dict[tuple, list] = {}
    for part in sorted(parts_uids):
        uids = parts_uids[part]
        for e in _load(release / "manifests" / part / "manifest.json"):
            if uids is not None and e["uid"] not in uids:
                continue
            for p in e["paths"]:
                if not keep(e["uid"], p["relative_path"]):
                    continue
                key = (p["source_path"] or "", p["relative_path"])
                if key not in seen or (part, e["uid"]) < tuple(seen[key][:2]):
                    old_size = seen[key][3] if key in seen else None
                    seen[key] = [part, e["uid"], p["relative_path"], p["size"], p["source_path"]]
                    if old_size is not None and (p["size"] is None or old_size > p["size"]):
                        seen[key][3] = old_size
    rows = [tuple(v) for v in seen.values() if v[3] != 0]
    return sorted(rows, key=lambda r: (r[0], r[2]))


def parse_files(text: str) -> list[tuple]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["part", "uid", "relative_path", "size_bytes", "source_path"]
    return [(r[0], r[1], r[2], int(r[3]) if r[3] else None, r[4] or None) for r in rows[1:]]


def cams_keep(camera_of, takes_json, cams: set[str]):
    def keep(uid: str, rel: str) -> bool:
        if (uid, rel) not in camera_of:
            return True  # a file of no camera
        cam, is_ego = camera_of[(uid, rel)]
        if cam == "collage":
            return "collage" in cams
        return (
            cam in cams
            or ("best_exo" in cams and cam == takes_json[uid]["best_exo"])
            or ("ego" in cams and is_ego is True)
            or ("exo" in cams and is_ego is False)
        )

    return keep


def selected(takes_json, splits, pred) -> list[str]:
    return sorted(u for u, t in takes_json.items() if pred(t, splits.get(u)))


@pytest.fixture(scope="module")
def splits(demo_release) -> dict[str, str]:
    release, _ = demo_release
    return _load(release / "annotations" / "splits.json")["take_uid_to_split"]


# --------------------------------------------------------------------------- the file list


def test_files_without_cams_are_the_manifest_entries_of_the_selection(
    demo_release, demo_catalog, takes_json, splits, capsys
):
    release, _ = demo_release
    sel = set(selected(takes_json, splits, lambda t, s: t["parent_task_name"] == "Cooking"))
    captures = {takes_json[u]["capture_uid"] for u in sel}
    code, out, err = takes_cli(
        demo_catalog,
        capsys,
        "--scenario",
        "Cooking",
        "--format",
        "files",
        "--parts",
        "takes",
        "take_audio",
        "captures",
        "metadata",
    )
    assert code == 0, err
    want = expected_files(release, {"takes": sel, "take_audio": sel, "captures": captures, "metadata": None})
    got = parse_files(out)
    assert got == want
    assert {r[0] for r in got} == {"takes", "take_audio", "captures", "metadata"}
    assert all(r[4].startswith("s3://") and r[3] > 0 for r in got)


@pytest.mark.parametrize(
    "cams",
    [["best_exo"], ["ego"], ["cam01"], ["exo", "collage"], ["gp02", "aria01"]],
    ids=lambda c: "+".join(c),
)
def test_files_with_cams_keep_those_cameras_and_files_of_no_camera(
    demo_release, demo_catalog, takes_json, splits, camera_of, capsys, cams
):
    release, _ = demo_release
    sel = set(selected(takes_json, splits, lambda t, s: s == "train"))
    parts = [*CAMERA_PARTS, "take_trajectory"]
    code, out, err = takes_cli(
        demo_catalog, capsys, "--split", "train", "--format", "files", "--parts", *parts, "--cams", *cams
    )
    assert code == 0, err
    keep = cams_keep(camera_of, takes_json, set(cams))
    want = expected_files(release, dict.fromkeys(parts, sel), keep)
    got = parse_files(out)
    assert got == want
    everything = expected_files(release, dict.fromkeys(parts, sel))
    assert 0 < len(got) < len(everything), "the cameras must keep some files and drop others"
    # files of no camera are all kept: the whole trajectory part
    assert [r for r in got if r[0] == "take_trajectory"] == [
        r for r in everything if r[0] == "take_trajectory"
    ]
    # and each camera part keeps only files of the named cameras
    for part in CAMERA_PARTS:
        rows = [r for r in got if r[0] == part]
        assert rows and all(keep(r[1], r[2]) for r in rows), part
    if cams == ["best_exo"]:
        kept = {camera_of[(r[1], r[2])][0] for r in got if r[0] == "takes"}
        assert kept <= {takes_json[u]["best_exo"] for u in sel}
        assert sum(r[0] == "takes" for r in got) == sum(takes_json[u]["best_exo"] is not None for u in sel)


def test_best_exo_reports_the_takes_without_one(demo_catalog, takes_json, splits, capsys):
    missing = sorted(
        takes_json[u]["take_name"]
        for u in selected(takes_json, splits, lambda t, s: s == "train" and t["best_exo"] is None)
    )
    assert missing, "the demo release has takes without best_exo"
    for fmt in ("files", "s3", "plan"):
        code, out, err = takes_cli(
            demo_catalog, capsys, "--split", "train", "--format", fmt, "--cams", "best_exo"
        )
        assert code == 0
        assert f"note: {len(missing)} of the selected takes have no best_exo camera" in err, (fmt, err)
        assert ", ".join(missing[:3]) in err
    # not a word about it without best_exo among the cameras
    code, out, err = takes_cli(demo_catalog, capsys, "--split", "train", "--format", "files", "--cams", "ego")
    assert code == 0 and "best_exo" not in err


def test_plan_with_cams_counts_the_file_list(demo_release, demo_catalog, cat, takes_json, splits, capsys):
    args = [
        "--split",
        "val",
        "--parts",
        "takes",
        "downscaled_takes/448",
        "captures",
        "--cams",
        "best_exo",
        "ego",
    ]
    code, files_out, _ = takes_cli(demo_catalog, capsys, *args, "--format", "files")
    code2, plan_out, _ = takes_cli(demo_catalog, capsys, *args, "--format", "plan")
    assert code == code2 == 0
    per_part: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for part, _uid, _rel, size, _src in parse_files(files_out):
        per_part[part][0] += 1
        per_part[part][1] += size
    printed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in plan_out.splitlines():
        cells = line.split()
        if cells and not line.startswith(("#", "part", "-")) and cells[0] != "total":
            printed[cells[0]][0] += int(cells[2].replace(",", ""))
            printed[cells[0]][1] += int(cells[3].replace(",", ""))
    assert printed == per_part
    assert "only the files of the cameras best_exo ego" in plan_out
    # fewer than without --cams
    code, full, _ = takes_cli(demo_catalog, capsys, *args[:-3], "--format", "plan")

    def total(text):
        return int(next(x for x in text.splitlines() if x.startswith("total")).split()[2].replace(",", ""))  # noqa: E731

    assert total(plan_out) < total(full)


def test_library_file_list_is_what_the_cli_prints(demo_catalog, cat, capsys):
    uids = cat.takes(scenario="Health")["take_uid"].to_list()
    runs = dl.runs(cat, uids, ["takes", "captures"])
    listed = dl.files(cat, runs, dl.cams_of(cat, ["exo"]))
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--scenario",
        "Health",
        "--format",
        "files",
        "--parts",
        "takes",
        "captures",
        "--cams",
        "exo",
    )
    assert code == 0 and dl.files_csv(listed) == out
    assert listed.bytes == sum(r[3] for r in parse_files(out))


# --------------------------------------------------------------------------- the s3 script


def test_s3_script_copies_each_listed_file_to_its_relative_path(demo_catalog, capsys):
    args = ["--scenario", "Dance", "--parts", "takes", "take_trajectory", "--cams", "best_exo"]
    code, files_out, _ = takes_cli(demo_catalog, capsys, *args, "--format", "files")
    code2, script, _ = takes_cli(
        demo_catalog, capsys, *args, "--format", "s3", "--out-dir", "my data", "--profile", "ego4d"
    )
    assert code == code2 == 0
    listed = parse_files(files_out)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/sh" and "set -e" in lines
    copies = [shlex.split(x) for x in lines if x.startswith("aws ")]
    assert [c[:3] for c in copies] == [["aws", "s3", "cp"]] * len(listed)
    assert [(c[3], c[4]) for c in copies] == [(r[4], f"my data/{r[2]}") for r in listed]
    assert all(c[5:] == ["--profile", "ego4d"] for c in copies)
    # every destination folder is made before the copies
    made = {shlex.split(x)[2] for x in lines if x.startswith("mkdir -p ")}
    assert {posixpath.dirname(c[4]) for c in copies} <= made
    first_copy = next(i for i, x in enumerate(lines) if x.startswith("aws "))
    assert all(i < first_copy for i, x in enumerate(lines) if x.startswith("mkdir "))
    # the header counts them
    assert f"{len(listed):,} files, {sum(r[3] for r in listed):,} bytes" in script
    assert "(cameras: best_exo)" in script and "your own AWS credentials" in script


# --------------------------------------------------------------------------- bad usage


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "files", "--cams", "cam99"], "--cams 'cam99': not a camera of the catalog"),
        (["--format", "files", "--cams", "best-exo"], "did you mean 'best_exo'?"),
        (["--format", "uids", "--cams", "ego"], "--cams is for --format files, s3 or plan"),
        (["--format", "egoexo", "--cams", "ego"], "the egoexo downloader cannot select cameras"),
        (["--format", "files", "--profile", "x"], "--profile is for --format s3"),
    ],
)
def test_bad_camera_options_are_usage_errors(demo_catalog, capsys, args, message):
    code, out, err = takes_cli(demo_catalog, capsys, "--scenario", "Cooking", *args)
    assert code == 2, err
    assert message in err and out == ""


def test_files_without_manifests_says_how_to_get_them(tmp_path):
    from _catalog_fixture import make_catalog

    with Catalog.open(make_catalog(tmp_path / "cat")) as c:
        with pytest.raises(Exception, match="no downloader manifests.*--only manifests"):
            dl.files(c, [dl.Run("take", ["takes"], ["u1"])])


@pytest.fixture(scope="module")
def cat(demo_catalog):
    c = Catalog.open(demo_catalog)
    yield c
    c.close()
