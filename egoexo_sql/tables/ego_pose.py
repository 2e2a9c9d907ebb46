"""annotations/ego_pose/** -> ego_pose_3d, ego_pose_2d, ego_pose_takes, camera_poses.

One JSON file per take (egoexo-format.md section 13), compiled one file at a time by
the streaming engine (:mod:`egoexo_sql.streaming`):

* ``<split>/<body|hand>/<annotation|automatic>/<take_uid>.json``:
  ``{"<frame>": [{"annotation3D": {joint: {x, y, z, num_views_for_3d}},
  "annotation2D": {cam: {joint: {x, y, placement}}}}]}`` -> one ``ego_pose_3d`` row per
  frame x joint, one ``ego_pose_2d`` row per frame x camera x joint (joints absent from
  a frame are absent rows), and one ``ego_pose_takes`` row per file.
* ``<split>/camera_pose/<take_uid>.json``: ``{"metadata": {...}, "<cam>":
  {camera_intrinsics 3x3, camera_extrinsics 3x4 or {"<frame>": 3x4}, distortion_coeffs}}``
  -> ``camera_poses``: one row per static (exo) camera with a NULL frame_number, one row
  per frame for a moving (Aria) camera.

Speed matters here (10 GB at full scale): files are decoded into ``gc=False`` Structs
and columns are gathered with C-level ``extend``/``map`` per frame (and camera), not
per joint.
"""

from __future__ import annotations

import zlib
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Union

import msgspec

from ..errors import InputError
from ._common import SPLITS

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

KINDS = ("body", "hand")
POSE_SOURCES = ("annotation", "automatic")
POSE_GLOBS = tuple(f"annotations/ego_pose/*/{k}/{s}/*.json" for k in KINDS for s in POSE_SOURCES)
CAMERA_GLOB = "annotations/ego_pose/*/camera_pose/*.json"
#: hash buckets per folder: a unit is one bucket of one folder (see unit_of_pose)
BUCKETS = 16


class Joint3D(msgspec.Struct, gc=False):
    x: Union[float, None] = None
    y: Union[float, None] = None
    z: Union[float, None] = None
    num_views_for_3d: Union[int, None] = None


class Joint2D(msgspec.Struct, gc=False):
    x: Union[float, None] = None
    y: Union[float, None] = None
    placement: Union[str, None] = None


class FrameAnnotation(msgspec.Struct, gc=False):
    annotation3D: dict[str, Joint3D] = {}
    annotation2D: dict[str, dict[str, Joint2D]] = {}


PoseFile = dict[str, list[FrameAnnotation]]

Row3 = tuple[float, float, float]
Row4 = tuple[float, float, float, float]
Mat33 = tuple[Row3, Row3, Row3]
Mat34 = tuple[Row4, Row4, Row4]


class CameraPose(msgspec.Struct, gc=False):
    camera_intrinsics: Union[Mat33, None] = None
    camera_extrinsics: Union[Mat34, dict[str, Mat34], None] = None
    distortion_coeffs: Union[list[float], None] = None


# --------------------------------------------------------------------------- paths
def _parts(rel: str, n: int) -> list[str]:
    parts = rel.split("/")
    if len(parts) != n or parts[0] != "annotations" or parts[1] != "ego_pose":
        raise InputError(rel, None, "a file at annotations/ego_pose/<split>/...", "another path")
    if parts[2] not in SPLITS:
        raise InputError(rel, None, "a split folder named train, val or test", f"{parts[2]!r}")
    return parts


def _bucket(stem: str) -> int:
    return zlib.crc32(stem.encode()) % BUCKETS


def unit_of_pose(rel: str) -> str:
    """``annotations/ego_pose/train/body/automatic/<uid>.json`` -> ``train-body-automatic-07``."""
    _, _, split, kind, source, name = _parts(rel, 6)
    return f"{split}-{kind}-{source}-{_bucket(name[:-5]):02d}"


def unit_of_camera(rel: str) -> str:
    _, _, split, _, name = _parts(rel, 5)
    return f"camera_pose-{split}-{_bucket(name[:-5]):02d}"


def _frame_number(key: str, file: str, where: str | None = None) -> int:
    """A frame-number key as an int; ``where`` (default ``$["<key>"]``) is the JSON path
    an error names, built only on error."""
    if key.isdigit() and key.isascii():
        return int(key)
    raise InputError(file, where or f'$["{key}"]', "a frame number (a key made of digits)", repr(key))


# --------------------------------------------------------------------------- body / hand
_X, _Y, _Z = attrgetter("x"), attrgetter("y"), attrgetter("z")
_VIEWS, _PLACEMENT = attrgetter("num_views_for_3d"), attrgetter("placement")


def compile_pose_file(release: "Release", path: Path) -> Iterator[tuple[str, "pa.Table"]]:
    """One body or hand pose file -> ego_pose_3d, ego_pose_2d and ego_pose_takes rows."""
    import pyarrow as pa

    rel = release.rel(path)
    _, _, split, kind, source, name = _parts(rel, 6)
    take_uid = name[: -len(".json")]
    doc: dict[str, list[FrameAnnotation]] = release.decode(rel, PoseFile)

    # per group (a frame's annotation, or a frame's annotation x camera): frame, idx, size
    g3_frame: list[int] = []
    g3_idx: list[int] = []
    g3_n: list[int] = []
    j3: list[str] = []
    v3: list[Joint3D] = []
    g2_frame: list[int] = []
    g2_idx: list[int] = []
    g2_cam: list[str] = []
    g2_n: list[int] = []
    j2: list[str] = []
    v2: list[Joint2D] = []
    j3x, v3x, j2x, v2x = j3.extend, v3.extend, j2.extend, v2.extend
    frames: list[int] = []
    for key, anns in doc.items():
        f = _frame_number(key, rel)
        frames.append(f)
        for i, a in enumerate(anns):
            a3 = a.annotation3D
            if a3:
                g3_frame.append(f)
                g3_idx.append(i)
                g3_n.append(len(a3))
                j3x(a3)
                v3x(a3.values())
            for cam, joints in a.annotation2D.items():
                if joints:
                    g2_frame.append(f)
                    g2_idx.append(i)
                    g2_cam.append(cam)
                    g2_n.append(len(joints))
                    j2x(joints)
                    v2x(joints.values())
    del doc

    n3, n2 = len(v3), len(v2)
    s3, s2, st = _arrow_schema("ego_pose_3d"), _arrow_schema("ego_pose_2d"), _arrow_schema("ego_pose_takes")
    # tables built in the schema's own types: the writer then neither casts nor copies
    yield "ego_pose_3d", pa.Table.from_arrays([
        _const(take_uid, n3), _const(split, n3), _const(kind, n3), _const(source, n3),
        _expand_int(g3_frame, g3_n, n3),
        _expand_int(g3_idx, g3_n, n3),
        pa.array(j3, pa.string()),
        pa.array(list(map(_X, v3)), pa.float64()),
        pa.array(list(map(_Y, v3)), pa.float64()),
        pa.array(list(map(_Z, v3)), pa.float64()),
        pa.array(list(map(_VIEWS, v3)), pa.int32()),
    ], schema=s3)
    del j3, v3
    yield "ego_pose_2d", pa.Table.from_arrays([
        _const(take_uid, n2), _const(split, n2), _const(kind, n2), _const(source, n2),
        _expand_int(g2_frame, g2_n, n2),
        _expand_int(g2_idx, g2_n, n2),
        pa.array(g2_cam, pa.string()).take(_group_index(g2_n, n2)),
        pa.array(j2, pa.string()),
        pa.array(list(map(_X, v2)), pa.float64()),
        pa.array(list(map(_Y, v2)), pa.float64()),
        pa.array(list(map(_PLACEMENT, v2)), pa.string()),
    ], schema=s2)
    yield "ego_pose_takes", pa.Table.from_arrays([
        pa.array([take_uid]), pa.array([split]), pa.array([kind]), pa.array([source]),
        pa.array([len(frames)], pa.int32()),
        pa.array([min(frames) if frames else None], pa.int32()),
        pa.array([max(frames) if frames else None], pa.int32()),
        pa.array([n3], pa.int64()),
        pa.array([n2], pa.int64()),
        pa.array([sorted(set(g2_cam))], pa.list_(pa.string())),
    ], schema=st)


@cache
def _arrow_schema(table: str) -> "pa.Schema":
    from ..schema import get

    return get(table).arrow_schema()


def _const(value: str, n: int) -> "pa.Array":
    """``n`` copies of one string, made from buffers (``pa.repeat`` is ~50x slower)."""
    import numpy as np
    import pyarrow as pa

    b = value.encode()
    offsets = np.arange(0, (n + 1) * len(b), len(b), dtype=np.int32) if b else np.zeros(n + 1, np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(b * n))


def _group_index(counts: list[int], n: int) -> "pa.Array":
    """For each row, the index of its group (groups of ``counts`` rows, in order)."""
    import numpy as np
    import pyarrow as pa

    return pa.array(np.repeat(np.arange(len(counts), dtype=np.int32), counts), pa.int32())


def _expand_int(values: list[int], counts: list[int], n: int) -> "pa.Array":
    """Each group's value repeated over its rows, as int32."""
    import numpy as np
    import pyarrow as pa

    return pa.array(np.repeat(np.asarray(values, dtype=np.int32), counts), pa.int32())


# --------------------------------------------------------------------------- camera pose
def compile_camera_file(release: "Release", path: Path) -> Iterator[tuple[str, "pa.Table"]]:
    """One camera_pose file -> camera_poses rows (static cameras first, then per frame)."""
    import pyarrow as pa

    from ..release import decode_json

    rel = release.rel(path)
    _, _, split, _, name = _parts(rel, 5)
    take_uid = name[: -len(".json")]
    top: dict[str, msgspec.Raw] = release.decode(rel, dict[str, msgspec.Raw])

    static: dict[str, list] = {k: [] for k in ("cam_id", "intrinsics", "extrinsics", "distortion")}
    moving_tables = []
    for cam, raw in top.items():
        if cam == "metadata":
            continue
        try:
            pose: CameraPose = decode_json(bytes(raw), CameraPose, rel)
        except InputError as e:  # re-anchor the path at the camera's key
            sub = (e.json_path or "$")[1:]
            raise InputError(rel, f'$["{cam}"]{sub}', e.expected, e.got) from None
        intr = [list(r) for r in pose.camera_intrinsics] if pose.camera_intrinsics else None
        ext = pose.camera_extrinsics
        if isinstance(ext, dict):
            frames = [(_frame_number(k, rel, f'$["{cam}"].camera_extrinsics["{k}"]'), m)
                      for k, m in ext.items()]
            frames.sort(key=lambda fm: fm[0])
            n = len(frames)
            flat = list(chain.from_iterable(chain.from_iterable(m for _, m in frames)))
            extrinsics = _matrices(flat, n, 3, 4)
            if intr is None:
                intrinsics = pa.nulls(n, pa.list_(pa.list_(pa.float64())))
            else:
                intrinsics = _matrices(list(chain.from_iterable(intr)) * n, n, 3, 3)
            dist = pose.distortion_coeffs
            moving_tables.append(pa.table({
                "take_uid": pa.repeat(take_uid, n),
                "split": pa.repeat(split, n),
                "cam_id": pa.repeat(cam, n),
                "is_static": pa.repeat(False, n),
                "frame_number": pa.array([f for f, _ in frames], pa.int32()),
                "intrinsics": intrinsics,
                "extrinsics": extrinsics,
                "distortion": pa.array([dist] * n, pa.list_(pa.float64())),
            }))
        else:
            static["cam_id"].append(cam)
            static["intrinsics"].append(intr)
            static["extrinsics"].append([list(r) for r in ext] if ext is not None else None)
            static["distortion"].append(pose.distortion_coeffs)
    n = len(static["cam_id"])
    mat = pa.list_(pa.list_(pa.float64()))
    tables = [pa.table({
        "take_uid": pa.repeat(take_uid, n),
        "split": pa.repeat(split, n),
        "cam_id": pa.array(static["cam_id"], pa.string()),
        "is_static": pa.repeat(True, n),
        "frame_number": pa.nulls(n, pa.int32()),
        "intrinsics": pa.array(static["intrinsics"], mat),
        "extrinsics": pa.array(static["extrinsics"], mat),
        "distortion": pa.array(static["distortion"], pa.list_(pa.float64())),
    })] + moving_tables
    for t in tables:
        yield "camera_poses", t


def _matrices(flat: list[float], n: int, rows: int, cols: int) -> "pa.Array":
    """n row-major rows x cols matrices from their values -> list<list<double>>."""
    import pyarrow as pa

    values = pa.array(flat, pa.float64())
    inner = pa.ListArray.from_arrays(pa.array(range(0, n * rows * cols + 1, cols), pa.int32()), values)
    return pa.ListArray.from_arrays(pa.array(range(0, n * rows + 1, rows), pa.int32()), inner)
