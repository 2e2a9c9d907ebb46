"""annotations/keystep_{train,val}.json -> keystep_segments, keystep_taxonomy, keystep_vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .. import variants
from ..errors import InputError
from ..schema import conform
from ._common import split_files, to_text

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

PREFIX = "keystep"


class AnnotationMeta(msgspec.Struct, gc=False):
    annotation_uid: str | None = None
    annotator_id: int | str | None = None


class Segment(msgspec.Struct, gc=False):
    start_time: float | None = None
    end_time: float | None = None
    step_id: int | None = None
    step_unique_id: int | None = None
    step_name: str | None = None
    step_description: str | None = None
    is_essential: bool | None = None


class TakeKeysteps(msgspec.Struct, gc=False):
    take_uid: str | None = None
    take_name: str | None = None
    scenario: str | None = None
    # DOCS prose says annotation_metadata, the released JSON says annotation_meta: accept both
    annotation_meta: AnnotationMeta | None = None
    annotation_metadata: AnnotationMeta | None = None
    segments: list[Segment] = []


class Node(msgspec.Struct, gc=False):
    id: int
    name: str | None = None
    is_leafnode: bool | None = None
    parent_id: int | None = None
    parent_name: str | None = None
    unique_id: int | None = None


class KeystepFile(msgspec.Struct, gc=False):
    annotations: dict[str, TakeKeysteps]
    taxonomy: dict[str, dict[str, Node]] = {}
    vocabulary: dict[str, str] = {}


SEGMENT_COLUMNS = (
    "take_uid",
    "split",
    "take_name",
    "scenario",
    "segment_idx",
    "start_time",
    "end_time",
    "step_id",
    "step_unique_id",
    "step_name",
    "step_description",
    "is_essential",
    "annotation_uid",
    "annotator_id",
    "extra",
)


def compile_keystep(release: Release, files: list[Path]) -> dict[str, pa.Table]:
    seg: dict[str, list[Any]] = {k: [] for k in SEGMENT_COLUMNS}
    taxonomy: dict[tuple[str, int], Node] = {}
    vocabulary: dict[int, str] = {}
    seen_takes: dict[str, str] = {}
    for rel, split in split_files(release, files, PREFIX):
        f, extra = release.decode_records(rel, KeystepFile, TakeKeysteps, Node)
        for (take_uid, rec), rec_extra in zip(f.annotations.items(), extra):
            if take_uid in seen_takes:
                raise InputError(
                    rel,
                    f'$.annotations["{take_uid}"]',
                    "each take annotated in one keystep file only",
                    f"the take is also in {seen_takes[take_uid]}",
                )
            seen_takes[take_uid] = rel
            meta = rec.annotation_meta
            if meta is None and rec.annotation_metadata is not None:
                meta = rec.annotation_metadata
                variants.note(rel, "keystep.annotation_metadata")
            segs = rec.segments
            n = len(segs)
            seg["take_uid"] += [take_uid] * n
            seg["split"] += [split] * n
            seg["take_name"] += [rec.take_name] * n
            seg["scenario"] += [rec.scenario] * n
            seg["segment_idx"] += range(n)
            seg["annotation_uid"] += [meta.annotation_uid if meta else None] * n
            seg["annotator_id"] += [to_text(meta.annotator_id) if meta else None] * n
            seg["extra"] += [rec_extra] * n
            for s in segs:
                seg["start_time"].append(s.start_time)
                seg["end_time"].append(s.end_time)
                seg["step_id"].append(s.step_id)
                seg["step_unique_id"].append(s.step_unique_id)
                seg["step_name"].append(s.step_name)
                seg["step_description"].append(s.step_description)
                seg["is_essential"].append(s.is_essential)
        # every split file repeats the taxonomy and vocabulary: keep the first of each
        for scenario, nodes in f.taxonomy.items():
            for key, node in nodes.items():  # noqa: B007
                taxonomy.setdefault((scenario, node.id), node)
        for key, name in f.vocabulary.items():
            try:
                uid = int(key)
            except ValueError:
                raise InputError(
                    rel, f'$.vocabulary["{key}"]', "step ids that are integers", repr(key)
                ) from None
            vocabulary.setdefault(uid, name)

    nodes = list(taxonomy.items())
    return {
        "keystep_segments": conform("keystep_segments", seg),
        "keystep_taxonomy": conform(
            "keystep_taxonomy",
            {
                "scenario": [k[0] for k, _ in nodes],
                "node_id": [k[1] for k, _ in nodes],
                "name": [n.name for _, n in nodes],
                "parent_id": [n.parent_id for _, n in nodes],
                "parent_name": [n.parent_name for _, n in nodes],
                "is_leafnode": [n.is_leafnode for _, n in nodes],
                "unique_id": [n.unique_id for _, n in nodes],
            },
        ),
        "keystep_vocabulary": conform(
            "keystep_vocabulary",
            {
                "step_unique_id": list(vocabulary),
                "step_name": list(vocabulary.values()),
            },
        ),
    }
