"""`egoexo-sql takes --sample N [--per COLUMN ...] [--seed S]` and `Catalog.takes(sample=...)`.

The expected samples are drawn here from the release's JSON with the documented rule
(within each group, the takes with the smallest md5("<seed>:<take_uid>")), not read from
the catalog. Row-order independence: a second catalog is built from a copy of the
release whose takes.json lists the takes in reverse order.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict

import pytest
from test_take_files import _load, takes_cli  # noqa: E402 - the same helpers

from egoexo_sql import select as sel
from egoexo_sql.catalog import Catalog
from egoexo_sql.errors import UsageError


@pytest.fixture(scope="module")
def facts(demo_release) -> dict[str, dict]:
    """take_uid -> scenario, split, university, from takes.json and splits.json."""
    release, _ = demo_release
    splits = _load(release / "annotations" / "splits.json")["take_uid_to_split"]
    return {
        t["take_uid"]: {
            "scenario": t["parent_task_name"],
            "split": splits.get(t["take_uid"]),
            "university": t["university_name"],
        }
        for t in _load(release / "takes.json")
    }


def draw(facts: dict, n: int, per: list[str], seed: int = 0, keep=lambda f: True) -> list[str]:
    groups: dict[tuple, list[str]] = defaultdict(list)
    for uid, f in facts.items():
        if keep(f):
            groups[tuple(f[c] for c in per)].append(uid)
    out = []
    for uids in groups.values():
        out += sorted(uids, key=lambda u: (hashlib.md5(f"{seed}:{u}".encode()).hexdigest(), u))[:n]
    return sorted(out)


@pytest.fixture(scope="module")
def cat(demo_catalog):
    c = Catalog.open(demo_catalog)
    yield c
    c.close()


def test_sample_per_group_draws_n_from_each_group(demo_catalog, cat, facts, capsys):
    code, out, err = takes_cli(demo_catalog, capsys, "--sample", "2", "--per", "scenario", "split")
    assert code == 0, err
    got = out.split()
    assert got == draw(facts, 2, ["scenario", "split"])
    sizes: dict[tuple, int] = defaultdict(int)
    for f in facts.values():
        sizes[(f["scenario"], f["split"])] += 1
    picked: dict[tuple, int] = defaultdict(int)
    for u in got:
        picked[(facts[u]["scenario"], facts[u]["split"])] += 1
    # every group gets min(N, its size): small groups keep all their takes
    assert picked == {g: min(2, s) for g, s in sizes.items()}
    assert any(s < 2 for s in sizes.values()) and any(s > 2 for s in sizes.values())
    # the Python API draws the same takes
    assert cat.takes(sample=2, per=["scenario", "split"])["take_uid"].to_list() == got


def test_sample_applies_after_the_filters_and_without_per_draws_n_in_all(demo_catalog, cat, facts, capsys):
    code, out, _ = takes_cli(
        demo_catalog, capsys, "--scenario", "Cooking", "--sample", "3", "--per", "university", "--seed", "11"
    )
    assert code == 0
    assert out.split() == draw(facts, 3, ["university"], 11, keep=lambda f: f["scenario"] == "Cooking")
    code, out, _ = takes_cli(demo_catalog, capsys, "--split", "train", "--sample", "5", "--seed", "4")
    assert code == 0
    assert out.split() == draw(facts, 5, [], 4, keep=lambda f: f["split"] == "train")
    assert len(out.split()) == 5


def test_another_seed_draws_another_sample_of_the_same_sizes(cat, facts):
    a = cat.takes(sample=2, per="scenario", seed=1)["take_uid"].to_list()
    b = cat.takes(sample=2, per="scenario", seed=2)["take_uid"].to_list()
    assert a != b
    count = lambda uids: sorted(facts[u]["scenario"] for u in uids)  # noqa: E731
    assert count(a) == count(b)
    assert b == draw(facts, 2, ["scenario"], 2)
    # no seed is seed 0, and the same seed gives the same takes again
    assert (
        cat.takes(sample=2, per="scenario")["take_uid"].to_list()
        == cat.takes(sample=2, per="scenario", seed=0)["take_uid"].to_list()
        == draw(facts, 2, ["scenario"], 0)
    )


def test_the_sample_does_not_depend_on_the_row_order(demo_release, demo_catalog, tmp_path, capsys):
    from egoexo_sql.builder import build_catalog

    release, _ = demo_release
    copy = tmp_path / "release"
    shutil.copytree(
        release, copy, ignore=shutil.ignore_patterns("ego_pose", "manifests", "expert_commentary")
    )
    takes = _load(copy / "takes.json")
    (copy / "takes.json").write_text(json.dumps(takes[::-1]), encoding="utf-8")
    other = tmp_path / "catalog"
    build_catalog(copy, other, only=["metadata", "splits", "keystep", "proficiency", "atomic", "commentary"])
    args = ["--sample", "1", "--per", "scenario", "split", "--seed", "7"]
    code, first, _ = takes_cli(demo_catalog, capsys, *args)
    code2, second, _ = takes_cli(other, capsys, *args)
    assert code == code2 == 0
    assert first == second and first


def test_sample_goes_through_every_format(demo_catalog, cat, capsys):
    want = cat.takes(scenario="Health", sample=1, per="split", seed=3)["take_uid"].to_list()
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--scenario",
        "Health",
        "--sample",
        "1",
        "--per",
        "split",
        "--seed",
        "3",
        "--format",
        "egoexo",
    )
    assert code == 0
    cmd = next(x for x in out.splitlines() if x.startswith("egoexo "))
    assert cmd.split("--uids ")[1].split() == want
    code, out, _ = takes_cli(
        demo_catalog,
        capsys,
        "--scenario",
        "Health",
        "--sample",
        "1",
        "--per",
        "split",
        "--seed",
        "3",
        "--format",
        "files",
    )
    assert code == 0 and {line.split(",")[1] for line in out.splitlines()[1:]} == set(want)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--per", "scenario"], "--per goes with --sample N"),
        (["--seed", "3"], "--seed goes with --sample N"),
        (
            ["--sample", "2", "--per", "scenarios"],
            "--per 'scenarios': not a column of take_summary (did you mean scenario",
        ),
        (["--sample", "0"], "--sample"),
    ],
)
def test_bad_sample_options_are_usage_errors(demo_catalog, capsys, args, message):
    code, out, err = takes_cli(demo_catalog, capsys, *args)
    assert code == 2, err
    assert message in err and out == ""


def test_python_sample_options_are_checked(cat):
    with pytest.raises(UsageError, match="sample: expected a whole number"):
        cat.takes(sample="a few")
    with pytest.raises(UsageError, match="--sample: expected a number of takes >= 1"):
        cat.takes(sample=0)
    with pytest.raises(UsageError, match="--per goes with --sample"):
        cat.takes(per=["split"])


def test_library_selection_takes_the_options_as_keywords(cat, facts):
    """What the CLI and the web browser call: Filters, keywords, or both (keywords win)."""
    want = draw(facts, 2, ["split"], 5, keep=lambda f: f["scenario"] == "Cooking")
    assert sel.take_uids(cat, scenario="Cooking", sample=2, per=["split"], seed=5) == want
    assert (
        sel.take_uids(cat, sel.Filters.of(scenario="Cooking", sample=9), sample=2, per="split", seed=5)
        == want
    )
    rows = sel.run(
        cat, sel.Filters.of(scenario="Cooking"), columns="take_uid, split", sample=2, per=["split"], seed=5
    ).fetchall()
    assert [r[0] for r in rows] == want
