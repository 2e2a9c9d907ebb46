"""What a build did: :class:`BuildReport` (returned to the caller, printed by the CLI)
and ``build.json`` (kept in the catalog; the next build plans from it).

``build.json`` records every input (path, bytes, sha256, the stat fields the racy-git
rule compares), every source (status, reason, version, tables, inputs, seconds; records
set aside by ``--lenient``; values read through a recorded real-data variant,
``normalised``; a streaming source's ``units``), every schema's sha256, every table
(status, rows, files, bytes), the tool and library versions, the options and the
seconds per step. A source kept outside ``--only`` keeps the inputs it was compiled
from; when another source recompiled from a newer version of one of them, its
``compiled_from`` holds the sha256 it was made from (:func:`compiled_from`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..reconcile import Reconciliation
    from ..schema import TableSchema
    from ..tables import Source
    from .scan import Input

#: build.json layout version (bump when its meaning changes; a different value
#: means nothing of the previous build is trusted).
BUILD_FORMAT = 1


@dataclass
class BuildReport:
    """What a build did: rows per table and view, seconds per step, what was rebuilt."""

    catalog: Path
    release: Path
    tables: dict[str, int] = field(default_factory=dict)  # table or view -> rows
    status: dict[str, str] = field(default_factory=dict)  # table -> compiled|reused|empty|view
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    recompiled: list[str] = field(default_factory=list)  # source names
    reused: list[str] = field(default_factory=list)  # source names
    not_built: list[str] = field(default_factory=list)  # sources outside --only, no data
    reasons: dict[str, str] = field(default_factory=dict)  # source -> why it was recompiled
    source_seconds: dict[str, float] = field(default_factory=dict)
    hashed_bytes: int = 0
    input_bytes: int = 0
    n_inputs: int = 0
    notes: list[str] = field(default_factory=list)
    total_seconds: float = 0.0
    #: what does not line up between the release's files (:mod:`egoexo_sql.reconcile`),
    #: counted over the new catalog while its views were counted; None when the build
    #: wrote nothing (the catalog was current): ``reconcile(report.catalog)`` then
    reconciliation: Reconciliation | None = None

    @property
    def up_to_date(self) -> bool:
        """True when no source had to be recompiled."""
        return not self.recompiled

    def summary(self) -> str:
        """A one-screen text: tables and views with rows and status, time per step."""
        lines = []
        what = (
            "nothing to recompile, every table reused"
            if self.up_to_date
            else f"{len(self.recompiled)} source(s) rebuilt, {len(self.reused)} reused"
        )
        lines.append(f"catalog {self.catalog}  <-  {self.release}  ({self.total_seconds:.2f} s; {what})")
        lines.append(
            f"inputs: {self.n_inputs} files, {human_bytes(self.input_bytes)} "
            f"({human_bytes(self.hashed_bytes)} hashed)"
        )
        names = list(self.tables)
        width = max([len(n) for n in names] + [5])
        rows = [f"{n:<{width}}  {self.tables[n]:>11,}  {self.status.get(n, '')}" for n in names]
        if len(rows) > 24:  # two columns keep it on one screen
            half = (len(rows) + 1) // 2
            colw = max(len(r) for r in rows)
            left, right = rows[:half], rows[half:] + [""]
            rows = [f"{a:<{colw}}   {b}".rstrip() for a, b in zip(left, right)]
        lines.extend(rows)
        steps = " · ".join(f"{k} {v:.2f}s" for k, v in self.steps.items() if v >= 0.005)
        lines.append(f"time: {steps}" if steps else "time: -")
        by_reason: dict[str, list[str]] = {}
        for s in self.recompiled:
            by_reason.setdefault(self.reasons.get(s, ""), []).append(s)
        for reason, names in by_reason.items():
            lines.append(f"rebuilt ({reason}): {', '.join(names)}")
        if self.not_built:
            lines.append("not built (outside --only, no previous data): " + ", ".join(self.not_built))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


# --------------------------------------------------------------------------- build.json
@dataclass
class Outcome:
    """What the compile, reuse and views steps made, as build.json records it."""

    table_records: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> record
    source_seconds: dict[str, float] = field(default_factory=dict)
    rejects: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # source -> records set aside
    # source -> [file, variant, values]: values read through a recorded variant (variants.py)
    normalised: dict[str, list[list[Any]]] = field(default_factory=dict)
    units: dict[str, Any] = field(default_factory=dict)  # streaming source -> units -> files, spans
    unit_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # streaming source -> counts
    compile_workers: int = 1
    view_hashes: dict[str, str] = field(default_factory=dict)


def table_record(
    status: str, source: str | None, rows: int, files: int, nbytes: int, schema_sha: str
) -> dict[str, Any]:
    return {
        "status": status,
        "source": source,
        "rows": rows,
        "files": files,
        "bytes": nbytes,
        "schema_sha256": schema_sha,
    }


def library_versions() -> dict[str, str]:
    """Versions of the libraries that write the catalog, from package metadata (importing
    pyarrow only to read its version would cost 0.2 s on a no-op rebuild)."""
    from importlib.metadata import version

    return {"duckdb": version("duckdb"), "pyarrow": version("pyarrow")}


def read_previous(catalog: Path) -> dict[str, Any] | None:
    """The previous catalog's build.json; refuses to replace a folder that is not a catalog."""
    c = catalog
    if not c.exists() and not c.is_symlink():
        return None
    if not c.is_dir():
        raise UsageError(f"{c} exists and is not a folder; choose another --catalog")
    bj = c / "build.json"
    try:
        prev = orjson.loads(bj.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        prev = None
    if not isinstance(prev, dict) or prev.get("tool") != "egoexo-sql":
        if any(c.iterdir()):
            raise UsageError(
                f"refusing to replace {c}: it is not an egoexo-sql catalog (no valid "
                "build.json); choose another --catalog or remove the folder"
            )
        return None
    if prev.get("format") != BUILD_FORMAT:
        return {"tool": "egoexo-sql"}  # a catalog, but nothing in it is trusted
    return prev


def compiled_from(
    prev_source: Mapping[str, Any], prev_inputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, str | None]:
    """input -> the sha256 it had when a previous build compiled the source: the input's
    record, unless the source's own ``compiled_from`` says otherwise (it was kept outside
    ``--only`` while another source recompiled from a newer version of a shared input)."""
    own = prev_source.get("compiled_from") or {}
    return {
        p: own[p] if p in own else prev_inputs.get(p, {}).get("sha256") for p in prev_source.get("inputs", [])
    }


def write_build_json(
    dest: Path,
    *,
    sources: Sequence[Source],
    plan: Mapping[str, tuple[str, str]],
    selected: Callable[[Source], bool],
    inputs_by_source: Mapping[str, list[Input]],
    prev: Mapping[str, Any],
    outcome: Outcome,
    schemas: Mapping[str, TableSchema],
    schema_hashes: Mapping[str, str],
    view_file_hashes: Mapping[str, str | None],
    tables: Mapping[str, int],
    tool_version: str,
    release_root: Path,
    options: Mapping[str, Any],
    steps: Mapping[str, float],
) -> dict[str, Any]:
    """Write ``dest`` (the staging folder's build.json) from this build's plan and
    outcome; returns what it wrote."""
    from ..tables import is_streaming

    prev_sources = prev.get("sources", {})
    prev_inputs = {r["path"]: r for r in prev.get("inputs", [])}
    source_recs: dict[str, Any] = {}
    inputs: dict[str, dict[str, Any]] = {}
    kept_outside_only: dict[str, dict[str, str | None]] = {}
    for s in sources:
        action, reason = plan[s.name]
        if action == "empty":
            rec_inputs: list[str] = []
            status = "not_built"
        elif selected(s):
            rec_inputs = [i.rel for i in inputs_by_source[s.name]]
            for i in inputs_by_source[s.name]:
                inputs[i.rel] = i.record()
            status = "compiled" if action == "compile" else "reused"
        else:  # reused outside --only: keep the inputs it was compiled from
            rec_inputs = list(prev_sources[s.name].get("inputs", []))
            kept_outside_only[s.name] = compiled_from(prev_sources[s.name], prev_inputs)
            for p in rec_inputs:
                if p not in inputs and p in prev_inputs:
                    inputs[p] = prev_inputs[p]
            status = "reused"
        rec = source_recs[s.name] = {
            "group": s.group,
            "version": s.version,
            "status": status,
            "reason": reason,
            "tables": list(s.tables),
            "inputs": rec_inputs,
            "seconds": round(outcome.source_seconds.get(s.name, 0.0), 4),
        }
        before = prev_sources.get(s.name, {})
        if action == "compile" and s.name in outcome.rejects:
            rec["rejects"] = len(outcome.rejects[s.name])
        elif status == "reused" and before.get("rejects"):
            rec["rejects"] = before["rejects"]
        if action == "compile" and s.name in outcome.normalised:
            rec["normalised"] = outcome.normalised[s.name]
        elif status == "reused" and before.get("normalised"):
            rec["normalised"] = before["normalised"]
        if is_streaming(s) and status != "not_built":  # per-file reuse needs the units
            rec["units"] = outcome.units.get(s.name, before.get("units"))
            rec.update(outcome.unit_counts.get(s.name, {}))
    # A source kept outside --only was made from the inputs as they were then; when a
    # recompiled source shares one of them, the input's record now holds its new
    # sha256, so the kept source says which sha256 it was made from (and is
    # recompiled once --only includes it, or on the next full build).
    for name, made_from in kept_outside_only.items():
        differs = {p: sha for p, sha in made_from.items() if inputs.get(p, {}).get("sha256") != sha}
        if differs:
            source_recs[name]["compiled_from"] = differs
    schema_recs: dict[str, dict[str, Any]] = {}
    for t, sch in schemas.items():
        schema_recs[t] = {"kind": sch.kind, "group": sch.group, "sha256": schema_hashes[t]}
        if sch.kind == "view":
            schema_recs[t]["sql_sha256"] = outcome.view_hashes.get(t)
            schema_recs[t]["file_sha256"] = view_file_hashes.get(t)
    table_recs = {}
    for t in tables:
        if t in outcome.table_records:
            table_recs[t] = outcome.table_records[t]
        else:
            table_recs[t] = {"status": "view", "rows": tables[t]}
    doc = {
        "format": BUILD_FORMAT,
        "tool": "egoexo-sql",
        "tool_version": tool_version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "release_dir": str(release_root),
        "options": dict(options),
        "python": sys.version.split()[0],
        "libraries": library_versions(),
        "inputs": [inputs[p] for p in sorted(inputs)],
        "sources": source_recs,
        "schemas": schema_recs,
        "tables": table_recs,
        # seconds up to here; the swap follows (reported, not recorded)
        "steps": {k: round(v, 4) for k, v in steps.items()},
        "compile_workers": outcome.compile_workers,
    }
    dest.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    return doc
