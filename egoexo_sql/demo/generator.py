"""Writing the synthetic release: :func:`generate` and its :class:`DemoReport` (the
ground-truth counts the compiled catalog must have); see :mod:`egoexo_sql.demo`."""

from __future__ import annotations

import gc
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..tables import GROUPS, SENSOR_GROUPS
from .published import SCENARIOS
from .world import World, rng_for

#: the tables of the sensor groups whose rows the demo counts as it writes their files
SENSOR_TABLES = (
    "trajectory",
    "trajectory_files",
    "eye_gaze",
    "eye_gaze_files",
    "timesync",
    "exo_calibrations",
    "mps_summaries",
)

DEFAULT_POSE_FRAMES = 8
DEFAULT_MASKS_PER_OBJECT = 3
METADATA_FILES = ("takes", "captures", "participants", "physical_setting", "visual_objects", "metadata")


@dataclass
class DemoReport:
    out_dir: Path
    scale: float
    seed: int
    groups: tuple[str, ...]
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    truth: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # phrases planted for the search tests: {id, query, source, take_uid, take_name, time, text}
    planted: list[dict[str, Any]] = field(default_factory=list)
    # --variants: recorded variant id -> values written in that form
    variants: dict[str, int] = field(default_factory=dict)
    # --videos: the video files written, relative to out_dir
    videos: list[str] = field(default_factory=list)
    # sensor marker samples: {take_uid, table, kind, tracking_timestamp_us, take_sec}
    sensor_events: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"wrote {self.files:,} files, {self.bytes / 1e6:,.1f} MB to {self.out_dir} in {self.seconds:.1f} s "
            f"(scale {self.scale:g}, seed {self.seed}; groups: {' '.join(self.groups)})"
        ]
        width = max((len(k) for k in self.stats), default=0)
        for k, v in self.stats.items():
            lines.append(f"  {k:<{width}}  {v}")
        if self.videos:
            takes = sorted({v.split("/")[1] for v in self.videos})
            lines.append(f"  videos: {len(self.videos)} real H.264 files of the takes {', '.join(takes)}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        return "\n".join(lines)


def _dump(obj: Any, indent: bool) -> bytes:
    """Annotation files are compact; metadata files are ``json.dump(..., indent=4)``
    (which is what brings the six metadata files to the real release's weight)."""
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if indent:
        return json.dumps(obj, indent=4).encode("ascii")
    return orjson.dumps(obj)


def generate(
    out_dir: str | Path,
    scale: float = 0.05,
    seed: int = 0,
    only: Iterable[str] | None = None,
    pose_frames: int | None = DEFAULT_POSE_FRAMES,
    masks_per_object: int | None = DEFAULT_MASKS_PER_OBJECT,
    progress: Any = None,
    variants: bool = False,
    pose_volume: float = 1.0,
    workers: int | None = None,
    videos: bool = False,
    trajectory_hz: float | None = None,
) -> DemoReport:
    """Write a synthetic release into ``out_dir`` and return what was written.

    ``only`` restricts the groups written (default: all). ``pose_frames`` caps the
    frames per ego-pose file and ``masks_per_object`` the masks per object and camera
    in the relations files; neither changes how many takes carry those annotations.
    ``None`` for either writes the published volume (:mod:`egoexo_sql.demo.volume`,
    docs/demo-volume.md): ego pose with the published frames per file (times
    ``pose_volume``), camera pose with every frame of the take, relations with the
    published masks per take; the pose files are then written on ``workers`` processes.
    ``variants`` writes every recorded real-data variant (:mod:`egoexo_sql.variants`)
    somewhere in the release, mixed with the documented forms the way the real files mix
    them (:mod:`egoexo_sql.demo.variant_forms`); the values are those of the plain
    release of the same seed, so both compile to the same catalog. ``videos`` also writes
    small real H.264 videos of a few takes (:mod:`egoexo_sql.demo.video_files`; needs
    PyAV and Pillow); the other files are the same as without it. ``trajectory_hz`` is
    the sample rate of the MPS trajectories (default
    :data:`~egoexo_sql.demo.sensor_files.DEFAULT_TRAJECTORY_HZ`; the real rate is 1000).
    """
    t0 = time.perf_counter()
    groups = tuple(only) if only else GROUPS
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        from ..errors import UsageError

        raise UsageError(f"unknown group(s) {', '.join(unknown)}; choose from {' '.join(GROUPS)}")
    if scale <= 0:
        from ..errors import UsageError

        raise UsageError("--scale must be greater than 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out, scale, seed, groups)
    truth: Counter[str] = Counter()
    rewrite = None
    if variants:
        from .variant_forms import VariantWriter

        rewrite = VariantWriter(seed)
        # the variant forms are written into whole documents: the capped volume
        pose_frames = DEFAULT_POSE_FRAMES if pose_frames is None else pose_frames
        masks_per_object = DEFAULT_MASKS_PER_OBJECT if masks_per_object is None else masks_per_object

    gc_was = gc.isenabled()
    gc.disable()  # millions of small dicts: the cyclic GC would dominate the run time
    try:
        world = World(scale=scale, seed=seed)

        def write(rel: str, obj: Any, indent: bool = False) -> None:
            p = out / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(obj, StreamedAnnotations):
                n = 0
                with p.open("wb") as fh:
                    for chunk in obj.chunks():
                        fh.write(chunk)
                        n += len(chunk)
                report.files += 1
                report.bytes += n
                return
            if rewrite is not None:
                obj = rewrite(rel, obj)
            data = _dump(obj, indent)
            p.write_bytes(data)
            report.files += 1
            report.bytes += len(data)
            if _stamped(rel, obj):
                truth["release_files"] += 1

        def step(name: str) -> None:
            if progress:
                progress(name)

        from . import annotation_files as A
        from . import metadata_files as M
        from .annotation_files import StreamedAnnotations
        from .planted import Planter, SearchTruth

        takes_records = M.takes_json(world, rng_for(seed, "takes.json"))
        if "metadata" in groups:
            step("metadata")
            write("takes.json", takes_records, indent=True)
            write("captures.json", M.captures_json(world), indent=True)
            write("participants.json", M.participants_json(world), indent=True)
            write("physical_setting.json", M.physical_setting_json(world), indent=True)
            write("visual_objects.json", M.visual_objects_json(world), indent=True)
            write("metadata.json", M.metadata_json(world), indent=True)
            truth["takes"] = len(world.takes)
            truth["take_videos"] = sum(
                len(s) for r in takes_records for s in r["frame_aligned_videos"].values()
            )
            truth["captures"] = len(world.captures)
            truth["capture_cameras"] = sum(len(c.cameras) for c in world.captures)
            truth["participants"] = len(world.participants)
            truth["physical_settings"] = len(world.sites)
            truth["visual_objects"] = sum(len(s.objects) for s in world.sites)
            truth["tasks"] = len(world.tasks)
        if "splits" in groups:
            step("splits")
            splits = M.splits_json(world)
            write("annotations/splits.json", splits)
            truth["take_benchmarks"] = sum(len(v) for v in splits["take_uid_to_benchmark"].values())
        # planted search phrases and the search index's expected size (demo/planted.py)
        planter, search_truth = Planter(seed, world), SearchTruth()
        family: list[tuple[str, Callable[[], Iterator[tuple[str, Any]]]]] = [
            ("keystep", lambda: A.keystep_files(world, rng_for(seed, "keystep"), truth)),
            ("proficiency", lambda: A.proficiency_files(world, rng_for(seed, "proficiency"), truth)),
            ("atomic", lambda: planter.atomic(A.atomic_files(world, rng_for(seed, "atomic"), truth))),
            (
                "commentary",
                lambda: planter.commentary(A.commentary_files(world, rng_for(seed, "commentary"), truth)),
            ),
            (
                "relations",
                lambda: A.relations_files(world, rng_for(seed, "relations"), truth, masks_per_object),
            ),
        ]
        for group, files in family:
            if group not in groups:
                continue
            step(group)
            if group == "commentary":
                shutil.rmtree(out / "annotations" / "expert_commentary", ignore_errors=True)
            for rel, obj in search_truth.watch(files()):
                write(rel, obj)
        if "ego_pose" in groups:
            step("ego_pose")
            from .pose_files import ego_pose_files

            shutil.rmtree(out / "annotations" / "ego_pose", ignore_errors=True)
            if pose_frames is None:
                from .pose_volume import write_all

                for n_files, n_bytes, counts in write_all(world, out, seed, pose_volume, workers):
                    report.files += n_files
                    report.bytes += n_bytes
                    truth.update(counts)
            else:
                for rel, obj in ego_pose_files(world, rng_for(seed, "ego_pose"), truth, pose_frames):
                    write(rel, obj)
        if "transcripts" in groups:
            step("transcripts")
            from .transcript_files import transcript_files

            for old in out.glob("takes/*/audio/*_transcriptions.json"):
                old.unlink()
            for rel, obj in search_truth.watch(
                transcript_files(world, rng_for(seed, "transcripts"), truth, planter)
            ):
                write(rel, obj)
        for table in (*SENSOR_TABLES, "point_clouds"):  # 0 rows when their groups are not written
            truth[table] += 0
        if any(g in groups for g in SENSOR_GROUPS):
            step("sensors")
            from .sensor_files import DEFAULT_TRAJECTORY_HZ, SensorEvent, sensor_files

            for pattern in ("takes/*/trajectory", "takes/*/eye_gaze"):
                for d in out.glob(pattern):
                    shutil.rmtree(d, ignore_errors=True)
            events: list[SensorEvent] = []
            hz = trajectory_hz if trajectory_hz is not None else DEFAULT_TRAJECTORY_HZ
            if hz <= 0:
                from ..errors import UsageError

                raise UsageError("--trajectory-hz must be greater than 0")
            for rel, data in sensor_files(world, seed, takes_records, groups, truth, events, hz):
                write(rel, data)
            report.sensor_events = [e.as_dict() for e in events]
        search_truth.record(truth)
        report.planted = planter.planted
        if "manifests" in groups:
            step("manifests")
            from .manifest_files import manifests

            shutil.rmtree(out / "manifests", ignore_errors=True)
            n_paths = 0
            for part, entries in manifests(world, rng_for(seed, "manifests"), out, takes_records):
                n_paths += sum(len(e["paths"]) for e in entries)
                if part in ("take_point_cloud", "capture_point_cloud"):  # the point_clouds view
                    truth["point_clouds"] += sum(len(e["paths"]) for e in entries)
                write(f"manifests/{part}/manifest.json", entries)
            truth["manifest_files"] = n_paths
        if videos:
            step("videos")
            from .video_files import write_videos

            written = write_videos(out, world, takes_records)
            report.files += len(written)
            report.bytes += sum(n for _, n in written)
            report.videos = [rel for rel, _ in written]
        report.truth = dict(truth)
        if rewrite is not None:
            report.variants = rewrite.written
            report.notes.append(
                f"real-data variants written: {len(rewrite.written)} of {rewrite.n_variants} "
                f"recorded forms, {sum(rewrite.written.values()):,} values"
            )
        report.stats = _stats(world, truth, out, groups)
    finally:
        if gc_was:
            gc.enable()
    report.seconds = time.perf_counter() - t0
    return report


def _stamped(rel: str, obj: Any) -> bool:
    """A file the release_files table lists: one it reads, carrying a version, date or ds."""
    from fnmatch import fnmatchcase

    from ..tables.release_files import INPUTS

    return (
        isinstance(obj, dict)
        and any(k in obj for k in ("version", "date", "ds"))
        and any(fnmatchcase(rel, p) for p in INPUTS)
    )


def _stats(world: World, truth: Counter[str], out: Path, groups: tuple[str, ...]) -> dict[str, Any]:
    """The published-count comparison printed by ``egoexo-sql demo --stats``."""
    takes = world.takes
    per_scen = Counter(t.scenario for t in takes)
    splits = Counter(t.split for t in takes)
    s: dict[str, Any] = {
        "takes": f"{len(takes):,}",
        "takes per scenario": ", ".join(f"{sc} {per_scen[sc]}" for sc in SCENARIOS),
        "splits train/val/test": f"{splits['train']}/{splits['val']}/{splits['test']}",
        "participants": len(world.participants),
        "captures": len(world.captures),
        "sites (physical settings)": len(world.sites),
        "universities": len({c.univ for c in world.captures}),
        "narrated takes": sum(t.is_narrated for t in takes),
        "best_exo set": f"{sum(t.best_exo is not None for t in takes) / len(takes):.1%}",
        "ego hours": f"{sum(t.duration for t in takes) / 3600:,.1f}",
    }
    if "keystep" in groups:
        s["keystep takes train/val"] = (
            f"{sum(t.keystep and t.split == 'train' for t in takes)}/{sum(t.keystep and t.split == 'val' for t in takes)}"
        )
        s["keystep segments"] = f"{truth['keystep_segments']:,}"
    if "atomic" in groups:
        s["atomic descriptions / takes"] = (
            f"{truth['atomic_descriptions']:,} / {sum(bool(t.atomic_split) for t in takes):,}"
        )
    if "commentary" in groups:
        experts = {e for t in takes for e in t.commentary_experts}
        s["commentaries / takes / experts / recordings"] = (
            f"{truth['expert_ratings']:,} / {sum(bool(t.commentary_experts) for t in takes):,} / {len(experts)} / {truth['expert_commentary']:,}"
        )
    if "proficiency" in groups:
        s["proficiency demonstrator records / orphan take_uids"] = (
            f"{truth['proficiency_demonstrator']:,} / {len(world.orphans)}"
        )
    if "relations" in groups:
        s["relations takes / masks"] = f"{sum(t.relations for t in takes):,} / {truth['relations_masks']:,}"
    if "transcripts" in groups:
        s["transcripts: segments / words (narrated takes)"] = (
            f"{truth['narrations']:,} / {truth['narration_words']:,} ({sum(t.is_narrated for t in takes)})"
        )
    if "ego_pose" in groups:
        s["ego pose takes body man/auto, hand man/auto"] = " / ".join(
            str(truth[f"ego_pose_takes_{k}_{src}"])
            for k in ("body", "hand")
            for src in ("annotation", "automatic")
        )
    if "metadata" in groups:
        mb = sum((out / f"{n}.json").stat().st_size for n in METADATA_FILES) / 1e6
        s["six metadata files"] = f"{mb:.1f} MB (real: 46 MB)"
    return s
