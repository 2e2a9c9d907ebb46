"""Aria sensor files of the synthetic release: timesync, MPS trajectory and eye gaze,
MPS summaries, GoPro calibrations and point clouds (docs/real-data-variants.md, "Sensor
files").

Every file has the real name, header and form: ``captures/<capture>/timesync.csv``
(``<aria>_<stream>_capture_timestamp_ns``/``_frame_number`` and ``<cam>_pts``/
``_frame_number`` columns, one row per 30 fps sync frame), ``takes/<take>/trajectory/``
``closed_loop_trajectory.csv`` (the 28-column form with ``geo_available`` and ECEF pose),
``summary.json`` and ``gopro_calibs.csv``, ``takes/<take>/eye_gaze/general_eye_gaze.csv``
(and ``personalized_eye_gaze.csv`` for takes with an in-session calibration) in the March
2024 form (left/right yaw, common pitch, depth), and ``semidense_points.csv.gz``.

Time: each capture has its own Aria device clock (a random origin, a drift of up to
0.05% against the nominal 30 fps and +-2 ms of jitter per sync row), and a few takes
have a sync row whose Aria value is empty. A sample at take second ``s`` is written at
the device time of take frame ``30 s``, interpolated between the take's sync rows
``timesync_start_idx + 1 + k`` (the docs' reading of takes.json). Rows of timesync.csv
more than a second outside every take of the capture are written empty, which keeps the
files small at test scales (the real files have values there).

``trajectory_hz`` sets the trajectory's sample rate (the real one is 1000; the default
is small enough for tests); eye gaze is written at its real 10 Hz. One marker sample per
take and file is placed at a known take second that is not on the sampling grid; the
report lists them (``DemoReport.sensor_events``) so a test can check that the build
puts them back at that second.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .world import Rng, Take, World, rng_for

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

FPS = 30
GAZE_HZ = 10
DEFAULT_TRAJECTORY_HZ = 10
ARIA_STREAMS = ("1201-1", "1201-2", "211-1", "214-1")  # slam-left, slam-right, et, rgb
IPD = 0.063
TRAJECTORY_HEADER = (
    "graph_uid,tracking_timestamp_us,utc_timestamp_ns,tx_world_device,ty_world_device,tz_world_device,"
    "qx_world_device,qy_world_device,qz_world_device,qw_world_device,device_linear_velocity_x_device,"
    "device_linear_velocity_y_device,device_linear_velocity_z_device,angular_velocity_x_device,"
    "angular_velocity_y_device,angular_velocity_z_device,gravity_x_world,gravity_y_world,gravity_z_world,"
    "quality_score,geo_available,tx_ecef_device,ty_ecef_device,tz_ecef_device,qx_ecef_device,"
    "qy_ecef_device,qz_ecef_device,qw_ecef_device"
)
GAZE_HEADER = (
    "tracking_timestamp_us,left_yaw_rads_cpf,right_yaw_rads_cpf,pitch_rads_cpf,depth_m,"
    "left_yaw_low_rads_cpf,right_yaw_low_rads_cpf,pitch_low_rads_cpf,left_yaw_high_rads_cpf,"
    "right_yaw_high_rads_cpf,pitch_high_rads_cpf,tx_left_eye_cpf,ty_left_eye_cpf,tz_left_eye_cpf,"
    "tx_right_eye_cpf,ty_right_eye_cpf,tz_right_eye_cpf,session_uid"
)
GOPRO_HEADER = (
    "cam_uid,graph_uid,tx_world_cam,ty_world_cam,tz_world_cam,qx_world_cam,qy_world_cam,qz_world_cam,"
    "qw_world_cam,image_width,image_height,intrinsics_type,intrinsics_0,intrinsics_1,intrinsics_2,"
    "intrinsics_3,intrinsics_4,intrinsics_5,intrinsics_6,intrinsics_7,start_frame_idx,end_frame_idx,quality"
)
POINTS_HEADER = "uid,graph_uid,px_world,py_world,pz_world,inv_dist_std,dist_std"
#: walking speed of the wearer per scenario (m/s), so that path lengths differ as they would
SPEED = {
    "Basketball": 1.6,
    "Soccer": 1.8,
    "Dance": 0.9,
    "Rock Climbing": 0.25,
    "Cooking": 0.25,
    "Health": 0.15,
    "Bike Repair": 0.2,
    "Music": 0.05,
}


@dataclass
class SensorEvent:
    """A marker sample placed at a known take second (see the module docstring)."""

    take_uid: str
    table: str  # trajectory or eye_gaze
    kind: str  # eye gaze: general or personalized; trajectory: closed_loop
    tracking_timestamp_us: int
    take_sec: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CaptureClock:
    """The Aria device clock of one capture: the capture timestamp of every sync row."""

    def __init__(self, rng: Rng, n_rows: int):
        import numpy as np

        self.origin_ns = rng.randint(5 * 10**9, 900 * 10**9)
        drift = 1.0 + rng.uniform(-5e-4, 5e-4)
        gen = np.random.default_rng(rng.getrandbits(32))
        rows = np.arange(n_rows, dtype=np.float64)
        jitter = gen.uniform(-2e6, 2e6, n_rows)
        self.ts = (self.origin_ns + rows * (1e9 / FPS) * drift + jitter).astype(np.int64)

    def device_ns(self, start_idx: int, take_sec: np.ndarray, missing: set[int]) -> np.ndarray:
        """Device time of take seconds: frame ``30 s`` between rows ``start_idx + 1 + k``,
        rows in ``missing`` (an empty Aria value) left out, as the build reads them."""
        import numpy as np

        frames = np.arange(len(self.ts) - start_idx - 1, dtype=np.float64)
        rows = start_idx + 1 + frames.astype(np.int64)
        keep = np.array([r not in missing for r in rows]) if missing else np.ones(len(rows), bool)
        f, t = frames[keep], self.ts[rows[keep]].astype(np.float64)
        k = take_sec * FPS
        out = np.interp(k, f, t)
        lo, hi = k < f[0], k > f[-1]
        out[lo] = t[0] + (k[lo] - f[0]) * (t[1] - t[0]) / (f[1] - f[0])
        out[hi] = t[-1] + (k[hi] - f[-1]) * (t[-1] - t[-2]) / (f[-1] - f[-2])
        return np.asarray(out)


def _csv(header: str, columns: list[Any]) -> bytes:
    """CSV text of Arrow-convertible columns under ``header`` (nulls as empty fields)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = header.split(",")
    table = pa.table(dict(zip(names, columns)))
    buf = io.BytesIO()
    buf.write(header.encode() + b"\n")
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return buf.getvalue()


def sensor_files(
    world: World,
    seed: int,
    takes_records: list[dict[str, Any]],
    groups: tuple[str, ...],
    truth: Counter[str],
    events: list[SensorEvent],
    trajectory_hz: float = DEFAULT_TRAJECTORY_HZ,
) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every sensor file of the groups asked for; ``truth`` gets the
    rows each table will have, ``events`` the marker samples."""
    import numpy as np

    rec_of = {r["take_uid"]: r for r in takes_records}
    want_traj = "trajectory" in groups
    want_gaze = "eye_gaze" in groups
    want_sync = want_traj or want_gaze or "timesync" in groups
    for cap in world.captures:
        takes = [t for t in world.takes if t.capture is cap]
        if not takes:
            continue
        rng = rng_for(seed, f"sensors:{cap.uid}")
        end = max(rec_of[t.uid]["timesync_end_idx"] for t in takes) + FPS
        clock = CaptureClock(rng, end)
        missing: dict[str, set[int]] = {}
        for t in takes:  # one in ten takes has a sync row without its Aria value
            r = rec_of[t.uid]
            if rng.random() < 0.1 and r["timesync_end_idx"] - r["timesync_start_idx"] > 10:
                missing[t.uid] = {rng.randint(r["timesync_start_idx"] + 3, r["timesync_end_idx"] - 3)}
        if want_sync:
            data, rows = _timesync(cap, takes, rec_of, clock, missing, rng)
            truth["timesync"] += rows
            yield f"captures/{cap.name}/timesync.csv", data
        for t in takes:
            r = rec_of[t.uid]
            start = r["timesync_start_idx"]
            gone = missing.get(t.uid, set())
            duration = (r["timesync_end_idx"] - start - 1) / FPS
            root = f"takes/{t.name}"
            # one generator per file kind: a file is the same whatever --only selects
            graph = rng_for(seed, f"graph:{t.uid}").uid()
            if want_traj and r["has_trimmed_trajectory"]:
                gen = np.random.default_rng(rng_for(seed, f"trajectory:{t.uid}").getrandbits(32))
                data, length = _trajectory(t, graph, duration, trajectory_hz, clock, start, gone, gen, events)
                truth["trajectory"] += data.count(b"\n") - 1
                truth["trajectory_files"] += 1
                yield f"{root}/trajectory/closed_loop_trajectory.csv", data
                yield f"{root}/trajectory/summary.json", _slam_summary(duration, length)
                truth["mps_summaries"] += 7
            if "calibration" in groups and r["has_trimmed_trajectory"] and t.exo_cams:
                crng = rng_for(seed, f"calibration:{t.uid}")
                yield f"{root}/trajectory/gopro_calibs.csv", _gopro_calibs(t, graph, crng)
                truth["exo_calibrations"] += len(t.exo_cams)
            if want_gaze and r["has_trimmed_eye_gaze"]:
                grng = rng_for(seed, f"eye_gaze:{t.uid}")
                gen = np.random.default_rng(grng.getrandbits(32))
                session = grng.uid()
                personalized = grng.random() < 0.3
                base = _gaze_angles(duration, gen)
                for kind in ("general", "personalized") if personalized else ("general",):
                    data = _eye_gaze(t, kind, session, duration, base, clock, start, gone, gen, events)
                    truth["eye_gaze"] += data.count(b"\n") - 1
                    truth["eye_gaze_files"] += 1
                    yield f"{root}/eye_gaze/{kind}_eye_gaze.csv", data
                summary: dict[str, Any] = {"GazeInference": {"status": "SUCCESS", "message": ""}}
                if personalized:
                    summary["InSessionCalibration"] = [
                        {
                            "Status": "SUCCESS",
                            "session_uid": session,
                            "message": "",
                            "start_time_us": int(clock.ts[start + 1] // 1000),
                            "end_time_us": int(clock.ts[r["timesync_end_idx"] - 1] // 1000),
                            "num_calibu_frames": 1000,
                            "parameters": [1.02, 1.05, 0.011, 0.014, 0.0, 0.0],
                        }
                    ]
                summary["version"] = "1.2.3"
                truth["mps_summaries"] += len(summary) - 1
                yield f"{root}/eye_gaze/summary.json", json.dumps(summary, indent=2).encode()
            if "point_cloud" in groups and r["has_trimmed_trajectory"]:
                gen = np.random.default_rng(rng_for(seed, f"point_cloud:{t.uid}").getrandbits(32))
                yield f"{root}/trajectory/semidense_points.csv.gz", _points(gen, graph)


def _timesync(
    cap: Any,
    takes: list[Take],
    rec_of: dict[str, Any],
    clock: CaptureClock,
    missing: dict[str, set[int]],
    rng: Rng,
) -> tuple[bytes, int]:
    import numpy as np
    import pyarrow as pa

    n = len(clock.ts)
    live = np.zeros(n, bool)  # rows within a second of a take
    for t in takes:
        r = rec_of[t.uid]
        live[max(0, r["timesync_start_idx"] - FPS) : r["timesync_end_idx"] + FPS] = True
    gone = np.zeros(n, bool)
    for gone_rows in missing.values():
        for row in gone_rows:
            gone[row] = True
    names: list[str] = []
    cols: list[Any] = []
    idx = np.arange(n, dtype=np.int64)
    ego = cap.ego_cam
    for stream in ARIA_STREAMS:
        ts = clock.ts + (0 if stream == "214-1" else rng.randint(-4, 4) * 10**6)
        frames = idx if stream == "214-1" else idx // 3
        aria_live = live & ~gone
        names += [f"{ego}_{stream}_capture_timestamp_ns", f"{ego}_{stream}_frame_number"]
        cols += [pa.array(ts, mask=~aria_live), pa.array(frames, mask=~aria_live)]
    for cam in cap.exo_cams:
        first = rng.randint(0, 900)
        frame = idx + first
        names += [f"{cam}_pts", f"{cam}_frame_number"]
        cols += [pa.array(frame * 1001, mask=~live), pa.array(frame, mask=~live)]
    n_rows = len(ARIA_STREAMS) * int((live & ~gone).sum()) + len(cap.exo_cams) * int(live.sum())
    return _csv(",".join(names), cols), n_rows


def _trajectory(
    t: Take,
    graph: str,
    duration: float,
    hz: float,
    clock: CaptureClock,
    start: int,
    missing: set[int],
    gen: np.random.Generator,
    events: list[SensorEvent],
) -> tuple[bytes, float]:
    """closed_loop_trajectory.csv of a take, and its path length."""
    import numpy as np

    n = max(2, int(duration * hz) + 1)
    sec = np.arange(n) / hz
    marker = round(duration * 0.37 + 0.000123, 6)  # off the sampling grid
    sec = np.sort(np.append(sec, marker))
    m = int(np.searchsorted(sec, marker))
    n += 1
    dt = np.diff(sec, prepend=sec[0])
    # walking: a smoothly turning heading, moving or standing in stretches of a few seconds
    speed = SPEED.get(t.scenario, 0.3)
    # the heading's random walk has its steps on a fixed 10 Hz grid, interpolated between
    # them: the head turns as much at 1000 Hz as at 10 Hz (a walk drawn at the sample rate
    # would turn sqrt(rate) times as far)
    knots = np.arange(int(sec[-1] * 10) + 2) / 10
    turn = np.interp(sec, knots, np.cumsum(gen.normal(0, 0.25 * math.sqrt(0.1), len(knots))))
    heading = gen.uniform(0, 2 * math.pi) + turn
    moving = np.repeat(gen.random(n // max(1, int(3 * hz)) + 2) < 0.7, max(1, int(3 * hz)))[:n]
    v = speed * moving * (0.7 + 0.3 * np.abs(np.sin(sec / 2.0)))
    vx, vy = v * np.cos(heading), v * np.sin(heading)
    x = gen.uniform(-2, 2) + np.cumsum(vx * dt)
    y = gen.uniform(-2, 2) + np.cumsum(vy * dt)
    z = 1.55 + 0.03 * np.sin(sec * 2 * math.pi * 1.8) * moving + 0.1 * np.sin(sec / 7.0)
    yaw = heading + 0.6 * np.sin(sec / 3.0)
    # the device frame looks along its z axis (forward), y down: turned by yaw about world z
    c, s = np.cos(yaw / 2), np.sin(yaw / 2)
    qx, qy, qz, qw = -0.5 * (c + s), 0.5 * (c - s), 0.5 * (s - c), 0.5 * (c + s)
    zero = np.zeros(n)
    fwd = np.cos(yaw) * vx + np.sin(yaw) * vy
    lat = -np.sin(yaw) * vx + np.cos(yaw) * vy
    vz = np.gradient(z, sec) if n > 2 else zero
    dvx, dvy, dvz = -lat, -vz, fwd  # world -> device: x = -left, y = down, z = forward
    yaw_rate = np.gradient(yaw, sec) if n > 2 else zero
    device_ns = clock.device_ns(start, sec, missing)
    us = np.round(device_ns / 1000).astype(np.int64)
    utc = (us * 1000 + 1_686_000_000_000_000_000 - clock.origin_ns).astype(np.int64)
    quality = np.clip(0.8 + gen.normal(0, 0.05, n), 0.0, 1.0).round(3)
    events.append(SensorEvent(t.uid, "trajectory", "closed_loop", int(us[m]), float(marker)))
    cols = [
        [graph] * n,
        us,
        utc,
        x.round(6),
        y.round(6),
        z.round(6),
        qx.round(9),
        qy.round(9),
        qz.round(9),
        qw.round(9),
        dvx.round(6),
        dvy.round(6),
        dvz.round(6),
        zero,
        (-yaw_rate).round(6),
        zero,
        zero,
        zero,
        np.full(n, -9.81),
        quality,
        np.zeros(n, np.int64),
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
        np.ones(n),
    ]
    length = float(np.sqrt(np.diff(x) ** 2 + np.diff(y) ** 2 + np.diff(z) ** 2).sum())
    return _csv(TRAJECTORY_HEADER, cols), length


def _slam_summary(duration: float, length: float) -> bytes:
    h, rest = divmod(duration, 3600)
    mins, secs = divmod(rest, 60)
    stage = {"status": "SUCCESS", "info": [], "warnings": [], "errors": []}
    doc = {
        "VRS Health Check": dict(stage),
        "SLAM": {
            **stage,
            "info": [
                f"Recording total time: {int(h)}:{int(mins):02d}:{secs:09.6f}; Trajectory total length: {length:.2f}m",
                "Total Vision Translational Correction (mm): p50: 1.062; p99: 6.639",
            ],
        },
        "Aligner": dict(stage),
        "Optimization": dict(stage),
        "Recompute Trajectory": dict(stage),
        "SemiDense Tracker": dict(stage),
        "Compute Global Pointcloud": dict(stage),
        "version": "1.2.3",
    }
    return json.dumps(doc, indent=2).encode()


def _gaze_angles(duration: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yaw, pitch, depth) at 10 Hz: fixations of 0.2 to 1.5 s joined by saccades."""
    import numpy as np

    n = max(2, int(duration * GAZE_HZ) + 1)
    yaw, pitch, depth = np.empty(n), np.empty(n), np.empty(n)
    i = 0
    while i < n:
        k = int(gen.integers(2, 16))
        yaw[i : i + k] = gen.normal(0, 0.25)
        pitch[i : i + k] = gen.normal(-0.25, 0.15)
        depth[i : i + k] = gen.uniform(0.3, 3.5)
        i += k
    yaw += gen.normal(0, 0.01, n)
    pitch += gen.normal(0, 0.01, n)
    return np.clip(yaw, -0.9, 0.9), np.clip(pitch, -0.9, 0.6), depth


def _eye_gaze(
    t: Take,
    kind: str,
    session: str,
    duration: float,
    base: tuple[np.ndarray, np.ndarray, np.ndarray],
    clock: CaptureClock,
    start: int,
    missing: set[int],
    gen: np.random.Generator,
    events: list[SensorEvent],
) -> bytes:
    """A take's general or personalized eye gaze in the March 2024 form."""
    import numpy as np

    yaw, pitch, depth = (a.copy() for a in base)
    if kind == "personalized":  # the calibration's linear correction
        yaw, pitch = 1.02 * yaw + 0.011, 1.05 * pitch + 0.014
    n = len(yaw)
    sec = np.arange(n) / GAZE_HZ
    m = n // 2
    sec[m] = round(sec[m] + 0.0314159, 6)  # the marker: off the 10 Hz grid
    # the rays' intersection P = depth * unit(tan yaw, tan pitch, 1); the eyes at x = +-IPD/2
    u = np.stack([np.tan(yaw), np.tan(pitch), np.ones(n)])
    u /= np.linalg.norm(u, axis=0)
    p = u * depth
    zc = p[2]
    tan_l = (p[0] - IPD / 2) / zc
    tan_r = (p[0] + IPD / 2) / zc
    left, right = np.arctan(tan_l), np.arctan(tan_r)
    no_depth = gen.random(n) < 0.03  # degenerate predictions: depth left empty
    us = np.round(clock.device_ns(start, sec, missing) / 1000).astype(np.int64)
    events.append(SensorEvent(t.uid, "eye_gaze", kind, int(us[m]), float(sec[m])))
    import pyarrow as pa

    cols = [
        us,
        left.round(7),
        right.round(7),
        pitch.round(7),
        pa.array(np.linalg.norm(p, axis=0).round(6), mask=no_depth),
        (left - 0.03).round(7),
        (right - 0.03).round(7),
        (pitch - 0.03).round(7),
        (left + 0.03).round(7),
        (right + 0.03).round(7),
        (pitch + 0.03).round(7),
        np.full(n, IPD / 2),
        np.zeros(n),
        np.zeros(n),
        np.full(n, -IPD / 2),
        np.zeros(n),
        np.zeros(n),
        [session] * n,
    ]
    return _csv(GAZE_HEADER, cols)


def _gopro_calibs(t: Take, graph: str, rng: Rng) -> bytes:
    lines = [GOPRO_HEADER]
    for cam in t.exo_cams:
        a = rng.uniform(0, 2 * math.pi)
        f = rng.uniform(1700, 1800)
        lines.append(
            f"{cam},{graph},{3 * math.cos(a):.6f},{3 * math.sin(a):.6f},{rng.uniform(1.2, 2.2):.6f},"
            f"{rng.uniform(-0.7, 0.7):.6f},{rng.uniform(-0.7, 0.7):.6f},{rng.uniform(-0.7, 0.7):.6f},"
            f"{rng.uniform(0.2, 0.7):.6f},3840,2160,KANNALABRANDTK3,{f:.6f},{f:.6f},1920.000000,1080.000000,"
            f"0.036902,0.057131,-0.057154,0.018458,-1,-1,1"
        )
    return ("\n".join(lines) + "\n").encode()


def _points(gen: np.random.Generator, graph: str) -> bytes:
    import numpy as np

    n = int(gen.integers(50, 300))
    pts = gen.normal(0, 2, (n, 3))
    cols = [
        np.arange(n, dtype=np.int64) * 7 + 25,
        [graph] * n,
        pts[:, 0].round(6),
        pts[:, 1].round(6),
        pts[:, 2].round(6),
        gen.uniform(0.001, 0.02, n).round(6),
        gen.uniform(0.005, 0.1, n).round(6),
    ]
    return gzip.compress(_csv(POINTS_HEADER, cols), mtime=0)
