"""Build hook: compile the optional native ego pose decoder (egoexo_sql/_posecols.c).

Hatchling runs this for ``pip install .``, ``pip install -e .`` and ``pip wheel``. It
compiles the one C file with the C compiler Python was built with, into
``egoexo_sql/_posecols<EXT_SUFFIX>`` beside the source (so an editable install imports
it too), and ships it in the wheel, which then gets a platform tag.

The extension is optional: with no compiler (or a failed compile) the hook prints a
warning and the package stays pure Python, and ``egoexo_sql.tables.ego_pose`` decodes
with msgspec instead (same rows, slower). ``EGOEXO_SQL_NO_NATIVE=1`` skips the compile.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("egoexo_sql") / "_posecols.c"


def _compiler() -> list[str] | None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cmd = shlex.split(cc)
    return cmd if cmd and shutil.which(cmd[0]) else None


class NativeDecoderHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or os.environ.get("EGOEXO_SQL_NO_NATIVE") == "1":
            return
        root = Path(self.root)
        src = root / SOURCE
        out = src.with_name("_posecols" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
        cc = _compiler()
        if cc is None or sys.platform == "win32":
            self.app.display_warning("egoexo-sql: no C compiler found; ego pose decoding stays pure Python")
            return
        # the module remembers which source it was built from (ego_pose checks it)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        cmd = [
            *cc,
            "-O2",
            "-fPIC",
            "-shared",
            "-fno-strict-aliasing",
            f'-DPOSECOLS_SOURCE_SHA256="{digest}"',
            "-I",
            sysconfig.get_paths()["include"],
            str(src),
            "-o",
            str(out),
        ]
        if sys.platform == "darwin":
            cmd[1:1] = ["-undefined", "dynamic_lookup"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            out.unlink(missing_ok=True)
            self.app.display_warning(
                "egoexo-sql: compiling the native ego pose decoder failed; "
                "decoding stays pure Python:\n" + res.stderr[-2000:]
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(out)] = f"egoexo_sql/{out.name}"
