"""egoexo-sql validate: schema-derived checks (great-expectations), audits, reconciliation.

The demo catalog (conftest) must pass every blocking check; tampered copies must fail
the right ones; the reconciliation's numbers must equal what the raw files say.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from egoexo_sql import schema
from egoexo_sql import validate as V
from egoexo_sql.catalog import Catalog
from egoexo_sql.reconcile import reconcile


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """egoexo-sql in this process: (exit code, stdout, stderr)."""
    from egoexo_sql.cli import main

    capsys.readouterr()
    code = 0
    try:
        main(list(args))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def _raw(root: Path, rel: str):
    return json.loads((root / rel).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the plan
def test_checks_are_derived_from_the_schemas():
    schemas = schema.load_schemas()
    planned = V.plan(schemas)
    assert len({p.id for p in planned}) == len(planned)
    got = Counter((p.table, p.kind) for p in planned)
    want: Counter = Counter()
    for name, sch in schemas.items():
        if sch.kind != "table":
            continue
        want[(name, "primary_key")] += bool(sch.primary_key)
        for c in sch.columns:
            want[(name, "not_null")] += not c.nullable
            want[(name, "enum")] += c.enum is not None
            want[(name, "range")] += c.min is not None or c.max is not None
        want[(name, "foreign_key")] += len(sch.foreign_keys)
        for chk in sch.checks:
            want[(name, chk.kind)] += 1
    assert +got == +want
    # blocking follows the schema: keys, not-null, enums, ranges always; the rest as declared
    for p in planned:
        if p.kind in ("primary_key", "not_null", "enum", "range"):
            assert p.blocking
    fk = {p.id: p.blocking for p in planned if p.kind == "foreign_key"}
    assert fk["takes.foreign_key.capture_uid"] is False
    assert fk["take_videos.foreign_key.take_uid"] is True
    kinds = {p.id: p for p in planned}
    assert kinds["keystep_segments.before.start_time.end_time"].blocking is False
    assert "keystep_segments.within_take.end_time" in kinds


def test_the_checks_table_format(tmp_path):
    def parse(body: str):
        p = tmp_path / "t.toml"
        p.write_text('table = "t"\n' + textwrap.dedent(body))
        return schema._parse(p)

    cols = """
        [[columns]]
        name = "take_uid"
        type = "VARCHAR"
        [[columns]]
        name = "a"
        type = "DOUBLE"
        [[columns]]
        name = "b"
        type = "DOUBLE"
        """
    s = parse(
        cols
        + """
        [[checks]]
        kind = "before"
        columns = ["a", "b"]
        or_equal = true
        [[checks]]
        kind = "within_take"
        columns = ["a", "b"]
        tolerance = 0.5
        blocking = false
        """
    )
    assert s.checks == (
        schema.Check("before", ("a", "b"), True, True, 0.0),
        schema.Check("within_take", ("a",), False, False, 0.5),
        schema.Check("within_take", ("b",), False, False, 0.5),
    )
    with pytest.raises(ValueError, match="unknown check kind 'after'"):
        parse(cols + '[[checks]]\nkind = "after"\ncolumns = ["a", "b"]\n')
    with pytest.raises(ValueError, match="takes 2 columns"):
        parse(cols + '[[checks]]\nkind = "before"\ncolumns = ["a"]\n')
    with pytest.raises(KeyError, match="no column 'c'"):
        parse(cols + '[[checks]]\nkind = "within_take"\ncolumn = "c"\n')
    no_take = '[[columns]]\nname = "a"\ntype = "DOUBLE"\n'
    with pytest.raises(KeyError, match="no column 'take_uid'"):
        parse(no_take + '[[checks]]\nkind = "within_take"\ncolumn = "a"\n')


def test_audits_are_files_with_a_description_and_a_blocking_flag(tmp_path, demo_catalog):
    shipped = V.audits()
    assert len(shipped) >= 6
    assert all(a.description != a.name and not a.blocking for a in shipped)
    d = tmp_path / "audits"
    d.mkdir()
    (d / "a.sql").write_text(
        "-- Takes longer than a day.\n-- blocking: true\n"
        "SELECT take_uid FROM takes WHERE duration_sec > 86400;\n"
    )
    (d / "b.sql").write_text("-- Broken on purpose.\nSELECT * FROM no_such_view\n")
    (d / "c.sql").write_text("-- Every take.\nSELECT take_uid FROM takes\n")
    with Catalog.open(demo_catalog) as cat:
        n = cat.sql("SELECT count(*) AS n FROM takes")["n"][0]
        a, b, c = V.run_audits(cat, d)
    assert (a.status, a.blocking, a.description) == ("PASS", True, "Takes longer than a day.")
    assert b.status == "ERROR" and "no_such_view" in b.error and not b.blocking
    assert c.status == "FAIL" and c.unexpected == n and len(c.samples) == V.SAMPLES
    assert c.samples[0].startswith("(take_uid=")


# --------------------------------------------------------------------------- the demo catalog
def test_the_demo_catalog_passes_every_blocking_check(
    demo_release, demo_catalog, capsys, tmp_path, monkeypatch
):
    release, _ = demo_release
    monkeypatch.chdir(tmp_path)  # the ephemeral GE context writes nothing here
    code, out, err = run_cli(capsys, "validate", "--catalog", str(demo_catalog), "--report", "rep")
    assert code == 0, out + err
    lines = out.splitlines()
    checks = [ln for ln in lines if ln.split(" ", 1)[0] in ("PASS", "FAIL", "ERROR")]
    n_planned = len(V.plan(schema.load_schemas())) + len(V.audits())
    assert len(checks) == n_planned + 1  # one line per check, + the release stamps
    assert not [ln for ln in checks if ln.startswith("FAIL  blocking") or ln.startswith("ERROR")]
    assert "PASS  blocking takes: primary key (take_uid) is unique: 0 of " in out

    # the proficiency orphans: a non-blocking foreign key, with the distinct take_uids
    takes = {t["take_uid"] for t in _raw(release, "takes.json")}
    for split in ("train", "val"):
        rel = f"annotations/proficiency_demonstrator_{split}.json"
        recs = _raw(release, rel)["annotations"]
        uids = {r["take_uid"] for r in recs}
        orphans = uids - takes
        assert f"{rel}: {len(orphans)} of {len(uids)} take_uids are not in takes.json" in out
    recs = [
        r
        for s in ("train", "val")
        for r in _raw(release, f"annotations/proficiency_demonstrator_{s}.json")["annotations"]
    ]
    values = {r["take_uid"] for r in recs}
    bad = values - takes
    assert bad
    fk = next(ln for ln in checks if "proficiency_demonstrator: take_uid -> takes.take_uid" in ln)
    assert fk.startswith("FAIL  report") and f": {len(bad)} of {len(values)} values" in fk
    # the modelled quirk: atomic annotations of test takes in the train/val files (report only)
    audit = next(ln for ln in checks if "audit atomic_test_takes_filed_elsewhere" in ln)
    assert audit.startswith("FAIL  report")
    assert "release (metadata.json): version v2, date 240325; every stamped annotation file agrees" in out
    assert "(0 blocking)" in lines[-2]

    # the HTML report and its JSON twin
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == ["index.html", "validation.json"]
    page = (tmp_path / "rep" / "index.html").read_text()
    assert page.count("<tr class=") == n_planned + 1 + len(reconcile(demo_catalog).files)
    assert "proficiency_demonstrator_train.json" in page
    doc = json.loads((tmp_path / "rep" / "validation.json").read_text())
    assert doc["ok"] is True and len(doc["checks"]) == page.count("<tr class=")


def test_take_references_and_release_files_match_their_sources(demo_release, demo_catalog):
    """The two views the generator does not count (see test_build.COUNTED_ELSEWHERE)."""
    release, _ = demo_release
    with Catalog.open(demo_catalog) as cat:
        con = cat.connection
        refs = dict(con.sql("SELECT source_file, count(*) FROM take_references GROUP BY ALL").fetchall())
        for table, fmt in [
            ("keystep_segments", "annotations/keystep_{}.json"),
            ("proficiency_demonstrator", "annotations/proficiency_demonstrator_{}.json"),
            ("atomic_descriptions", "annotations/atomic_descriptions_{}.json"),
            ("expert_commentary", "annotations/expert_commentary_{}.json"),
            # a relations file names the takes with masks and those with boxes only
            (
                "(SELECT take_uid, split FROM relations_objects UNION ALL "
                "SELECT take_uid, split FROM relations_boxes)",
                "annotations/relations_{}.json",
            ),
            (
                "(SELECT take_uid, split || CASE split WHEN 'test' THEN '_unannotated' ELSE '' END AS split "
                "FROM keystep_benchmark_segments)",
                "annotations/keystep_benchmark/keystep_segment_{}.json",
            ),
        ]:
            for split, n in con.sql(
                f"SELECT split, count(DISTINCT take_uid) FROM {table} GROUP BY ALL"
            ).fetchall():
                assert refs[fmt.format(split)] == n, (table, split)
        rows = con.sql(
            "SELECT sum(n_rows) FROM take_references "
            "WHERE source_file LIKE 'annotations/atomic_descriptions_%'"
        ).fetchall()[0][0]
        assert rows == con.sql("SELECT count(*) FROM atomic_descriptions").fetchall()[0][0]
        stamped = {
            r[0]: r[1:]
            for r in con.sql(
                "SELECT source_file, version, date, ds, exported_on FROM release_files"
            ).fetchall()
        }
    want = {}
    for p in sorted(release.rglob("*.json")):
        rel = p.relative_to(release).as_posix()
        if rel.count("/") > 2 or rel.startswith(
            ("takes/", "manifests/", "annotations/ego_pose", "annotations/relations")
        ):
            continue
        obj = json.loads(p.read_text())
        if isinstance(obj, dict) and {"ds", "date", "version"} & set(obj):
            want[rel] = (obj.get("version"), obj.get("date"), obj.get("ds"))
    assert {k: v[:3] for k, v in stamped.items()} == want
    assert str(stamped["metadata.json"][3]) == "2024-03-25"
    assert str(stamped["annotations/splits.json"][3]) == "2024-04-04"


# --------------------------------------------------------------------------- failing checks
def _rewrite(path: Path, change) -> None:
    t = pq.read_table(path)
    pq.write_table(change(t), path, compression="zstd")


@pytest.fixture(scope="module")
def tampered(demo_catalog, tmp_path_factory) -> Path:
    """A copy of the demo catalog with a duplicate take, a split outside the enum,
    a take_uid set to NULL and a keystep segment ending before it starts."""
    cat = tmp_path_factory.mktemp("tampered") / "cat"
    shutil.copytree(demo_catalog, cat)

    def takes(t: pa.Table) -> pa.Table:
        rows = t.to_pylist()
        rows.append(dict(rows[0]))  # a second row with the first take's uid
        rows[1]["split"] = "holdout"
        return pa.Table.from_pylist(rows, schema=t.schema)

    _rewrite(cat / "data" / "takes" / "part-0.parquet", takes)
    seg = next((cat / "data" / "keystep_segments").rglob("*.parquet"))

    def keystep(t: pa.Table) -> pa.Table:
        rows = t.to_pylist()
        rows[0]["start_time"], rows[0]["end_time"] = 50.0, 10.0
        return pa.Table.from_pylist(rows, schema=t.schema)

    _rewrite(seg, keystep)
    tv = cat / "data" / "take_videos" / "part-0.parquet"
    schema_nullable = pq.read_schema(tv)
    schema_nullable = schema_nullable.set(0, schema_nullable.field(0).with_nullable(True))

    def video(t: pa.Table) -> pa.Table:
        rows = t.to_pylist()
        rows[0]["take_uid"] = None
        return pa.Table.from_pylist(rows, schema=schema_nullable)

    _rewrite(tv, video)
    # catalog.duckdb stores the tables' rows: store the tampered ones
    con = duckdb.connect(str(cat / "catalog.duckdb"))
    con.execute(f"SET file_search_path = '{cat}'")
    for t in ("takes", "keystep_segments", "take_videos"):
        con.execute(schema.get(t).stored_table_sql())
    con.close()
    return cat


def _line(out: str, needle: str) -> str:
    """The check line whose text starts with ``needle`` (after status and blocking)."""
    return next(ln for ln in out.splitlines() if ln[15:].startswith(needle))


def test_a_tampered_catalog_fails_the_right_checks(tampered, capsys):
    code, out, _ = run_cli(capsys, "validate", "--catalog", str(tampered))
    assert code == 1
    with Catalog.open(tampered) as cat:
        n_takes = cat.sql("SELECT count(*) AS n FROM takes")["n"][0]
        n_videos = cat.sql("SELECT count(*) AS n FROM take_videos")["n"][0]
    pk = _line(out, "takes: primary key (take_uid) is unique")
    assert pk.startswith("FAIL  blocking") and f": 2 of {n_takes:,} rows" in pk
    enum = _line(out, "takes: split in {train, val, test}")
    assert enum.startswith("FAIL  blocking") and f": 1 of {n_takes:,} rows; e.g. holdout" in enum
    nn = _line(out, "take_videos: take_uid is not null")
    assert nn.startswith("FAIL  blocking") and f": 1 of {n_videos:,} rows" in nn
    before = _line(out, "keystep_segments: start_time < end_time")
    assert before.startswith("FAIL  report") and ": 1 of " in before
    assert "(3 blocking)" in out.splitlines()[-1]
    blocking = [ln for ln in out.splitlines() if ln.startswith("FAIL  blocking")]
    assert len(blocking) == 3, blocking


def test_large_tables_are_checked_in_key_partitions_with_the_same_counts(tampered, monkeypatch):
    # takes and keystep_segments in partitions of a few rows each: uniqueness stays
    # exact (equal keys land in one partition), counts and samples add up
    tables = {t: schema.get(t) for t in ("takes", "keystep_segments")}
    with Catalog.open(tampered) as cat:
        whole = V.run_schema_checks(cat, tables)
        monkeypatch.setattr(V, "CHUNK_ROWS", 7)
        parts = V.run_schema_checks(cat, tables)
    assert [(r.id, r.status, r.unexpected, r.total) for r in parts] == [
        (r.id, r.status, r.unexpected, r.total) for r in whole
    ]
    pk = next(r for r in parts if r.id == "takes.primary_key")
    assert (pk.status, pk.unexpected) == ("FAIL", 2)


# --------------------------------------------------------------------------- reconciliation
@pytest.fixture(scope="module")
def mixed_release(tmp_path_factory) -> Path:
    """A small release with files from another export mixed in and no commentary."""
    from egoexo_sql.demo import generate

    root = tmp_path_factory.mktemp("mixed") / "release"
    generate(root, scale=0.02, seed=11, only=["metadata", "splits", "keystep", "proficiency", "atomic"])
    atomic = root / "annotations" / "atomic_descriptions_val.json"
    obj = json.loads(atomic.read_text())
    obj["ds"] = "20231115_10:00:00"  # a v1-era export
    atomic.write_text(json.dumps(obj))
    splits = root / "annotations" / "splits.json"
    obj = json.loads(splits.read_text())
    obj["version"] = "v1"
    splits.write_text(json.dumps(obj))
    return root


def test_build_and_validate_report_what_does_not_line_up(mixed_release, tmp_path, capsys):
    cat = tmp_path / "cat"
    code, out, err = run_cli(capsys, "build", str(mixed_release), "--catalog", str(cat))
    assert code == 0, err
    rec = out[out.index("reconciliation:") :]
    assert (
        "annotations/atomic_descriptions_val.json: stamp 20231115_10:00:00 disagrees with "
        "metadata.json: exported 2023-11-15, 131 days from metadata.json's date 2024-03-25"
    ) in rec
    assert (
        "annotations/splits.json: stamp 20240404_08:13:53 disagrees with metadata.json: "
        "version v1, metadata.json says v2"
    ) in rec
    assert (
        "expert_commentary: no annotations/expert_commentary_*.json "
        "annotations/expert_commentary/*/*/data.json in the release; empty: "
        "expert_commentary, expert_ratings"
    ) in rec
    takes = {t["take_uid"] for t in _raw(mixed_release, "takes.json")}
    rel = "annotations/proficiency_demonstrator_train.json"
    uids = {r["take_uid"] for r in _raw(mixed_release, rel)["annotations"]}
    assert f"{rel}: {len(uids - takes)} of {len(uids)} take_uids are not in takes.json" in rec
    # the numbers come from the library
    r = reconcile(cat)
    assert {s.source_file for s in r.stamps} == {
        "annotations/atomic_descriptions_val.json",
        "annotations/splits.json",
    }
    f = next(f for f in r.files if f.source_file == rel)
    assert (f.n_orphans, f.n_takes) == (len(uids - takes), len(uids))

    code, out, _ = run_cli(capsys, "validate", "--catalog", str(cat))
    assert code == 0  # reconciliation reports, never blocks
    stamps = _line(out, "annotation files' stamps agree with metadata.json")
    assert stamps.startswith("FAIL  report") and ": 2 files" in stamps


def test_the_build_counts_the_reconciliation_validate_counts(mixed_release, tmp_path, capsys):
    # the build counts it over its new catalog while it counts the views (the summary
    # prints it without opening the catalog again): the same numbers as reconcile()
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.cli.validate import reconciliation_lines

    cat = tmp_path / "cat"
    report = build_catalog(mixed_release, cat)
    assert report.reconciliation is not None
    again = reconcile(cat)
    assert report.reconciliation == again
    assert again.files and again.stamps and again.empty_sources and not again.notes
    # a build that writes nothing has none: the command counts over the catalog
    assert build_catalog(mixed_release, cat).reconciliation is None
    code, out, err = run_cli(capsys, "build", str(mixed_release), "--catalog", str(cat))
    assert code == 0, err
    assert out[out.index("reconciliation:") :].splitlines()[1:] == [
        f"  {ln}" for ln in reconciliation_lines(again)
    ]


# --------------------------------------------------------------------------- imports
def test_help_and_query_do_not_import_great_expectations(demo_catalog):
    script = textwrap.dedent(f"""
        import sys
        from egoexo_sql.cli import main
        for args in (["--help"], ["validate", "--help"], ["query", "--catalog", {str(demo_catalog)!r}, "SELECT 1"]):
            try:
                main(args)
            except SystemExit:
                pass
        print([m for m in ("great_expectations", "pandas") if m in sys.modules], file=sys.stderr)
        """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.stderr.strip().splitlines()[-1] == "[]", r.stderr


def test_great_expectations_imports_quietly_even_under_python_c():
    # with pyspark installed, GE's Spark probe imports pyspark.sql.connect, which calls
    # sys.exit(0) when __main__ has no file (python -c) and grpc is missing
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from egoexo_sql.validate import import_gx; import sys; "
            "gx = import_gx(); print('imported', gx.__version__, 'pyspark' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stdout.startswith("imported ") and r.stdout.strip().endswith("False"), r
    assert r.stderr == ""
