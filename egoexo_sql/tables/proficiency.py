"""annotations/proficiency_demonstrator_{train,val}.json -> proficiency_demonstrator;
annotations/proficiency_demonstration_{train,val}.json -> proficiency_demonstration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import msgspec

from .. import variants
from ..errors import InputError
from ..schema import conform
from ._common import split_files, to_text

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

RANK = {"Novice": 1, "Early Expert": 2, "Intermediate Expert": 3, "Late Expert": 4}
_RANK_LOWER = {k.lower(): k for k in RANK}  # "Early expert" (docs of Dec 2023) -> "Early Expert"


class Point(msgspec.Struct, gc=False):
    video_time: float | None = None
    # a list of strings; older files write it as a Python list literal in a string
    sentences: list[str] | str | None = msgspec.field(name="list", default=None)
    expert_uid: str | None = None
    video_name: str | None = None


class Record(msgspec.Struct, gc=False):
    take_uid: str
    task_id: int | None = None
    task_name: str | None = None
    scenario_name: str | None = None
    university_id: str | None = None
    origin_participant_id: str | int | None = None
    proficiency_score: str | None = None
    video_paths: dict[str, str | None] = {}
    good_executions: list[Point] = []
    tips_for_improvement: list[Point] = []


class ProficiencyFile(msgspec.Struct, gc=False):
    annotations: list[Record]


# The v2 files are {"annotations": [...]}; v1 files and the docs are a bare list. Accept both.
FileType = Union[ProficiencyFile, list[Record]]  # noqa: UP007


def _records(release: Release, rel: str, family: str) -> tuple[list[Record], str, list[str | None]]:
    """The file's records, the JSON path of the list holding them, their unknown keys."""
    f, extra = release.decode_records(rel, FileType, Record)
    if isinstance(f, ProficiencyFile):
        return f.annotations, "$.annotations", extra
    variants.note(rel, f"{family}.bare_list", len(f))
    return f, "$", extra


def _take_name(r: Record) -> str | None:
    """takes/<take_name>/frame_aligned_videos/... in the record's video paths."""
    for p in r.video_paths.values():
        if p and p.startswith("takes/"):
            name = p.split("/", 2)[1]
            if name:
                return name
    return None


def compile_demonstrator(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "take_uid",
            "split",
            "take_name",
            "proficiency_score",
            "proficiency_rank",
            "scenario",
            "task_id",
            "task_name",
            "university_id",
            "origin_participant_id",
            "extra",
        )
    }
    for rel, split in split_files(release, files, "proficiency_demonstrator"):
        records, top, extra = _records(release, rel, "proficiency_demonstrator")
        cols["extra"] += extra
        seen: dict[str, int] = {}
        for i, r in enumerate(records):
            _one_record_per_take(rel, top, i, r.take_uid, seen, "demonstrator")
            cols["take_uid"].append(r.take_uid)
            cols["split"].append(split)
            cols["take_name"].append(_take_name(r))
            score = r.proficiency_score
            if score is not None and score not in RANK and score.lower() in _RANK_LOWER:
                variants.note(rel, "proficiency_demonstrator.score_case")
                score = _RANK_LOWER[score.lower()]
            cols["proficiency_score"].append(score)
            cols["proficiency_rank"].append(None if score is None else RANK.get(score))
            cols["scenario"].append(r.scenario_name)
            cols["task_id"].append(r.task_id)
            cols["task_name"].append(r.task_name)
            cols["university_id"].append(r.university_id)
            cols["origin_participant_id"].append(to_text(r.origin_participant_id))
    return {"proficiency_demonstrator": conform("proficiency_demonstrator", cols)}


def _one_record_per_take(rel: str, top: str, i: int, take_uid: str, seen: dict[str, int], what: str) -> None:
    """A proficiency file names each take once; a second record is an input error."""
    if take_uid in seen:
        raise InputError(
            rel,
            f"{top}[{i}].take_uid",
            f"one {what} record per take",
            f"{take_uid!r} again (first at {top}[{seen[take_uid]}])",
        )
    seen[take_uid] = i


_KINDS = (("good_executions", "good_execution"), ("tips_for_improvement", "tip_for_improvement"))


def compile_demonstration(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "take_uid",
            "split",
            "kind",
            "point_idx",
            "video_time",
            "expert_uid",
            "video_name",
            "comments",
            "scenario",
            "task_id",
            "extra",
        )
    }
    for rel, split in split_files(release, files, "proficiency_demonstration"):
        records, top, extra = _records(release, rel, "proficiency_demonstration")
        seen: dict[str, int] = {}
        for i, r in enumerate(records):
            _one_record_per_take(rel, top, i, r.take_uid, seen, "demonstration")
            for attr, kind in _KINDS:
                points: list[Point] = getattr(r, attr)
                n = len(points)
                cols["take_uid"] += [r.take_uid] * n
                cols["split"] += [split] * n
                cols["kind"] += [kind] * n
                cols["point_idx"] += range(n)
                cols["scenario"] += [r.scenario_name] * n
                cols["task_id"] += [r.task_id] * n
                cols["extra"] += [extra[i]] * n
                for j, p in enumerate(points):
                    cols["video_time"].append(p.video_time)
                    cols["expert_uid"].append(p.expert_uid)
                    cols["video_name"].append(p.video_name)
                    sentences = p.sentences
                    if isinstance(sentences, str):
                        sentences = variants.text_list(
                            sentences,
                            rel,
                            lambda i=i, j=j, attr=attr: f"{top}[{i}].{attr}[{j}].list",  # noqa: B023
                            "proficiency_demonstration.list_literal",
                        )
                    cols["comments"].append(sentences)
    return {"proficiency_demonstration": conform("proficiency_demonstration", cols)}
