"""`egoexo-sql takes` and `Catalog.takes`: every filter, the --where guard, every format, the plan.

Expected selections are computed here from the release's JSON files (takes.json,
splits.json, the annotation files), not from the catalog; expected plan numbers from
the manifests' JSON, with the downloader's rules written out again below.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from egoexo_sql import download as dl
from egoexo_sql import schema
from egoexo_sql import select as sel
from egoexo_sql.catalog import Catalog
from egoexo_sql.cli import main
from egoexo_sql.errors import QueryError, UsageError

EXE = Path(sys.executable).parent / "egoexo-sql"


# --------------------------------------------------------------------------- ground truth from the JSON


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(demo_release) -> dict[str, dict]:
    """take_uid -> the facts the filters look at, read straight from the release JSON."""
    release, _ = demo_release
    ann = release / "annotations"
    splits = _load(ann / "splits.json")
    out: dict[str, dict] = {}
    for t in _load(release / "takes.json"):
        uid = t["take_uid"]
        out[uid] = {
            "scenario": t["parent_task_name"],
            "task_name": t["task_name"],
            "task_id": t["task_id"],
            "university": t["university_name"],
            "university_id": t["university_id"],
            "duration": t["duration_sec"],
            "narrated": t["is_narrated"],
            "capture_uid": t["capture_uid"],
            "split": splits["take_uid_to_split"].get(uid),
            "benchmarks": set(splits["take_uid_to_benchmark"].get(uid) or []),
            "keystep": False,
            "atomic": False,
            "commentary": False,
            "proficiency": False,
            "proficiency_score": None,
        }
    for f in sorted(ann.glob("keystep_*.json")):
        for uid, a in _load(f)["annotations"].items():
            if uid in out and a.get("segments"):
                out[uid]["keystep"] = True
    for f in sorted(ann.glob("atomic_descriptions_*.json")):
        for uid, anns in _load(f)["annotations"].items():
            if uid in out and any(a.get("rejected") is not True and a.get("descriptions") for a in anns):
                out[uid]["atomic"] = True
    for f in sorted(ann.glob("expert_commentary_*.json")):
        for uid, comms in _load(f)["annotations"].items():
            if uid in out and any(c.get("commentary_data") for c in comms):
                out[uid]["commentary"] = True
    for f in sorted(ann.glob("proficiency_demonstrator_*.json")):
        for rec in _load(f)["annotations"]:
            if rec["take_uid"] in out:
                out[rec["take_uid"]]["proficiency"] = True
                out[rec["take_uid"]]["proficiency_score"] = rec["proficiency_score"]
    for f in sorted(ann.glob("proficiency_demonstration_*.json")):
        for rec in _load(f)["annotations"]:
            if rec["take_uid"] in out:
                out[rec["take_uid"]]["proficiency"] = True
    return out


@pytest.fixture(scope="module")
def cat(demo_catalog):
    c = Catalog.open(demo_catalog)
    yield c
    c.close()


def takes_cli(catalog: Path, capsys, *args: str) -> tuple[int, str, str]:
    """Run ``egoexo-sql takes ...`` in-process through the real entry point (pre-parser included)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["takes", "--catalog", str(catalog), *args])
    out, err = capsys.readouterr()
    code = e.value.code
    return (0 if code is None else code), out, err


def uids_of(truth: dict, pred) -> list[str]:
    return sorted(u for u, t in truth.items() if pred(t))


# --------------------------------------------------------------------------- every filter


def _a_task(truth):
    counts = defaultdict(int)
    for t in truth.values():
        counts[(t["task_id"], t["task_name"])] += 1
    return max(sorted(counts, key=str), key=lambda k: counts[k])


def _median_duration(truth):
    return sorted(t["duration"] for t in truth.values())[len(truth) // 2]


FILTERS = [
    # id, CLI args, Python kwargs, predicate on the truth record (some built from the truth)
    ("scenario", ["--scenario", "cooking"], {"scenario": "Cooking"}, lambda t, x: t["scenario"] == "Cooking"),
    (
        "scenario-any-of",
        ["--scenario", "Cooking", "--scenario", "bike repair"],
        {"scenario": ["Cooking", "Bike Repair"]},
        lambda t, x: t["scenario"] in ("Cooking", "Bike Repair"),
    ),
    (
        "task-name",
        lambda x: ["--task", x["task"][1].upper()],
        lambda x: {"task": x["task"][1]},
        lambda t, x: t["task_name"] == x["task"][1],
    ),
    (
        "task-id",
        lambda x: ["--task", str(x["task"][0])],
        lambda x: {"task": [x["task"][0]]},
        lambda t, x: t["task_id"] == x["task"][0],
    ),
    (
        "university",
        ["--university", "IIITH"],
        {"university": "iiith"},
        lambda t, x: t["university"] == "iiith",
    ),
    (
        "university-id",
        ["--university", "ego4d-university-sa"],
        {"university": ["ego4d-university-sa"]},
        lambda t, x: t["university_id"] == "ego4d-university-sa",
    ),
    ("split", ["--split", "val"], {"split": "val"}, lambda t, x: t["split"] == "val"),
    (
        "split-any-of",
        ["--split", "val", "--split", "test"],
        {"split": ["val", "test"]},
        lambda t, x: t["split"] in ("val", "test"),
    ),
    (
        "benchmark",
        ["--benchmark", "relations"],
        {"benchmark": "relations"},
        lambda t, x: "relations" in t["benchmarks"],
    ),
    (
        "benchmark-any-of",
        ["--benchmark", "keystep", "--benchmark", "translation"],
        {"benchmark": ["keystep", "translation"]},
        lambda t, x: bool({"keystep", "translation"} & t["benchmarks"]),
    ),
    (
        "proficiency",
        ["--proficiency", "late_expert"],
        {"proficiency": "Late Expert"},
        lambda t, x: t["proficiency_score"] == "Late Expert",
    ),
    (
        "proficiency-any-of",
        ["--proficiency", "Novice", "--proficiency", "early expert"],
        {"proficiency": ["novice", "Early-Expert"]},
        lambda t, x: t["proficiency_score"] in ("Novice", "Early Expert"),
    ),
    ("has-keystep", ["--has", "keystep"], {"has": "keystep"}, lambda t, x: t["keystep"]),
    ("has-atomic", ["--has", "atomic"], {"has": ["atomic"]}, lambda t, x: t["atomic"]),
    ("has-commentary", ["--has", "commentary"], {"has": ["commentary"]}, lambda t, x: t["commentary"]),
    ("has-proficiency", ["--has", "proficiency"], {"has": ["proficiency"]}, lambda t, x: t["proficiency"]),
    (
        "has-all-of",
        ["--has", "keystep", "commentary"],
        {"has": ["keystep", "commentary"]},
        lambda t, x: t["keystep"] and t["commentary"],
    ),
    ("narrated", ["--narrated"], {"narrated": True}, lambda t, x: t["narrated"] is True),
    ("not-narrated", ["--not-narrated"], {"narrated": False}, lambda t, x: t["narrated"] is False),
    (
        "min-duration-inclusive",
        lambda x: ["--min-duration", repr(x["median"])],
        lambda x: {"min_duration": x["median"]},
        lambda t, x: t["duration"] >= x["median"],
    ),
    (
        "max-duration-inclusive",
        lambda x: ["--max-duration", repr(x["median"])],
        lambda x: {"max_duration": x["median"]},
        lambda t, x: t["duration"] <= x["median"],
    ),
    (
        "duration-range",
        ["--min-duration", "60", "--max-duration", "300"],
        {"min_duration": 60, "max_duration": 300},
        lambda t, x: 60 <= t["duration"] <= 300,
    ),
    (
        "where",
        ["--where", "duration_sec > 120 AND split = 'train' AND NOT is_narrated"],
        {"where": "duration_sec > 120 AND split = 'train' AND NOT is_narrated"},
        lambda t, x: t["duration"] > 120 and t["split"] == "train" and t["narrated"] is False,
    ),
    (
        "where-lists-and-lambdas",
        ["--where", "len(list_filter(benchmarks, lambda b: b LIKE 'ego%')) > 0"],
        {"where": "len(list_filter(benchmarks, lambda b: b LIKE 'ego%')) > 0"},
        lambda t, x: any(b.startswith("ego") for b in t["benchmarks"]),
    ),
    (
        "everything-and",
        [
            "--split",
            "train",
            "--has",
            "atomic",
            "--not-narrated",
            "--min-duration",
            "30",
            "--where",
            "university <> 'minnesota'",
        ],
        {
            "split": "train",
            "has": "atomic",
            "narrated": False,
            "min_duration": 30,
            "where": "university <> 'minnesota'",
        },
        lambda t, x: (
            t["split"] == "train"
            and t["atomic"]
            and t["narrated"] is False
            and t["duration"] >= 30
            and t["university"] != "minnesota"
        ),
    ),
]


@pytest.mark.parametrize("args, kwargs, pred", [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_every_filter_selects_what_the_json_says(demo_catalog, cat, truth, capsys, args, kwargs, pred):
    extra = {"task": _a_task(truth), "median": _median_duration(truth)}
    args = args(extra) if callable(args) else args
    kwargs = kwargs(extra) if callable(kwargs) else kwargs
    expected = uids_of(truth, lambda t: pred(t, extra))
    assert 0 < len(expected) < len(truth), "the case must select some takes but not all"

    code, out, err = takes_cli(demo_catalog, capsys, *args)
    assert code == 0, err
    assert out.splitlines() == expected

    df = cat.takes(**kwargs)
    assert df["take_uid"].to_list() == expected
    assert df.columns == schema.get("take_summary").column_names


def test_no_filter_selects_every_take_in_uid_order(demo_catalog, cat, truth, capsys):
    code, out, _ = takes_cli(demo_catalog, capsys)
    assert code == 0 and out.splitlines() == sorted(truth)
    assert cat.takes().height == len(truth)


@pytest.mark.parametrize("kind", sel.HAS_KINDS)
def test_has_uses_the_has_column_or_says_it_is_missing(demo_catalog, cat, capsys, kind):
    column = f"has_{kind}"
    code, out, err = takes_cli(demo_catalog, capsys, "--has", kind)
    if column in schema.get("take_summary").column_names:
        expected = [
            r[0]
            for r in cat.connection.execute(
                f"SELECT take_uid FROM take_summary WHERE {column} ORDER BY take_uid"
            ).fetchall()
        ]
        assert code == 0 and out.splitlines() == expected
    else:
        assert code == 2 and column in err and "not compiled" in err


def test_sandboxed_catalog_gives_the_same_selection(demo_catalog, cat):
    with Catalog.open(demo_catalog, sandbox=True) as boxed:
        a = boxed.takes(scenario="Cooking", where="duration_sec > 30")["take_uid"].to_list()
    assert a == cat.takes(scenario="Cooking", where="duration_sec > 30")["take_uid"].to_list()


def test_empty_selection_says_so(demo_catalog, capsys):
    code, out, err = takes_cli(demo_catalog, capsys, "--min-duration", "1e9")
    assert code == 0 and out == "" and "no takes match" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--scenario", "Cookng"],
            "--scenario 'Cookng': not in the catalog (did you mean 'Cooking'?); known: Basketball",
        ),
        (["--university", "mit"], "--university 'mit': not in the catalog"),
        (["--split", "dev"], "--split 'dev': not in the catalog; known: test, train, val"),
        (["--benchmark", "atomic_descriptions"], "did you mean 'atomic_action_descriptions'?"),
        (["--proficiency", "expert"], "--proficiency 'expert': not in the catalog"),
        (["--task", "Make Tea"], "--task 'Make Tea': not in the catalog"),
        (["--task", "99999"], "--task '99999': not in the catalog"),
        (["--has", "masks"], "--has 'masks'"),
        (["--min-duration", "100", "--max-duration", "10"], "nothing can match"),
        (["--min-duration", "-5"], "--min-duration: expected a number of seconds >= 0"),
        (["--format", "csv", "--parts", "takes"], "--parts is for --format egoexo, plan, files or s3"),
        (
            ["--format", "egoexo", "--parts", "take_videos"],
            "--parts take_videos: not a part of the egoexo downloader",
        ),
        (["--where", ""], "--where is empty"),
    ],
)
def test_bad_values_are_usage_errors_that_list_what_is_known(demo_catalog, capsys, args, message):
    code, out, err = takes_cli(demo_catalog, capsys, *args)
    assert code == 2, err
    assert message in err and out == ""


def test_python_filters_reject_unknown_keywords_and_bad_values(cat):
    with pytest.raises(UsageError, match="unknown take filter scenarios"):
        cat.takes(scenarios="Cooking")
    with pytest.raises(UsageError, match="--scenario 'Cookng'"):
        cat.takes(scenario="Cookng")
    with pytest.raises(UsageError, match="narrated: expected True, False or None"):
        cat.takes(narrated="no")
    with pytest.raises(UsageError, match="--min-duration: expected seconds"):
        cat.takes(min_duration="long")


# --------------------------------------------------------------------------- the --where guard


@pytest.mark.parametrize(
    "expr, message",
    [
        (
            "duration_sec > 60 AND scenerio = 'Cooking'",
            "unknown column 'scenerio' at line 1, column 23 of --where: take_summary has no such column; did you mean scenario",
        ),
        ("is_narrated\n  AND n_keysteps > 3", "unknown column 'n_keysteps' at line 2, column 7 of --where"),
        ("take_summary.durration > 1", "unknown column 'durration' at line 1, column 14"),
        ("true; DROP VIEW takes", "refused a second statement at line 1, column 7"),
        ("is_narrated;", "refused ';' at line 1, column 12"),
        ("take_uid IN (SELECT take_uid FROM keystep_segments)", "refused a subquery at line 1, column 14"),
        ("EXISTS (FROM takes)", "refused a subquery at line 1, column 9"),
        ("take_uid IN (SELECT * FROM read_csv('/etc/passwd'))", "refused a subquery at line 1, column 14"),
        ("read_text('/etc/passwd') IS NOT NULL", "refused read_text() at line 1, column 1: it reads files"),
        ("length(query('SELECT 1')) > 0", "refused query() at line 1, column 8"),
        ("is_narrated OR\nread_parquet('x.parquet') IS NULL", "refused read_parquet() at line 2, column 1"),
        ("len(glob('/etc/*')) > 0", "refused glob() at line 1, column 5"),
        ("t.duration_sec > 1", "refused the table qualifier 't' at line 1, column 1"),
        ("scenario = ?", "refused a query parameter at line 1, column 12"),
        ("duration_sec", "refused an expression of type DOUBLE at line 1, column 1"),
        ("scenario || 'x'", "refused an expression of type"),
        (
            "duration_sec > 1 GROUP BY 1",
            "syntax error in --where at line 1, column 18: unexpected 'GROUP BY'",
        ),
        ("true) OR (1 = 1", "syntax error in --where at line 1, column 5: unexpected ')'"),
        ("duration_sec >", "syntax error in --where at line 1, column 14"),
    ],
)
def test_where_guard_refuses_with_what_and_where(demo_catalog, cat, capsys, expr, message):
    code, out, err = takes_cli(demo_catalog, capsys, "--where", expr)
    assert code == 1, err
    assert message in err, err
    assert out == ""
    with pytest.raises(QueryError) as e:
        cat.takes(where=expr)
    assert message in str(e.value)


def test_where_is_checked_against_the_schema_before_the_catalog_is_opened(tmp_path, capsys):
    # no catalog at all: the --where error still comes first
    code, _, err = takes_cli(tmp_path / "nowhere", capsys, "--where", "nope > 1")
    assert code == 1 and "unknown column 'nope'" in err


def test_where_comment_cannot_swallow_the_rest_of_the_query(demo_catalog, cat, truth, capsys):
    code, out, _ = takes_cli(
        demo_catalog, capsys, "--scenario", "Cooking", "--where", "is_narrated OR true -- )"
    )
    assert code == 0 and out.splitlines() == uids_of(truth, lambda t: t["scenario"] == "Cooking")


# --------------------------------------------------------------------------- formats


def test_csv_has_every_take_summary_column(demo_catalog, truth, capsys):
    code, out, _ = takes_cli(demo_catalog, capsys, "--scenario", "Dance", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == schema.get("take_summary").column_names
    assert [r["take_uid"] for r in rows] == uids_of(truth, lambda t: t["scenario"] == "Dance")
    assert {r["scenario"] for r in rows} == {"Dance"}
    assert all(json.loads(r["benchmarks"]) == sorted(truth[r["take_uid"]]["benchmarks"]) for r in rows)


def test_json_is_a_list_of_take_summary_objects(demo_catalog, truth, capsys, tmp_path):
    target = tmp_path / "sel.json"
    code, out, err = takes_cli(
        demo_catalog, capsys, "--has", "keystep", "--format", "json", "--output", str(target)
    )
    assert code == 0 and out == "" and "wrote" in err
    doc = json.loads(target.read_text())
    assert [d["take_uid"] for d in doc] == uids_of(truth, lambda t: t["keystep"])
    assert all(list(d) == schema.get("take_summary").column_names for d in doc)
    assert all(d["has_keystep"] is True and d["n_keystep_segments"] > 0 for d in doc)
    assert all(d["duration_sec"] == truth[d["take_uid"]]["duration"] for d in doc)


def test_uids_to_a_file(demo_catalog, truth, capsys, tmp_path):
    target = tmp_path / "uids.txt"
    code, out, _ = takes_cli(demo_catalog, capsys, "--split", "test", "--output", str(target))
    assert code == 0 and out == ""
    assert target.read_text().splitlines() == uids_of(truth, lambda t: t["split"] == "test")


def _commands(text: str) -> list[list[str]]:
    return [shlex.split(line) for line in text.splitlines() if line and not line.startswith("#")]


def _uids_arg(argv: list[str]) -> list[str]:
    return argv[argv.index("--uids") + 1 :] if "--uids" in argv else []


def _parts_arg(argv: list[str]) -> list[str]:
    i = argv.index("--parts") + 1
    out = []
    while i < len(argv) and not argv[i].startswith("-"):
        out.append(argv[i])
        i += 1
    return out


def test_egoexo_format_prints_runnable_commands_and_the_note(demo_catalog, truth, capsys):
    code, out, _ = takes_cli(demo_catalog, capsys, "--scenario", "Cooking", "--format", "egoexo")
    assert code == 0
    expected = uids_of(truth, lambda t: t["scenario"] == "Cooking")
    cmds = _commands(out)
    assert len(cmds) == 1
    assert cmds[0][:6] == ["egoexo", "-o", "egoexo_download", "--parts", "takes", "--uids"]
    assert _uids_arg(cmds[0]) == expected
    # the note, with the command for metadata and annotations commented out
    assert "skips the metadata and annotation files" in out
    assert "#   egoexo -o egoexo_download --parts metadata annotations\n" in out


def test_egoexo_capture_and_commentary_parts_get_their_own_uids(demo_release, demo_catalog, truth, capsys):
    release, _ = demo_release
    pick = lambda t: t["scenario"] in ("Basketball", "Health")  # noqa: E731
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--scenario",
        "Basketball",
        "--scenario",
        "Health",
        "--format",
        "egoexo",
        "--parts",
        "takes",
        "captures",
        "capture_trajectory",
        "expert_commentary",
        "metadata",
        "annotations",
        "--out-dir",
        "my data",
    )
    assert code == 0
    by_parts = {tuple(_parts_arg(c)): c for c in _commands(out)}
    assert set(by_parts) == {
        ("takes",),
        ("captures", "capture_trajectory"),
        ("expert_commentary",),
        ("metadata", "annotations"),
    }
    assert all(c[:3] == ["egoexo", "-o", "my data"] for c in by_parts.values())
    assert _uids_arg(by_parts[("takes",)]) == uids_of(truth, pick)
    assert _uids_arg(by_parts[("captures", "capture_trajectory")]) == sorted(
        {t["capture_uid"] for t in truth.values() if pick(t)}
    )
    # commentary uids: exactly the manifest uids of the selected takes
    manifest = _load(release / "manifests" / "expert_commentary" / "manifest.json")
    selected = set(uids_of(truth, pick))
    assert _uids_arg(by_parts[("expert_commentary",)]) == sorted(
        {e["uid"] for e in manifest if e["uid"].split("_")[0] in selected}
    )
    # metadata and annotations: asked for, so a real command, without --uids
    assert "--uids" not in by_parts[("metadata", "annotations")]
    assert "#   egoexo" not in out


def test_egoexo_all_and_default_expand_like_the_downloader(demo_catalog, capsys):
    code, out, _ = takes_cli(
        demo_catalog, capsys, "--split", "val", "--format", "egoexo", "--parts", "default"
    )
    parts = sorted(p for c in _commands(out) for p in _parts_arg(c))
    assert code == 0 and parts == sorted(dl.DEFAULT_PARTS)
    code, out, _ = takes_cli(demo_catalog, capsys, "--split", "val", "--format", "egoexo", "--parts", "all")
    parts = sorted(p for c in _commands(out) for p in _parts_arg(c))
    assert code == 0 and parts == sorted(dl.ALL_PARTS)


@pytest.mark.parametrize("limit", [200, 1000, 4000])
def test_long_uid_lists_are_split_into_commands_under_the_limit(demo_catalog, truth, capsys, limit):
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--format",
        "egoexo",
        "--parts",
        "takes",
        "captures",
        "--max-command-chars",
        str(limit),
    )
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("egoexo ")]
    assert all(len(line) <= limit for line in lines)
    takes_cmds = [c for c in _commands(out) if _parts_arg(c) == ["takes"]]
    capture_cmds = [c for c in _commands(out) if _parts_arg(c) == ["captures"]]
    # greedy packing: every command but the last is full (one more uid would cross the limit)
    for line in [x for x in lines if " --parts takes " in x][:-1]:
        assert len(line) + 1 + 36 > limit
    assert sum((_uids_arg(c) for c in takes_cmds), []) == sorted(truth)
    assert sum((_uids_arg(c) for c in capture_cmds), []) == sorted({t["capture_uid"] for t in truth.values()})
    if limit < 1000:
        assert f"in {len(takes_cmds)} commands" in out


def test_empty_selection_prints_no_command(demo_catalog, capsys):
    code, out, err = takes_cli(
        demo_catalog, capsys, "--min-duration", "1e9", "--format", "egoexo", "--parts", "takes", "metadata"
    )
    assert code == 0 and "no takes match" in err
    assert [_parts_arg(c) for c in _commands(out)] == [["metadata"]]


def test_command_lines_unit():
    run = dl.Run("take", ["takes"], [f"uid{i:03d}" for i in range(10)])
    lines = dl.command_lines(run, "d", max_chars=60)
    assert all(len(x) <= 60 for x in lines) and len(lines) > 1
    assert sum((_uids_arg(shlex.split(x)) for x in lines), []) == run.uids
    assert dl.command_lines(dl.Run("take", ["takes"], []), "d") == []
    with pytest.raises(UsageError, match="too small"):
        dl.command_lines(run, "d", max_chars=20)


# --------------------------------------------------------------------------- plan


def expected_plan(release: Path, parts_uids: dict[str, set[str] | None]) -> dict:
    """(part, view) -> [files, bytes, unknown, zero], and the total, from the manifests' JSON.

    The downloader's rules, restated: keep entries whose uid is in --uids (all without
    --uids), collect their paths, one file per (source_path, relative_path), download
    those with a size above 0 (NULL: sized from S3, counted as a file of unknown bytes).
    """
    seen: dict[tuple, tuple] = {}
    for part in sorted(parts_uids):
        uids = parts_uids[part]
        for e in _load(release / "manifests" / part / "manifest.json"):
            if uids is not None and e["uid"] not in uids:
                continue
            for p in e["paths"]:
                key = (p["source_path"] or "", p["relative_path"])
                view = "+".join(sorted(p["views"])) if p["views"] is not None else "-"
                if key in seen:
                    old = seen[key]
                    size = max((s for s in (old[2], p["size"]) if s is not None), default=None)
                    seen[key] = (old[0], old[1], size)
                else:
                    seen[key] = (part, view, p["size"])
    out: dict = defaultdict(lambda: [0, 0, 0, 0])
    for part, view, size in seen.values():
        for k in ((part, view), "total"):
            row = out[k]
            if size is None:
                row[0] += 1
                row[2] += 1
            elif size > 0:
                row[0] += 1
                row[1] += size
            else:
                row[3] += 1
    return dict(out)


def test_plan_equals_sums_over_the_manifest_json(demo_release, demo_catalog, cat, truth, capsys):
    release, _ = demo_release
    pick = lambda t: t["split"] == "train" and (t["keystep"] or t["atomic"])  # noqa: E731
    selected = set(uids_of(truth, pick))
    captures = {t["capture_uid"] for t in truth.values() if pick(t)}
    parts = [
        "takes",
        "downscaled_takes/448",
        "take_trajectory",
        "features/omnivore_video",
        "ego_pose_pseudo_gt",
        "captures",
        "capture_point_cloud",
        "expert_commentary",
        "metadata",
        "annotations",
    ]
    commentary = {
        e["uid"]
        for e in _load(release / "manifests/expert_commentary/manifest.json")
        if e["uid"].split("_")[0] in selected
    }
    want = {p: selected for p in parts if p in dl.TAKE_PARTS}
    want.update({p: captures for p in parts if p in dl.CAPTURE_PARTS})
    want.update({"expert_commentary": commentary, "metadata": None, "annotations": None})
    expected = expected_plan(release, want)

    p = dl.plan(cat, dl.runs(cat, sorted(selected), parts))
    got = {
        (r.part, r.view) if r.part else "total": [r.files, r.bytes, r.unknown_size_files, r.zero_size_files]
        for r in p.rows
    }
    assert got == expected
    assert p.missing_parts == []
    assert {r.part for r in p.rows if r.part} == set(parts)
    assert {r.view for r in p.rows if r.part == "takes"} == {"ego", "exo", "-"}

    # and the CLI prints the same numbers
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--split",
        "train",
        "--where",
        "has_keystep OR has_atomic",
        "--format",
        "plan",
        "--parts",
        *parts,
    )
    assert code == 0
    printed = {}
    for line in out.splitlines():
        cells = line.split()
        if not cells or line.startswith(("#", "part", "-")):
            continue
        if cells[0] == "total":
            printed["total"] = [int(cells[1].replace(",", "")), int(cells[2].replace(",", ""))]
        else:
            printed[(cells[0], cells[1])] = [int(cells[2].replace(",", "")), int(cells[3].replace(",", ""))]
    assert printed == {k: v[:2] for k, v in expected.items()}
    assert "metadata and annotations are counted whole" in out


def test_plan_counts_duplicates_once_and_skips_size_zero(tmp_path):
    """The downloader's dedup (PathSpecification equality on source+relative path) and size rules."""
    import duckdb

    from egoexo_sql.catalog import Catalog as C

    catdir = tmp_path / "cat"
    (catdir / "data").mkdir(parents=True)
    con = duckdb.connect(str(catdir / "catalog.duckdb"))
    con.execute("""CREATE VIEW manifest_files AS SELECT * FROM (VALUES
        ('takes', 'u1', 's3://b/a.mp4', 'takes/x/a.mp4', 10, ['ego'], NULL),
        ('takes', 'u2', 's3://b/a.mp4', 'takes/x/a.mp4', 10, ['ego'], NULL),   -- same file, other entry
        ('takes', 'u1', 's3://b/b.mp4', 'takes/x/b.mp4', 0, ['exo'], NULL),    -- size 0: skipped
        ('takes', 'u1', 's3://b/c.mp4', 'takes/x/c.mp4', NULL, NULL, NULL),    -- no size: asked from S3
        ('takes', 'u3', 's3://b/d.mp4', 'takes/y/d.mp4', 7, ['exo'], NULL)     -- not selected
        ) t(part, uid, source_path, relative_path, size_bytes, views, camera)""")
    # the file list also reads the takes' best_exo and cameras (for --cams)
    con.execute("CREATE VIEW takes AS SELECT 'u1' AS take_uid, NULL::VARCHAR AS best_exo, 'x' AS take_name")
    con.execute("CREATE VIEW take_videos AS SELECT 'u1' AS take_uid, 'cam01' AS cam_id, false AS is_ego")
    con.close()
    with C.open(catdir) as c:
        p = dl.plan(c, [dl.Run("take", ["takes"], ["u1", "u2"])])
    rows = {
        (r.part, r.view): (r.files, r.bytes, r.unknown_size_files, r.zero_size_files, r.uids) for r in p.rows
    }
    assert rows == {
        ("takes", "-"): (1, 0, 1, 0, 2),
        ("takes", "ego"): (1, 10, 0, 0, 2),
        ("takes", "exo"): (0, 0, 0, 1, 2),
        (None, None): (2, 10, 1, 1, None),
    }
    text = dl.plan_text(p, 2)
    assert "1 of the files have no size" in text and "1 files of size 0 are skipped" in text


def test_plan_without_manifests_says_how_to_get_them(tmp_path):
    from _catalog_fixture import make_catalog

    with Catalog.open(make_catalog(tmp_path / "cat")) as c:
        with pytest.raises(UsageError, match="no downloader manifests.*--only manifests"):
            dl.plan(c, [dl.Run("take", ["takes"], ["u1"])])


# --------------------------------------------------------------------------- the real entry point


def test_takes_cli_does_not_import_polars_or_pandas(demo_catalog):
    probe = (
        "import sys\nfrom egoexo_sql.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('polars', 'pandas', 'great_expectations', 'pyarrow') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    for fmt in ("uids", "egoexo", "plan", "csv", "files", "s3"):
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                probe,
                "takes",
                "--catalog",
                str(demo_catalog),
                "--has",
                "keystep",
                "--where",
                "duration_sec > 10",
                "--format",
                fmt,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, (fmt, res.stderr)


def test_console_script_and_help(demo_catalog):
    res = subprocess.run(
        [str(EXE), "takes", "--catalog", str(demo_catalog), "--scenario", "Cooking", "--format", "egoexo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert res.returncode == 0 and res.stdout.count("\negoexo -o egoexo_download --parts takes --uids ") == 1
    res = subprocess.run([str(EXE), "takes", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    for opt in (
        "--scenario",
        "--task",
        "--university",
        "--split",
        "--benchmark",
        "--proficiency",
        "--has",
        "--narrated",
        "--not-narrated",
        "--min-duration",
        "--max-duration",
        "--text",
        "--where",
        "--format",
        "--parts",
        "--out-dir",
        "--output",
    ):
        assert opt in res.stdout, opt


def test_commentary_uids_come_from_the_catalog_when_there_is_no_manifest(tmp_path):
    import duckdb

    catdir = tmp_path / "cat"
    (catdir / "data").mkdir(parents=True)
    con = duckdb.connect(str(catdir / "catalog.duckdb"))
    con.execute(
        "CREATE VIEW take_summary AS SELECT * FROM (VALUES ('t1', 'c1'), ('t2', 'c1'), ('t3', 'c2')) "
        "v(take_uid, capture_uid)"
    )
    con.execute(
        "CREATE VIEW expert_commentary AS SELECT * FROM (VALUES ('t1', 'abcdef', 1), ('t1', 'abcdef', 2), "
        "('t1', 'ghijkl', 1), ('t3', 'mnopqr', 1)) v(take_uid, expert_uid, recording_idx)"
    )
    con.close()
    with Catalog.open(catdir) as c:
        runs = dl.runs(c, ["t1", "t2"], ["takes", "captures", "expert_commentary", "annotations"])
    assert [(r.kind, r.parts, r.uids) for r in runs] == [
        ("take", ["takes"], ["t1", "t2"]),
        ("capture", ["captures"], ["c1"]),
        ("commentary", ["expert_commentary"], ["t1_abcdef", "t1_ghijkl"]),
        ("whole", ["annotations"], None),
    ]
