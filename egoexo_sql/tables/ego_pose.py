"""annotations/ego_pose/** -> ego_pose_3d, ego_pose_2d, ego_pose_takes, camera_poses.

One JSON file per take (egoexo-format.md section 13), compiled one file at a time by
the build's streaming units (:mod:`egoexo_sql.builder.units`):

* ``<split>/<body|hand>/<annotation|automatic>/<take_uid>.json``:
  ``{"<frame>": [{"annotation3D": {joint: {x, y, z, num_views_for_3d}},
  "annotation2D": {cam: {joint: {x, y, placement}}}}]}`` -> one ``ego_pose_3d`` row per
  frame x joint, one ``ego_pose_2d`` row per frame x camera x joint (joints absent from
  a frame are absent rows), and one ``ego_pose_takes`` row per file.
* ``<split>/camera_pose/<take_uid>.json``: ``{"metadata": {...}, "<cam>":
  {camera_intrinsics 3x3, camera_extrinsics 3x4 or {"<frame>": 3x4}, distortion_coeffs}}``
  -> ``camera_poses``: one row per static (exo) camera with a NULL frame_number, one row
  per frame for a moving (Aria) camera.

Speed matters here (10 GB at full scale). A body/hand file is decoded by the native
extension ``egoexo_sql._posecols`` when it was compiled at install (``hatch_build.py``):
one pass from JSON bytes to Arrow buffers, no Python object per joint. Whenever that
decoder meets anything it does not know for sure (see ``_posecols.c``), and always
without the extension or with ``EGOEXO_SQL_NATIVE=0``, the file is decoded by the
reference path below: ``gc=False`` msgspec Structs whose columns are gathered with
C-level ``extend``/``map`` per frame (and camera), not per joint. Both give the same
rows and the same errors (tests/test_ego_pose_native.py).
"""

from __future__ import annotations

import os
import types
import zlib
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

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
    x: float | None = None
    y: float | None = None
    z: float | None = None
    num_views_for_3d: int | None = None


class Joint2D(msgspec.Struct, gc=False):
    x: float | None = None
    y: float | None = None
    placement: str | None = None


class FrameAnnotation(msgspec.Struct, gc=False):
    annotation3D: dict[str, Joint3D] = {}
    annotation2D: dict[str, dict[str, Joint2D]] = {}


PoseFile = dict[str, list[FrameAnnotation]]

Row3 = tuple[float, float, float]
Row4 = tuple[float, float, float, float]
Mat33 = tuple[Row3, Row3, Row3]
Mat34 = tuple[Row4, Row4, Row4]


class CameraPose(msgspec.Struct, gc=False):
    camera_intrinsics: Mat33 | None = None
    camera_extrinsics: Mat34 | dict[str, Mat34] | None = None
    distortion_coeffs: list[float] | None = None


#: the ``_posecols.ABI`` this module is written for; another one is not used
NATIVE_ABI = 1


def _load_native(source: Path | None = None) -> types.ModuleType | None:
    """The native decoder module, or None: not compiled, another ABI, turned off, or
    built from another version of ``_posecols.c`` than the one beside it (after an
    edit without ``pip install -e .`` again: a warning says so)."""
    if os.environ.get("EGOEXO_SQL_NATIVE", "1") == "0":
        return None
    try:
        from .. import _posecols
    except ImportError:
        return None
    if getattr(_posecols, "ABI", None) != NATIVE_ABI:
        return None
    src = source or Path(__file__).resolve().parent.parent / "_posecols.c"
    built_from = getattr(_posecols, "SOURCE_SHA256", "")
    if built_from and src.is_file():
        import hashlib

        if hashlib.sha256(src.read_bytes()).hexdigest() != built_from:
            import warnings

            warnings.warn(
                f"{_posecols.__file__} was built from another version of {src}: ego pose "
                "decodes with msgspec until the package is installed again (pip install -e .)",
                stacklevel=2,
            )
            return None
    return _posecols


#: set at import; tests swap it to compare both paths
NATIVE = _load_native()


def pose_decoder() -> str:
    """Which decoder compiles body/hand files: ``"native"`` or ``"msgspec"``."""
    return "native" if NATIVE is not None else "msgspec"


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


def _frame_number(key: str, file: str, parent: str = "$") -> int:
    """A frame-number key as an int; ``parent`` is the JSON path of the object it is a
    key of (the error's path, ``<parent>["<key>"]``, is built only on error)."""
    if key.isdigit() and key.isascii():
        return int(key)
    raise InputError(file, f'{parent}["{key}"]', "a frame number (a key made of digits)", repr(key))


# --------------------------------------------------------------------------- body / hand
_X, _Y, _Z = attrgetter("x"), attrgetter("y"), attrgetter("z")
_flat = chain.from_iterable
_VIEWS, _PLACEMENT = attrgetter("num_views_for_3d"), attrgetter("placement")


Chunk = Union[tuple[str, "pa.Table"], tuple[str, "pa.Table", dict[str, str]]]  # noqa: UP007


def compile_pose_file(release: Release, path: Path) -> Iterator[Chunk]:
    """One body or hand pose file -> ego_pose_3d, ego_pose_2d and ego_pose_takes rows
    (the first two without their partition columns, whose values come third)."""
    import pyarrow as pa

    rel = release.rel(path)
    _, _, split, kind, source, name = _parts(rel, 6)
    take_uid = name[: -len(".json")]
    if NATIVE is not None:
        data = release.read_bytes(rel)
        cols = NATIVE.decode_pose(data)
        if cols is not None:
            yield from _native_tables(cols, take_uid, split, kind, source)
            return
        # the reference path decides: the same rows, or the InputError
        from ..release import decode_json

        doc: dict[str, list[FrameAnnotation]] = decode_json(data, PoseFile, rel)
    else:
        doc = release.decode(rel, PoseFile)

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
    part = {"kind": kind, "source": source, "split": split}
    # tables built in the schema's own types, the partition columns (from the path)
    # named, not repeated: the writer then neither casts, copies nor checks them
    yield (
        "ego_pose_3d",
        pa.Table.from_arrays(
            [
                _const(take_uid, n3),
                _expand_int(g3_frame, g3_n, n3),
                _expand_int(g3_idx, g3_n, n3),
                pa.array(j3, pa.string()),
                pa.array(list(map(_X, v3)), pa.float64()),
                pa.array(list(map(_Y, v3)), pa.float64()),
                pa.array(list(map(_Z, v3)), pa.float64()),
                pa.array(list(map(_VIEWS, v3)), pa.int32()),
            ],
            schema=_file_schema("ego_pose_3d"),
        ),
        part,
    )
    del j3, v3
    yield (
        "ego_pose_2d",
        pa.Table.from_arrays(
            [
                _const(take_uid, n2),
                _expand_int(g2_frame, g2_n, n2),
                _expand_int(g2_idx, g2_n, n2),
                pa.array(g2_cam, pa.string()).take(_group_index(g2_n, n2)),
                pa.array(j2, pa.string()),
                pa.array(list(map(_X, v2)), pa.float64()),
                pa.array(list(map(_Y, v2)), pa.float64()),
                pa.array(list(map(_PLACEMENT, v2)), pa.string()),
            ],
            schema=_file_schema("ego_pose_2d"),
        ),
        part,
    )
    yield "ego_pose_takes", _takes_row(take_uid, split, kind, source, frames, n3, n2, set(g2_cam))


def _native_tables(
    cols: dict[str, Any], take_uid: str, split: str, kind: str, source: str
) -> Iterator[Chunk]:
    """The decoder's column buffers -> the same three tables as the reference path."""
    import numpy as np
    import pyarrow as pa

    buf = pa.py_buffer

    def num(name: str, typ: pa.DataType, n: int) -> pa.Array[Any]:
        valid = cols.get(name + "_valid")
        return pa.Array.from_buffers(
            typ,
            n,
            [None if valid is None else buf(valid), buf(cols[name])],
            null_count=cols.get(name + "_nulls", 0),
        )

    def text(name: str, n: int) -> pa.Array[Any]:
        valid = cols.get(name + "_valid")
        return pa.StringArray.from_buffers(
            n,
            buf(cols[name + "_offsets"]),
            buf(cols[name + "_data"]),
            None if valid is None else buf(valid),
            null_count=cols.get(name + "_nulls", 0),
        )

    n3, n2 = cols["n3"], cols["n2"]
    part = {"kind": kind, "source": source, "split": split}
    yield (
        "ego_pose_3d",
        pa.Table.from_arrays(
            [
                _const(take_uid, n3),
                num("frame3", pa.int32(), n3),
                num("idx3", pa.int32(), n3),
                text("joint3", n3),
                num("x3", pa.float64(), n3),
                num("y3", pa.float64(), n3),
                num("z3", pa.float64(), n3),
                num("views3", pa.int32(), n3),
            ],
            schema=_file_schema("ego_pose_3d"),
        ),
        part,
    )
    yield (
        "ego_pose_2d",
        pa.Table.from_arrays(
            [
                _const(take_uid, n2),
                num("frame2", pa.int32(), n2),
                num("idx2", pa.int32(), n2),
                text("cam2", n2),
                text("joint2", n2),
                num("x2", pa.float64(), n2),
                num("y2", pa.float64(), n2),
                text("placement2", n2),
            ],
            schema=_file_schema("ego_pose_2d"),
        ),
        part,
    )
    frames = np.frombuffer(cols["frames"], np.int32).tolist()
    yield "ego_pose_takes", _takes_row(take_uid, split, kind, source, frames, n3, n2, cols["cams"])


def _takes_row(
    take_uid: str,
    split: str,
    kind: str,
    source: str,
    frames: list[int],
    n3: int,
    n2: int,
    cams: Iterable[str],
) -> pa.Table:
    """The file's one ego_pose_takes row (both decoders)."""
    import pyarrow as pa

    return pa.Table.from_arrays(
        [
            pa.array([take_uid]),
            pa.array([split]),
            pa.array([kind]),
            pa.array([source]),
            pa.array([len(frames)], pa.int32()),
            pa.array([min(frames) if frames else None], pa.int32()),
            pa.array([max(frames) if frames else None], pa.int32()),
            pa.array([n3], pa.int64()),
            pa.array([n2], pa.int64()),
            pa.array([sorted(cams)], pa.list_(pa.string())),
        ],
        schema=_arrow_schema("ego_pose_takes"),
    )


@cache
def _arrow_schema(table: str) -> pa.Schema:
    from ..schema import get

    return get(table).arrow_schema()


@cache
def _file_schema(table: str) -> pa.Schema:
    from ..schema import get

    return get(table).file_arrow_schema()


def _const(value: str, n: int) -> pa.Array[Any]:
    """``n`` copies of one string, made from buffers (``pa.repeat`` is ~50x slower)."""
    import numpy as np
    import pyarrow as pa

    b = value.encode()
    offsets = np.arange(0, (n + 1) * len(b), len(b), dtype=np.int32) if b else np.zeros(n + 1, np.int32)
    # an ndarray has the buffer protocol; numpy's stubs say so only for Python 3.12+
    buf = pa.py_buffer(offsets)  # type: ignore[arg-type]
    return pa.StringArray.from_buffers(n, buf, pa.py_buffer(b * n))


def _group_index(counts: list[int], n: int) -> pa.Array[Any]:
    """For each row, the index of its group (groups of ``counts`` rows, in order)."""
    import numpy as np
    import pyarrow as pa

    return pa.array(np.repeat(np.arange(len(counts), dtype=np.int32), counts), pa.int32())


def _expand_int(values: list[int], counts: list[int], n: int) -> pa.Array[Any]:
    """Each group's value repeated over its rows, as int32."""
    import numpy as np
    import pyarrow as pa

    return pa.array(np.repeat(np.asarray(values, dtype=np.int32), counts), pa.int32())


# --------------------------------------------------------------------------- camera pose
def compile_camera_file(release: Release, path: Path) -> Iterator[Chunk]:
    """One camera_pose file -> camera_poses rows (static cameras first, then per frame),
    without the split column, whose value comes third.

    Camera files are small (one per take, ~12 KB) and many, so the cost is per file:
    the file is decoded in one call and becomes one Arrow table. Only when that typed
    decoding fails is it decoded camera by camera, which names the camera in the error
    (and skips a ``metadata`` of any shape)."""

    from ..release import decode_json

    rel = release.rel(path)
    _, _, split, _, name = _parts(rel, 5)
    take_uid = name[: -len(".json")]
    data = release.read_bytes(rel)  # decode_json drops a byte order mark
    try:
        cams: dict[str, CameraPose] = decode_json(data, dict[str, CameraPose | None], rel)
        cams.pop("metadata", None)
        if any(p is None for p in cams.values()):
            raise InputError(rel, None, "", "")  # a camera that is null: let the slow path say so
    except InputError:
        top: dict[str, msgspec.Raw] = decode_json(data, dict[str, msgspec.Raw], rel)
        cams = {}
        for cam, raw in top.items():
            if cam == "metadata":
                continue
            try:
                cams[cam] = decode_json(bytes(raw), CameraPose, rel)
            except InputError as e:  # re-anchor the path at the camera's key
                sub = (e.json_path or "$")[1:]
                raise InputError(rel, f'$["{cam}"]{sub}', e.expected, e.got) from None

    for cam, pose in cams.items():
        if cam.isdigit() and pose.camera_intrinsics is None and pose.camera_extrinsics is None:
            # the docs' layout (frames first, cameras inside): no real v2 file has it
            raise InputError(
                rel,
                f'$["{cam}"]',
                "a camera key (cam01, aria01, ...) holding "
                "camera_intrinsics/camera_extrinsics at the top level",
                "a frame number: the per-frame layout of the documentation, which "
                "the released files do not use",
            )
    yield "camera_poses", _camera_table(take_uid, rel, cams), {"split": split}


def _camera_table(take_uid: str, rel: str, cams: dict[str, CameraPose]) -> pa.Table:
    """The camera_poses rows of one file: static cameras first, then each moving
    camera's frames in frame order.

    A moving camera has one 3x4 matrix per frame (a dense Aria camera: thousands), so
    its extrinsics are flattened into numpy in one call and become the nested list column from
    flat buffers; the intrinsics and distortion, one per camera, are made once and
    repeated with ``take``. Building every row's nested lists with ``pa.array`` cost
    three times the decoding."""
    import numpy as np
    import pyarrow as pa

    mat = pa.list_(pa.list_(pa.float64()))
    static = [c for c, p in cams.items() if not isinstance(p.camera_extrinsics, dict)]
    moving = [c for c, p in cams.items() if isinstance(p.camera_extrinsics, dict)]
    order = static + moving  # one "group" per camera, in row order
    counts = [1] * len(static)
    frame_parts: list[Any] = [np.zeros(len(static), np.int64)]
    ext_parts: list[pa.Array[Any]] = [pa.array([cams[c].camera_extrinsics for c in static], mat)]
    for cam in moving:
        ext = cams[cam].camera_extrinsics
        assert isinstance(ext, dict)
        frames = _frame_numbers(list(ext), rel, f'$["{cam}"].camera_extrinsics')
        # msgspec checked each value is 3 rows of 4 floats: flattened without a shape search
        values = np.fromiter(_flat(_flat(ext.values())), np.float64, 12 * len(ext)).reshape(-1, 12)
        if len(frames) > 1 and not bool((frames[1:] > frames[:-1]).all()):
            by_frame = np.argsort(frames, kind="stable")
            frames, values = frames[by_frame], values[by_frame]
        n = len(frames)
        counts.append(n)
        frame_parts.append(frames)
        rows = pa.ListArray.from_arrays(
            pa.array(np.arange(0, 12 * n + 1, 4, dtype=np.int32), pa.int32()),
            pa.array(values.reshape(-1), pa.float64()),
        )
        ext_parts.append(
            pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * n + 1, 3, dtype=np.int32), pa.int32()), rows)
        )
    rows_total = sum(counts)
    group = np.repeat(np.arange(len(order), dtype=np.int32), counts)
    n_static = len(static)
    frame_numbers = np.concatenate(frame_parts).astype(np.int32)
    is_static = np.zeros(rows_total, np.bool_)
    is_static[:n_static] = True
    return pa.Table.from_arrays(
        [
            _const(take_uid, rows_total),
            pa.array(order, pa.string()).take(group),
            pa.array(is_static, pa.bool_()),
            pa.array(frame_numbers, pa.int32(), mask=is_static),  # NULL: static
            pa.array([cams[c].camera_intrinsics for c in order], mat).take(group),
            pa.concat_arrays(ext_parts).cast(mat),
            pa.array([cams[c].distortion_coeffs for c in order], pa.list_(pa.float64())).take(group),
        ],
        schema=_file_schema("camera_poses"),
    )


def _frame_numbers(keys: list[str], file: str, parent: str) -> Any:
    """Frame-number keys as an int64 array (in the keys' order); an InputError names the
    first key that is not a frame number, or one beyond the INTEGER column."""
    import numpy as np

    joined = "".join(keys)
    if all(keys) and joined.isdigit() and joined.isascii():
        frames = np.fromiter(map(int, keys), np.int64, len(keys)) if keys else np.zeros(0, np.int64)
    else:
        frames = np.array([_frame_number(k, file, parent) for k in keys], np.int64)
    if len(frames) and int(frames.max()) > 2**31 - 1:
        k = keys[int(frames.argmax())]
        raise InputError(file, f'{parent}["{k}"]', "a frame number that fits an INTEGER (< 2^31)", k)
    return frames
