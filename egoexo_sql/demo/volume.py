"""How much the demo writes at the published volume: the per-family model behind
``egoexo-sql demo`` without ``--pose-frames`` / ``--masks-per-object``.

Every figure here is public (docs/demo-volume.md lists the sources):

* ego pose body/hand: takes, frames, entries (3D poses) and camera views (2D poses)
  per file set, printed by the official counting script
  ``ego4d/internal/human_pose/halo_triangulate_stats.py`` (Ego4d f9e5897) and the v2
  changelog; one file per take.
* camera pose: one file per take with ego pose (train/val/test); the Aria extrinsics
  are keyed by frame, consecutive from 0 in the real dump (real-samples), i.e. one
  matrix per frame of the 30 fps take.
* relations: 2.2M masks over 1,653 takes (changelog), at ``annotation_fps`` 1.
* part sizes: ``annotations`` 10.533 GB, ``ego_pose_pseudo_gt`` 138.629 GB
  (docs/download.md of Ego-Exo4D-docs aa763b1).

The automatic (pseudo ground truth) files are part ``ego_pose_pseudo_gt``, 13 times
the whole ``annotations`` part; the demo writes them at :data:`AUTOMATIC_SHARE` of
their published frames per file so that the demo's ``annotations/`` folder stays near
the ``annotations`` part's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from .world import apportion

#: Published part sizes in bytes (docs/download.md).
PART_BYTES = {
    "annotations": 10_533_000_000,
    "ego_pose_pseudo_gt": 138_629_000_000,
    "expert_commentary": 42_292_000_000,
}


@dataclass(frozen=True)
class PoseSet:
    """One (kind, source) file set as published: takes (files), frames (keys),
    entries (3D poses: one per rater and frame) and 2D poses (entry x camera)."""

    takes: int
    frames: int
    entries: int
    views_2d: int

    @property
    def frames_per_take(self) -> float:
        return self.frames / self.takes

    @property
    def entries_per_frame(self) -> float:
        return self.entries / self.frames


#: halo_triangulate_stats.py prints "takes frames 3d 2d" per set; body automatic is
#: only in the changelog (2,559 takes, 9.2M 3D, 46.87M 2D) and its frames are taken as
#: its entries (one entry per frame, as in every automatic file).
POSE_SETS: dict[tuple[str, str], PoseSet] = {
    ("body", "annotation"): PoseSet(1358, 289_219, 376_582, 2_006_610),
    ("hand", "annotation"): PoseSet(458, 61_499, 67_779, 340_500),
    ("body", "automatic"): PoseSet(2559, 9_200_000, 9_200_000, 46_870_000),
    ("hand", "automatic"): PoseSet(976, 5_079_777, 4_381_700, 21_901_592),
}

#: Share of the published frames per file that the demo writes for automatic files.
AUTOMATIC_SHARE = 0.01
#: Frames per second of the take timeline the pose and camera files index.
FPS = 30
#: Automatic pose samples about every 3rd frame (10 of 30 fps).
AUTOMATIC_STEP = 3
#: Share of a take's frames missing from its camera-pose file (real files have gaps:
#: frame 1008 absent between 1007 and 1009).
CAMERA_GAP = 0.002

RELATIONS_TAKES = 1653
RELATIONS_MASKS = 2_200_000


def share(source: str) -> float:
    return AUTOMATIC_SHARE if source == "automatic" else 1.0


def pose_frame_counts(kind: str, source: str, durations: list[float], pose_volume: float = 1.0) -> list[int]:
    """Frames per file for takes of the given durations (seconds): the published
    frames per take of the set times ``len(durations)`` (times the automatic share and
    ``pose_volume``), apportioned by duration and capped by the frames a take has."""
    if not durations:
        return []
    ps = POSE_SETS[(kind, source)]
    step = AUTOMATIC_STEP if source == "automatic" else 1
    caps = [max(1, int(d * FPS) // step) for d in durations]
    total = round(ps.frames_per_take * len(durations) * share(source) * pose_volume)
    total = max(len(durations), min(total, sum(caps)))
    counts = apportion(total, durations, minimum=1)
    return [min(c, cap) for c, cap in zip(counts, caps)]


def relations_masks_per_take() -> float:
    return RELATIONS_MASKS / RELATIONS_TAKES


# ---- measuring a release folder against the published figures (tools/demo_volume.py)

#: (family, download part, glob under annotations/ or the release root, what a unit is,
#: published units or None, source of the published figure)
FAMILIES: list[tuple[str, str, str, str, int | None, str]] = [
    ("ego pose body, annotation", "annotations", "annotations/ego_pose/*/body/annotation/*.json",
     "entry", 376_582, "halo_triangulate_stats.py: 1358 takes, 289,219 frames, 376,582 3D"),
    ("ego pose hand, annotation", "annotations", "annotations/ego_pose/*/hand/annotation/*.json",
     "entry", 67_779, "halo_triangulate_stats.py: 458 takes, 61,499 frames, 67,779 3D"),
    ("camera pose", "annotations", "annotations/ego_pose/*/camera_pose/*.json",
     "frame", None, "one Aria matrix per take frame (real dump); takes: train/val pose takes + test"),
    ("relations", "annotations", "annotations/relations_*.json",
     "mask", RELATIONS_MASKS, "changelog: 2.2M masks over 1,653 takes"),
    ("atomic descriptions", "annotations", "annotations/atomic_descriptions_*.json",
     "description", 432_467, "changelog: 432,467 descriptions over 4,965 takes"),
    ("expert commentary (json)", "annotations", "annotations/expert_commentary_*.json",
     "commentary", 11_689, "changelog: 11,689 commentaries, 117,812 recordings"),
    ("keystep", "annotations", "annotations/keystep_*.json", "file", None,
     "668/182 takes (3P notebook output)"),
    ("keystep benchmark", "annotations", "annotations/keystep_benchmark/*", "file", None,
     "docs keystep_recoginition.md"),
    ("proficiency", "annotations", "annotations/proficiency_*.json", "file", None, "docs proficiency.md"),
    ("splits", "annotations", "annotations/splits.json", "file", None, "5,035 takes (changelog)"),
    ("ego pose body, automatic", "ego_pose_pseudo_gt", "annotations/ego_pose/*/body/automatic/*.json",
     "entry", 9_200_000, "changelog: 2559 takes, 9.2M 3D body poses"),
    ("ego pose hand, automatic", "ego_pose_pseudo_gt", "annotations/ego_pose/*/hand/automatic/*.json",
     "entry", 4_381_700, "halo_triangulate_stats.py: 976 takes, 5,079,777 frames, 4,381,700 3D"),
    ("expert commentary folders", "expert_commentary", "annotations/expert_commentary/**/*.json",
     "file", None, "data.json and transcriptions.json; the part's 42.3 GB is mostly .webm audio"),
    ("take transcripts", "take_transcription", "takes/*/audio/*_transcriptions.json", "file", None,
     "docs download.md: 0.094 GB"),
]  # fmt: skip


def _units(path: str, unit: str, data: bytes) -> int:
    import orjson

    if unit == "file":
        return 1
    doc = orjson.loads(data)
    if unit == "entry":
        return sum(len(v) for v in doc.values())
    if unit == "frame":
        return sum(
            len(v["camera_extrinsics"])
            for k, v in doc.items()
            if isinstance(v, dict) and k.startswith("aria")
        )
    if unit == "mask":
        return sum(
            len(c["annotation"])
            for r in doc["annotations"].values()
            for o in r["object_masks"].values()
            for c in o.values()
        )
    if unit == "description":
        return sum(len(a["descriptions"]) for anns in doc["annotations"].values() for a in anns)
    if unit == "commentary":
        return sum(len(v) for v in doc["annotations"].values())
    raise ValueError(unit)


@dataclass
class FamilyVolume:
    family: str
    part: str
    files: int
    bytes: int
    unit: str
    units: int
    published_units: int | None
    source: str

    @property
    def bytes_per_unit(self) -> float:
        return self.bytes / self.units if self.units else 0.0

    @property
    def real_estimate(self) -> int | None:
        """Published units times the demo's bytes per unit (None without a published count)."""
        if self.published_units is None or not self.units:
            return None
        return round(self.published_units * self.bytes_per_unit)


def measure(release: str | object) -> list[FamilyVolume]:
    """Bytes, files and units of each family in a demo release folder (one file read
    at a time)."""
    from pathlib import Path

    root = Path(str(release))
    out = []
    for family, part, pattern, unit, published, source in FAMILIES:
        files = nbytes = units = 0
        for p in sorted(root.glob(pattern)):
            if not p.is_file():
                continue
            files += 1
            data = p.read_bytes()
            nbytes += len(data)
            units += _units(str(p), unit, data)
            del data
        out.append(FamilyVolume(family, part, files, nbytes, unit, units, published, source))
    return out
