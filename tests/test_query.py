"""The read side: Catalog (Python API), output formats, and `query` / `tables` / `describe`.

Most tests run on a mini catalog made by ``_catalog_fixture`` (no build engine
needed); the ``demo_catalog`` tests run on a real catalog built from the synthetic
release (session fixtures of conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from _catalog_fixture import N_TAKES, SEGMENTS, make_catalog
from typer.testing import CliRunner

import egoexo_sql
from egoexo_sql import output
from egoexo_sql.catalog import Catalog
from egoexo_sql.cli import app
from egoexo_sql.errors import CatalogNotFound, QueryError, UsageError

EXE = Path(sys.executable).parent / "egoexo-sql"
N_SEGMENTS = sum(SEGMENTS.values())


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("query") / "cat")


@pytest.fixture()
def cli(mini, monkeypatch):
    """Invoke the CLI in-process with $EGOEXO_SQL_CATALOG pointing at the mini catalog."""
    monkeypatch.setenv("EGOEXO_SQL_CATALOG", str(mini))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


def run(*args: str, cwd: Path | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
        **kw,
    )


# --------------------------------------------------------------------------- opening


def test_open_by_path_env_default_and_database_file(mini, monkeypatch, tmp_path):
    assert egoexo_sql.open(str(mini)).path == mini.resolve()
    assert Catalog.open(mini / "catalog.duckdb").path == mini.resolve()
    monkeypatch.setenv("EGOEXO_SQL_CATALOG", str(mini))
    assert egoexo_sql.open().path == mini.resolve()
    monkeypatch.delenv("EGOEXO_SQL_CATALOG")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CatalogNotFound, match="egoexo_catalog"):
        egoexo_sql.open()
    shutil.copytree(mini, tmp_path / "egoexo_catalog")
    assert egoexo_sql.open().path == (tmp_path / "egoexo_catalog").resolve()


def test_clear_error_when_not_a_catalog(tmp_path):
    with pytest.raises(CatalogNotFound, match="does not exist") as e:
        Catalog.open(tmp_path / "nope")
    assert e.value.exit_code == 2
    with pytest.raises(CatalogNotFound, match="has no catalog.duckdb"):
        Catalog.open(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CatalogNotFound, match="is a file"):
        Catalog.open(tmp_path / "file.txt")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "catalog.duckdb").write_text("not a database")
    with pytest.raises(CatalogNotFound, match="cannot be opened"):
        Catalog.open(bad)


def test_open_is_read_only_with_a_scratch_memory_database(mini):
    with Catalog.open(mini) as cat:
        with pytest.raises(duckdb.Error, match="read-only"):
            cat.connection.execute("CREATE VIEW x AS SELECT 1")
        with pytest.raises(QueryError, match="read-only"):
            cat.sql("DROP VIEW mini_takes")
        cat.connection.execute("CREATE TABLE memory.scratch AS SELECT take_uid FROM mini_takes")
        assert cat.sql("SELECT count(*) AS n FROM memory.scratch")["n"].to_list() == [N_TAKES]
    assert "mini_takes" in Catalog.open(mini).views()  # nothing was changed on disk


def test_relative_view_paths_resolve_from_any_working_directory(mini, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for sandbox in (False, True):
        with Catalog.open(mini, sandbox=sandbox) as cat:
            assert cat.relation("SELECT count(*) FROM mini_segments").fetchall() == [(N_SEGMENTS,)]


def test_relocated_catalog_opens_from_another_cwd(mini, tmp_path, monkeypatch):
    moved = tmp_path / "moved here" / "my catalog"
    shutil.copytree(mini, moved)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with Catalog.open(moved, sandbox=True) as cat:
        assert cat.relation("SELECT count(*) FROM mini_summary").fetchall() == [(N_TAKES,)]
        # the views read the moved copy, not the original folder
        assert cat.connection.execute("SELECT current_setting('file_search_path')").fetchone()[0] == str(
            moved.resolve()
        )
    res = run(
        "query",
        "SELECT count(*) AS n FROM mini_segments",
        "--format",
        "csv",
        "--catalog",
        str(moved),
        cwd=elsewhere,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["n", str(N_SEGMENTS)]


# --------------------------------------------------------------------------- Python API


def test_sql_returns_polars(mini):
    cat = egoexo_sql.open(mini)
    df = cat.sql("SELECT scenario, count(*) AS n FROM mini_takes GROUP BY ALL ORDER BY scenario")
    assert isinstance(df, pl.DataFrame)
    assert df.rows() == [("Bike Repair", 2), ("Cooking", 3)]
    with pytest.raises(QueryError, match="nope"):
        cat.sql("SELECT nope FROM mini_takes")


def test_table_scans_parquet_with_hive_partitions(mini):
    cat = egoexo_sql.open(mini)
    lf = cat.table("mini_segments")
    assert isinstance(lf, pl.LazyFrame)
    got = lf.collect()
    assert got.height == N_SEGMENTS
    assert dict(got.group_by("split").len().iter_rows()) == SEGMENTS
    want = cat.sql("SELECT * FROM mini_segments")
    key = ["split", "segment_idx"]
    assert got.select(want.columns).sort(key).equals(want.sort(key))
    assert (
        cat.table("mini_takes")
        .collect()
        .sort("take_uid")
        .equals(cat.sql("SELECT * FROM mini_takes").sort("take_uid"))
    )


def test_table_of_a_derived_view_and_of_an_unknown_name(mini):
    cat = egoexo_sql.open(mini)
    assert cat.table("mini_summary").collect().height == N_TAKES
    with pytest.raises(UsageError, match="no table or view 'nope'.*mini_takes"):
        cat.table("nope")


def test_tables_and_describe(mini):
    cat = egoexo_sql.open(mini)
    t = cat.tables()
    assert t.columns == ["name", "kind", "rows", "description"]
    rows = {r[0]: r[1:3] for r in t.iter_rows()}
    assert rows == {
        "mini_segments": ("table", N_SEGMENTS),
        "mini_summary": ("view", N_TAKES),
        "mini_takes": ("table", N_TAKES),
    }
    d = cat.describe("mini_takes")
    assert d.columns == ["column", "type", "nullable", "description"]
    types = dict(zip(d["column"], d["type"]))
    assert types["cams"] == "VARCHAR[]" and types["recorded_at"] == "TIMESTAMP"
    with pytest.raises(UsageError, match="no table or view"):
        cat.describe("nope")


def test_relation_and_execute_give_arrow_and_rows(mini):
    with Catalog.open(mini, sandbox=True) as cat:
        arrow = cat.relation("SELECT take_uid FROM mini_takes ORDER BY 1").to_arrow_table()
        assert arrow.column("take_uid").to_pylist() == [f"uid-{i}" for i in range(N_TAKES)]
        cur = cat.execute("SELECT take_uid, cams FROM mini_takes ORDER BY 1 LIMIT 1")
        assert [d[0] for d in cur.description] == ["take_uid", "cams"]
        assert cur.fetchall() == [("uid-0", ["cam00", "aria"])]


# --------------------------------------------------------------------------- output formats

COLS = ["name", "n", "x", "tags", "when", "ok"]
TYPES = ["VARCHAR", "BIGINT", "DOUBLE", "VARCHAR[]", "TIMESTAMP", "BOOLEAN"]


def _rows():
    import datetime as dt

    return [
        ("a,b", 1, 1.5, ["p", "q"], dt.datetime(2023, 1, 2, 3, 4, 5), True),
        (None, 22, None, [], None, False),
        ("line\nbreak" + "z" * 100, 333, -0.25, None, dt.datetime(2024, 5, 6), None),
    ]


def _write(fmt, rows=None, **kw):
    buf = io.StringIO()
    n = output.write_text(fmt, COLS, TYPES, [rows if rows is not None else _rows()], buf, **kw)
    return n, buf.getvalue()


def test_table_format_is_aligned():
    n, text = _write("table")
    lines = text.splitlines()
    assert n == 3 and lines[-1] == "(3 rows)"
    assert lines[0].split() == COLS
    assert set(lines[1].replace(" ", "")) == {"-"}
    # numbers right-aligned: the column ends at the same place on every row
    ends = {line.index(v) + len(v) for line, v in zip(lines[2:5], ["1", "22", "333"])}
    assert len(ends) == 1
    assert "NULL" in lines[3] and "true" in lines[2] and "false" in lines[3]
    assert "\\n" in lines[4] and "…" in lines[4]  # newline escaped, long cell cut
    assert max(len(s) for s in lines[4].split("  ") if s) <= output.MAX_CELL
    _, whole = _write("table", max_cell=0)
    assert "z" * 100 in whole
    _, empty = _write("table", rows=[])
    assert empty.splitlines()[-1] == "(0 rows)"


def test_csv_format():
    n, text = _write("csv")
    got = list(csv.reader(io.StringIO(text)))
    assert n == 3 and got[0] == COLS
    assert got[1] == ["a,b", "1", "1.5", '["p","q"]', "2023-01-02 03:04:05", "true"]
    assert got[2] == ["", "22", "", "[]", "", "false"]
    assert got[3][0].startswith("line\nbreak")
    assert _write("csv", rows=[])[1] == ",".join(COLS) + "\n"


def test_json_and_ndjson_formats():
    n, text = _write("json")
    data = json.loads(text)
    assert n == 3 and len(data) == 3
    assert data[0] == {
        "name": "a,b",
        "n": 1,
        "x": 1.5,
        "tags": ["p", "q"],
        "when": "2023-01-02T03:04:05",
        "ok": True,
    }
    assert data[1]["name"] is None and data[1]["tags"] == []
    assert json.loads(_write("json", rows=[])[1]) == []
    n, text = _write("ndjson")
    lines = text.splitlines()
    assert n == 3 and [json.loads(line) for line in lines] == data
    assert _write("ndjson", rows=[])[1] == ""


def test_json_keys_are_unique_and_odd_values_serialise():
    import decimal
    import uuid

    buf = io.StringIO()
    u = uuid.UUID(int=5)
    output.write_json(
        ["a", "a", "m"],
        ["INTEGER"] * 3,
        [[(decimal.Decimal("1.25"), float("nan"), {1: b"\x00\x01"}), (None, u, None)]],
        buf,
    )
    data = json.loads(buf.getvalue())
    assert data[0] == {"a": 1.25, "a_1": None, "m": {"1": "AAE="}}
    assert data[1]["a_1"] == str(u)


def test_parquet_format_roundtrips(mini, tmp_path):
    with Catalog.open(mini, sandbox=True) as cat:
        reader = cat.relation("SELECT * FROM mini_takes ORDER BY take_uid").to_arrow_reader(2)
        target = tmp_path / "t.parquet"
        assert output.write_parquet(reader, str(target)) == N_TAKES
        back = pq.read_table(target)
        assert back.column("take_uid").to_pylist() == [f"uid-{i}" for i in range(N_TAKES)]
        assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "ZSTD"


# --------------------------------------------------------------------------- CLI


def test_cli_query_formats(cli):
    r = cli("query", "SELECT take_uid, scenario FROM mini_takes ORDER BY 1 LIMIT 2")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].split() == ["take_uid", "scenario"]
    assert r.stdout.splitlines()[-1] == "(2 rows)"
    r = cli("query", "SELECT take_uid FROM mini_takes ORDER BY 1", "--format", "csv")
    assert r.stdout.splitlines() == ["take_uid"] + [f"uid-{i}" for i in range(N_TAKES)]
    r = cli("query", "SELECT take_uid, cams FROM mini_takes ORDER BY 1 LIMIT 1", "--format", "json")
    assert json.loads(r.stdout) == [{"take_uid": "uid-0", "cams": ["cam00", "aria"]}]
    r = cli(
        "query",
        "FROM mini_segments SELECT split, count(*) AS n GROUP BY ALL ORDER BY 1",
        "--format",
        "ndjson",
    )
    assert [json.loads(x) for x in r.stdout.splitlines()] == [
        {"split": k, "n": v} for k, v in sorted(SEGMENTS.items())
    ]


def test_cli_query_timestamptz_and_hugeint(cli):
    """TIMESTAMPTZ (now(), casts) needs pytz in DuckDB's row conversion; the CLI must not."""
    r = cli(
        "query",
        "SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AS t, now() IS NOT NULL AS ok, "
        "170141183460469231731687303715884105727::HUGEINT AS h",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["t"].startswith("2024-01-02") and row["t"].endswith("+00:00") and row["ok"] is True
    r = cli("query", "SELECT 170141183460469231731687303715884105727::HUGEINT AS h", "--format", "ndjson")
    assert json.loads(r.stdout) == {"h": 170141183460469231731687303715884105727}
    r = cli("query", "SELECT now() AS t", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.startswith("t\n20")


def test_cli_query_sql_from_file_and_stdin(cli, tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("-- how many\nSELECT count(*) AS n FROM mini_takes;\n")
    assert cli("query", "--file", str(f), "--format", "csv").stdout == f"n\n{N_TAKES}\n"
    assert cli("query", "-", "--format", "csv", input="SELECT 7 AS n").stdout == "n\n7\n"
    r = cli("query", "SELECT 1", "--file", str(f))
    assert r.exit_code == 2 and "not both" in r.stderr
    r = cli("query", "--file", str(tmp_path / "missing.sql"))
    assert r.exit_code == 2 and "no such file" in r.stderr
    r = cli("query", input="  \n")
    assert r.exit_code == 2 and "empty" in r.stderr


def test_cli_query_output_file(cli, tmp_path):
    target = tmp_path / "out.csv"
    r = cli("query", "SELECT take_uid FROM mini_takes", "--format", "csv", "--output", str(target))
    assert r.exit_code == 0 and r.stdout == ""
    assert f"wrote {N_TAKES} rows" in r.stderr
    assert len(target.read_text().splitlines()) == N_TAKES + 1
    pq_target = tmp_path / "out.parquet"
    r = cli("query", "SELECT * FROM mini_segments", "--format", "parquet", "-o", str(pq_target))
    assert r.exit_code == 0, r.stderr
    assert pq.read_table(pq_target).num_rows == N_SEGMENTS
    # a failing query leaves no file behind, not even a partial one
    bad = tmp_path / "bad.csv"
    r = cli("query", "SELECT CAST(take_name AS INTEGER) FROM mini_takes", "--format", "csv", "-o", str(bad))
    assert r.exit_code == 1 and not bad.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_parquet_needs_an_output(cli):
    r = cli("query", "SELECT 1", "--format", "parquet")
    assert r.exit_code == 2 and "--output" in r.stderr


def test_cli_parquet_to_a_pipe_and_refused_on_a_terminal(mini):
    res = subprocess.run(
        [
            str(EXE),
            "query",
            "SELECT * FROM mini_takes",
            "--format",
            "parquet",
            "-o",
            "-",
            "--catalog",
            str(mini),
        ],
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert pq.read_table(io.BytesIO(res.stdout)).num_rows == N_TAKES
    leader, follower = pty.openpty()
    try:
        res = subprocess.run(
            [str(EXE), "query", "SELECT 1", "--format", "parquet", "-o", "-", "--catalog", str(mini)],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert res.returncode == 2
    assert b"terminal" in res.stderr


def test_cli_errors_and_exit_codes(mini, tmp_path):
    cat = ["--catalog", str(mini)]
    r = run("query", "SELECT * FROM read_csv('/etc/passwd')", *cat)
    assert r.returncode == 1 and "refused read_csv() at line 1, column 15" in r.stderr
    assert "root:" not in r.stdout
    r = run("query", "SELECT 1; SELECT 2", *cat)
    assert r.returncode == 1 and "second statement" in r.stderr
    r = run("query", "SELECT nope FROM mini_takes", *cat)
    assert r.returncode == 1 and "nope" in r.stderr and r.stderr.startswith("error:")
    r = run("query", "SELECT 1", "--catalog", str(tmp_path / "none"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = run("query", "SELECT 1", "--format", "xml", *cat)
    assert r.returncode == 2
    r = run("describe", "nope", *cat)
    assert r.returncode == 2 and "no table or view 'nope'" in r.stderr


def test_cli_query_output_closed_early_is_not_an_error(mini):
    p = subprocess.Popen(
        f"'{EXE}' query 'SELECT * FROM range(200000)' --format csv --catalog '{mini}' | head -n 2",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = p.communicate(timeout=120)
    assert out.splitlines() == ["range", "0"]
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_cli_tables_and_describe(cli):
    r = cli("tables", "--format", "csv")
    assert r.exit_code == 0
    got = list(csv.reader(io.StringIO(r.stdout)))
    assert got[0] == ["name", "kind", "rows", "description"]
    assert {row[0]: row[2] for row in got[1:]} == {
        "mini_segments": str(N_SEGMENTS),
        "mini_summary": str(N_TAKES),
        "mini_takes": str(N_TAKES),
    }
    r = cli("describe", "mini_segments", "--format", "json")
    cols = json.loads(r.stdout)
    assert [c["column"] for c in cols] == ["take_uid", "segment_idx", "start_time", "split", "step_name"]
    assert cols[3] == {"column": "split", "type": "VARCHAR", "nullable": True, "description": ""}
    r = cli("tables")
    assert r.stdout.splitlines()[-1] == "(3 rows)"


def test_query_path_imports_no_dataframe_library(mini):
    """`egoexo-sql query` must start fast: no polars, pandas, pyarrow or great_expectations."""
    probe = (
        "import sys\n"
        "from egoexo_sql.cli import main\n"
        "sys.argv = ['egoexo-sql', 'query', 'SELECT count(*) FROM mini_takes', '--format', 'json',"
        f" '--catalog', {str(mini)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'polars', 'pandas', 'pyarrow', 'great_expectations', 'numpy'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [{"count_star()": N_TAKES}]
    assert "HEAVY []" in res.stderr, res.stderr


# --------------------------------------------------------------------------- a real built catalog


def test_demo_catalog_tables_match_build_json(demo_catalog):
    cat = egoexo_sql.open(demo_catalog)
    built = cat.build_info["tables"]
    rows = {name: n for name, _, n, _ in cat.table_rows()}
    for name, info in built.items():
        if "rows" in info and info.get("status") != "view":
            assert rows[name] == info["rows"], name
    assert {"takes", "take_summary", "orphans", "keystep_segments"} <= set(rows)


def test_demo_catalog_table_equals_sql_for_every_parquet_table(demo_catalog):
    cat = egoexo_sql.open(demo_catalog)
    checked = 0
    for name in cat.views():
        if not (cat.path / "data" / name).is_dir():
            continue
        lazy = cat.table(name).collect()
        want = cat.sql(f"SELECT * FROM {name}")
        assert lazy.columns == want.columns, name
        assert lazy.schema == want.schema, name
        assert lazy.height == want.height, name
        assert lazy.sort(lazy.columns).equals(want.sort(want.columns)), name
        checked += 1
    assert checked >= 10


def test_demo_catalog_describe_uses_schemas(demo_catalog):
    from egoexo_sql import schema

    cat = egoexo_sql.open(demo_catalog)
    takes = schema.get("takes")
    d = {r[0]: r for r in cat.describe_rows("takes")}
    for col in takes.columns:
        assert d[col.name][2] == col.nullable and d[col.name][3] == col.description, col.name
    assert d["take_uid"][1] == "VARCHAR" and d["take_uid"][2] is False and d["take_uid"][3]


def test_demo_catalog_sandboxed_cli_query(demo_catalog, tmp_path):
    res = run(
        "query",
        "SELECT t.take_uid, p.participant_uid FROM takes t JOIN participants p "
        "USING (participant_uid) ORDER BY 1 LIMIT 3",
        "--format",
        "json",
        "--catalog",
        str(demo_catalog),
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == 3
    res = run(
        "query",
        "SELECT count(*) AS n FROM take_summary",
        "--format",
        "csv",
        "--catalog",
        str(demo_catalog),
        cwd=tmp_path,
    )
    n = egoexo_sql.open(demo_catalog).sql("SELECT count(*) AS n FROM takes")["n"][0]
    assert res.stdout.splitlines() == ["n", str(n)]
