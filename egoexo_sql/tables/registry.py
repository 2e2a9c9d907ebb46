"""The source families, in build order: which release files produce which tables.

Patterns are globs relative to the release root. ``required`` files must exist when the
source's group is built; every other input is optional (a missing annotation file gives
empty tables). Bump a source's ``version`` when its compiler's output changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import gc_free
from .atomic import compile_atomic
from .commentary import DATA_JSON_GLOB, compile_commentary
from .ego_pose import (
    CAMERA_GLOB,
    POSE_GLOBS,
    compile_camera_file,
    compile_pose_file,
    unit_of_camera,
    unit_of_pose,
)
from .keystep import compile_keystep
from .keystep_benchmark import LABELS_CSV, SEGMENT_GLOB, compile_keystep_benchmark
from .manifests import MANIFEST_GLOB, compile_manifests
from .metadata import (
    CAPTURES_JSON,
    METADATA_JSON,
    PARTICIPANTS_JSON,
    PHYSICAL_SETTING_JSON,
    TAKES_JSON,
    VISUAL_OBJECTS_JSON,
    compile_participants,
    compile_physical_settings,
    compile_takes,
    compile_tasks,
    compile_visual_objects,
)
from .mps_files import CALIBS_GLOB, SUMMARY_GLOBS, compile_exo_calibrations, compile_mps_summaries
from .narrations import TRANSCRIPT_GLOB, compile_narrations
from .procedure_understanding import GLOB as PROCEDURE_GLOB
from .procedure_understanding import compile_procedure_understanding
from .proficiency import compile_demonstration, compile_demonstrator
from .relations import GLOB as RELATIONS_GLOB
from .relations import compile_relations_file, unit_of_relations
from .release_files import INPUTS as RELEASE_FILES_INPUTS
from .release_files import compile_release_files
from .search_index import INPUTS as SEARCH_INPUTS
from .search_index import TABLES as SEARCH_TABLES
from .search_index import USES as SEARCH_USES
from .search_index import compile_search_index
from .sensors import (
    GAZE_GLOBS,
    TIMESYNC_GLOB,
    TRAJECTORY_GLOB,
    compile_gaze_file,
    compile_timesync_file,
    compile_trajectory_file,
    unit_of_sensor,
)
from .source import Source, streaming_source
from .splits import SPLITS_JSON, compile_splits

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

SOURCES: tuple[Source, ...] = (
    Source(
        name="takes",
        group="metadata",
        # splits.json gives takes.split; it is optional here
        inputs=(TAKES_JSON, CAPTURES_JSON, SPLITS_JSON),
        tables=("takes", "take_videos", "captures", "capture_cameras"),
        compile=gc_free(compile_takes),
        required=(TAKES_JSON, CAPTURES_JSON),
        version=2,  # 2: recorded real-data variants read and counted (variants.py)
    ),
    Source(
        name="participants",
        group="metadata",
        inputs=(PARTICIPANTS_JSON,),
        tables=("participants",),
        compile=gc_free(compile_participants),
        required=(PARTICIPANTS_JSON,),
    ),
    Source(
        name="physical_settings",
        group="metadata",
        inputs=(PHYSICAL_SETTING_JSON,),
        tables=("physical_settings",),
        compile=gc_free(compile_physical_settings),
        required=(PHYSICAL_SETTING_JSON,),
    ),
    Source(
        name="visual_objects",
        group="metadata",
        inputs=(VISUAL_OBJECTS_JSON,),
        tables=("visual_objects",),
        compile=gc_free(compile_visual_objects),
        required=(VISUAL_OBJECTS_JSON,),
    ),
    Source(
        name="tasks",
        group="metadata",
        inputs=(METADATA_JSON,),
        tables=("tasks",),
        compile=gc_free(compile_tasks),
        required=(METADATA_JSON,),
    ),
    Source(
        name="release_files",
        group="metadata",
        # the stamps (metadata.json version/date, annotation ds) reconciliation compares
        inputs=RELEASE_FILES_INPUTS,
        tables=("release_files",),
        compile=gc_free(compile_release_files),
        required=(METADATA_JSON,),
    ),
    Source(
        name="splits",
        group="splits",
        inputs=(SPLITS_JSON,),
        tables=("take_benchmarks",),
        compile=gc_free(compile_splits),
    ),
    Source(
        name="keystep",
        group="keystep",
        inputs=("annotations/keystep_*.json",),
        tables=("keystep_segments", "keystep_taxonomy", "keystep_vocabulary"),
        compile=gc_free(compile_keystep),
        version=2,  # 2: recorded real-data variants counted (variants.py)
    ),
    Source(
        name="keystep_benchmark",
        group="keystep",
        inputs=(SEGMENT_GLOB, LABELS_CSV),
        tables=("keystep_benchmark_segments", "keystep_labels"),
        compile=gc_free(compile_keystep_benchmark),
    ),
    Source(
        name="procedure_understanding",
        group="keystep",
        inputs=(PROCEDURE_GLOB,),
        tables=("procedure_understanding",),
        compile=gc_free(compile_procedure_understanding),
    ),
    Source(
        name="proficiency_demonstrator",
        group="proficiency",
        inputs=("annotations/proficiency_demonstrator_*.json",),
        tables=("proficiency_demonstrator",),
        compile=gc_free(compile_demonstrator),
        version=2,  # 2: recorded real-data variants read and counted (variants.py)
    ),
    Source(
        name="proficiency_demonstration",
        group="proficiency",
        inputs=("annotations/proficiency_demonstration_*.json",),
        tables=("proficiency_demonstration",),
        compile=gc_free(compile_demonstration),
        version=2,  # 2: recorded real-data variants read and counted (variants.py)
    ),
    Source(
        name="atomic_descriptions",
        group="atomic",
        inputs=("annotations/atomic_descriptions_*.json",),
        tables=("atomic_descriptions",),
        compile=gc_free(compile_atomic),
        version=2,  # 2: recorded real-data variants read and counted (variants.py)
    ),
    Source(
        name="expert_commentary",
        group="commentary",
        # takes.json maps a data.json folder's take name to its take_uid when the
        # commentary files do not; it is optional here
        inputs=("annotations/expert_commentary_*.json", DATA_JSON_GLOB, TAKES_JSON),
        tables=("expert_commentary", "expert_ratings"),
        compile=gc_free(compile_commentary),
    ),
    Source(
        name="narrations",
        group="transcripts",
        # takes.json gives the take_uid of a transcript folder's take name; optional here
        inputs=(TRANSCRIPT_GLOB, TAKES_JSON),
        tables=("narrations", "narration_words"),
        compile=gc_free(compile_narrations),
    ),
    # the big annotation families: compiled file by file, in parallel (tables/source.py)
    streaming_source(
        name="relations",
        group="relations",
        inputs=(RELATIONS_GLOB,),
        tables=("relations_objects", "relations_masks", "relations_boxes"),
        compile_file=compile_relations_file,
        unit_of=unit_of_relations,
        version=2,  # 2: the relations_boxes table
    ),
    streaming_source(
        name="ego_pose",
        group="ego_pose",
        inputs=POSE_GLOBS,
        tables=("ego_pose_3d", "ego_pose_2d", "ego_pose_takes"),
        compile_file=compile_pose_file,
        unit_of=unit_of_pose,
    ),
    streaming_source(
        name="camera_poses",
        group="ego_pose",
        inputs=(CAMERA_GLOB,),
        tables=("camera_poses",),
        compile_file=compile_camera_file,
        unit_of=unit_of_camera,
    ),
    Source(
        name="manifests",
        group="manifests",
        inputs=(MANIFEST_GLOB,),
        tables=("manifest_files",),
        compile=gc_free(compile_manifests),
        version=3,  # 2: the camera column; 3: camera_pose paths with a double slash read with single slashes
    ),
    # Aria sensor data (tables/sensors.py): take seconds come from takes.json and the
    # capture's timesync.csv, which are inputs of the sources that need them
    streaming_source(
        name="trajectory",
        group="trajectory",
        inputs=(TRAJECTORY_GLOB, TIMESYNC_GLOB, TAKES_JSON),
        tables=("trajectory", "trajectory_files", "motion_bins"),
        compile_file=compile_trajectory_file,
        unit_of=unit_of_sensor,
        context=(TAKES_JSON,),
        whole_units=True,
        row_group_per_input=True,
    ),
    streaming_source(
        name="eye_gaze",
        group="eye_gaze",
        inputs=(*GAZE_GLOBS, TIMESYNC_GLOB, TAKES_JSON),
        tables=("eye_gaze", "eye_gaze_files", "gaze_bins"),
        compile_file=compile_gaze_file,
        unit_of=unit_of_sensor,
        context=(TAKES_JSON,),
        whole_units=True,
        row_group_per_input=True,
    ),
    streaming_source(
        name="timesync",
        group="timesync",
        inputs=(TIMESYNC_GLOB, CAPTURES_JSON),
        tables=("timesync",),
        compile_file=compile_timesync_file,
        unit_of=unit_of_sensor,
        context=(CAPTURES_JSON,),
        row_group_per_input=True,
    ),
    Source(
        name="mps_summaries",
        group="trajectory",
        inputs=(*SUMMARY_GLOBS, TAKES_JSON),
        tables=("mps_summaries",),
        compile=gc_free(compile_mps_summaries),
    ),
    Source(
        name="exo_calibrations",
        group="calibration",
        inputs=(CALIBS_GLOB, TAKES_JSON),
        tables=("exo_calibrations",),
        compile=gc_free(compile_exo_calibrations),
    ),
    # the text search index is made from the five text tables (search_index.py); it is
    # the group `search`: `build --only atomic` leaves it as it was, while
    # `--only atomic search` rebuilds both
    Source(
        name="search_index",
        group="search",
        inputs=SEARCH_INPUTS,
        tables=SEARCH_TABLES,
        compile=gc_free(compile_search_index),
        uses=SEARCH_USES,
    ),
)


def input_files(release: Release, source: Source) -> list[Path]:
    """The files a source reads: its patterns expanded, each file once, in path order.

    A missing required input is an InputError (the same one decoding would raise).
    """
    from ..errors import InputError

    found: dict[str, Path] = {}
    for pattern in source.inputs:
        for p in release.glob(pattern):
            found.setdefault(release.rel(p), p)
    for rel in source.required:
        p = release.path(rel)
        if p.is_dir():
            raise InputError(rel, None, "a JSON file", "a folder")
        if rel not in found:
            raise InputError(
                rel, None, f"a file (required to build the {source.group} group)", "nothing at this path"
            )
    return [found[k] for k in sorted(found)]


def compile_release(
    release: Release | str | Path, groups: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Compile every source (or those of ``groups``) in order: {table: Arrow table}.

    The builder calls the sources one by one; this is the whole pipeline in one call,
    for tests, notebooks and benchmarks.
    """
    from ..release import Release

    rel = release if isinstance(release, Release) else Release(release)
    wanted = None if groups is None else set(groups)
    out: dict[str, pa.Table] = {}
    for source in SOURCES:
        if wanted is not None and source.group not in wanted:
            continue
        if source.uses:
            from ..schema import get

            tables = source.compile(
                rel,
                input_files(rel, source),
                {t: out[t] if t in out else get(t).empty_table() for t in source.uses},
            )
        else:
            tables = source.compile(rel, input_files(rel, source))
        missing = set(source.tables) - set(tables)
        if missing:  # pragma: no cover - a compiler bug
            raise RuntimeError(f"source {source.name} did not produce {sorted(missing)}")
        out.update(tables)
    return out
