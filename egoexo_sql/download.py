"""From a take selection to the official ``egoexo`` downloader: its commands and a size preview.

The downloader (pip ``ego4d``, ``egoexo`` = ``ego4d.egoexo.download.cli``) reads one
manifest per part (``s3://ego4d-consortium-sharing/egoexo-public/v2/<part>/manifest.json``)
and keeps the entries whose ``uid`` is in ``--uids``. What a uid is depends on the part
(egoexo-format.md section 17), so a selection of takes becomes up to four runs:

- take-level parts (takes, take_*, downscaled_takes/448, features/*, ego_pose_pseudo_gt):
  ``--uids <take_uid> ...``;
- capture-level parts (captures, capture_*): ``--uids <capture_uid> ...`` of the
  selected takes' captures;
- expert_commentary: ``--uids <take_uid>_<expert> ...``, one per commentary of a
  selected take (from the manifest when the catalog has it, else from the
  expert_commentary table);
- metadata and annotations: their uids are file names, so ``--uids`` would drop them
  (ego-pose files excepted); they are fetched whole, in a run without ``--uids``.

:func:`commands` turns runs into command lines no longer than a safe length.

From the catalog's ``manifest_files`` table (the release's ``manifests/<part>/manifest.json``):

- :func:`files` lists the files the runs fetch, one per file as the downloader counts
  them, optionally only those of some cameras (:class:`Cams`, ``--cams``;
  ``queries/takes/selected_files.sql`` and ``download_files.sql``);
  :func:`files_csv` writes them as CSV, :func:`s3_script` as ``aws s3 cp`` lines
  that put each file where ``egoexo -o DIR`` would;
- :func:`plan` counts the files and bytes per part and view
  (``queries/takes/download_plan.sql``, over the same file list).
"""

from __future__ import annotations

import csv
import io
import posixpath
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog

#: parts whose manifest entries have uid = take_uid
TAKE_PARTS = (
    "takes",
    "take_vrs_noimagestream",
    "take_trajectory",
    "take_eye_gaze",
    "take_point_cloud",
    "take_vrs",
    "take_audio",
    "take_transcription",
    "downscaled_takes/448",
    "features/omnivore_video",
    "features/maws_clip_2b",
    "ego_pose_pseudo_gt",
)
#: parts whose manifest entries have uid = capture_uid
CAPTURE_PARTS = ("captures", "capture_trajectory", "capture_eye_gaze", "capture_point_cloud")
#: parts whose manifest entries have uid = "<take_uid>_<expert>"
COMMENTARY_PARTS = ("expert_commentary",)
#: parts fetched whole: their uids are file names, --uids would drop their files
WHOLE_PARTS = ("metadata", "annotations")

#: the downloader's ``--parts all`` and ``--parts default`` (ego4d 1.7.3)
ALL_PARTS = (
    "metadata",
    "annotations",
    "takes",
    "take_vrs_noimagestream",
    "take_trajectory",
    "take_eye_gaze",
    "take_point_cloud",
    "take_vrs",
    "take_transcription",
    "take_audio",
    "captures",
    "capture_trajectory",
    "capture_eye_gaze",
    "capture_point_cloud",
    "downscaled_takes/448",
    "features/omnivore_video",
    "features/maws_clip_2b",
    "ego_pose_pseudo_gt",
    "expert_commentary",
)
DEFAULT_PARTS = ("metadata", "captures", "takes", "take_trajectory", "take_vrs_noimagestream", "annotations")

DEFAULT_OUT_DIR = "egoexo_download"
#: longest command line printed. Linux allows 128 KiB for one argument string (the
#: whole line, when run through ``sh -c``) and ~2 MiB for all arguments; 100,000
#: characters stays under both with room for the environment. Windows' cmd.exe stops
#: at 8,191: pass ``--max-command-chars 8000`` there.
MAX_COMMAND_CHARS = 100_000

NOTE_SEPARATE_RUN = (
    "with --uids, egoexo skips the metadata and annotation files (their manifest uids are "
    "file names, not take uids); fetch them in a separate run without --uids:"
)


def normalize_parts(parts: Iterable[str] | None) -> list[str]:
    """``--parts`` values: commas split, ``all``/``default`` expanded, duplicates dropped, known only."""
    out: list[str] = []
    for item in parts or ("takes",):
        for p in str(item).split(","):
            p = p.strip().strip("/")
            if not p:
                continue
            expanded = ALL_PARTS if p == "all" else DEFAULT_PARTS if p == "default" else (p,)
            for q in expanded:
                if q not in out:
                    out.append(q)
    unknown = [p for p in out if p not in ALL_PARTS]
    if unknown:
        raise UsageError(
            f"--parts {' '.join(unknown)}: not a part of the egoexo downloader; known parts: "
            f"{' '.join(ALL_PARTS)} (or all, default)"
        )
    if not out:
        raise UsageError("--parts is empty")
    return out


@dataclass
class Run:
    """One ``egoexo`` run: parts that share a kind of uid, and the uids (None: no --uids)."""

    kind: str  # "take", "capture", "commentary" or "whole"
    parts: list[str]
    uids: list[str] | None = field(default=None)

    @property
    def uid_label(self) -> str:
        return {
            "take": "take_uids",
            "capture": "capture_uids",
            "commentary": "expert-commentary uids (<take_uid>_<expert>)",
            "whole": "no --uids",
        }[self.kind]


def _uids_query(cat: Catalog, sql: str, take_uids: Sequence[str]) -> list[str]:
    return sorted({r[0] for r in cat.execute(sql, {"uids": list(take_uids)}).fetchall() if r[0] is not None})


def manifest_parts(cat: Catalog) -> set[str]:
    """Parts the catalog has manifests for (empty when the release had none)."""
    try:
        return {r[0] for r in cat.execute("SELECT DISTINCT part FROM manifest_files").fetchall()}
    except Exception:  # no manifest_files view in an old catalog
        return set()


def runs(cat: Catalog, take_uids: Sequence[str], parts: Iterable[str] | None) -> list[Run]:
    """The egoexo runs that fetch ``parts`` for the takes ``take_uids``."""
    wanted = normalize_parts(parts)
    out: list[Run] = []
    take = [p for p in wanted if p in TAKE_PARTS]
    if take:
        out.append(Run("take", take, sorted(set(take_uids))))
    capture = [p for p in wanted if p in CAPTURE_PARTS]
    if capture:
        uids = _uids_query(
            cat,
            "SELECT DISTINCT capture_uid FROM take_summary WHERE take_uid IN (SELECT unnest($uids))",
            take_uids,
        )
        out.append(Run("capture", capture, uids))
    commentary = [p for p in wanted if p in COMMENTARY_PARTS]
    if commentary:
        if "expert_commentary" in manifest_parts(cat):
            # what the manifest lists is what egoexo matches; a take_uid has no '_'
            sql = (
                "SELECT DISTINCT uid FROM manifest_files WHERE part = 'expert_commentary' "
                "AND split_part(uid, '_', 1) IN (SELECT unnest($uids))"
            )
        else:
            sql = (
                "SELECT DISTINCT take_uid || '_' || expert_uid FROM expert_commentary "
                "WHERE take_uid IN (SELECT unnest($uids)) AND expert_uid IS NOT NULL"
            )
        out.append(Run("commentary", commentary, _uids_query(cat, sql, take_uids)))
    whole = [p for p in wanted if p in WHOLE_PARTS]
    if whole:
        out.append(Run("whole", whole, None))
    return out


def command_lines(run: Run, out_dir: str = DEFAULT_OUT_DIR, max_chars: int = MAX_COMMAND_CHARS) -> list[str]:
    """The command line(s) of one run: one per chunk of uids that keeps a line under ``max_chars``.

    An empty uid list gives no command (``egoexo --uids`` needs at least one value,
    and without it egoexo would fetch the whole part).
    """
    head = f"egoexo -o {shlex.quote(out_dir)} --parts {' '.join(shlex.quote(p) for p in run.parts)}"
    if run.uids is None:
        return [head]
    head += " --uids"
    lines: list[str] = []
    current = head
    n = 0
    for uid in run.uids:
        word = " " + shlex.quote(uid)
        if n and len(current) + len(word) > max_chars:
            lines.append(current)
            current, n = head, 0
        if len(head) + len(word) > max_chars:
            raise UsageError(
                f"--max-command-chars {max_chars} is too small for even one uid ({len(head + word)} characters)"
            )
        current += word
        n += 1
    if n:
        lines.append(current)
    return lines


def script(
    run_list: Sequence[Run], n_takes: int, out_dir: str = DEFAULT_OUT_DIR, max_chars: int = MAX_COMMAND_CHARS
) -> str:
    """The ``--format egoexo`` text: ``#`` comments and command lines (a valid shell script)."""
    lines = [
        f"# egoexo-sql takes: {n_takes} take{'' if n_takes == 1 else 's'} selected; "
        f"download with the official downloader (pip install ego4d)"
    ]
    whole = [r for r in run_list if r.kind == "whole"]
    body: list[str] = []
    for r in run_list:
        if r.kind == "whole":
            continue
        cmds = command_lines(r, out_dir, max_chars)
        if not cmds:
            body.append(f"# {' '.join(r.parts)}: no {r.uid_label} for this selection, nothing to download")
            continue
        many = f" in {len(cmds)} commands (the uid list is too long for one)" if len(cmds) > 1 else ""
        body.append(f"# {' '.join(r.parts)}: {len(r.uids or [])} {r.uid_label}{many}")
        body.extend(cmds)
    lines.append("# NOTE: " + NOTE_SEPARATE_RUN)
    if whole:
        lines.extend(body)
        for r in whole:
            lines.append(f"# {' '.join(r.parts)}: whole part(s), no --uids")
            lines.extend(command_lines(r, out_dir, max_chars))
    else:
        lines.append("#   " + command_lines(Run("whole", list(WHOLE_PARTS)), out_dir, max_chars)[0])
        lines.extend(body)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- cameras

#: --cams words that are not camera ids
CAM_KINDS = ("ego", "exo", "best_exo", "collage")


@dataclass(frozen=True)
class Cams:
    """``--cams``: the cameras whose files to keep (files of no camera are always kept).

    ``values`` are lower case: ``ego``, ``exo``, ``best_exo`` (per take, the camera
    ``takes.best_exo`` names), ``collage`` (the preview videos) and camera ids.
    """

    values: tuple[str, ...]

    def __contains__(self, value: str) -> bool:
        return value in self.values

    def __str__(self) -> str:
        return " ".join(self.values)


def known_cameras(cat: Catalog) -> list[str]:
    """Camera ids of the catalog: the takes' frame-aligned cameras and the manifests' cameras."""
    rows = cat.execute(
        "SELECT cam_id FROM take_videos WHERE cam_id NOT IN ('collage', 'best_exo') "
        "UNION SELECT camera FROM manifest_files WHERE camera IS NOT NULL AND camera <> 'collage'"
    ).fetchall()
    return sorted({r[0].lower() for r in rows if r[0]})


def cams_of(cat: Catalog, values: Iterable[str] | None) -> Cams | None:
    """``--cams`` values checked against the catalog (None when none were given).

    Commas split values; an unknown value is a usage error listing the known ones.
    """
    out: list[str] = []
    for item in values or ():
        for v in str(item).split(","):
            v = v.strip().lower()
            if v and v not in out:
                out.append(v)
    if not values:
        return None
    if not out:
        raise UsageError("--cams is empty; give ego, exo, best_exo, collage or camera ids such as cam01")
    known = known_cameras(cat)
    bad = [v for v in out if v not in CAM_KINDS and v not in known]
    if bad:
        import difflib

        choices = list(CAM_KINDS) + known
        close = [c for b in bad for c in difflib.get_close_matches(b, choices, n=1, cutoff=0.6)]
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise UsageError(
            f"--cams {', '.join(repr(b) for b in bad)}: not a camera of the catalog{hint}; "
            f"known: {', '.join(choices)}"
        )
    return Cams(tuple(out))


def takes_without_best_exo(cat: Catalog, run_list: Sequence[Run], cams: Cams | None) -> list[tuple[str, str]]:
    """With ``--cams best_exo``: (take_uid, take_name) of the runs' takes whose ``best_exo`` is
    NULL (none of their camera files is a best_exo file), by take_name; else nothing."""
    if cams is None or "best_exo" not in cams:
        return []
    take_uids = [u for r in run_list if r.kind == "take" for u in (r.uids or [])]
    rows = cat.execute(
        "SELECT take_uid, take_name FROM takes WHERE best_exo IS NULL "
        "AND take_uid IN (SELECT unnest($uids)) ORDER BY take_name, take_uid",
        {"uids": take_uids},
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def best_exo_notes(no_best_exo: Sequence[tuple[str, str]]) -> list[str]:
    """The stderr note on the takes :func:`takes_without_best_exo` found (none: no note)."""
    if not no_best_exo:
        return []
    shown = ", ".join(name for _, name in no_best_exo[:10])
    more = f", ... ({len(no_best_exo)} in all)" if len(no_best_exo) > 10 else ""
    return [
        f"{len(no_best_exo)} of the selected takes have no best_exo camera (takes.best_exo is NULL), so no "
        f'best_exo files of theirs are listed: {shown}{more} (--where "best_exo IS NULL" selects them)'
    ]


# --------------------------------------------------------------------------- the file list


def _require_manifests(cat: Catalog) -> set[str]:
    have = manifest_parts(cat)
    if not have:
        raise UsageError(
            "the catalog has no downloader manifests, so there is nothing to list or count: put "
            'manifests/<part>/manifest.json into the release (see the README, "Select takes and '
            'download them") and rebuild with `egoexo-sql build RELEASE --only manifests`'
        )
    return have


def _query(final: str, **ctes: str) -> str:
    """``WITH <name> AS (<queries/takes/<file>.sql>), ... <final>``: one query from the files."""
    from .resources import queries_dir

    def read(name: str) -> str:
        return (queries_dir() / "takes" / f"{name}.sql").read_text(encoding="utf-8").rstrip().rstrip(";")

    with_ = ",\n".join(f"{cte} AS (\n{read(name)}\n)" for cte, name in ctes.items())
    return f"WITH {with_}\n{read(final)}"


def _params(run_list: Sequence[Run], cams: Cams | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        k: []
        for k in (
            "take_parts",
            "take_uids",
            "capture_parts",
            "capture_uids",
            "commentary_parts",
            "commentary_uids",
            "whole_parts",
        )
    }
    for r in run_list:
        params[f"{r.kind}_parts"] += r.parts
        if r.uids is not None:
            params[f"{r.kind}_uids"] += r.uids
    params["by_camera"] = cams is not None
    params["cams"] = list(cams.values) if cams is not None else []
    return params


@dataclass
class FileRow:
    part: str
    uid: str
    relative_path: str
    size_bytes: int | None
    source_path: str | None


@dataclass
class FileList:
    """The files the runs fetch (one per file, sorted by part and relative_path)."""

    rows: list[FileRow]
    runs: list[Run]
    cams: Cams | None
    missing_parts: list[str]  # requested parts without a manifest in the catalog
    zero_size_files: int  # files of size 0 in the manifests: egoexo skips them, so are they here
    no_best_exo: list[
        tuple[str, str]
    ]  # (take_uid, take_name) of takes without best_exo, with --cams best_exo

    @property
    def bytes(self) -> int:
        return sum(r.size_bytes or 0 for r in self.rows)

    @property
    def unknown_size_files(self) -> int:
        return sum(r.size_bytes is None for r in self.rows)


def files(cat: Catalog, run_list: Sequence[Run], cams: Cams | None = None) -> FileList:
    """The files the runs fetch, from the catalog's manifests, optionally only those of ``cams``.

    As the downloader counts them: a file listed by several entries once; files of size
    0 left out (egoexo skips them; counted in ``zero_size_files``).
    """
    have = _require_manifests(cat)
    sql = _query("download_files", picked="selected_files")
    rows = []
    zero = 0
    for part, uid, rel, size, source, _views, _camera in cat.execute(sql, _params(run_list, cams)).fetchall():
        if size == 0:
            zero += 1
            continue
        rows.append(FileRow(part, uid, rel, None if size is None else int(size), source))
    requested = [p for r in run_list for p in r.parts]
    return FileList(
        rows=rows,
        runs=list(run_list),
        cams=cams,
        zero_size_files=zero,
        no_best_exo=takes_without_best_exo(cat, run_list, cams),
        missing_parts=[p for p in requested if p not in have],
    )


#: the ``--format files`` header
FILES_HEADER = ("part", "uid", "relative_path", "size_bytes", "source_path")


def files_csv(fl: FileList) -> str:
    """The ``--format files`` text: CSV with :data:`FILES_HEADER`, one row per file."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FILES_HEADER)
    for r in fl.rows:
        w.writerow(
            (
                r.part,
                r.uid,
                r.relative_path,
                "" if r.size_bytes is None else r.size_bytes,
                r.source_path or "",
            )
        )
    return buf.getvalue()


def s3_script(fl: FileList, n_takes: int, out_dir: str = DEFAULT_OUT_DIR, profile: str | None = None) -> str:
    """The ``--format s3`` text: a shell script of ``aws s3 cp SOURCE DIR/RELATIVE_PATH`` lines.

    Each file lands at ``DIR/<relative_path>``, where ``egoexo -o DIR`` puts it, so a
    later egoexo run with the same folder finds it (same relative path and size) and
    does not fetch it again. Folders are made first (``mkdir -p``). The AWS CLI uses
    the user's own credentials (``--profile NAME`` when given).
    """
    parts = " ".join(dict.fromkeys(p for r in fl.runs for p in r.parts))
    unknown = fl.unknown_size_files
    lines = [
        "#!/bin/sh",
        f"# egoexo-sql takes: {n_takes} take{'' if n_takes == 1 else 's'} selected; {len(fl.rows):,} "
        f"file{'' if len(fl.rows) == 1 else 's'}, {fl.bytes:,} bytes ({human_bytes(fl.bytes)})"
        + (f" and {unknown:,} of unknown size" if unknown else "")
        + f" from the parts {parts}"
        + (f" (cameras: {fl.cams})" if fl.cams is not None else ""),
        "# Each file is copied with the AWS CLI (pip install awscli) and your own AWS credentials (the ones egoexo",
        f"# uses{'; profile ' + profile if profile else ''}) to where `egoexo -o {out_dir}` puts it, so egoexo runs "
        "with that folder count it",
        "# as downloaded (same relative path and size).",
        "set -e",
    ]
    folders = sorted({posixpath.dirname(r.relative_path) for r in fl.rows if r.source_path})
    lines += [f"mkdir -p {shlex.quote(posixpath.join(out_dir, d) if d else out_dir)}" for d in folders]
    tail = f" --profile {shlex.quote(profile)}" if profile else ""
    for r in fl.rows:
        dest = shlex.quote(posixpath.join(out_dir, r.relative_path))
        if not r.source_path:
            lines.append(f"# no source_path in the manifest for {r.relative_path}: not copied")
            continue
        lines.append(f"aws s3 cp {shlex.quote(r.source_path)} {dest}{tail}")
    return "\n".join(lines) + "\n"


def files_notes(fl: FileList) -> list[str]:
    """What ``--format files``/``s3`` leave out or could not find, one line each (for stderr)."""
    notes = best_exo_notes(fl.no_best_exo)
    if fl.zero_size_files:
        notes.append(
            f"{fl.zero_size_files:,} files of size 0 in the manifests are left out (egoexo skips them too)"
        )
    for m in fl.missing_parts:
        notes.append(
            f"part {m}: no manifest in the catalog, no files listed (fetch "
            f"manifests/{m}/manifest.json and rebuild with --only manifests)"
        )
    return notes


# --------------------------------------------------------------------------- plan


@dataclass
class PlanRow:
    part: str | None  # None: the total
    view: str | None
    files: int
    bytes: int
    unknown_size_files: int
    zero_size_files: int
    uids: int | None


@dataclass
class Plan:
    rows: list[PlanRow]
    runs: list[Run]
    missing_parts: list[str]  # requested parts without a manifest in the catalog
    cams: Cams | None = None
    no_best_exo: list[tuple[str, str]] = field(default_factory=list)  # as in FileList

    @property
    def total(self) -> PlanRow:
        return next(r for r in self.rows if r.part is None)


def plan(cat: Catalog, run_list: Sequence[Run], cams: Cams | None = None) -> Plan:
    """Files and bytes the runs will download, per part and view, from the catalog's manifests
    (with ``cams``: of the files of those cameras, what ``--format s3`` fetches)."""
    have = _require_manifests(cat)
    sql = _query("download_plan", picked="selected_files", files="download_files")
    rows = [
        PlanRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), None if r[6] is None else int(r[6]))
        for r in cat.execute(sql, _params(run_list, cams)).fetchall()
    ]
    requested = [p for r in run_list for p in r.parts]
    return Plan(
        rows=rows,
        runs=list(run_list),
        missing_parts=[p for p in requested if p not in have],
        cams=cams,
        no_best_exo=takes_without_best_exo(cat, run_list, cams),
    )


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def plan_text(p: Plan, n_takes: int) -> str:
    """The ``--format plan`` text: a table per part and view, the total, then notes."""
    header = ("part", "view", "files", "bytes", "size", "uids")
    body = []
    for r in p.rows:
        body.append(
            (
                r.part if r.part is not None else "total",
                (r.view or "") if r.part is not None else "",
                f"{r.files:,}",
                f"{r.bytes:,}",
                human_bytes(r.bytes),
                "" if r.uids is None else f"{r.uids:,}",
            )
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    right = (False, False, True, True, True, True)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if rj else c.ljust(w) for c, w, rj in zip(cells, widths, right)).rstrip()

    cams = "" if p.cams is None else f", only the files of the cameras {p.cams} (and files of no camera)"
    out = [
        f"# download plan for {n_takes} selected take{'' if n_takes == 1 else 's'}{cams}, counted from the "
        "catalog's manifests as egoexo counts them (files of size 0 are skipped)",
        line(header),
        line(["-" * w for w in widths]),
    ]
    for b in body:
        if b[0] == "total":
            out.append(line(["-" * w for w in widths]))
        out.append(line(b))
    total = p.total if any(r.part is None for r in p.rows) else None
    notes = []
    if total is not None and total.unknown_size_files:
        notes.append(
            f"{total.unknown_size_files:,} of the files have no size in their manifest: egoexo asks S3 "
            "for it, so their bytes are not in the totals"
        )
    if total is not None and total.zero_size_files:
        notes.append(f"{total.zero_size_files:,} files of size 0 are skipped by egoexo and not counted")
    notes.append("view '-': files with no view in the manifest (collages, best_exo, non-video files)")
    notes.append(
        "uids: distinct manifest uids that matched in the part (take_uids, capture_uids, "
        "expert-commentary uids; file names for parts fetched whole)"
    )
    if p.cams is not None:
        notes.append(
            "--cams: the egoexo commands fetch every camera; --format s3 (or files) fetches exactly "
            "the files counted here"
        )
    if any(r.kind == "whole" for r in p.runs):
        notes.append("metadata and annotations are counted whole: they are fetched in a run without --uids")
    for m in p.missing_parts:
        notes.append(
            f"part {m}: no manifest in the catalog, not counted (fetch "
            f"manifests/{m}/manifest.json and rebuild with --only manifests)"
        )
    out += ["# " + n for n in notes]
    return "\n".join(out) + "\n"
