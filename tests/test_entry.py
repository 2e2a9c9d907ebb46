"""The console script's fast path for `query` behaves exactly like the typer command,
and does not import the command-line framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    ["--format", "csv", "SELECT scenario, count(*) AS n FROM takes GROUP BY ALL ORDER BY 1"],
    ["--format", "json", "SELECT take_uid, duration_sec FROM takes ORDER BY take_uid LIMIT 3"],
    ["--format", "ndjson", "SELECT 1 AS a, 'x' AS b"],
    ["SELECT count(*) FROM take_summary"],
    ["COPY takes TO '/tmp/egoexo-entry-test.csv'"],  # refused by the sandbox: exit 1
    ["SELECT * FROM read_csv('/etc/passwd')"],
    ["SELECT nope FROM takes"],  # a query error
    ["--dialect", "spark", "SELECT list(take_uid) FROM takes"],
]


def _run(args: list[str], via_typer: bool) -> subprocess.CompletedProcess:
    if via_typer:
        code = "import sys; from egoexo_sql.cli import main; main(sys.argv[1:])"
    else:
        code = "import sys; from egoexo_sql.entry import main; main()"
    return subprocess.run([sys.executable, "-c", code, "query", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[:40])
def test_fast_path_matches_the_typer_command(demo_catalog, args):
    args = ["--catalog", str(demo_catalog), *args]
    fast, slow = _run(args, via_typer=False), _run(args, via_typer=True)
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout)
    assert fast.stderr.strip().splitlines()[-1:] == slow.stderr.strip().splitlines()[-1:]


def test_query_does_not_import_typer_or_pydantic(demo_catalog):
    code = (
        "import sys; sys.argv = ['egoexo-sql', 'query', '--catalog', sys.argv[1], 'SELECT count(*) FROM takes']\n"
        "from egoexo_sql.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('typer', 'pydantic', 'polars', 'pandas', 'great_expectations') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(demo_catalog)], capture_output=True, text=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_unknown_options_and_help_go_to_typer(demo_catalog):
    bad = _run(["--catalog", str(demo_catalog), "--bogus", "x"], via_typer=False)
    assert bad.returncode == 2 and "No such option" in bad.stderr
    helped = _run(["--help"], via_typer=False)
    assert helped.returncode == 0 and "--format" in helped.stdout


# --------------------------------------------------------------------------- build
def _build(args: list[str], via_typer: bool, cwd) -> subprocess.CompletedProcess:
    if via_typer:
        code = "import sys; from egoexo_sql.cli import main; main(sys.argv[1:])"
    else:
        code = (
            "import sys\nfrom egoexo_sql.entry import main\ntry:\n    main()\nfinally:\n"
            "    heavy = [m for m in ('typer', 'pydantic', 'rich') if m in sys.modules]\n"
            "    print('HEAVY', heavy, file=sys.stderr)\n"
        )
    return subprocess.run(
        [sys.executable, "-c", code, "build", *args], capture_output=True, text=True, cwd=cwd
    )


def _steady(summary: str) -> list[str]:
    """The summary without its timings (the line of step times lists only the steps
    that took long enough) and without the catalog folder's name."""
    import re

    return [
        re.sub(r"\d+\.\d+ ?s\b", "<s>", ln).replace("/fast ", "/cat ").replace("/slow ", "/cat ")
        for ln in summary.splitlines()
        if not ln.startswith("time: ")
    ]


def test_build_fast_path_matches_the_typer_command(demo_release, tmp_path):
    small_release = demo_release[0]
    """The same catalog, summary and reconciliation either way, and exit codes and error
    lines alike; the fast path imports neither typer, pydantic nor rich (a small release
    compiles in the building process, where pyarrow imports pandas)."""
    for args in (
        ["--only", "metadata", "--only", "keystep,splits"],
        ["--force"],
        [],  # nothing to do: the reconciliation is counted over the catalog
    ):
        fast = _build([str(small_release), "--catalog", "fast", *args], False, tmp_path)
        slow = _build([str(small_release), "--catalog", "slow", *args], True, tmp_path)
        assert (fast.returncode, _steady(fast.stdout)) == (slow.returncode, _steady(slow.stdout)), args
        assert "reconciliation:" in fast.stdout
        assert "HEAVY []" in fast.stderr, fast.stderr
    for args in (["--catalog", "x", str(tmp_path / "missing")], ["--only", "nonsense", str(small_release)]):
        fast, slow = _build(args, False, tmp_path), _build(args, True, tmp_path)
        assert fast.returncode == slow.returncode == 2, (fast, slow)
        assert fast.stderr.splitlines()[0] == slow.stderr.strip().splitlines()[-1], (fast.stderr, slow.stderr)


def test_build_arguments_only_typer_parses_go_to_typer(demo_release, tmp_path):
    small_release = demo_release[0]
    # several groups after one --only, and --help, are typer's
    several = _build([str(small_release), "--catalog", "c", "--only", "metadata", "splits"], False, tmp_path)
    assert several.returncode == 0 and "HEAVY ['typer'" in several.stderr, several.stderr
    assert "source(s) rebuilt" in several.stdout
    helped = _build(["--help"], False, tmp_path)
    assert helped.returncode == 0 and "--lenient" in helped.stdout
