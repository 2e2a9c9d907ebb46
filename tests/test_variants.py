"""Real files as they are: every recorded variant is generated, compiled strictly into the
documented form's value, counted, documented; anything else is still bad input.

The central test builds a plain release and a ``--variants`` release of the same seed
and compares the two catalogs table by table, row by row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from egoexo_sql import schema, variants
from egoexo_sql.builder import build_catalog
from egoexo_sql.demo import generate
from egoexo_sql.demo.variant_forms import FORMS, slots
from egoexo_sql.errors import InputError

SEED = 11
SCALE = 0.02
DOC = Path(__file__).parent.parent / "docs" / "real-data-variants.md"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    base = tmp_path_factory.mktemp("variants")
    opts = {"scale": SCALE, "seed": SEED, "pose_frames": 3, "masks_per_object": 1}
    plain = generate(base / "plain", **opts)
    var = generate(base / "var", variants=True, **opts)
    return base, plain, var


@pytest.fixture(scope="module")
def catalogs(releases):
    base, plain, var = releases
    rep_plain = build_catalog(plain.out_dir, base / "cat_plain")
    rep_var = build_catalog(var.out_dir, base / "cat_var")
    return base / "cat_plain", base / "cat_var", rep_plain, rep_var


def _normalised(cat: Path) -> dict[str, int]:
    info = json.loads((cat / "build.json").read_text())
    got: dict[str, int] = {}
    for s in info["sources"].values():
        for _file, vid, n in s.get("normalised", []):
            got[vid] = got.get(vid, 0) + n
    return got


def test_every_variant_has_one_form_and_the_demo_writes_it(releases, catalogs):
    """Each variant occurs in a --variants release: written by its form, or by the plain
    demo already where the v2 files mix it in (in_default)."""
    _, plain, var = releases
    cat_plain = catalogs[0]
    ids = [v.id for v in variants.VARIANTS]
    assert ids, "no variant recorded"
    assert len(ids) == len(set(ids))
    formed = [f.variant for f in FORMS]
    assert len(formed) == len(set(formed)) and set(formed) <= set(ids)
    in_plain = _normalised(cat_plain)
    for v in variants.VARIANTS:
        if v.in_default:
            assert in_plain.get(v.id, 0) > 0, f"the plain demo writes no {v.id}"
        else:
            assert v.id in formed, f"{v.id} has no form in demo/variant_forms.py"
            assert var.variants.get(v.id, 0) > 0, f"demo --variants wrote no value in the form {v.id}"
            assert v.id not in in_plain, f"the plain demo writes {v.id}, which is not in_default"
    assert plain.variants == {}


def test_default_release_is_unchanged_by_the_option(releases, tmp_path):
    """The default stays the plain shape: same seed, same bytes, with or without a variants run before."""
    _, plain, _ = releases
    again = generate(tmp_path / "again", scale=SCALE, seed=SEED, pose_frames=3, masks_per_object=1)
    for p in sorted(plain.out_dir.rglob("*.json"))[:400]:
        rel = p.relative_to(plain.out_dir)
        assert (again.out_dir / rel).read_bytes() == p.read_bytes(), rel


def test_variant_files_really_differ_where_a_form_applies(releases):
    _, plain, var = releases
    differ = [
        p.relative_to(var.out_dir)
        for p in var.out_dir.rglob("*.json")
        if (plain.out_dir / p.relative_to(var.out_dir)).read_bytes() != p.read_bytes()
    ]
    assert differ
    families = {v.family for v in variants.VARIANTS}
    for fam in families:
        assert any(fam in str(d) or fam == "metadata" for d in differ), fam


def _tables() -> list[str]:
    return sorted(n for n, s in schema.load_schemas().items() if s.kind == "table")


def test_variants_release_builds_the_same_catalog(catalogs):
    """Every normalised value equals the plain release's value: table by table, row by row."""
    cat_plain, cat_var, rep_plain, rep_var = catalogs
    assert rep_plain.tables == rep_var.tables
    con = duckdb.connect()
    compared = 0
    for t in _tables():
        cols = [c.name for c in schema.get(t).columns]
        if t == "manifest_files":  # the manifests give each file's size: rewritten files differ
            cols.remove("size_bytes")
        sel = ", ".join(f'"{c}"' for c in cols)

        def rows(cat: Path) -> list[tuple]:
            files = [str(p) for p in sorted((cat / "data" / t).rglob("*.parquet"))]  # noqa: B023
            if not files:
                return []
            return con.sql(
                f"SELECT {sel} FROM read_parquet({files!r}, hive_partitioning = true, "  # noqa: B023
                f"union_by_name = true) ORDER BY ALL"
            ).fetchall()

        a, b = rows(cat_plain), rows(cat_var)
        assert len(a) == len(b), t
        for i, (x, y) in enumerate(zip(a, b)):
            assert x == y, f"{t} row {i}: plain {x} != variants {y}"
        compared += len(a)
    assert compared > 1000


def test_build_counts_every_normalised_value(releases, catalogs):
    """build.json names per file each variant it normalised and how many values; the sums
    are what the demo wrote (plus what the plain demo writes of the in_default ones)."""
    _, _, var = releases
    cat_plain, cat_var, _, _ = catalogs
    info = json.loads((cat_var / "build.json").read_text())
    for s in info["sources"].values():
        for file, vid, n in s.get("normalised", []):
            assert (var.out_dir / file).is_file(), file
            assert vid in variants.by_id() and n > 0
    got, plain = _normalised(cat_var), _normalised(cat_plain)
    want = {vid: var.variants.get(vid, 0) + plain.get(vid, 0) for vid in set(var.variants) | set(plain)}
    assert got == want


def test_plain_build_normalises_only_the_forms_the_v2_files_mix_in(catalogs):
    cat_plain = catalogs[0]
    default = {v.id for v in variants.VARIANTS if v.in_default}
    assert set(_normalised(cat_plain)) == default


def test_reconciliation_lists_files_variants_and_counts(catalogs):
    from egoexo_sql.cli.validate import reconciliation_lines
    from egoexo_sql.reconcile import reconcile

    _, cat_var, _, _ = catalogs
    lines = [ln for ln in reconciliation_lines(reconcile(cat_var)) if "normalised" in ln]
    assert lines
    for v in variants.VARIANTS:
        assert any(v.describe() in ln for ln in lines), v.id
    m = re.match(r"(\S+): normalised ([\d,]+) value", lines[0])
    assert m and int(m.group(2).replace(",", "")) > 0


def test_every_variant_is_documented_with_a_source():
    text = DOC.read_text()
    for v in variants.VARIANTS:
        assert f"`{v.id}`" in text, f"{v.id} is not in docs/real-data-variants.md"
    sections = text.split("\n### ")[1:]
    for sec in sections:
        if "`" in sec.splitlines()[0]:
            assert "https://" in sec, f"variant section without a link: {sec.splitlines()[0]}"


def test_every_variant_path_walks(releases):
    """A variant's path finds values in the plain release (the documented form is there)."""
    _, plain, _ = releases
    for form in FORMS:
        v = variants.by_id()[form.variant]
        files = [
            p
            for p in plain.out_dir.rglob("*")
            if p.is_file()
            and re.fullmatch(
                form.files.replace("*", "[^/]*").replace("?", "."), str(p.relative_to(plain.out_dir))
            )
        ]
        assert files, f"{form.variant}: no file matches {form.files}"
        doc = json.loads(files[0].read_bytes())
        assert list(slots(doc, v.path)) or form.rename_to is None, v.id


# -- strictness: a form no public source shows is still an input error ----------------------
def test_normalisers_refuse_unrecorded_forms():
    path = lambda: "$.x"  # noqa: E731
    with pytest.raises(InputError, match=r"\$\.x: expected a list of strings"):
        variants.text_list("a; b", "f.json", path, "x")
    with pytest.raises(InputError):
        variants.text_list("[1, 2]", "f.json", path, "x")
    with pytest.raises(InputError):
        variants.text_list("__import__('os')", "f.json", path, "x")
    with pytest.raises(InputError):
        variants.boolean("yes", "f.json", path, "x")
    with pytest.raises(InputError):
        variants.boolean(1, "f.json", path, "x")  # "01_text": the strings only
    with pytest.raises(InputError):
        variants.boolean(2, "f.json", path, "x", "01")
    with pytest.raises(InputError):
        variants.boolean("1", "f.json", path, "x", "python_text")
    with pytest.raises(InputError):
        variants.integer("4001.5", "f.json", path, "x")
    with pytest.raises(InputError):
        variants.integer(4001.5, "f.json", path, "x")
    variants.take_counts()


def test_normalisers_keep_quotes_and_commas_inside_items():
    path = lambda: "$.x"  # noqa: E731
    items = ['it\'s done, then "fold"', "a, b", "x\\y", "ünï"]
    assert variants.text_list(repr(items), "f.json", path, "v") == items
    assert variants.text_list(json.dumps(items), "f.json", path, "v") == items
    assert variants.integer("4001", "f.json", path, "v") == 4001
    assert variants.integer(4001.0, "f.json", path, "v") == 4001
    assert variants.boolean("0", "f.json", path, "v") is False
    counts = variants.take_counts()
    assert counts == [("f.json", "v", 5)]
    assert variants.take_counts() == []


def test_the_documented_json_array_list_still_reads_as_the_same_comments(releases, catalogs, tmp_path):
    """The plain demo writes every demonstration `list` as the v2 files do (a Python list
    literal in a string); the documented form, a JSON array, gives the same comments and
    counts nothing as normalised."""
    import ast
    import shutil

    _, plain, _ = releases
    release = tmp_path / "release"
    shutil.copytree(plain.out_dir, release)
    rewritten = 0
    for f in sorted((release / "annotations").glob("proficiency_demonstration_*.json")):
        doc = json.loads(f.read_bytes())
        for rec in doc["annotations"]:
            for key in ("good_executions", "tips_for_improvement"):
                for item in rec.get(key) or []:
                    assert isinstance(item["list"], str) and item["list"].startswith("[")
                    item["list"] = ast.literal_eval(item["list"])
                    rewritten += 1
        f.write_text(json.dumps(doc))
    assert rewritten > 10
    build_catalog(release, tmp_path / "cat", only=["proficiency"])
    q = (
        "SELECT take_uid, kind, video_time, comments FROM read_parquet('{}/data/proficiency_demonstration/"
        "**/*.parquet', hive_partitioning = true) ORDER BY ALL"
    )
    con = duckdb.connect()
    want = con.sql(q.format(catalogs[0])).fetchall()
    got = con.sql(q.format(tmp_path / "cat")).fetchall()
    assert got == want and len(got) == rewritten
    assert "proficiency_demonstration.list_literal" not in _normalised(tmp_path / "cat")
    assert "proficiency_demonstration.list_literal" in _normalised(catalogs[0])


# -- forms the catalog reads as they are (no normalisation), written by the plain demo ----
def test_pose_files_have_the_release_writers_shape(releases):
    """One entry per rater (0 to n), each with exactly annotation3D and annotation2D."""
    _, plain, _ = releases
    n_empty = n_multi = 0
    for f in (plain.out_dir / "annotations" / "ego_pose").glob("*/*/*/*.json"):
        if "camera_pose" in f.parts:
            continue
        for anns in json.loads(f.read_bytes()).values():
            assert isinstance(anns, list)
            n_empty += not anns
            n_multi += len(anns) > 1
            for a in anns:
                assert set(a) == {"annotation3D", "annotation2D"}, f
    assert n_empty and n_multi


def test_manifests_write_camera_pose_paths_as_the_real_generator_does(releases, catalogs):
    _, plain, _ = releases
    doc = json.loads((plain.out_dir / "manifests" / "annotations" / "manifest.json").read_bytes())
    paths = [p["relative_path"] for e in doc for p in e["paths"]]
    doubled = [p for p in paths if "//" in p]
    assert doubled and all("/camera_pose//" in p for p in doubled)
    con = duckdb.connect()
    files = [str(p) for p in (catalogs[0] / "data" / "manifest_files").rglob("*.parquet")]
    got = {r[0] for r in con.sql(f"SELECT relative_path FROM read_parquet({files!r})").fetchall()}
    assert not any("//" in p for p in got)
    assert {p.replace("//", "/") for p in doubled} <= got


def test_the_docs_per_frame_camera_pose_layout_is_refused_not_misread(tmp_path):
    """The docs show camera pose keyed by frame first; no real file has it: a clear error,
    not a camera named "838" with no matrices."""
    from egoexo_sql.release import Release
    from egoexo_sql.tables import ego_pose

    uid = "0bc47e29-0000-4000-8000-000000000000"
    d = tmp_path / "annotations" / "ego_pose" / "train" / "camera_pose"
    d.mkdir(parents=True)
    eye = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]
    ext = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]
    (d / f"{uid}.json").write_text(
        json.dumps(
            {
                "838": {
                    "metadata": {"take_uid": uid, "take_name": "t", "frame_number": 838},
                    "aria": {"camera_intrinsics": eye, "camera_extrinsics": ext},
                }
            }
        )
    )
    with pytest.raises(InputError, match=r'camera_pose/.*\.json: \$\["838"\]: expected a camera key'):
        list(ego_pose.compile_camera_file(Release(tmp_path), d / f"{uid}.json"))


# -- end to end through the CLI: strict about what is not recorded ---------------------------
@pytest.mark.parametrize(
    "rel, edit, path",
    [
        (
            "annotations/proficiency_demonstration_train.json",
            lambda d: _first_point(d).__setitem__("list", "first; second"),
            ".list",
        ),
        (
            "annotations/atomic_descriptions_train.json",
            lambda d: next(iter(d["annotations"].values()))[0]["descriptions"][0].__setitem__(
                "ego_visible", "yes"
            ),
            ".descriptions[0].ego_visible",
        ),
        (
            "captures.json",
            lambda d: d[0]["cameras"][0].__setitem__("is_ego", "yes"),
            "$[0].cameras[0].is_ego",
        ),
        ("takes.json", lambda d: d[0].__setitem__("task_id", "4001a"), "$[0].task_id"),
    ],
)
def test_a_form_no_source_shows_still_refuses_the_build(
    releases, catalogs, tmp_path, capsys, rel, edit, path
):
    import shutil

    from test_validate import run_cli

    _, _, var = releases
    release = tmp_path / "release"
    shutil.copytree(var.out_dir, release)
    catalog = tmp_path / "catalog"
    shutil.copytree(catalogs[1], catalog)
    before = (catalog / "build.json").read_bytes()
    doc = json.loads((release / rel).read_bytes())
    edit(doc)
    (release / rel).write_text(json.dumps(doc))
    code, _, err = run_cli(capsys, "build", str(release), "--catalog", str(catalog))
    assert code == 2, err
    line = [ln for ln in err.splitlines() if ln.strip()][-1]
    assert rel in line and path in line and "expected" in line, line
    assert (catalog / "build.json").read_bytes() == before


def _first_point(doc):
    records = doc["annotations"] if isinstance(doc, dict) else doc
    return records[0]["good_executions"][0]


def test_list_literals_parse_as_python_parses_them():
    """text_list's quick parser of Python list literals (plain quoted strings) agrees
    with ast.literal_eval wherever it answers, and leaves everything else to it."""
    import ast
    import random

    from egoexo_sql.variants import _plain_list_literal

    random.seed(2)
    alphabet = "ab '\",[]\\\n\t\x0c\v\u00a0\u2028x#u"
    cases = ["[]", "['a', \"it's\"]", "['a',]", "['a' 'b']", "['a',\u00a0'b']", "[u'a']", "['a\\nb']"]
    cases += ["".join(random.choice(alphabet) for _ in range(random.randint(0, 14))) for _ in range(20000)]
    words = "ab ,[]x'"  # repr quotes these plainly (a backslash, or both quotes: escapes)
    cases += [repr(["".join(random.choice(words) for _ in range(4)) for _ in range(3)]) for _ in range(2000)]
    answered = 0
    for c in cases:
        got = _plain_list_literal(c)
        if got is None:
            continue
        answered += 1
        assert got == ast.literal_eval(c), c
    assert answered > 1000  # the quick path is taken for plain lists
    path = lambda: "$.x"  # noqa: E731
    for c in ("['a',\u00a0'b']", "['a'\n'b' x]"):  # not Python: still refused
        with pytest.raises(InputError):
            variants.text_list(c, "f.json", path, "x")
    variants.take_counts()
