"""schemas/ and queries/ ship inside the wheel, and the installed package finds them
there; so does the native ego pose decoder, when a C compiler was at hand."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_schemas_and_queries(tmp_path):
    out = tmp_path / "dist"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(out.glob("egoexo_sql-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("schemas", "queries"):
        wanted = {
            f"egoexo_sql/{folder}/{p.relative_to(ROOT / folder).as_posix()}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
        }
        assert wanted and wanted <= names, sorted(wanted - names)[:5]
    # the web browser's templates and assets (htmx, CSS) ship too: its pages need no network
    serve = ROOT / "egoexo_sql" / "serve"
    wanted = {
        f"egoexo_sql/serve/{p.relative_to(serve).as_posix()}"
        for d in ("templates", "static")
        for p in (serve / d).rglob("*")
        if p.is_file()
    }
    assert {"egoexo_sql/serve/static/htmx.min.js", "egoexo_sql/serve/templates/take.html"} <= wanted <= names
    # the unpacked wheel, alone on the path, resolves its own copies
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from egoexo_sql import resources, schema; "
        "print(resources.schemas_dir()); print(resources.queries_dir()); print(len(schema.load_schemas()))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    schemas_dir, queries_dir, n = res.stdout.split()
    assert Path(schemas_dir) == site / "egoexo_sql" / "schemas"
    assert Path(queries_dir) == site / "egoexo_sql" / "queries"
    assert int(n) == len(list((ROOT / "schemas").glob("*.toml")))
    # with a C compiler at hand, the native ego pose decoder is compiled into the wheel,
    # and the unpacked wheel uses it
    if _compiler() is None:
        pytest.skip("no C compiler: the wheel is pure Python (ego pose decodes with msgspec)")
    assert any(n.startswith("egoexo_sql/_posecols") and n.endswith((".so", ".pyd")) for n in names), sorted(
        n for n in names if "_posecols" in n
    )
    assert not wheel.name.endswith("-none-any.whl"), wheel.name  # a platform wheel
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import egoexo_sql._posecols as m; "
        "print(m.__file__); from egoexo_sql.tables.ego_pose import pose_decoder; print(pose_decoder())"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "EGOEXO_SQL_NATIVE"},
    )
    assert res.returncode == 0, res.stderr
    where, decoder = res.stdout.split()
    assert Path(where).parent == site / "egoexo_sql" and decoder == "native"


def _compiler() -> str | None:
    import shlex
    import shutil
    import sysconfig

    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    return shutil.which(cc[0]) if cc else None
