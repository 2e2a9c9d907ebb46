"""The plan step: for every source, compile, reuse or empty, and why.

A source is recompiled when ``--force``, when it was not built before, when its
``version`` or the tool version changed, when its tables changed, when the schema file
of one of its tables changed, when an input appeared, vanished or changed its sha256
(against the sha256 it was compiled from, see :func:`egoexo_sql.builder.report.compiled_from`),
when records ``--lenient`` set aside would now be errors, or when its previous Parquet
is missing or damaged. Otherwise its tables are reused. A source that ``uses`` other
sources' tables is recompiled whenever one of them is.

``only`` restricts the groups compiled; the other groups keep their previous tables
(``reuse``, "outside --only") or get empty ones (``empty``), so every view exists. When
every source is reused, no input had to be hashed again and the schemas, view files,
tool and library versions are those of the previous build, the catalog is *current*
(:meth:`Planner.is_current`): the build stops there and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..tables import is_streaming
from .report import compiled_from, library_versions
from .views import view_file_hash

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import TableSchema
    from ..tables import Source
    from .scan import Input

#: source name -> (action, reason); action is "compile", "reuse" or "empty".
Plan = dict[str, tuple[str, str]]


def check_only(only: Iterable[str] | None, sources: Sequence[Source]) -> set[str] | None:
    """The groups of ``--only`` (None: every group), or a UsageError naming the unknown ones."""
    if only is None:
        return None
    from ..tables import GROUPS

    groups = list(only)
    known = set(GROUPS) | {s.group for s in sources}
    bad = [g for g in groups if g not in known]
    if bad:
        raise UsageError(
            f"unknown group(s) {', '.join(map(repr, bad))} for --only; groups: {' '.join(g for g in GROUPS)}"
        )
    return set(groups)


def check_registry(sources: Sequence[Source], schemas: Mapping[str, TableSchema]) -> None:
    """Programming errors in the registry, reported before any work is done."""
    seen: dict[str, str] = {}
    names: set[str] = set()
    for s in sources:
        if s.name in names:
            raise ValueError(f"two sources are named {s.name!r}")
        names.add(s.name)
        for t in s.tables:
            if t not in schemas:
                raise ValueError(f"source {s.name!r} produces {t!r}, which has no schemas/{t}.toml")
            if schemas[t].kind != "table":
                raise ValueError(f"source {s.name!r} produces {t!r}, whose schema kind is not 'table'")
            if t in seen:
                raise ValueError(f"table {t!r} is produced by both {seen[t]!r} and {s.name!r}")
            seen[t] = s.name


def schema_hash(schema: TableSchema) -> str:
    """sha256 of the schema's TOML file (of its repr when it was built in memory)."""
    f = schema.source_file
    if f is not None and Path(f).is_file():
        return hashlib.sha256(Path(f).read_bytes()).hexdigest()
    return hashlib.sha256(repr(schema).encode()).hexdigest()


@dataclass
class Planner:
    """Decides, from the previous build.json (``prev``, {} for none), what this build does."""

    prev: Mapping[str, Any]
    catalog: Path
    sources: Sequence[Source]
    schemas: Mapping[str, TableSchema]
    selected_groups: set[str] | None
    force: bool
    lenient: bool
    tool_version: str

    def __post_init__(self) -> None:
        self.prev_inputs: dict[str, dict[str, Any]] = {r["path"]: r for r in self.prev.get("inputs", [])}
        self.schema_hashes: dict[str, str] = {}

    def selected(self, source: Source) -> bool:
        return self.selected_groups is None or source.group in self.selected_groups

    def hash_schemas(self) -> None:
        self.schema_hashes = {t: schema_hash(s) for t, s in self.schemas.items()}

    # -- reasons ---------------------------------------------------------------
    def scratch_reason(self, s: Source) -> str:
        """Why ``s`` compiles every input whatever the inputs' hashes say ("" if it may not)."""
        return "--force" if self.force else self.unreusable_reason(s)

    def unreusable_reason(self, s: Source) -> str:
        """Why the previous build's tables of ``s`` cannot be reused at all ("" if they can)."""
        ps = self.prev.get("sources", {}).get(s.name)
        if ps is None or ps.get("status") not in ("compiled", "reused"):
            return "not built before"
        if ps.get("version") != s.version:
            return f"version {ps.get('version')} -> {s.version}"
        if self.prev.get("tool_version") != self.tool_version:
            return f"tool {self.prev.get('tool_version')} -> {self.tool_version}"
        if sorted(ps.get("tables", [])) != sorted(s.tables):
            return "its tables changed"
        return ""

    def compiled_from(self, s: Source) -> dict[str, str | None]:
        """input -> the sha256 the previous build compiled ``s`` from."""
        ps = self.prev.get("sources", {}).get(s.name) or {}
        return compiled_from(ps, self.prev_inputs)

    def hashed_while_compiling(self, inputs_by_source: Mapping[str, list[Input]]) -> set[str]:
        """Inputs whose sha256 the compile step records from the bytes it parses, not a
        pass of its own (see :mod:`egoexo_sql.builder.scan`): those read only by sources
        that compile from scratch (a first build, ``--force``, a new version), and by one
        source, or by streaming sources only. A file several whole sources read
        (takes.json) is hashed once, by the building process (:meth:`hashed_meanwhile`)."""
        return {
            rel
            for rel, srcs in self._read_from_scratch(inputs_by_source).items()
            if len(srcs) == 1 or all(is_streaming(s) for s in srcs)
        }

    def hashed_meanwhile(self, inputs_by_source: Mapping[str, list[Input]]) -> set[str]:
        """Inputs whose sha256 no decision of this build's plan needs, because every
        source that reads them compiles from scratch: the building process hashes them
        on a thread while the workers compile (those of :meth:`hashed_while_compiling`
        are hashed by the workers themselves)."""
        return set() if self.lenient else set(self._read_from_scratch(inputs_by_source))

    def _read_from_scratch(self, inputs_by_source: Mapping[str, list[Input]]) -> dict[str, list[Source]]:
        """Input -> the sources that read it, for the inputs only sources compiling from
        scratch read."""
        readers: dict[str, list[Source]] = {}
        for s in self.sources:
            for i in inputs_by_source.get(s.name, ()):
                readers.setdefault(i.rel, []).append(s)
        return {rel: srcs for rel, srcs in readers.items() if all(self.scratch_reason(s) for s in srcs)}

    def prev_table_rows(self, table: str) -> int | None:
        """Rows of the previous catalog's Parquet for ``table`` when it is intact, else None."""
        rec = self.prev.get("tables", {}).get(table)
        if not rec or rec.get("status") not in ("compiled", "reused"):
            return None
        if rec.get("schema_sha256") != self.schema_hashes.get(table):
            return None
        d = self.catalog / "data" / table
        files = sorted(d.rglob("*.parquet")) if d.is_dir() else []
        if len(files) != rec.get("files"):
            return None
        import pyarrow.parquet as pq

        try:
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        except Exception:  # a damaged file: rebuild it
            return None
        return rows if rows == rec.get("rows") else None

    # -- the plan --------------------------------------------------------------
    def plan(self, inputs_by_source: Mapping[str, list[Input]]) -> Plan:
        """source -> (action, reason); action is compile, reuse or empty."""
        plan: Plan = {}
        prev_sources = self.prev.get("sources", {})
        for s in self.sources:
            ps = prev_sources.get(s.name)
            broken: list[str] = []
            reusable = not self.unreusable_reason(s)
            if reusable:
                broken = [t for t in s.tables if self.prev_table_rows(t) is None]
            if not self.selected(s):
                if reusable and not broken:
                    plan[s.name] = ("reuse", "outside --only")
                else:
                    plan[s.name] = ("empty", "outside --only, no usable previous data")
                continue
            reason = self.scratch_reason(s)
            if not reason and ps.get("rejects") and not self.lenient:
                reason = f"its {ps['rejects']} record(s) set aside by --lenient are errors now"
            if not reason:
                reason = self._change_reason(s, inputs_by_source[s.name], broken)
            plan[s.name] = ("compile", reason) if reason else ("reuse", "unchanged")
        # a source made from other sources' tables follows them
        for s in self.sources:
            if s.uses and plan[s.name][0] == "reuse" and self.selected(s):
                rebuilt = [t for t in s.uses if self.action_of_table(plan, t) == "compile"]
                if rebuilt:
                    more = f" +{len(rebuilt) - 1}" if len(rebuilt) > 1 else ""
                    plan[s.name] = ("compile", f"uses rebuilt table {rebuilt[0]}{more}")
        return plan

    def _change_reason(self, s: Source, inputs: list[Input], broken: list[str]) -> str:
        """Why a reusable source compiles again ("" if it does not): a changed schema,
        changed, new or gone inputs, or previous data missing or damaged."""
        changed_schema = [
            t
            for t in s.tables
            if self.prev.get("tables", {}).get(t, {}).get("schema_sha256") != self.schema_hashes[t]
        ]
        if changed_schema:
            return "schema changed: " + ", ".join(changed_schema)
        now = {i.rel: i.sha256 for i in inputs}
        before = self.compiled_from(s)
        added = sorted(set(now) - set(before))
        gone = sorted(set(before) - set(now))
        changed = sorted(p for p in set(now) & set(before) if now[p] != before[p])
        if added or gone or changed:
            parts = []
            for label, paths in (("changed", changed), ("new", added), ("gone", gone)):
                if paths:
                    more = f" +{len(paths) - 1}" if len(paths) > 1 else ""
                    parts.append(f"{label} {paths[0]}{more}")
            return "; ".join(parts)
        if broken:
            return "previous data missing or damaged: " + ", ".join(broken)
        return ""

    def action_of_table(self, plan: Plan, table: str) -> str:
        """The plan's action (compile, reuse, empty) for the source producing ``table``."""
        producer = next((s.name for s in self.sources if table in s.tables), None)
        return plan[producer][0] if producer in plan else "empty"

    def used_tables(self, plan: Plan, staging_data: Path) -> dict[str, Path | None]:
        """Where each table some source ``uses`` will be: the staging folder when its
        source compiles in this build, the catalog when it is reused, else None (empty)."""
        out: dict[str, Path | None] = {}
        for s in self.sources:
            for t in s.uses:
                action = self.action_of_table(plan, t)
                out[t] = (
                    staging_data / t
                    if action == "compile"
                    else self.catalog / "data" / t
                    if action == "reuse"
                    else None
                )
        return out

    # -- nothing to do ---------------------------------------------------------
    def is_current(self, plan: Plan, hashed_bytes: int, views_dir: Path) -> bool:
        """True when a build would write the catalog that is already there: every source
        reused, no input re-hashed (so no record in build.json would change), the same
        schemas, view SQL, tool and library versions, and the catalog's files present."""
        prev = self.prev
        if self.force or not prev.get("tables") or hashed_bytes:
            return False
        if any(action != "reuse" for action, _ in plan.values()):
            return False
        if prev.get("tool_version") != self.tool_version or prev.get("libraries") != library_versions():
            return False
        if not all((self.catalog / f).is_file() for f in ("catalog.duckdb", "views.sql", "build.json")):
            return False
        prev_schemas = prev.get("schemas", {})
        if set(prev_schemas) != set(self.schemas) or set(prev["tables"]) != set(self.schemas):
            return False
        if any(prev_schemas[t].get("sha256") != self.schema_hashes[t] for t in self.schemas):
            return False
        for t, sch in self.schemas.items():
            if sch.kind == "view":  # the view's SQL follows from its file and the tool version
                if prev_schemas[t].get("file_sha256") != view_file_hash(views_dir, t):
                    return False
                if sch.materialize and not (self.catalog / "data" / t).is_dir():
                    return False
        return True
