"""Aria sensor CSV -> trajectory, eye gaze and timesync tables, on the take's time axis.

Streaming sources (:mod:`egoexo_sql.builder.units`), one file at a time with bounded
memory, read by :mod:`egoexo_sql.tables.sensor_csv`:

* ``takes/<take>/trajectory/closed_loop_trajectory.csv`` -> ``trajectory`` (every
  sample, ``take_sec`` added), ``trajectory_files`` (one row: the file's motion figures
  over every sample) and ``motion_bins`` (100 ms bins: what keystep_context sums);
* ``takes/<take>/eye_gaze/{general,personalized}_eye_gaze.csv`` -> ``eye_gaze``,
  ``eye_gaze_files`` and ``gaze_bins``;
* ``captures/<capture>/timesync.csv`` -> ``timesync`` (one row per row and stream).

``take_sec`` needs the take's rows of its capture's timesync.csv and takes.json
(:func:`~egoexo_sql.tables.sensor_csv.take_clock`). So the trajectory and eye gaze
sources read both: takes.json is *context* (when it changes every unit is compiled
again) and a unit holds a hash bucket of captures with their timesync.csv and their
takes' files, compiled whole when any of them changed. Each take's rows start their own
Parquet row groups, so min/max statistics on ``take_uid`` let a reader of one take skip
every other take's rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .sensor_csv import TAKES_JSON, TakeClock, capture_of, captures_by_name, header, match_form, stream_csv
from .sensor_csv import take_clock as clock_of
from .sensor_csv import take_of as take_ref

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

    from ..release import Release

BUCKETS = 16
TIMESYNC_GLOB = "captures/*/timesync.csv"
TRAJECTORY_GLOB = "takes/*/trajectory/closed_loop_trajectory.csv"
GAZE_GLOBS = ("takes/*/eye_gaze/general_eye_gaze.csv", "takes/*/eye_gaze/personalized_eye_gaze.csv")
BIN_HZ = 10  # motion and gaze bins: 100 ms
CELL_M = 0.5  # area covered: cells of 0.5 m x 0.5 m

_POSE = ("tx", "ty", "tz", "qx", "qy", "qz", "qw")
TRAJECTORY_COLUMNS: dict[str, str] = {  # file column -> table column
    "graph_uid": "graph_uid",
    "tracking_timestamp_us": "tracking_timestamp_us",
    "utc_timestamp_ns": "utc_timestamp_ns",
    **{f"{c}_world_device": c for c in _POSE},
    **{f"device_linear_velocity_{a}_device": f"velocity_{a}" for a in "xyz"},
    **{f"angular_velocity_{a}_device": f"angular_velocity_{a}" for a in "xyz"},
    **{f"gravity_{a}_world": f"gravity_{a}" for a in "xyz"},
    "quality_score": "quality_score",
}
GEO_COLUMNS = {"geo_available": "geo_available", **{f"{c}_ecef_device": f"{c}_ecef" for c in _POSE}}
TRAJECTORY_FORMS = {
    "geo": tuple(TRAJECTORY_COLUMNS) + tuple(GEO_COLUMNS),
    "plain": tuple(TRAJECTORY_COLUMNS),
}
_BOUNDS = ("yaw_low_rads_cpf", "pitch_low_rads_cpf", "yaw_high_rads_cpf", "pitch_high_rads_cpf")
_EYES = tuple(f"t{a}_{e}_eye_cpf" for e in ("left", "right") for a in "xyz")
GAZE_FORMS = {
    "v1": ("tracking_timestamp_us", "yaw_rads_cpf", "pitch_rads_cpf", "depth_m", *_BOUNDS),
    "v2": ("tracking_timestamp_us", "yaw_rads_cpf", "pitch_rads_cpf", *_BOUNDS, "depth_m", "session_uid"),
    "vergence": (
        "tracking_timestamp_us",
        "left_yaw_rads_cpf",
        "right_yaw_rads_cpf",
        "pitch_rads_cpf",
        "depth_m",
        "left_yaw_low_rads_cpf",
        "right_yaw_low_rads_cpf",
        "pitch_low_rads_cpf",
        "left_yaw_high_rads_cpf",
        "right_yaw_high_rads_cpf",
        "pitch_high_rads_cpf",
        *_EYES,
        "session_uid",
    ),
    "gen2": (
        "tracking_timestamp_us",
        "yaw_rads_cpf",
        "pitch_rads_cpf",
        "left_yaw_rads_cpf",
        "right_yaw_rads_cpf",
        "left_pitch_rads_cpf",
        "right_pitch_rads_cpf",
        *_EYES,
    ),
}
IPD_M = 0.063  # the fixed inter-pupillary distance projectaria_tools' vergence reader assumes


def _types(names: tuple[str, ...]) -> dict[str, pa.DataType]:
    import pyarrow as pa

    out: dict[str, pa.DataType] = {}
    for n in names:
        if n in ("graph_uid", "session_uid"):
            out[n] = pa.string()
        elif n in ("tracking_timestamp_us", "utc_timestamp_ns", "geo_available"):
            out[n] = pa.int64()
        else:
            out[n] = pa.float64()
    return out


# --------------------------------------------------------------------------- units
def _bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % BUCKETS


def unit_of_sensor(rel: str) -> str:
    """A capture's timesync.csv and its takes' sensor files share a unit (a hash bucket
    of capture names); takes.json is a unit of its own (it produces no rows)."""
    parts = rel.split("/")
    if len(parts) >= 2 and parts[0] == "captures":
        return f"captures-{_bucket(parts[1]):02d}"
    if len(parts) >= 2 and parts[0] == "takes":
        return f"captures-{_bucket(capture_of(parts[1])):02d}"
    return "context"


# --------------------------------------------------------------------------- trajectory
def compile_trajectory_file(release: Release, path: Path) -> Iterator[tuple[str, pa.Table]]:
    """One closed_loop_trajectory.csv -> trajectory chunks, its trajectory_files row and
    its motion_bins; timesync.csv and takes.json (context inputs) give no rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rel = release.rel(path)
    if not rel.endswith("closed_loop_trajectory.csv"):
        return
    take = take_ref(release, rel)
    form = match_form(rel, header(release, rel), TRAJECTORY_FORMS)
    clock = clock_of(release, take, rel)
    target = _schema("trajectory")
    motion = _Motion()
    graphs: set[str] = set()
    for batch in stream_csv(release, rel, _types(TRAJECTORY_FORMS[form])):
        n = batch.num_rows
        if n == 0:
            continue
        cols = {TRAJECTORY_COLUMNS.get(k) or GEO_COLUMNS[k]: batch.column(k) for k in batch.schema.names}
        us = cols["tracking_timestamp_us"]
        if us.null_count:
            raise InputError(
                rel, None, "a tracking_timestamp_us on every row", f"{us.null_count} empty value(s)"
            )
        sec = clock.take_sec(us.to_numpy())
        utc = cols["utc_timestamp_ns"]
        cols["utc_timestamp_ns"] = pc.if_else(pc.equal(utc, -1), pa.scalar(None, pa.int64()), utc)  # type: ignore[call-overload]  # the stubs have no (Array, int) form
        v = [cols[f"velocity_{a}"].to_numpy(zero_copy_only=False) for a in "xyz"]
        speed = np.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
        cols["speed_mps"] = pa.array(speed, mask=np.isnan(speed))
        if form == "geo":
            cols["geo_available"] = pc.not_equal(cols["geo_available"], 0)  # type: ignore[call-overload]  # as above
        graphs.update(str(g) for g in pc.unique(cols["graph_uid"]).drop_null().to_pylist())
        arrays = []
        for f in target:
            if f.name == "take_uid":
                arrays.append(constant_strings(take.take_uid, n))
            elif f.name == "take_sec":
                arrays.append(pa.array(sec))
            elif f.name in cols:
                arrays.append(cols[f.name].cast(f.type))
            else:
                arrays.append(pa.nulls(n, f.type))
        table = pa.Table.from_arrays(arrays, schema=target)
        for name in ("tx", "ty", "tz", "qx", "qy", "qz", "qw"):
            if table.column(name).null_count:
                raise InputError(rel, None, f"a value of {name}_world_device on every row", "an empty value")
        tx, ty, tz, qx, qy, qz, qw = (
            table.column(c).to_numpy() for c in ("tx", "ty", "tz", "qx", "qy", "qz", "qw")
        )
        motion.add(
            sec, tx, ty, tz, qx, qy, qz, qw, speed, cols["quality_score"].to_numpy(zero_copy_only=False)
        )
        yield "trajectory", table
    yield "trajectory_files", motion.file_row(take.take_uid, rel, form, len(graphs), clock)
    yield "motion_bins", motion.bins(take.take_uid)


class _Motion:
    """Motion figures of one file, added up batch by batch (memory: the 100 ms bins and
    the 0.5 m cells visited)."""

    def __init__(self) -> None:
        import numpy as np

        self.n = 0
        self.first_sec = self.last_sec = float("nan")
        self.prev: tuple[float, float, float] | None = None
        self.first: tuple[float, float, float] | None = None
        self.path = 0.0
        self.max_speed = float("nan")
        self.zmin = float("inf")
        self.zmax = float("-inf")
        self.q_sum = 0.0
        self.q_n = 0
        self.q_min = float("inf")
        self.max_gap = float("nan")
        self.cells = np.empty(0, np.int64)
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.prev_heading = 0.0
        self.turn = 0.0

    def add(
        self,
        sec: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        z: np.ndarray,
        qx: np.ndarray,
        qy: np.ndarray,
        qz: np.ndarray,
        qw: np.ndarray,
        speed: np.ndarray,
        quality: np.ndarray,
    ) -> None:
        import numpy as np

        # heading: the device's forward (z) axis projected on the floor, about world z up
        heading = np.arctan2(2 * (qy * qz - qx * qw), 2 * (qx * qz + qy * qw))
        ph = np.concatenate([[self.prev_heading], heading]) if self.n else heading
        turn = np.abs((np.diff(ph) + np.pi) % (2 * np.pi) - np.pi)
        if not self.n:
            turn = np.concatenate([[0.0], turn])
        self.prev_heading = float(heading[-1])
        self.turn += float(turn.sum())

        px = np.concatenate([[self.prev[0]], x]) if self.prev else x
        py = np.concatenate([[self.prev[1]], y]) if self.prev else y
        pz = np.concatenate([[self.prev[2]], z]) if self.prev else z
        step = np.sqrt(np.diff(px) ** 2 + np.diff(py) ** 2 + np.diff(pz) ** 2)
        if not self.prev:
            step = np.concatenate([[0.0], step])
        psec = np.concatenate([[self.last_sec], sec]) if self.n else sec
        if len(psec) > 1:
            gap = float(np.max(np.diff(psec)))
            self.max_gap = gap if np.isnan(self.max_gap) else max(self.max_gap, gap)
        if self.first is None:
            self.first = (float(x[0]), float(y[0]), float(z[0]))
            self.first_sec = float(sec[0])
        self.prev = (float(x[-1]), float(y[-1]), float(z[-1]))
        self.last_sec = float(sec[-1])
        self.n += len(sec)
        self.path += float(step.sum())
        if np.isfinite(speed).any():
            m = float(np.nanmax(speed))
            self.max_speed = m if np.isnan(self.max_speed) else max(self.max_speed, m)
        self.zmin = min(self.zmin, float(z.min()))
        self.zmax = max(self.zmax, float(z.max()))
        ok = ~np.isnan(quality)
        if ok.any():
            self.q_sum += float(quality[ok].sum())
            self.q_n += int(ok.sum())
            self.q_min = min(self.q_min, float(quality[ok].min()))
        cell = np.floor(x / CELL_M).astype(np.int64) * (1 << 32) + np.floor(y / CELL_M).astype(np.int64)
        self.cells = np.union1d(self.cells, cell)
        # the bins of this batch, reduced; reduced again over batches at the end
        b = np.floor(sec * BIN_HZ).astype(np.int64)
        keys, inv = np.unique(b, return_inverse=True)
        cnt = np.bincount(inv)
        sp = np.where(np.isnan(speed), -np.inf, speed)
        mx = np.full(len(keys), -np.inf)
        np.maximum.at(mx, inv, sp)
        qz = np.where(ok, quality, 0.0)
        self.parts.append(
            (
                keys,
                cnt,
                np.bincount(inv, step),
                np.bincount(inv, x),
                np.bincount(inv, y),
                np.bincount(inv, z),
                mx,
                np.bincount(inv, qz),
                np.bincount(inv, ok.astype(np.float64)),
                np.bincount(inv, turn),
            )
        )

    def file_row(self, take_uid: str, rel: str, form: str, n_graphs: int, clock: TakeClock) -> pa.Table:
        import math

        net = math.dist(self.first, self.prev) if self.first and self.prev else None

        def f(v: float) -> float | None:
            return None if v is None or not math.isfinite(v) else v

        return _row(
            "trajectory_files",
            take_uid=take_uid,
            relative_path=rel,
            form=form,
            n_rows=self.n,
            first_take_sec=f(self.first_sec),
            last_take_sec=f(self.last_sec),
            n_graphs=n_graphs,
            mean_quality=self.q_sum / self.q_n if self.q_n else None,
            min_quality=f(self.q_min),
            path_length_m=self.path,
            net_displacement_m=net,
            max_speed_mps=f(self.max_speed),
            height_min_m=f(self.zmin),
            height_max_m=f(self.zmax),
            area_m2=len(self.cells) * CELL_M * CELL_M if self.n else None,
            head_turn_rad=self.turn,
            max_gap_sec=f(self.max_gap),
            n_sync_rows=clock.n_rows,
            n_sync_gaps=clock.n_gaps,
        )

    def bins(self, take_uid: str) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        if not self.parts:
            return _schema("motion_bins").empty_table()
        cat = [np.concatenate([p[i] for p in self.parts]) for i in range(10)]
        keys, inv = np.unique(cat[0], return_inverse=True)
        n = np.bincount(inv, cat[1])
        mx = np.full(len(keys), -np.inf)
        np.maximum.at(mx, inv, cat[6])
        qn = np.bincount(inv, cat[8])
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = {
                "take_uid": constant_strings(take_uid, len(keys)),
                "bin": pa.array(keys, pa.int32()),
                "n": pa.array(n, pa.int32()),
                "path_m": pa.array(np.bincount(inv, cat[2])),
                "x": pa.array(np.bincount(inv, cat[3]) / n),
                "y": pa.array(np.bincount(inv, cat[4]) / n),
                "z": pa.array(np.bincount(inv, cat[5]) / n),
                "max_speed_mps": pa.array(mx, mask=~np.isfinite(mx)),
                "mean_quality": pa.array(np.bincount(inv, cat[7]) / qn, mask=qn == 0),
                "turn_rad": pa.array(np.bincount(inv, cat[9])),
            }
        return pa.Table.from_pydict(cols, schema=_schema("motion_bins"))


# --------------------------------------------------------------------------- eye gaze
def compile_gaze_file(release: Release, path: Path) -> Iterator[tuple[str, pa.Table]]:
    """One general or personalized eye gaze file -> eye_gaze chunks, its eye_gaze_files
    row and its gaze_bins."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rel = release.rel(path)
    name = rel.rsplit("/", 1)[-1]
    if name not in ("general_eye_gaze.csv", "personalized_eye_gaze.csv"):
        return
    kind = name.split("_", 1)[0]
    take = take_ref(release, rel)
    form = match_form(rel, header(release, rel), GAZE_FORMS)
    clock = clock_of(release, take, rel)
    target = _schema("eye_gaze")
    n_rows = n_depth = 0
    first = last = max_gap = float("nan")
    sessions: set[str] = set()
    parts: list[tuple[np.ndarray, ...]] = []
    for batch in stream_csv(release, rel, _types(GAZE_FORMS[form])):
        n = batch.num_rows
        if n == 0:
            continue

        def col(c: str, batch: pa.RecordBatch = batch) -> np.ndarray:
            return batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64)

        us = batch.column("tracking_timestamp_us")
        if us.null_count:
            raise InputError(
                rel, None, "a tracking_timestamp_us on every row", f"{us.null_count} empty value(s)"
            )
        sec = clock.take_sec(us.to_numpy())
        pitch = col("pitch_rads_cpf")
        left = right = None
        if form == "vergence":  # the combined yaw, as EyeGazeReader computes it
            left, right = col("left_yaw_rads_cpf"), col("right_yaw_rads_cpf")
            yaw = np.arctan((np.tan(left) + np.tan(right)) / 2)
        else:
            yaw = col("yaw_rads_cpf")
            if form == "gen2":
                left, right = col("left_yaw_rads_cpf"), col("right_yaw_rads_cpf")
        for label, values in (("yaw", yaw), ("pitch", pitch)):
            if np.isnan(values).any():
                raise InputError(rel, None, f"a gaze {label} on every row", "an empty value")
        depth = col("depth_m") if "depth_m" in batch.schema.names else np.full(n, np.nan)
        depth = np.where(depth == 0, np.nan, depth)
        d = np.stack([np.tan(yaw), np.tan(pitch), np.ones(n)])
        d /= np.linalg.norm(d, axis=0)
        cols: dict[str, Any] = {
            "take_uid": constant_strings(take.take_uid, n),
            "kind": constant_strings(kind, n),
            "session_uid": batch.column("session_uid") if "session_uid" in batch.schema.names else None,
            "tracking_timestamp_us": us,
            "take_sec": pa.array(sec),
            "yaw": pa.array(yaw),
            "pitch": pa.array(pitch),
            "depth_m": pa.array(depth, mask=np.isnan(depth)),
            "gaze_x": pa.array(d[0]),
            "gaze_y": pa.array(d[1]),
            "gaze_z": pa.array(d[2]),
            "left_yaw": None if left is None else pa.array(left),
            "right_yaw": None if right is None else pa.array(right),
        }
        if form in ("v1", "v2"):
            for c in ("yaw_low", "yaw_high", "pitch_low", "pitch_high"):
                cols[c] = batch.column(f"{c}_rads_cpf")
        elif form == "vergence":
            cols["pitch_low"] = batch.column("pitch_low_rads_cpf")
            cols["pitch_high"] = batch.column("pitch_high_rads_cpf")
        arrays = [
            cols[f.name].cast(f.type) if cols.get(f.name) is not None else pa.nulls(n, f.type) for f in target
        ]
        if cols["session_uid"] is not None:
            sessions.update(pc.unique(cols["session_uid"]).drop_null().to_pylist())
        n_depth += int((~np.isnan(depth)).sum())
        psec = np.concatenate([[last], sec]) if n_rows else sec
        if len(psec) > 1:
            g = float(np.max(np.diff(psec)))
            max_gap = g if np.isnan(max_gap) else max(max_gap, g)
        if not n_rows:
            first = float(sec[0])
        last = float(sec[-1])
        n_rows += n
        b = np.floor(sec * BIN_HZ).astype(np.int64)
        keys, inv = np.unique(b, return_inverse=True)
        parts.append(
            (
                keys,
                np.bincount(inv).astype(np.float64),
                np.bincount(inv, d[0]),
                np.bincount(inv, d[1]),
                np.bincount(inv, d[2]),
                np.bincount(inv, yaw),
                np.bincount(inv, pitch),
            )
        )
        yield "eye_gaze", pa.Table.from_arrays(arrays, schema=target)
    import math

    yield (
        "eye_gaze_files",
        _row(
            "eye_gaze_files",
            take_uid=take.take_uid,
            kind=kind,
            relative_path=rel,
            form=form,
            n_rows=n_rows,
            first_take_sec=first if n_rows else None,
            last_take_sec=last if n_rows else None,
            n_with_depth=n_depth,
            n_sessions=len(sessions),
            max_gap_sec=None if math.isnan(max_gap) else max_gap,
            n_sync_gaps=clock.n_gaps,
        ),
    )
    if parts:
        cat = [np.concatenate([p[i] for p in parts]) for i in range(7)]
        keys, inv = np.unique(cat[0], return_inverse=True)
        cnt = np.bincount(inv, cat[1])
        yield (
            "gaze_bins",
            pa.Table.from_pydict(
                {
                    "take_uid": constant_strings(take.take_uid, len(keys)),
                    "kind": constant_strings(kind, len(keys)),
                    "bin": pa.array(keys, pa.int32()),
                    "n": pa.array(cnt, pa.int32()),
                    "sum_x": pa.array(np.bincount(inv, cat[2])),
                    "sum_y": pa.array(np.bincount(inv, cat[3])),
                    "sum_z": pa.array(np.bincount(inv, cat[4])),
                    "mean_yaw": pa.array(np.bincount(inv, cat[5]) / cnt),
                    "mean_pitch": pa.array(np.bincount(inv, cat[6]) / cnt),
                },
                schema=_schema("gaze_bins"),
            ),
        )


# --------------------------------------------------------------------------- timesync
def compile_timesync_file(release: Release, path: Path) -> Iterator[tuple[str, pa.Table]]:
    """One capture's timesync.csv -> timesync rows, one per row and device stream with a
    value (captures.json, a context input, gives no rows)."""
    import re

    import numpy as np
    import pyarrow as pa

    rel = release.rel(path)
    if not rel.endswith("/timesync.csv"):
        return
    capture = rel.split("/")[1]
    capture_uid = captures_by_name(release).get(capture)
    names = header(release, rel)
    streams: list[tuple[str, str, str, str]] = []  # (cam, stream, time column, frame column)
    known: set[str] = set()
    for n in names:
        m = re.fullmatch(r"(.+)_(\d+-\d+)_capture_timestamp_ns", n)
        if m:
            streams.append((m.group(1), m.group(2), n, f"{m.group(1)}_{m.group(2)}_frame_number"))
        m = re.fullmatch(r"(.+)_pts", n)
        if m:
            streams.append((m.group(1), "0", n, f"{m.group(1)}_frame_number"))
    for _cam, _stream, tcol, fcol in streams:
        if fcol not in names:
            raise InputError(rel, "line 1", f"a column {fcol} beside {tcol}", "no such column")
        known.update((tcol, fcol))
    unknown = [n for n in names if n not in known]
    if unknown or not streams:
        raise InputError(
            rel,
            "line 1",
            "columns <aria>_<stream>_capture_timestamp_ns/_frame_number and <cam>_pts/<cam>_frame_number",
            f"unknown column(s) {', '.join(unknown)}" if unknown else "no device column",
        )
    # pandas writes an integer column with empty cells as floats ("123.0"): read doubles,
    # exact for integers below 2**53 (Aria nanoseconds since boot are far below)
    types = {n: pa.float64() for n in names}
    target = _schema("timesync")
    row0 = 0
    for batch in stream_csv(release, rel, types):
        n_batch = batch.num_rows
        rows = np.arange(row0, row0 + n_batch, dtype=np.int64)
        row0 += n_batch
        for cam, stream, tcol, fcol in streams:
            t = batch.column(tcol).to_numpy(zero_copy_only=False)
            keep = ~np.isnan(t)
            k = int(keep.sum())
            if not k:
                continue
            fr = batch.column(fcol).to_numpy(zero_copy_only=False)[keep]
            tv = t[keep].astype(np.int64)
            aria = stream != "0"
            yield (
                "timesync",
                pa.Table.from_arrays(
                    [
                        pa.array([capture_uid] * k, pa.string()),
                        constant_strings(capture, k),
                        pa.array(rows[keep]),
                        constant_strings(cam, k),
                        constant_strings(stream, k),
                        pa.array(tv) if aria else pa.nulls(k, pa.int64()),
                        pa.nulls(k, pa.int64()) if aria else pa.array(tv),
                        pa.array(fr, mask=np.isnan(fr)).cast(pa.int64()),
                    ],
                    schema=target,
                ),
            )


# --------------------------------------------------------------------------- helpers
@cache
def _schema(table: str) -> pa.Schema:
    from ..schema import get

    return get(table).arrow_schema()


def constant_strings(value: str, n: int) -> pa.Array[Any]:
    """A string array of ``n`` times ``value``, built from its buffers (a take's uid on
    every row of a chunk: 20 times as fast as converting a numpy object array)."""
    import numpy as np
    import pyarrow as pa

    b = value.encode("utf-8")
    if n * len(b) >= 2**31:  # beyond 32-bit offsets (not a chunk this module makes)
        return pa.array([value] * n, pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(b))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b * n))


def _row(table: str, **values: Any) -> pa.Table:
    import pyarrow as pa

    schema = _schema(table)
    return pa.Table.from_pylist([values], schema=schema)


__all__ = [
    "GAZE_GLOBS",
    "TAKES_JSON",
    "TIMESYNC_GLOB",
    "TRAJECTORY_GLOB",
    "compile_gaze_file",
    "compile_timesync_file",
    "compile_trajectory_file",
    "unit_of_sensor",
]
