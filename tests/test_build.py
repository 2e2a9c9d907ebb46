"""The build engine: staging and swap, build.json, incremental rebuilds, relocation.

Most tests run the engine on a small fake registry (three sources, schemas and a
derived view written into a temporary folder), so they pin the engine's behaviour
independently of the real compilers; the tests at the end run the real registry on
the synthetic release and compare every view with the generator's ground truth.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from egoexo_sql.builder import build_catalog, write_table
from egoexo_sql.builder import parquet as build_mod
from egoexo_sql.builder import scan as scan_mod
from egoexo_sql.builder import swap as swap_mod
from egoexo_sql.errors import InputError, UsageError
from egoexo_sql.schema import load_schemas
from egoexo_sql.tables import Source

# --------------------------------------------------------------------------- fake registry
SCHEMAS = {
    "people": """
        table = "people"
        group = "metadata"
        primary_key = ["person_uid"]
        [[columns]]
        name = "person_uid"
        type = "VARCHAR"
        nullable = false
        [[columns]]
        name = "name"
        type = "VARCHAR"
        [[columns]]
        name = "age"
        type = "INTEGER"
        """,
    "events": """
        table = "events"
        group = "keystep"
        partition_by = ["split"]
        [[columns]]
        name = "person_uid"
        type = "VARCHAR"
        nullable = false
        [[columns]]
        name = "split"
        type = "VARCHAR"
        [[columns]]
        name = "t"
        type = "DOUBLE"
        [[columns]]
        name = "pose"
        type = "DOUBLE[3][3]"
        """,
    "notes": """
        table = "notes"
        group = "commentary"
        [[columns]]
        name = "person_uid"
        type = "VARCHAR"
        [[columns]]
        name = "text"
        type = "VARCHAR"
        [[columns]]
        name = "tags"
        type = "VARCHAR[]"
        """,
    # produced by no source: must still exist, empty
    "files": """
        table = "files"
        group = "manifests"
        [[columns]]
        name = "path"
        type = "VARCHAR"
        """,
    # a derived view read by a_overview, which sorts before it: dependency order matters
    "person_summary": """
        table = "person_summary"
        kind = "view"
        [[columns]]
        name = "person_uid"
        type = "VARCHAR"
        [[columns]]
        name = "n_events"
        type = "BIGINT"
        """,
    "a_overview": """
        table = "a_overview"
        kind = "view"
        [[columns]]
        name = "n_people"
        type = "BIGINT"
        [[columns]]
        name = "n_events"
        type = "HUGEINT"
        """.replace("HUGEINT", "BIGINT"),
}
VIEWS = {
    "person_summary": """
        -- one row per person
        SELECT p.person_uid, count(e.person_uid) AS n_events
        FROM people AS p LEFT JOIN events AS e USING (person_uid)
        GROUP BY ALL;
        """,
    "a_overview": """
        CREATE OR REPLACE VIEW a_overview AS
        WITH s AS (SELECT * FROM person_summary)
        SELECT count(*) AS n_people, sum(n_events)::BIGINT AS n_events FROM s;
        """,
}

CALLS: dict[str, int] = {}


def _count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


def compile_people(release, files):
    _count("people")
    (f,) = files
    recs = json.loads(Path(f).read_text())
    return {
        "people": pa.table(
            {
                "person_uid": [r["uid"] for r in recs],
                "name": [r.get("name") for r in recs],
                "age": pa.array([r.get("age") for r in recs], pa.int32()),
            }
        )
    }


def compile_events(release, files):
    _count("events")
    uids, splits, ts, poses = [], [], [], []
    for f in files:
        for r in json.loads(Path(f).read_text()):
            uids.append(r["uid"])
            splits.append(r.get("split"))
            ts.append(r["t"])
            poses.append([[r["t"]] * 3] * 3)
    # columns in another order than the schema: the writer reorders
    return {"events": pa.table({"t": ts, "person_uid": uids, "split": splits, "pose": poses})}


def compile_notes(release, files):
    _count("notes")
    rows = [r for f in files if Path(f).name != "people.json" for r in json.loads(Path(f).read_text())]

    # a generator of chunks: the streaming form
    def chunks():
        for i in range(0, len(rows), 2):
            part = rows[i : i + 2]
            yield pa.table(
                {
                    "person_uid": [r["uid"] for r in part],
                    "text": [r["text"] for r in part],
                    "tags": [r["tags"] for r in part],
                }
            )

    return {"notes": chunks()}


def make_sources(**versions: int) -> list[Source]:
    return [
        Source(
            "people",
            "metadata",
            ("people.json",),
            ("people",),
            compile_people,
            required=("people.json",),
            version=versions.get("people", 1),
        ),
        Source(
            "events",
            "keystep",
            ("events/*.json",),
            ("events",),
            compile_events,
            version=versions.get("events", 1),
        ),
        # people.json is read by two sources (as takes.json is in the real registry)
        Source(
            "notes",
            "commentary",
            ("notes/*.json", "people.json"),
            ("notes",),
            compile_notes,
            version=versions.get("notes", 1),
        ),
    ]


def write_release(root: Path, n_people: int = 5, splits=("train", "val", "a/b c")) -> dict[str, int]:
    """A small release; returns the expected rows per table and view."""
    root.mkdir(parents=True, exist_ok=True)
    people = [{"uid": f"p{i}", "name": f"N{i}", "age": 20 + i} for i in range(n_people)]
    (root / "people.json").write_text(json.dumps(people))
    (root / "events").mkdir(exist_ok=True)
    n_events = 0
    for k, split in enumerate(splits):
        recs = [{"uid": f"p{i % n_people}", "split": split, "t": float(i)} for i in range(3 + k)]
        recs.append({"uid": "p0", "split": None, "t": -1.0})  # a NULL partition value
        n_events += len(recs)
        (root / "events" / f"{k}.json").write_text(json.dumps(recs))
    (root / "notes").mkdir(exist_ok=True)
    notes = [{"uid": f"p{i}", "text": f"note {i}", "tags": ["x", str(i)]} for i in range(5)]
    (root / "notes" / "a.json").write_text(json.dumps(notes))
    return {
        "people": n_people,
        "events": n_events,
        "notes": 5,
        "files": 0,
        "person_summary": n_people,
        "a_overview": 1,
    }


@pytest.fixture
def env(tmp_path):
    """A fake registry with its schemas and views, a release and a catalog path."""
    sdir, vdir = tmp_path / "schemas", tmp_path / "views"
    sdir.mkdir()
    vdir.mkdir()
    for name, text in SCHEMAS.items():
        (sdir / f"{name}.toml").write_text(textwrap.dedent(text))
    for name, text in VIEWS.items():
        (vdir / f"{name}.sql").write_text(textwrap.dedent(text))
    load_schemas.cache_clear()
    CALLS.clear()

    class Env:
        release = tmp_path / "release"
        catalog = tmp_path / "out" / "cat"
        truth = write_release(tmp_path / "release")
        schemas_dir = sdir
        views_dir = vdir
        sources = make_sources()

        def build(self, **kw):
            kw.setdefault("sources", self.sources)
            kw.setdefault("schemas", load_schemas(str(self.schemas_dir)))
            kw.setdefault("views_dir", self.views_dir)
            kw.setdefault("release_factory", lambda root: root)
            return build_catalog(self.release, self.catalog, **kw)

    yield Env()
    load_schemas.cache_clear()


def view_counts(catalog: Path) -> dict[str, int]:
    """Rows of every view and stored table, opened like a reader does (read-only, file_search_path)."""
    con = duckdb.connect(str(catalog / "catalog.duckdb"), read_only=True)
    try:
        con.execute(f"SET file_search_path = '{catalog}'")
        names = [
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal "
                "UNION SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def siblings(catalog: Path) -> list[str]:
    return sorted(p.name for p in catalog.parent.iterdir() if p.name != catalog.name)


# --------------------------------------------------------------------------- a first build
def test_build_writes_the_catalog_layout(env):
    rep = env.build()
    c = env.catalog
    assert {p.name for p in c.iterdir()} == {"catalog.duckdb", "views.sql", "build.json", "data"}
    assert view_counts(c) == env.truth
    assert rep.tables == env.truth
    assert rep.status["people"] == "compiled" and rep.status["files"] == "empty"
    assert rep.status["person_summary"] == "view"
    assert sorted(rep.recompiled) == ["events", "notes", "people"]
    assert siblings(c) == []  # no staging or aside folder left behind
    # hive partitions: URL-quoted values, NULL as hive's default partition, column not in the file
    parts = sorted(
        p.relative_to(c / "data" / "events").as_posix() for p in (c / "data" / "events").rglob("*.parquet")
    )
    assert parts == [
        "split=__HIVE_DEFAULT_PARTITION__/part-0.parquet",
        "split=a%2Fb%20c/part-0.parquet",
        "split=train/part-0.parquet",
        "split=val/part-0.parquet",
    ]
    f = pq.ParquetFile(c / "data" / "events" / "split=train" / "part-0.parquet")
    assert "split" not in f.schema_arrow.names
    assert f.metadata.row_group(0).column(0).compression == "ZSTD"
    # the view gives back every value, NULL included, and the declared array type
    con = duckdb.connect(str(c / "catalog.duckdb"), read_only=True)
    con.execute(f"SET file_search_path = '{c}'")
    splits = dict(con.execute("SELECT split, count(*) FROM events GROUP BY ALL").fetchall())
    assert splits == {"train": 3, "val": 4, "a/b c": 5, None: 3}
    assert con.execute("SELECT typeof(pose) FROM events LIMIT 1").fetchone()[0] == "DOUBLE[3][3]"
    assert con.execute("SELECT tags FROM notes WHERE person_uid = 'p3'").fetchone()[0] == ["x", "3"]
    con.close()
    # a derived view that sorts before the view it reads was created after it
    sql = (c / "views.sql").read_text()
    assert sql.index("VIEW person_summary") < sql.index("VIEW a_overview")
    assert sql.index("VIEW people") < sql.index("VIEW person_summary")


def test_views_sql_alone_recreates_the_views(env):
    env.build()
    con = duckdb.connect()  # a fresh database, as the DuckDB shell inside the folder
    con.execute(f"SET file_search_path = '{env.catalog}'")
    con.execute((env.catalog / "views.sql").read_text())
    for name, n in env.truth.items():
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == n


def test_build_json_records_inputs_versions_and_rows(env):
    rep = env.build()
    doc = json.loads((env.catalog / "build.json").read_text())
    import egoexo_sql

    assert doc["tool"] == "egoexo-sql" and doc["tool_version"] == egoexo_sql.__version__
    files = sorted(p for p in env.release.rglob("*.json"))
    expected = {
        p.relative_to(env.release).as_posix(): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in files
    }
    got = {r["path"]: (r["bytes"], r["sha256"]) for r in doc["inputs"]}
    assert got == expected
    for t, sch in load_schemas(str(env.schemas_dir)).items():
        assert doc["schemas"][t]["sha256"] == hashlib.sha256(sch.source_file.read_bytes()).hexdigest()
        assert doc["tables"][t]["rows"] == env.truth[t]
    assert doc["schemas"]["a_overview"]["sql_sha256"]
    assert doc["sources"]["events"]["version"] == 1
    assert doc["sources"]["events"]["inputs"] == ["events/0.json", "events/1.json", "events/2.json"]
    assert doc["tables"]["events"]["files"] == 4 and doc["tables"]["events"]["bytes"] > 0
    assert set(doc["steps"]) >= {"scan", "hash", "plan", "compile", "write", "views"}
    assert all(v >= 0 for v in doc["steps"].values())
    assert rep.steps.keys() >= {"hash", "compile", "views", "swap"}
    assert "people" in rep.summary() and "rebuilt" in rep.summary()


# --------------------------------------------------------------------------- incremental
def test_unchanged_release_recompiles_nothing(env):
    env.build()
    calls = dict(CALLS)
    rep = env.build()
    assert CALLS == calls
    assert rep.recompiled == [] and rep.up_to_date
    assert sorted(rep.reused) == ["events", "notes", "people"]
    assert rep.status["people"] == "reused"
    assert "nothing to recompile" in rep.summary()
    assert view_counts(env.catalog) == env.truth


def test_changed_input_recompiles_only_its_source(env):
    env.build()
    f = env.release / "events" / "1.json"
    recs = json.loads(f.read_text())
    recs.append({"uid": "p1", "split": "val", "t": 99.0})
    f.write_text(json.dumps(recs))
    CALLS.clear()
    rep = env.build()
    assert CALLS == {"events": 1}
    assert rep.recompiled == ["events"] and "events/1.json" in rep.reasons["events"]
    assert sorted(rep.reused) == ["notes", "people"]
    assert view_counts(env.catalog)["events"] == env.truth["events"] + 1


@pytest.mark.parametrize("change", ["new file", "deleted file", "same size and mtime"])
def test_appeared_vanished_and_sneaky_inputs_are_noticed(env, change, monkeypatch):
    monkeypatch.setattr(scan_mod, "RACY_NS", 0)  # trust recorded hashes as soon as possible
    env.build()
    if change == "new file":
        (env.release / "notes" / "b.json").write_text(json.dumps([{"uid": "p9", "text": "t", "tags": []}]))
        expect = env.truth["notes"] + 1
    elif change == "deleted file":
        (env.release / "notes" / "a.json").unlink()
        expect = 0
    else:  # same bytes count, mtime put back: only the ctime tells
        f = env.release / "notes" / "a.json"
        st = f.stat()
        f.write_text(f.read_text().replace("note 1", "nope 1"))
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
        expect = env.truth["notes"]
    CALLS.clear()
    rep = env.build()
    assert CALLS == {"notes": 1}
    assert view_counts(env.catalog)["notes"] == expect
    if change == "same size and mtime":
        con = duckdb.connect(str(env.catalog / "catalog.duckdb"), read_only=True)
        con.execute(f"SET file_search_path = '{env.catalog}'")
        assert con.execute("SELECT count(*) FROM notes WHERE text = 'nope 1'").fetchone()[0] == 1
        con.close()
    assert rep.recompiled == ["notes"]


def test_recorded_hashes_are_reused_for_old_files(env, monkeypatch):
    monkeypatch.setattr(scan_mod, "RACY_NS", 0)
    first = env.build()
    assert first.hashed_bytes == first.input_bytes > 0
    second = env.build()
    assert second.hashed_bytes == 0 and second.up_to_date
    forced = env.build(force=True)
    assert forced.hashed_bytes == forced.input_bytes


def test_a_current_catalog_is_left_untouched(env, monkeypatch):
    """Nothing changed (inputs trusted by stat, same schemas, views, versions): the
    build writes nothing, not even build.json, and reports the previous rows."""
    monkeypatch.setattr(scan_mod, "RACY_NS", 0)
    first = env.build()
    before = {p: p.stat().st_mtime_ns for p in env.catalog.rglob("*")}
    inode = env.catalog.stat().st_ino
    again = env.build()
    assert "the catalog is current: nothing was written" in again.notes
    assert again.up_to_date and again.tables == first.tables
    assert again.status["people"] == "reused" and "compile" not in again.steps
    assert env.catalog.stat().st_ino == inode
    assert {p: p.stat().st_mtime_ns for p in env.catalog.rglob("*")} == before
    assert not list(env.catalog.parent.glob("*.staging-*"))

    # a changed view file, a missing catalog.duckdb, --force: written again
    view = next(env.views_dir.glob("*.sql"))
    view.write_text(view.read_text() + "\n")
    assert "the catalog is current: nothing was written" not in env.build().notes
    assert "the catalog is current: nothing was written" in env.build().notes
    (env.catalog / "catalog.duckdb").unlink()
    assert "the catalog is current: nothing was written" not in env.build().notes
    assert view_counts(env.catalog) == env.truth
    assert "the catalog is current: nothing was written" not in env.build(force=True).notes


def test_files_changed_just_before_hashing_are_rehashed(env):
    # with the default racy window, files written a moment ago are never trusted by stat
    env.build()
    rep = env.build()
    assert rep.hashed_bytes == rep.input_bytes and rep.up_to_date


def test_force_recompiles_everything(env):
    env.build()
    CALLS.clear()
    rep = env.build(force=True)
    assert CALLS == {"people": 1, "events": 1, "notes": 1}
    assert all(r == "--force" for r in rep.reasons.values())


def test_version_bump_and_schema_change_recompile_their_source(env):
    env.build()
    CALLS.clear()
    rep = env.build(sources=make_sources(notes=2))
    assert CALLS == {"notes": 1} and rep.reasons["notes"] == "version 1 -> 2"
    CALLS.clear()
    p = env.schemas_dir / "people.toml"
    p.write_text(p.read_text().replace('name = "age"', 'name = "age"\ndescription = "years"'))
    load_schemas.cache_clear()
    rep = env.build(sources=make_sources(notes=2))
    assert CALLS == {"people": 1} and rep.reasons["people"].startswith("schema changed")


def test_damaged_previous_data_is_rebuilt_not_reused(env):
    env.build()
    shutil.rmtree(env.catalog / "data" / "people")
    CALLS.clear()
    rep = env.build()
    assert CALLS == {"people": 1} and "damaged" in rep.reasons["people"]
    assert view_counts(env.catalog) == env.truth


def test_only_builds_some_groups_and_keeps_the_others(env):
    rep = env.build(only=["metadata"])
    assert CALLS == {"people": 1}
    assert sorted(rep.not_built) == ["events", "notes"]
    counts = view_counts(env.catalog)
    assert counts["people"] == env.truth["people"] and counts["events"] == 0 and counts["notes"] == 0
    CALLS.clear()
    rep = env.build(only=["keystep"])
    assert CALLS == {"events": 1} and rep.reused == ["people"]
    counts = view_counts(env.catalog)
    assert counts["people"] == env.truth["people"] and counts["events"] == env.truth["events"]
    doc = json.loads((env.catalog / "build.json").read_text())
    assert doc["sources"]["people"]["inputs"] == ["people.json"]
    assert {r["path"] for r in doc["inputs"]} == {
        "people.json",
        "events/0.json",
        "events/1.json",
        "events/2.json",
    }
    with pytest.raises(UsageError, match="unknown group"):
        env.build(only=["nope"])


def test_only_with_a_shared_input_leaves_the_other_source_to_rebuild_later(env):
    """people.json is read by people (metadata) and notes (commentary). After it
    changes, `--only commentary` recompiles notes and keeps people's previous table (it
    is outside --only); the next full build must still see that people was made from
    the old people.json and recompile it, not take the new hash for its own."""
    env.build()
    people = json.loads((env.release / "people.json").read_text())
    people[0]["name"] = "Renamed"
    people.append({"uid": "p99", "name": "New", "age": 1})
    (env.release / "people.json").write_text(json.dumps(people))
    CALLS.clear()
    rep = env.build(only=["commentary"])
    assert CALLS == {"notes": 1} and rep.reused == ["people", "events"]
    assert view_counts(env.catalog)["people"] == env.truth["people"]  # kept as it was
    CALLS.clear()
    rep = env.build(only=["keystep"])  # an unrelated --only build keeps the record too
    assert CALLS == {} and rep.up_to_date
    CALLS.clear()
    rep = env.build()
    assert CALLS == {"people": 1} and rep.recompiled == ["people"]
    assert rep.reasons["people"] == "changed people.json"
    assert view_counts(env.catalog)["people"] == env.truth["people"] + 1
    con = duckdb.connect(str(env.catalog / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT name FROM people WHERE person_uid = 'p0'").fetchone() == ("Renamed",)
    con.close()
    CALLS.clear()
    assert env.build().up_to_date and CALLS == {}


# --------------------------------------------------------------------------- staging and swap
def _boom(release, files):
    raise RuntimeError("compiler bug")


def _bad_input(release, files):
    raise InputError("notes/a.json", "$[0].text", "a string", "a number")


@pytest.mark.parametrize("failure", ["input error", "compiler bug", "bad view", "bad table"])
def test_a_failed_build_leaves_the_previous_catalog(env, failure):
    env.build()
    before = (env.catalog / "build.json").read_bytes()
    kw = {}
    if failure == "input error":
        kw["sources"] = [
            dataclasses.replace(s, compile=_bad_input) if s.name == "notes" else s for s in make_sources()
        ]
        kw["force"] = True
        expected = InputError
    elif failure == "compiler bug":
        kw["sources"] = [
            dataclasses.replace(s, compile=_boom) if s.name == "notes" else s for s in make_sources()
        ]
        kw["force"] = True
        expected = RuntimeError
    elif failure == "bad view":
        (env.views_dir / "a_overview.sql").write_text("SELECT no_such_column FROM person_summary")
        expected = duckdb.Error
    else:  # a compiler returns a column the schema does not know

        def extra(release, files):
            return {"people": pa.table({"person_uid": ["x"], "oops": [1]})}

        kw["sources"] = [
            dataclasses.replace(s, compile=extra, version=9) if s.name == "people" else s
            for s in make_sources()
        ]
        expected = ValueError
    with pytest.raises(expected):
        env.build(**kw)
    assert (env.catalog / "build.json").read_bytes() == before
    assert view_counts(env.catalog) == env.truth
    assert siblings(env.catalog) == []


def test_first_build_failing_leaves_nothing(env):
    sources = [dataclasses.replace(s, compile=_boom) if s.name == "events" else s for s in make_sources()]
    with pytest.raises(RuntimeError) as e:
        env.build(sources=sources)
    assert any("events" in n for n in getattr(e.value, "__notes__", []))
    assert not env.catalog.exists()
    assert list(env.catalog.parent.iterdir()) == []


def test_missing_required_input_and_folder_where_a_file_belongs(env):
    env.build()
    before = (env.catalog / "build.json").read_bytes()
    (env.release / "people.json").unlink()
    with pytest.raises(InputError, match=r"people\.json: expected a file"):
        env.build()
    (env.release / "people.json").mkdir()
    with pytest.raises(InputError, match="got a folder"):
        env.build()
    (env.release / "people.json").rmdir()
    (env.release / "people.json").write_text("[]")
    (env.release / "events" / "9.json").mkdir()
    with pytest.raises(InputError, match=r"events/9\.json: expected a file, got a folder"):
        env.build()
    assert (env.catalog / "build.json").read_bytes() == before
    assert siblings(env.catalog) == []
    with pytest.raises(InputError, match="release folder"):
        build_catalog(env.release / "nope", env.catalog)


def test_refuses_to_replace_a_folder_that_is_not_a_catalog(env):
    env.catalog.mkdir(parents=True)
    (env.catalog / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="not an egoexo-sql catalog"):
        env.build()
    assert (env.catalog / "thesis.tex").read_text() == "precious"
    with pytest.raises(UsageError, match="would contain the release"):
        build_catalog(env.release, env.release.parent)


def test_empty_folder_becomes_a_catalog(env):
    env.catalog.mkdir(parents=True)
    env.build()
    assert view_counts(env.catalog) == env.truth


def test_leftovers_of_killed_builds_are_repaired(env):
    env.build()
    dead = 2**22 + 12345  # above the default pid_max (4194304), so no process has it
    stale = env.catalog.parent / f"cat.staging-{dead}"
    (stale / "data").mkdir(parents=True)
    # killed between the two renames of a non-atomic swap: the catalog is aside
    aside = env.catalog.parent / f"cat.old-{dead}"
    os.rename(env.catalog, aside)
    CALLS.clear()
    rep = env.build()
    assert not stale.exists() and not aside.exists()
    assert rep.up_to_date and CALLS == {}  # the restored catalog was the base of the build
    assert view_counts(env.catalog) == env.truth


def test_swap_without_atomic_exchange(env, monkeypatch):
    env.build()
    monkeypatch.setattr(swap_mod, "_rename_exchange", lambda a, b: False)
    rep = env.build(force=True)
    assert sorted(rep.recompiled) == ["events", "notes", "people"]
    assert view_counts(env.catalog) == env.truth
    assert siblings(env.catalog) == []


def test_a_reader_opened_before_a_rebuild_keeps_working(env):
    env.build()
    con = duckdb.connect(str(env.catalog / "catalog.duckdb"), read_only=True)
    con.execute(f"SET file_search_path = '{env.catalog}'")
    assert con.execute("SELECT count(*) FROM person_summary").fetchone()[0] == env.truth["people"]
    write_release(env.release, n_people=7)
    env.build()
    # catalog.duckdb stores the rows: a plain connection keeps reading the build it
    # opened (the swap replaced the file, not its contents); a new one sees the new build
    assert con.execute("SELECT count(*) FROM people").fetchone()[0] == env.truth["people"]
    con.close()
    con = duckdb.connect(str(env.catalog / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM people").fetchone()[0] == 7
    con.close()


# --------------------------------------------------------------------------- relocation
def test_relocated_catalog_is_queried_from_anywhere(env, tmp_path, monkeypatch):
    env.build()
    raw = (env.catalog / "catalog.duckdb").read_bytes()
    assert str(env.catalog.parent).encode() not in raw  # no absolute path was stored
    moved = tmp_path / "elsewhere" / "renamed catalog"
    moved.parent.mkdir()
    shutil.move(env.catalog, moved)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert view_counts(moved) == env.truth
    # and it can be rebuilt in its new place from the recorded hashes
    CALLS.clear()
    rep = build_catalog(
        env.release,
        moved,
        sources=env.sources,
        schemas=load_schemas(str(env.schemas_dir)),
        views_dir=env.views_dir,
        release_factory=lambda r: r,
    )
    assert rep.up_to_date and CALLS == {}


# --------------------------------------------------------------------------- kill -9
KILL_SCRIPT = """
import sys, time, json
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_build as tb
from egoexo_sql.builder import build_catalog
from egoexo_sql.schema import load_schemas
from egoexo_sql.tables import Source

def slow(release, files):
    print("compiling", flush=True)
    time.sleep(60)

sources = [Source("people", "metadata", ("people.json",), ("people",), slow, version=2)]
build_catalog({release!r}, {catalog!r}, sources=sources + tb.make_sources()[1:],
              schemas=load_schemas({schemas!r}), views_dir={views!r},
              release_factory=lambda r: r)
"""


def test_kill_9_during_a_build_leaves_the_previous_catalog(env):
    env.build()
    before = (env.catalog / "build.json").read_bytes()
    script = KILL_SCRIPT.format(
        tests=str(Path(__file__).parent),
        release=str(env.release),
        catalog=str(env.catalog),
        schemas=str(env.schemas_dir),
        views=str(env.views_dir),
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "compiling"
        assert any(n.startswith("cat.staging-") for n in siblings(env.catalog))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (env.catalog / "build.json").read_bytes() == before
    assert view_counts(env.catalog) == env.truth
    env.build()  # the next build removes the dead build's staging folder
    assert siblings(env.catalog) == []


# --------------------------------------------------------------------------- Parquet writer
def test_writer_row_groups_streaming_and_nulls(tmp_path):
    from egoexo_sql.schema import _parse

    p = tmp_path / "big.toml"
    p.write_text(
        textwrap.dedent("""
        table = "big"
        partition_by = ["k"]
        [[columns]]
        name = "i"
        type = "BIGINT"
        nullable = false
        [[columns]]
        name = "k"
        type = "INTEGER"
        """)
    )
    sch = _parse(p)
    n = 300_000
    chunks = (
        pa.table(
            {
                "i": pa.array(range(s, min(s + 7_000, n)), pa.int64()),
                "k": pa.array([x % 2 for x in range(s, min(s + 7_000, n))], pa.int32()),
            }
        )
        for s in range(0, n, 7_000)
    )
    rows, files, nbytes = write_table(sch, chunks, tmp_path / "data" / "big")
    assert (rows, files) == (n, 2) and nbytes > 0
    f = pq.ParquetFile(tmp_path / "data" / "big" / "k=0" / "part-0.parquet")
    sizes = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    assert sum(sizes) == n // 2
    assert max(sizes) <= build_mod.ROW_GROUP_ROWS and sizes[0] >= build_mod.ROW_GROUP_ROWS - 7_000
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{tmp_path}'")
    con.execute(sch.view_sql())
    assert con.execute("SELECT count(*), sum(i), count(DISTINCT k) FROM big").fetchone() == (
        n,
        n * (n - 1) // 2,
        2,
    )
    with pytest.raises(ValueError, match="not nullable"):
        write_table(sch, pa.table({"i": pa.array([None], pa.int64()), "k": [1]}), tmp_path / "x")
    with pytest.raises(ValueError, match="missing"):
        write_table(sch, pa.table({"k": [1]}), tmp_path / "y")
    # an empty partitioned table is one file holding every column
    rows, files, _ = write_table(sch, sch.empty_table(), tmp_path / "e")
    assert (rows, files) == (0, 1)
    assert pq.read_schema(tmp_path / "e" / "part-0.parquet").names == ["i", "k"]


def test_writer_encodings_come_from_the_column_types(tmp_path):
    """Floats BYTE_STREAM_SPLIT and not dictionary-encoded, strings dictionary-encoded;
    the values read back exactly."""
    from egoexo_sql.schema import _parse

    p = tmp_path / "pts.toml"
    p.write_text(
        textwrap.dedent("""
        table = "pts"
        [[columns]]
        name = "label"
        type = "VARCHAR"
        [[columns]]
        name = "x"
        type = "DOUBLE"
        [[columns]]
        name = "n"
        type = "INTEGER"
        """)
    )
    sch = _parse(p)
    xs = [i / 7 for i in range(50_000)] + [None]
    t = pa.table(
        {"label": [f"j{i % 17}" for i in range(len(xs))], "x": xs, "n": pa.array(range(len(xs)), pa.int32())}
    )
    write_table(sch, t, tmp_path / "pts")
    meta = pq.ParquetFile(tmp_path / "pts" / "part-0.parquet").metadata.row_group(0)
    enc = {meta.column(i).path_in_schema: set(meta.column(i).encodings) for i in range(meta.num_columns)}
    assert "BYTE_STREAM_SPLIT" in enc["x"] and "RLE_DICTIONARY" not in enc["x"]
    assert "RLE_DICTIONARY" in enc["label"]
    assert pq.read_table(tmp_path / "pts" / "part-0.parquet").equals(t.cast(sch.arrow_schema()))


# --------------------------------------------------------------------------- the CLI
def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "egoexo_sql",
            "build",
            str(tmp_path / "missing"),
            "--catalog",
            str(tmp_path / "cat"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "missing" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "cat").exists()


def test_public_build_stays_callable(env):
    import egoexo_sql

    kw = {
        "sources": env.sources,
        "schemas": load_schemas(str(env.schemas_dir)),
        "views_dir": env.views_dir,
        "release_factory": lambda r: r,
    }
    # importing egoexo_sql.build (the module) must not break egoexo_sql.build(...)
    first = egoexo_sql.build(str(env.release), str(env.catalog), **kw)
    second = egoexo_sql.build(str(env.release), str(env.catalog), **kw)
    assert first.tables == second.tables == env.truth and second.up_to_date


# --------------------------------------------------------------------------- the real registry
# Views derived from another count: the generator reports tables, not every view.
DERIVED_COUNTS = {"take_summary": "takes", "keystep_context": "keystep_segments"}
# Views the generator reports no count for; tests/test_validate.py checks them against
# the tables they read (take_references) and what a --lenient build set aside (rejects);
# tests/test_timeline.py checks take_timeline against its source tables, and
# tests/test_sensors.py the sensor summaries (motion_bins, gaze_bins, take_motion) against
# the trajectory and eye gaze rows.
COUNTED_ELSEWHERE = {"take_references", "rejects", "take_timeline", "motion_bins", "gaze_bins", "take_motion"}


def test_every_view_matches_the_generator_truth(demo_release, demo_catalog):
    _, demo = demo_release
    all_counts = view_counts(demo_catalog)
    counts = {v: n for v, n in all_counts.items() if v not in COUNTED_ELSEWHERE}
    doc = json.loads((demo_catalog / "build.json").read_text())
    expected = {}
    for view in counts:
        key = DERIVED_COUNTS.get(view, view)
        assert key in demo.truth, f"the generator reports no ground truth for view {view!r}"
        expected[view] = demo.truth[key]
    assert counts == expected
    # every schema is a view, and build.json agrees with the views
    assert set(all_counts) == set(load_schemas())
    assert {t: r["rows"] for t, r in doc["tables"].items()} == all_counts
    assert doc["steps"]["compile"] > 0


def test_every_source_of_the_registry_can_go_to_a_worker_process():
    """The build sends sources to worker processes by pickling them; one that cannot
    be pickled makes the whole build fall back to one process (half the speed on two
    cores). A wrapped compiler is pickled by reference and still runs."""
    import pickle

    from egoexo_sql.tables import all_sources

    for s in all_sources():
        back = pickle.loads(pickle.dumps(s))
        assert back.name == s.name and back.tables == s.tables
        assert getattr(back.compile, "__name__", None) == getattr(s.compile, "__name__", None)


def test_parallel_build_from_a_script_without_a_main_guard(demo_release, demo_catalog, tmp_path):
    """A user's plain script calling egoexo_sql.build() at top level: the worker
    processes must not run the script again (forkserver and spawn re-import __main__)."""
    release, _ = demo_release
    cat = tmp_path / "cat"
    script = tmp_path / "my_build.py"
    script.write_text(
        textwrap.dedent(f"""
        import egoexo_sql
        print("script ran")
        egoexo_sql.build({str(release)!r}, {str(cat)!r})
    """)
    )
    env = dict(os.environ, EGOEXO_SQL_WORKERS="2")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("script ran") == 1  # not once more per worker
    assert json.loads((cat / "build.json").read_text())["compile_workers"] == 2
    assert view_counts(cat) == view_counts(demo_catalog)


@pytest.fixture
def release_copy(demo_release, tmp_path):
    src, demo = demo_release
    dst = tmp_path / "release"
    shutil.copytree(src, dst)
    return dst, demo


def _append_newline(path: Path) -> None:
    """Change a JSON file's bytes (and sha256) without changing what it says."""
    with open(path, "ab") as f:
        f.write(b"\n")


def test_real_incremental_rebuilds(release_copy, tmp_path):
    release, demo = release_copy
    cat = tmp_path / "cat"
    first = build_catalog(release, cat)
    all_sources = {s.name for s in __import__("egoexo_sql.tables", fromlist=["x"]).all_sources()}
    assert set(first.recompiled) == all_sources

    again = build_catalog(release, cat)
    assert again.recompiled == [] and set(again.reused) == all_sources
    assert again.steps.get("compile", 0.0) == 0.0
    assert again.tables == first.tables

    def readers(path: Path) -> list[str]:
        """The sources whose input globs match ``path``."""
        from egoexo_sql.tables import all_sources as registry

        return sorted(s.name for s in registry() if any(path in set(release.glob(pat)) for pat in s.inputs))

    keystep = sorted(release.glob("annotations/keystep_*.json"))[0]
    assert "keystep" in readers(keystep) and "takes" not in readers(keystep)
    _append_newline(keystep)
    rep = build_catalog(release, cat)
    assert sorted(rep.recompiled) == readers(keystep)
    assert keystep.relative_to(release).as_posix() in rep.reasons["keystep"]

    # takes.json is read by several sources (takes, and expert_commentary for take names)
    takes_json = release / "takes.json"
    assert {"takes", "expert_commentary"} <= set(readers(takes_json))
    _append_newline(takes_json)
    rep = build_catalog(release, cat)
    assert sorted(rep.recompiled) == readers(takes_json)

    forced = build_catalog(release, cat, force=True)
    assert set(forced.recompiled) == all_sources
    assert forced.tables == first.tables
    assert view_counts(cat) == first.tables


def test_search_index_follows_the_tables_it_is_made_from(release_copy, tmp_path):
    """search_index uses five text tables: a rebuilt one rebuilds the index even when
    no file changed; a reused one is read from the previous catalog."""
    from egoexo_sql.tables import all_sources

    release, _ = release_copy
    cat = tmp_path / "cat"
    build_catalog(release, cat)
    docs = _rows(cat, "SELECT source, count(*), sum(length) FROM search_docs GROUP BY ALL ORDER BY 1")

    # the atomic compiler changed (version bump), its files did not
    bumped = [
        dataclasses.replace(s, version=s.version + 1) if s.name == "atomic_descriptions" else s
        for s in all_sources()
    ]
    rep = build_catalog(release, cat, sources=bumped)
    assert set(rep.recompiled) == {"atomic_descriptions", "search_index"}
    assert rep.reasons["search_index"].startswith("uses rebuilt table atomic_descriptions")
    assert _rows(cat, "SELECT source, count(*), sum(length) FROM search_docs GROUP BY ALL ORDER BY 1") == docs

    # a keystep file changed: the index is rebuilt from the four reused text tables too
    _append_newline(next(release.glob("annotations/keystep_*.json")))
    rep = build_catalog(release, cat, sources=bumped)
    assert set(rep.recompiled) == {"keystep", "release_files", "search_index"}  # release_files: its stamps
    assert _rows(cat, "SELECT source, count(*), sum(length) FROM search_docs GROUP BY ALL ORDER BY 1") == docs


def _rows(catalog: Path, sql: str) -> list[tuple]:
    import egoexo_sql

    return [tuple(r) for r in egoexo_sql.open(str(catalog)).sql(sql).iter_rows()]


def test_real_only_builds_groups_and_keeps_every_view(release_copy, tmp_path):
    release, demo = release_copy
    cat = tmp_path / "cat"
    rep = build_catalog(release, cat, only=["metadata"])
    counts = view_counts(cat)
    assert set(counts) == set(load_schemas())  # every view exists
    assert counts["takes"] == demo.truth["takes"]
    assert counts["keystep_segments"] == 0 and counts["atomic_descriptions"] == 0
    assert "keystep" in rep.not_built
    rep = build_catalog(release, cat, only=["keystep", "atomic"])
    assert sorted(rep.recompiled) == [
        "atomic_descriptions",
        "keystep",
        "keystep_benchmark",
        "procedure_understanding",
    ]
    counts = view_counts(cat)
    assert counts["takes"] == demo.truth["takes"]
    assert counts["keystep_segments"] == demo.truth["keystep_segments"]
    assert counts["atomic_descriptions"] == demo.truth["atomic_descriptions"]


def test_real_metadata_only_release(tmp_path):
    from egoexo_sql.demo import generate

    demo = generate(tmp_path / "rel", scale=0.01, seed=3, only=["metadata"])
    rep = build_catalog(tmp_path / "rel", tmp_path / "cat")
    counts = view_counts(tmp_path / "cat")
    assert counts["takes"] == demo.truth["takes"] == rep.tables["takes"]
    assert counts["keystep_segments"] == 0 and counts["manifest_files"] == 0


def test_cli_build_prints_a_summary_and_rebuilds_nothing_twice(release_copy, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from egoexo_sql.cli import app

    release, demo = release_copy
    monkeypatch.setenv("EGOEXO_SQL_CATALOG", str(tmp_path / "envcat"))
    runner = CliRunner()
    r = runner.invoke(app, ["build", str(release)])
    assert r.exit_code == 0, r.output
    # the summary may lay tables out in two columns
    import re

    assert re.findall(r"(?:^|\s)takes\s+([\d,]+)\s", r.output, re.M) == [f"{demo.truth['takes']:,}"]
    assert (tmp_path / "envcat" / "catalog.duckdb").is_file()
    r = runner.invoke(
        app, ["build", str(release), "--catalog", str(tmp_path / "envcat"), "--only", "metadata,keystep"]
    )
    assert r.exit_code == 0, r.output
    assert "nothing to recompile" in r.output
    r = runner.invoke(app, ["build", str(release), "--only", "nope"])
    assert isinstance(r.exception, UsageError)  # cli.main turns it into one line and exit 2


def test_catalog_replaced_during_a_build_is_an_error_not_an_empty_table(env):
    env.build()

    def meddle(step, completed, total, detail=""):
        # after planning to reuse people, another process swaps a new catalog in
        if step == "compile" and completed == total:
            shutil.rmtree(env.catalog / "data" / "people", ignore_errors=True)

    with pytest.raises(UsageError, match="changed during this build"):
        env.build(progress=meddle)
    assert siblings(env.catalog) == []


def test_cli_only_takes_several_groups_after_one_flag(release_copy, tmp_path):
    release, demo = release_copy
    cat = tmp_path / "cat"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "egoexo_sql",
            "build",
            str(release),
            "--catalog",
            str(cat),
            "--only",
            "metadata",
            "keystep",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads((cat / "build.json").read_text())
    assert doc["options"]["only"] == ["keystep", "metadata"]
    assert doc["sources"]["keystep"]["status"] == "compiled"
    assert doc["sources"]["atomic_descriptions"]["status"] == "not_built"
    assert r.stderr == ""  # no progress bar when stderr is not a terminal


def test_scan_finds_what_glob_finds(tmp_path):
    """The scan walks a wildcard folder that several patterns share once; it finds what
    glob.glob finds for each pattern: hidden folders and files skipped, a file where a
    folder is expected, folder links followed, a dangling link at a literal name kept
    (the build then names it as a broken link)."""
    import glob
    import os

    from egoexo_sql.builder.scan import _Scanner

    root = tmp_path / "r"
    for take in ("a", "b", ".hidden", "c"):
        (root / "takes" / take / "trajectory").mkdir(parents=True)
        (root / "takes" / take / "trajectory" / "summary.json").write_text("{}")
        (root / "takes" / take / "trajectory" / ".x.csv").write_text("")
        (root / "takes" / take / "trajectory" / "gopro_calibs.csv").write_text("")
    (root / "takes" / "d").mkdir()
    (root / "takes" / "d" / "trajectory").write_text("a file, not a folder")
    (root / "takes" / "e").symlink_to(root / "takes" / "a")
    (root / "takes" / "f" / "trajectory").mkdir(parents=True)
    (root / "takes" / "f" / "trajectory" / "summary.json").symlink_to(root / "nowhere.json")
    patterns = [
        "takes/*/trajectory/summary.json",
        "takes/*/trajectory/gopro_calibs.csv",
        "takes/*/trajectory/*.csv",
        "takes/*/eye_gaze/summary.json",
        "takes/*/*/summary.json",
        "takes/[ab]/trajectory/summary.json",
        "takes/*/trajectory/.x.csv",
        "takes/a/trajectory/*.json",
        "*/a/trajectory/gopro_calibs.csv",
        "takes/a/trajectory/summary.json",
        "takes/*/trajectory",
        "missing/*/summary.json",
        "takes/*/trajectory/missing.json",
    ]
    scanner = _Scanner(root)
    for p in patterns:
        want = sorted(r.replace(os.sep, "/") for r in glob.glob(p, root_dir=root, recursive=True))
        assert sorted(scanner._glob(p)) == want, p
    assert "takes/f/trajectory/summary.json" in scanner._glob("takes/*/trajectory/summary.json")


def test_view_files_read_the_tables_sqlglot_finds(tmp_path):
    """The views step orders the view files by the tables they read, found in DuckDB's
    parse tree (sqlglot, slow to import, only for a file DuckDB's serializer refuses):
    the same tables sqlglot finds, CTEs not counted, a plain query or a CREATE VIEW."""
    from egoexo_sql.builder.views import _view_refs_sqlglot, _view_sql, view_statements
    from egoexo_sql.resources import queries_dir
    from egoexo_sql.schema import load_schemas

    files = {f.stem: f.read_text(encoding="utf-8") for f in (queries_dir() / "views").glob("*.sql")}
    files["plain"] = "-- a query\nWITH takes AS (SELECT 1 AS k) SELECT * FROM takes JOIN b USING (k);"
    for name, text in files.items():
        sql, refs = _view_sql(name, text)
        assert refs - {name} == _view_refs_sqlglot(name, text.strip().rstrip(";")) - {name}, name
        assert sql.lstrip().upper().startswith(("CREATE", "--"))
    assert _view_sql("plain", files["plain"])[1] == {"b"}
    order = [n for n, _ in view_statements(load_schemas(), queries_dir() / "views")]
    derived = set(files) - {"plain"}
    for name in derived:
        reads = _view_sql(name, files[name])[1] & derived - {name}
        assert all(order.index(r) < order.index(name) for r in reads), name
    with pytest.raises(ValueError, match=r"queries/views/bad\.sql"):
        _view_sql("bad", "SELEC 1")
