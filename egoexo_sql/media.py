"""A take's videos on disk: which of its video files are under the release folder, which
cameras are absent (with the command that fetches one and its size from the manifests),
the safe resolution of ``/media/<path>`` requests, and the 2D keypoints drawn over a
camera's picture.

Videos are looked for where the ``egoexo`` downloader (and ``takes --format s3``) puts
them, relative to the release folder: ``takes/<take>/frame_aligned_videos/cam01.mp4``,
``takes/<take>/frame_aligned_videos/downscaled/448/cam01.mp4`` and the collage
``takes/<take>/ego_preview.mp4`` (``queries/media/take_video_files.sql``).
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EgoExoSQLError

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog

#: the file suffixes ``/media/`` serves, with their media types
MEDIA_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".vtt": "text/vtt", ".srt": "application/x-subrip"}
#: video parts of the downloader the player knows, in the order it offers them
VIDEO_PARTS = ("takes", "downscaled_takes/448")
PART_LABELS = {"takes": "frame-aligned", "downscaled_takes/448": "448p"}
#: the undistorted images the 2D keypoints are measured in when the catalog has no
#: camera pose for the camera: GoPro exo frames, and Aria frames undistorted to 512 x 512
EXO_IMAGE = (3840, 2160)
ARIA_IMAGE = (512, 512)
#: frames per second of the frame-aligned videos, which ego pose frame numbers index
FPS = 30


class MediaNotFound(EgoExoSQLError):
    """A ``/media/`` path that is not a file of the release folder the server may serve."""

    exit_code = 1


def _query(name: str) -> str:
    from .resources import queries_dir

    return (queries_dir() / "media" / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Video:
    """One video file of a take: where it is (or would be) under the release folder."""

    cam_id: str
    stream: str
    readable_stream_id: str | None
    is_ego: bool | None
    is_collage: bool
    is_best_exo: bool
    part: str  # takes or downscaled_takes/448
    path: str  # relative to the release folder, with /
    size_bytes: int | None  # from the manifests; None when they do not list it
    present: bool

    @property
    def label(self) -> str:
        name = self.cam_id
        if self.stream not in ("0", "") and self.stream is not None:
            name += f" {self.readable_stream_id or self.stream}"
        if self.is_best_exo:
            name += " (best exo)"
        return f"{name} · {PART_LABELS.get(self.part, self.part)}"

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return "/media/" + quote(self.path)


@dataclass(frozen=True)
class AbsentCamera:
    """A camera of the take none of whose video files is on disk, with what fetches it."""

    cam_id: str
    is_best_exo: bool
    #: part -> (files, bytes or None) from the manifests
    sizes: dict[str, tuple[int, int | None]]
    #: part -> the command that fetches this camera's files of this take in that part
    commands: dict[str, str]


@dataclass
class TakeMedia:
    take_uid: str
    take_name: str
    release: Path | None
    videos: list[Video]
    absent: list[AbsentCamera] = field(default_factory=list)
    has_manifests: bool = False

    @property
    def present(self) -> list[Video]:
        return [v for v in self.videos if v.present]


def release_dir_of(cat: Catalog, release: str | os.PathLike[str] | None = None) -> Path | None:
    """``release`` as an absolute path, else the folder the catalog was built from (None
    when the catalog does not record one, or it is gone)."""
    if release is not None:
        return Path(release).expanduser().resolve()
    recorded = cat.build_info.get("release_dir")
    if not recorded:
        return None
    p = Path(recorded)
    return p if p.is_dir() else None


def take_media(
    cat: Catalog,
    take_uid: str,
    release: Path | None,
    catalog_dir: str | os.PathLike[str] | None = None,
) -> TakeMedia:
    """The video files of ``take_uid`` (present under ``release`` or not) and its absent
    cameras with the ``takes --format s3`` command that fetches each into ``release``."""
    name_row = cat.execute("SELECT take_name FROM takes WHERE take_uid = $u", {"u": take_uid}).fetchall()
    take_name = name_row[0][0] if name_row else take_uid
    rows = cat.execute(_query("take_video_files"), {"take_uid": take_uid}).fetchall()
    videos = []
    for _, cam, stream, readable, is_ego, is_collage, best, part, path, size in rows:
        present = release is not None and _is_file_inside(release, path)
        videos.append(
            Video(
                cam_id=cam,
                stream=stream,
                readable_stream_id=readable,
                is_ego=is_ego,
                is_collage=bool(is_collage),
                is_best_exo=bool(best),
                part=part,
                path=path,
                size_bytes=None if size is None else int(size),
                present=present,
            )
        )
    sizes: dict[str, dict[str, tuple[int, int | None]]] = {}
    for camera, part, n, size in cat.execute(_query("camera_sizes"), {"take_uid": take_uid}).fetchall():
        sizes.setdefault(camera, {})[part] = (int(n), None if size is None else int(size))
    # the manifests of the video parts list this take's files (a take they do not list
    # cannot be fetched by camera either)
    has_manifests = bool(sizes)
    absent = []
    seen: dict[str, bool] = {}
    for v in videos:
        seen[v.cam_id] = seen.get(v.cam_id, False) or v.present
    for cam, any_present in seen.items():
        if any_present or cam == "best_exo":
            continue
        best = any(v.is_best_exo for v in videos if v.cam_id == cam)
        commands = {
            part: fetch_command(catalog_dir, release, take_uid, cam, part)
            for part in VIDEO_PARTS
            if part in sizes.get(cam, {})
        }
        absent.append(AbsentCamera(cam, best, sizes.get(cam, {}), commands))
    return TakeMedia(take_uid, take_name, release, videos, absent, has_manifests)


def takes_with_videos(cat: Catalog, release: Path) -> list[tuple[str, str]]:
    """(take_uid, take_name) of the takes with at least one video file under ``release``, by name."""
    rows = cat.execute(_query("take_video_files"), {"take_uid": None}).fetchall()
    found = {r[0] for r in rows if r[0] is not None and _is_file_inside(release, r[8])}
    names = cat.execute("SELECT take_uid, take_name FROM takes ORDER BY take_name, take_uid").fetchall()
    return [(u, n) for u, n in names if u in found]


def fetch_command(
    catalog_dir: str | os.PathLike[str] | None, release: Path | None, take_uid: str, cam_id: str, part: str
) -> str:
    """The shell command that copies one camera's files of one take in ``part`` to where
    the server finds them (``takes --format s3 --out-dir RELEASE``; needs the manifests)."""
    where = "take_uid = '{}'".format(take_uid.replace("'", "''"))
    # "take_uid = '<uuid>'" reads better than shlex's quoting of the inner quotes
    where_arg = f'"{where}"' if re.fullmatch(r"[\w.-]+", take_uid) else shlex.quote(where)
    words = ["egoexo-sql", "takes"]
    if catalog_dir is not None:
        words += ["--catalog", shlex.quote(str(catalog_dir))]
    words += [
        "--where",
        where_arg,
        "--parts",
        shlex.quote(part),
        "--cams",
        shlex.quote(cam_id),
        "--format",
        "s3",
    ]
    if release is not None:
        words += ["--out-dir", shlex.quote(str(release))]
    script = shlex.quote(f"fetch_{cam_id}.sh")
    return f"{' '.join(words)} > {script} && sh {script}"


# --------------------------------------------------------------------------- safe paths


def _is_file_inside(release: Path, rel: str) -> bool:
    try:
        resolve_media(release, rel)
    except MediaNotFound:
        return False
    return True


def resolve_media(release: Path | None, rel: str, raw_path: bytes | None = None) -> Path:
    """The file ``rel`` (a path relative to the release folder, as ``/media/<rel>`` names
    it) as a real path inside ``release``, or :class:`MediaNotFound`.

    Refused: no release folder; an empty, absolute or backslashed path; ``.`` or ``..``
    segments; percent-encoded separators or dots in the request's raw path (``raw_path``);
    a NUL; a suffix that is not a video or subtitle (:data:`MEDIA_TYPES`); anything whose
    real path (symlinks followed) is outside the release folder or not a regular file.
    """
    why = _refusal(release, rel, raw_path)
    if why is None and release is not None:
        root = os.path.realpath(release)
        real = os.path.realpath(os.path.join(root, *rel.split("/")))
        if os.path.commonpath([root, real]) != root:
            why = "it leads outside the release folder"
        elif not os.path.isfile(real):
            why = "no such file"
        else:
            return Path(real)
    raise MediaNotFound(f"/media/{rel}: not served ({why})")


def _refusal(release: Path | None, rel: str, raw_path: bytes | None) -> str | None:
    if release is None:
        return "the server has no release folder (egoexo-sql serve --release DIR)"
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel:
        return "not a relative path"
    if any(seg in ("", ".", "..") for seg in rel.split("/")):
        return "a path with empty, . or .. segments"
    if raw_path is not None:
        low = raw_path.lower()
        if any(enc in low for enc in (b"%2f", b"%5c", b"%2e", b"%00")):
            return "an encoded separator or dot"
    if os.path.splitext(rel)[1].lower() not in MEDIA_TYPES:
        return f"only {', '.join(MEDIA_TYPES)} files are served"
    return None


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


# --------------------------------------------------------------------------- pose overlay


def image_size(cat: Catalog, take_uid: str, cam_id: str) -> tuple[int, int]:
    """The size of the undistorted image the camera's 2D keypoints are measured in:
    twice the principal point of its camera pose (rounded up), else :data:`EXO_IMAGE` or
    :data:`ARIA_IMAGE`."""
    rows = cat.execute(_query("camera_image_size"), {"take_uid": take_uid, "cam_id": cam_id}).fetchall()
    if rows and rows[0][0] is not None and rows[0][1] is not None and rows[0][0] > 0 and rows[0][1] > 0:
        return 2 * math.ceil(rows[0][0]), 2 * math.ceil(rows[0][1])
    return ARIA_IMAGE if cam_id.startswith("aria") else EXO_IMAGE


def pose_overlay(cat: Catalog, take_uid: str, cam_id: str) -> dict[str, Any]:
    """The 2D keypoints of a take in one camera for drawing over its video::

        {"cam_id": "cam04", "image": [3840, 2160], "fps": 30,
         "kinds": {"body": {"source": "annotation", "joints": ["left-ankle", ...],
                            "frames": {"32": [x0, y0, x1, y1, ...], ...}}, ...}}

    ``frames`` maps a frame number of the 30 fps frame-aligned video to the coordinates of
    ``joints`` in order (``null`` for a joint not annotated in that frame); the first rater
    of each frame; per kind the manual annotation, else the automatic one
    (``queries/media/pose_2d.sql``).
    """
    rows = cat.execute(_query("pose_2d"), {"take_uid": take_uid, "cam_id": cam_id}).fetchall()
    kinds: dict[str, Any] = {}
    by_kind: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row)
    for kind, krows in by_kind.items():
        joints = sorted({r[3] for r in krows})
        index = {j: i for i, j in enumerate(joints)}
        frames: dict[str, list[float | None]] = {}
        for _, _, frame, joint, x, y in krows:
            coords = frames.setdefault(str(frame), [None] * (2 * len(joints)))
            i = index[joint]
            coords[2 * i], coords[2 * i + 1] = round(x, 2), round(y, 2)
        kinds[kind] = {"source": krows[0][1], "joints": joints, "frames": frames}
    return {"cam_id": cam_id, "image": list(image_size(cat, take_uid, cam_id)), "fps": FPS, "kinds": kinds}
