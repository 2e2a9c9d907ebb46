"""The sandbox for user SQL, layer by layer.

- the sqlglot guard (:func:`sandbox.check`) on its own: what it refuses, with what
  message and position, and the DuckDB SQL it must let through;
- DuckDB's parser layer (:func:`sandbox.check_engine`);
- the locked connection (:func:`sandbox.connect`) on its own, with the guard bypassed:
  each engine setting is shown to stop the attack by itself;
- the two together through ``Catalog.open(..., sandbox=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from _catalog_fixture import make_catalog

from egoexo_sql import sandbox
from egoexo_sql.catalog import Catalog
from egoexo_sql.errors import QueryError
from egoexo_sql.sandbox import Refused, check


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("sandbox") / "cat")


@pytest.fixture()
def locked(mini):
    con = sandbox.connect(mini)
    yield con
    con.close()


_USER_PATH: dict[str, object] = {}


def _user_path_connection():
    """One locked connection over a mini catalog: the path `egoexo-sql query` runs."""
    if "con" not in _USER_PATH:
        import tempfile

        _USER_PATH["dir"] = tempfile.TemporaryDirectory()
        _USER_PATH["con"] = sandbox.connect(make_catalog(Path(_USER_PATH["dir"].name) / "cat"))
    return _USER_PATH["con"]


def refused(sql: str, **kw) -> Refused:
    """check()'s refusal, and the same refusal (message and position) from guard(), the
    DuckDB-parser guard that user queries go through."""
    with pytest.raises(Refused) as e:
        check(sql, **kw)
    with pytest.raises(Refused) as g:
        sandbox.guard(_user_path_connection(), sql, **kw)
    assert str(g.value) == str(e.value) and (g.value.line, g.value.column) == (e.value.line, e.value.column)
    return e.value


# --------------------------------------------------------------------------- sqlglot guard


def test_two_statements_refused_at_the_second():
    e = refused("SELECT 1;\n  SELECT 2")
    assert e.what == "a second statement"
    assert (e.line, e.column) == (2, 3)
    assert "line 2, column 3" in str(e)


def test_statement_hidden_after_a_comment_is_still_a_second_statement():
    e = refused("SELECT 1; -- harmless\nCOPY (SELECT 1) TO '/tmp/x.csv'")
    assert e.what == "a second statement"
    assert e.line == 2


def test_one_statement_with_trailing_semicolons_and_comments_passes():
    check("SELECT 1;")
    check("-- count\nSELECT 1 /* x */ ; -- done\n")
    check("SELECT 1;;")


@pytest.mark.parametrize(
    "sql, keyword",
    [
        ("COPY (SELECT 1) TO '/tmp/out.csv'", "COPY"),
        ("copy mini_takes to 'x.parquet'", "COPY"),
        ("ATTACH '/tmp/other.duckdb' AS o", "ATTACH"),
        ("DETACH catalog", "DETACH"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("RESET lock_configuration", "RESET"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("CREATE TEMP VIEW v AS SELECT 1", "CREATE"),
        ("INSERT INTO t VALUES (1)", "INSERT"),
        ("UPDATE t SET a = 1", "UPDATE"),
        ("DELETE FROM t", "DELETE"),
        ("DROP VIEW mini_takes", "DROP"),
        ("ALTER VIEW mini_takes RENAME TO x", "ALTER"),
        ("USE memory", "USE"),
        ("CALL pragma_version()", "CALL"),
        ("CHECKPOINT", "CHECKPOINT"),
        ("EXPORT DATABASE '/tmp/x'", None),  # sqlglot cannot parse it: a syntax error
        ("BEGIN TRANSACTION", "BEGIN"),
    ],
)
def test_statements_that_are_not_queries_are_refused(sql, keyword):
    if keyword is None:
        with pytest.raises(QueryError):
            check(sql)
        return
    e = refused(sql)
    assert e.what == keyword
    assert (e.line, e.column) == (1, 1)
    assert "only one read-only query" in str(e)


def test_refusal_position_skips_leading_comment():
    e = refused("-- look\n   ATTACH 'x.db'")
    assert (e.what, e.line, e.column) == ("ATTACH", 2, 4)


@pytest.mark.parametrize(
    "sql, name, column",
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv", 15),
        ("select * from READ_CSV_AUTO('/etc/passwd')", "READ_CSV_AUTO", 15),
        ("SELECT * FROM read_parquet('data/../../x.parquet')", "read_parquet", 15),
        ("SELECT * FROM parquet_scan('/x.parquet')", "parquet_scan", 15),
        ("SELECT * FROM read_json('/x.json')", "read_json", 15),
        ("SELECT * FROM read_ndjson_objects('/x.json')", "read_ndjson_objects", 15),
        ("SELECT * FROM read_text('/etc/hostname')", "read_text", 15),
        ("SELECT * FROM read_blob('/etc/hostname')", "read_blob", 15),
        ("SELECT * FROM glob('/etc/*')", "glob", 15),
        ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv", 15),
        ("SELECT * FROM parquet_metadata('data/x.parquet')", "parquet_metadata", 15),
        ("SELECT * FROM query('SELECT 1')", "query", 15),
        ("SELECT * FROM query_table('mini_takes')", "query_table", 15),
        # anywhere in the tree, not only the top FROM
        ("SELECT (SELECT count(*) FROM read_text('/etc/hostname')) AS n", "read_text", 30),
        (
            "SELECT * FROM mini_takes WHERE take_uid IN (SELECT * FROM read_csv('/etc/passwd'))",
            "read_csv",
            59,
        ),
        ("WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv", 26),
        ("SELECT * FROM mini_takes t JOIN read_csv('/etc/passwd') p ON true", "read_csv", 33),
        ("SELECT read_csv('/etc/passwd')", "read_csv", 8),
        ("SELECT 1 UNION ALL SELECT * FROM glob('*')", "glob", 34),
        # spelled so that a naive name match misses them; DuckDB runs each of these
        ("SELECT * FROM \"read_csv\"('/etc/passwd')", "read_csv", 15),
        ("SELECT * FROM system.main.read_csv('/etc/passwd')", "read_csv", 27),
        ("SELECT * FROM Read_Csv /* x */ ('/etc/passwd')", "Read_Csv", 15),
        ("SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql", 15),
        ("SELECT * FROM arrow_scan(0, 0, 0)", "arrow_scan", 15),
    ],
)
def test_functions_that_read_files_are_refused_with_their_position(sql, name, column):
    e = refused(sql)
    assert e.what == f"{name}()"
    assert (e.line, e.column) == (1, column)
    assert "reads files" in str(e)


def test_position_of_a_refused_function_on_a_later_line():
    e = refused("SELECT *\nFROM mini_takes,\n     read_csv('/etc/passwd')")
    assert (e.what, e.line, e.column) == ("read_csv()", 3, 6)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM '/etc/passwd'",
        'SELECT * FROM "/etc/passwd"',
        "FROM 'data/mini_takes/part-0.parquet'",
        "SELECT * FROM 'x.csv'",
        'SELECT * FROM "s3://bucket/x.parquet"',
    ],
)
def test_file_paths_as_table_names_are_refused(sql):
    e = refused(sql)
    assert "looks like a file path" in str(e)


def test_public_predicates_agree_with_the_guard():
    for name in ("read_csv", "READ_PARQUET", "glob", "query", "arrow_scan", "sqlite_scan"):
        assert sandbox.reads_files(name) and not sandbox.allowed_table_function(name), name
        with pytest.raises(Refused):
            check(f"SELECT * FROM {name}('x')")
    for name in ("range", "unnest", "duckdb_tables", "json_each"):
        assert not sandbox.reads_files(name) and sandbox.allowed_table_function(name), name
    assert not sandbox.allowed_table_function("mini_takes_in")
    assert sandbox.allowed_table_function("mini_takes_in", {"MINI_TAKES_IN"})


def test_table_functions_off_the_allow_list_are_refused():
    e = refused("SELECT * FROM some_extension_function(1)")
    assert e.what == "table function some_extension_function()"
    assert "may be used in FROM" in str(e)
    e = refused("SELECT * FROM mini_takes_in('Cooking')")  # a macro, but not declared
    assert e.what == "table function mini_takes_in()"
    check("SELECT * FROM mini_takes_in('Cooking')", table_macros={"mini_takes_in"})
    sandbox.guard(
        _user_path_connection(), "SELECT * FROM mini_takes_in('Cooking')", table_macros={"mini_takes_in"}
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select scenario, count(*) AS n FROM mini_takes GROUP BY ALL ORDER BY n DESC",
        "FROM mini_takes SELECT take_uid WHERE is_narrated",
        "FROM mini_takes",
        "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
        "SELECT * FROM range(10)",
        "SELECT * FROM generate_series(1, 3)",
        "SELECT * FROM unnest([1, 2, 3])",
        "SELECT * FROM duckdb_tables()",
        "SELECT * FROM information_schema.columns",
        "SELECT * FROM catalog.main.mini_takes",
        "SELECT t.take_uid, u.c FROM mini_takes t, unnest(t.cams) AS u(c)",
        "VALUES (1), (2)",
        "DESCRIBE mini_takes",
        "SUMMARIZE mini_takes",
        "SHOW TABLES",
        "SELECT 1 UNION ALL SELECT 2",
        "(SELECT 1)",
        "SELECT [x * 2 FOR x IN [1, 2]]",
        "SELECT list_transform([1, 2], x -> x + 1)",
        "SELECT * EXCLUDE (cams) FROM mini_takes",
        "SELECT COLUMNS('take_.*') FROM mini_takes",
        "SELECT {'a': 1}",
        "SELECT take_uid FROM mini_takes QUALIFY row_number() OVER (PARTITION BY scenario) = 1",
        "SELECT 'read_csv(''/etc/passwd'')' AS harmless_text",
        'SELECT 1 AS "read_csv"',
        "SELECT take_uid AS read_count FROM mini_takes",
        "SELECT date '2020-01-01', x::INTEGER FROM (SELECT '1' AS x)",
        "SELECT * FROM mini_takes USING SAMPLE 2",
    ],
)
def test_ordinary_duckdb_queries_pass(sql):
    check(sql)
    sandbox.guard(_user_path_connection(), sql)


@pytest.mark.parametrize("guard", [check, lambda sql: sandbox.guard(_user_path_connection(), sql)])
def test_syntax_error_is_a_query_error_with_position(guard):
    with pytest.raises(QueryError) as e:
        guard("SELECT FROM WHERE (")
    assert not isinstance(e.value, Refused)
    assert "line 1" in str(e.value)
    with pytest.raises(QueryError, match="cannot read the SQL"):
        guard("SELECT 'unterminated")


@pytest.mark.parametrize("guard", [check, lambda sql: sandbox.guard(_user_path_connection(), sql)])
def test_empty_sql_is_refused(guard):
    for sql in ("", "   ", "-- nothing\n", ";"):
        with pytest.raises(QueryError, match="no SQL statement"):
            guard(sql)


def test_a_plain_query_does_not_import_sqlglot(mini):
    """The query path guards with DuckDB's parser; sqlglot (0.15 s to import) only words
    a refusal."""
    code = (
        "import sys\nfrom egoexo_sql.query_runner import run_query\n"
        f"run_query('SELECT count(*) FROM mini_takes', None, 'csv', None, {str(mini)!r})\n"
        "assert 'sqlglot' not in sys.modules, 'sqlglot was imported'\n"
        f"run_query('SELECT * FROM read_text(1)', None, 'csv', None, {str(mini)!r})\n"
    )
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "5" in p.stdout.splitlines()[-1]
    assert "refused read_text() at line 1, column 15" in p.stderr


# --------------------------------------------------------------------------- DuckDB parser layer


def test_engine_parser_layer_wants_one_select(locked):
    sandbox.check_engine(locked, "SELECT 1")
    sandbox.check_engine(locked, "DESCRIBE mini_takes")
    for sql in (
        "SELECT 1; SELECT 2",
        "COPY (SELECT 1) TO 'x.csv'",
        "ATTACH 'x.db'",
        "INSTALL httpfs",
        "SET threads = 1",
        "EXPLAIN SELECT 1",
    ):
        with pytest.raises(Refused):
            sandbox.check_engine(locked, sql)


# --------------------------------------------------------------------------- the locked engine alone


def perm(con, sql) -> str:
    """Run ``sql`` on the locked connection (no guard); it must fail: the message."""
    with pytest.raises(duckdb.Error) as e:
        con.execute(sql).fetchall()
    return str(e.value)


def test_engine_reads_the_views(locked):
    assert locked.execute("SELECT count(*) FROM mini_takes").fetchone()[0] == 5
    assert locked.execute("SELECT count(*) FROM mini_segments").fetchone()[0] == 6
    assert locked.execute("SELECT count(*) FROM mini_summary").fetchone()[0] == 5


def test_engine_refuses_reading_files_outside(locked, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    assert "Permission" in perm(locked, "SELECT * FROM read_csv('/etc/passwd')")
    assert "Permission" in perm(locked, f"SELECT * FROM read_csv('{secret}')")
    assert "Permission" in perm(locked, "SELECT * FROM glob('/etc/*')")
    assert "Permission" in perm(locked, "SELECT * FROM read_text('/etc/hostname')")


def test_engine_refuses_view_path_escapes(locked, mini):
    # relative paths that climb out of data/ are not among the allowed view paths
    outside = mini.parent / "outside.parquet"
    duckdb.execute(f"COPY (SELECT 42 AS x) TO '{outside}'")
    for path in (
        "data/../../outside.parquet",
        "../outside.parquet",
        str(outside),
        "data/mini_takes/../../../outside.parquet",
        "views.sql",
    ):
        assert "Permission" in perm(locked, f"SELECT * FROM read_parquet('{path}')"), path


def test_engine_refuses_copy_to_outside(locked, tmp_path):
    target = tmp_path / "out.csv"
    assert "Permission" in perm(locked, f"COPY (SELECT 1) TO '{target}'")
    assert not target.exists()
    assert "Permission" in perm(locked, "COPY (SELECT 1) TO 'out.csv'")


def test_engine_refuses_attach(locked, tmp_path):
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    assert "Permission" in perm(locked, f"ATTACH '{other}' AS other")


def test_engine_refuses_extensions(locked):
    assert "disabled" in perm(locked, "INSTALL httpfs")
    assert "disabled" in perm(locked, "LOAD httpfs")


def test_engine_configuration_is_locked(locked):
    for setting in (
        "enable_external_access = true",
        "lock_configuration = false",
        "allowed_directories = ['/']",
        "allowed_paths = ['/etc/passwd']",
        "file_search_path = '/etc'",
        "autoload_known_extensions = true",
        "python_enable_replacements = true",
        "temp_directory = '/tmp'",
    ):
        assert "locked" in perm(locked, f"SET {setting}")
    assert "locked" in perm(locked, "RESET enable_external_access")


def test_engine_settings_are_the_ones_documented(locked, mini):
    got = dict(
        locked.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions', "
            "'allow_community_extensions', 'python_enable_replacements', 'temp_directory', "
            "'file_search_path')"
        ).fetchall()
    )
    assert got == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "allow_community_extensions": "false",
        "python_enable_replacements": "false",
        "temp_directory": "",
        "file_search_path": str(mini.resolve()),
    }


def test_engine_catalog_is_read_only(locked):
    assert "read-only" in perm(locked, "CREATE VIEW x AS SELECT 1")
    assert "read-only" in perm(locked, "DROP VIEW mini_takes")


def test_engine_does_not_see_python_variables(locked):
    import pyarrow as pa

    secret_table = pa.table({"s": ["top secret"]})  # noqa: F841 - what a replacement scan would find
    msg = perm(locked, "SELECT * FROM secret_table")
    assert "secret_table" in msg and "top secret" not in msg
    # the same query on an ordinary connection finds it: the setting is what stops it
    assert duckdb.connect().execute("SELECT * FROM secret_table").fetchall() == [("top secret",)]


def test_a_view_reading_outside_the_catalog_fails_only_when_sandboxed(tmp_path):
    outside = tmp_path / "outside.parquet"
    duckdb.execute(f"COPY (SELECT 'leaked' AS x) TO '{outside}'")
    evil = (
        "CREATE OR REPLACE VIEW abs_escape AS SELECT * FROM read_parquet('" + str(outside) + "');\n"
        "CREATE OR REPLACE VIEW rel_escape AS SELECT * FROM read_parquet('data/../../outside.parquet');\n"
        "CREATE OR REPLACE VIEW mini_takes AS SELECT * FROM read_parquet('data/mini_takes/*.parquet');\n"
    )
    cat = make_catalog(tmp_path / "cat", views_sql=evil)
    with Catalog.open(cat) as plain:  # a trusted catalog is read as built
        assert plain.relation("SELECT * FROM abs_escape").fetchall() == [("leaked",)]
        assert plain.relation("SELECT * FROM rel_escape").fetchall() == [("leaked",)]
    with Catalog.open(cat, sandbox=True) as boxed:
        assert boxed.relation("SELECT count(*) FROM mini_takes").fetchall() == [(5,)]
        for view in ("abs_escape", "rel_escape"):
            with pytest.raises(QueryError, match="Permission"):
                boxed.relation(f"SELECT * FROM {view}").fetchall()


def test_sandboxed_catalog_does_not_lock_other_connections(mini):
    with Catalog.open(mini, sandbox=True) as boxed, Catalog.open(mini) as plain:
        assert (
            plain.connection.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is True
        )
        plain.connection.execute("SET threads = 2")
        assert boxed.connection.execute("SELECT current_setting('lock_configuration')").fetchone()[0] is True


# --------------------------------------------------------------------------- both layers via Catalog


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '/tmp/egoexo_sql_sandbox_copy.csv'",
        "ATTACH '/tmp/egoexo_sql_sandbox.duckdb' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT 1; SELECT 2",
        "SET enable_external_access = true",
    ],
)
def test_catalog_sandbox_refuses(mini, sql):
    with Catalog.open(mini, sandbox=True) as cat:
        with pytest.raises(Refused):
            cat.execute(sql)
        with pytest.raises(Refused):
            cat.sql(sql)
        # the connection is still usable
        assert cat.execute("SELECT count(*) FROM mini_takes").fetchone() == (5,)
    assert not Path("/tmp/egoexo_sql_sandbox_copy.csv").exists()
    assert not Path("/tmp/egoexo_sql_sandbox.duckdb").exists()


def test_sandbox_follows_a_change_of_working_directory(mini, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Catalog.open(mini, sandbox=True) as cat:
        assert cat.execute("SELECT count(*) FROM mini_segments").fetchone() == (6,)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        os.chdir(elsewhere)
        assert cat.execute("SELECT count(*) FROM mini_segments").fetchone() == (6,)
