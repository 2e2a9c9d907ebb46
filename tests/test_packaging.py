"""schemas/ and queries/ ship inside the wheel, and the installed package finds them there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_schemas_and_queries(tmp_path):
    out = tmp_path / "dist"
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(out.glob("egoexo_sql-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("schemas", "queries"):
        wanted = {f"egoexo_sql/{folder}/{p.relative_to(ROOT / folder).as_posix()}"
                  for p in (ROOT / folder).rglob("*") if p.is_file()}
        assert wanted and wanted <= names, sorted(wanted - names)[:5]
    # the unpacked wheel, alone on the path, resolves its own copies
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from egoexo_sql import resources, schema; "
            "print(resources.schemas_dir()); print(resources.queries_dir()); print(len(schema.load_schemas()))")
    res = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    schemas_dir, queries_dir, n = res.stdout.split()
    assert Path(schemas_dir) == site / "egoexo_sql" / "schemas"
    assert Path(queries_dir) == site / "egoexo_sql" / "queries"
    assert int(n) == len(list((ROOT / "schemas").glob("*.toml")))
