"""Aria sensor tables: trajectory, eye gaze, timesync, calibrations, MPS summaries, take
seconds, motion summaries, the real MPS sample outputs and bad input."""

from __future__ import annotations

import csv
import gzip
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from egoexo_sql.errors import InputError
from egoexo_sql.tables.registry import compile_release

SAMPLES = Path(__file__).parent / "fixtures" / "mps_samples"


@pytest.fixture(scope="module")
def cat(sensor_catalog):
    import egoexo_sql

    with egoexo_sql.open(sensor_catalog) as c:
        yield c


def test_take_sec_puts_planted_samples_back_within_1ms(cat, sensor_release):
    _, report = sensor_release
    events = report.sensor_events
    assert {e["table"] for e in events} == {"trajectory", "eye_gaze"}
    worst = 0.0
    for e in events:
        if e["table"] == "trajectory":
            q = "SELECT take_sec FROM trajectory WHERE take_uid = $1 AND tracking_timestamp_us = $2"
            args = [e["take_uid"], e["tracking_timestamp_us"]]
        else:
            q = "SELECT take_sec FROM eye_gaze WHERE take_uid = $1 AND kind = $2 AND tracking_timestamp_us = $3"
            args = [e["take_uid"], e["kind"], e["tracking_timestamp_us"]]
        (got,) = cat.execute(q, args).fetchall()[0]
        worst = max(worst, abs(got - e["take_sec"]))
    assert worst < 0.001, worst


def test_take_sec_is_not_a_constant_offset(cat):
    """The device clock drifts and jitters against the 30 fps frames: one offset per take
    would miss by more than a millisecond somewhere, so the interpolation is doing work."""
    (spread,) = cat.execute(
        "SELECT max(d) - min(d) FROM (SELECT take_uid, tracking_timestamp_us / 1e6 - take_sec AS d "
        "FROM trajectory) GROUP BY take_uid ORDER BY 1 DESC LIMIT 1"
    ).fetchall()[0]
    assert spread > 0.001


def test_rows_match_what_the_demo_wrote(cat, sensor_release):
    _, report = sensor_release
    for table in (
        "trajectory",
        "eye_gaze",
        "timesync",
        "exo_calibrations",
        "mps_summaries",
        "trajectory_files",
        "eye_gaze_files",
    ):
        (n,) = cat.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
        assert n == report.truth[table], table
        assert n > 0


def test_summaries_count_what_their_rows_hold(cat, sensor_release):
    """motion_bins and gaze_bins hold one row per 100 ms bin with samples, take_motion one
    row per take with a trajectory or eye gaze file, point_clouds one per manifest path."""
    _, report = sensor_release
    checks = {
        "motion_bins": "SELECT count(DISTINCT (take_uid, floor(take_sec * 10))) FROM trajectory",
        "gaze_bins": "SELECT count(DISTINCT (take_uid, kind, floor(take_sec * 10))) FROM eye_gaze",
        "take_motion": "SELECT count(*) FROM (SELECT take_uid FROM trajectory_files "
        "UNION SELECT take_uid FROM eye_gaze_files)",
    }
    for view, q in checks.items():
        (want,) = cat.execute(q).fetchall()[0]
        (n,) = cat.execute(f"SELECT count(*) FROM {view}").fetchall()[0]
        assert n == want and n > 0, view
    (n,) = cat.execute("SELECT count(*) FROM point_clouds").fetchall()[0]
    assert n == report.truth["point_clouds"] > 0


def test_one_take_is_its_own_row_groups(sensor_catalog):
    """Each take starts its own row groups: min = max of take_uid, so a reader of one take
    skips the others by the footer statistics alone."""
    import pyarrow.parquet as pq

    for table in ("trajectory", "eye_gaze"):
        files = sorted((sensor_catalog / "data" / table).glob("*.parquet"))
        assert len(files) > 1
        for f in files:
            meta = pq.ParquetFile(f).metadata
            col = meta.schema.names.index("take_uid")
            for i in range(meta.num_row_groups):
                st = meta.row_group(i).column(col).statistics
                assert st.has_min_max and st.min == st.max


def test_large_tables_are_not_stored_in_catalog_duckdb(sensor_catalog):
    import duckdb

    con = duckdb.connect(str(sensor_catalog / "catalog.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert not {"trajectory", "eye_gaze", "timesync"} & tables


def test_path_length_matches_the_csv(cat, sensor_release):
    release, _ = sensor_release
    rows = cat.sql(
        "SELECT t.take_name, m.path_length_m, m.net_displacement_m, m.height_range_m "
        "FROM take_motion m JOIN takes t USING (take_uid) WHERE m.path_length_m IS NOT NULL LIMIT 3"
    ).rows()
    assert rows
    for name, path_m, net, height in rows:
        with open(release / "takes" / name / "trajectory" / "closed_loop_trajectory.csv") as f:
            recs = list(csv.DictReader(f))
        p = np.array([[float(r[f"t{a}_world_device"]) for a in "xyz"] for r in recs])
        assert path_m == pytest.approx(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()), rel=1e-9)
        assert net == pytest.approx(float(np.linalg.norm(p[-1] - p[0])), rel=1e-9)
        assert height == pytest.approx(float(p[:, 2].max() - p[:, 2].min()), rel=1e-9)


def test_take_summary_and_selection(cat):
    s = cat.sql(
        "SELECT count(*) FILTER (WHERE has_trajectory) AS traj, count(*) FILTER (WHERE has_eye_gaze) AS gaze, "
        "count(*) FILTER (WHERE path_length_m > 30) AS far FROM take_summary"
    ).row(0, named=True)
    assert s["traj"] > 0 and s["gaze"] > 0 and 0 < s["far"] < s["traj"]
    picked = cat.takes(has=["trajectory", "eye_gaze"], where="path_length_m > 30")
    want = cat.sql(
        "SELECT take_uid FROM take_summary WHERE has_trajectory AND has_eye_gaze AND path_length_m > 30 ORDER BY 1"
    )["take_uid"].to_list()
    assert sorted(picked["take_uid"].to_list()) == want and want


def test_keystep_context_motion_and_gaze(cat):
    """A segment's distance is the sum of the trajectory's steps whose sample falls in the
    segment's 100 ms bins; gaze dispersion is 0 <= d and larger for a scattered gaze."""
    seg = cat.sql(
        "SELECT take_uid, segment_idx, start_time, end_time, path_length_m, mean_speed_mps, gaze_dispersion_rad "
        "FROM keystep_context WHERE path_length_m IS NOT NULL ORDER BY take_uid, segment_idx LIMIT 1"
    ).row(0, named=True)
    (steps,) = cat.execute(
        """
        SELECT sum(step) FROM (
            SELECT take_sec, sqrt((tx - lag(tx) OVER w) ^ 2 + (ty - lag(ty) OVER w) ^ 2 + (tz - lag(tz) OVER w) ^ 2) AS step
            FROM trajectory WHERE take_uid = $1 WINDOW w AS (ORDER BY tracking_timestamp_us))
        WHERE floor(take_sec * 10) >= floor($2 * 10) AND floor(take_sec * 10) < ceil($3 * 10)
        """,
        [seg["take_uid"], seg["start_time"], seg["end_time"]],
    ).fetchall()[0]
    assert seg["path_length_m"] == pytest.approx(steps, rel=1e-9)
    assert seg["mean_speed_mps"] == pytest.approx(steps / (seg["end_time"] - seg["start_time"]))
    assert seg["gaze_dispersion_rad"] is None or seg["gaze_dispersion_rad"] >= 0


def test_point_cloud_read_on_demand(cat, sensor_release):
    take = cat.sql("SELECT take_uid FROM trajectory_files LIMIT 1")["take_uid"][0]
    pts = cat.point_cloud(take)
    assert pts.columns[:2] == ["uid", "graph_uid"] and pts.height >= 50
    good = cat.point_cloud(take, max_inv_dist_std=0.005)
    assert 0 < good.height < pts.height and good["inv_dist_std"].max() <= 0.005
    (n,) = cat.execute("SELECT count(*) FROM point_clouds WHERE take_uid IS NOT NULL").fetchall()[0]
    assert n > 0


# --------------------------------------------------------------------------- real MPS samples
def _sample_release(tmp_path: Path, gaze_file: Path | None = None) -> Path:
    """A one-take release around Project Aria's sample outputs: a timesync.csv whose rgb
    frames are exactly 1/30 s apart from 148.0 s of device time, so take_sec = (device
    time - the time of row 1) exactly."""
    rel = tmp_path / "release"
    take_dir = rel / "takes" / "sample_cap_1"
    (take_dir / "trajectory").mkdir(parents=True)
    (take_dir / "eye_gaze").mkdir(parents=True)
    for f in ("closed_loop_trajectory.csv", "summary.json"):
        shutil.copy(SAMPLES / "gen1" / "trajectory" / f, take_dir / "trajectory" / f)
    shutil.copy(
        gaze_file or SAMPLES / "gen1" / "eye_gaze" / "generalized_eye_gaze.csv",
        take_dir / "eye_gaze" / "general_eye_gaze.csv",
    )
    n = 30 * 16
    caps = rel / "captures" / "sample_cap"
    caps.mkdir(parents=True)
    lines = ["aria01_214-1_capture_timestamp_ns,aria01_214-1_frame_number"]
    lines += [f"{148_000_000_000 + round(i * 1e9 / 30)},{i}" for i in range(n)]
    (caps / "timesync.csv").write_text("\n".join(lines) + "\n")
    cap = {
        "capture_name": "sample_cap",
        "capture_uid": "cap-1",
        "cameras": [{"cam_id": "aria01", "is_ego": True, "device_type": "aria"}],
    }
    take = {
        "take_uid": "take-1",
        "take_name": "sample_cap_1",
        "timesync_start_idx": 0,
        "timesync_end_idx": n - 1,
        "capture": cap,
    }
    (rel / "takes.json").write_text(json.dumps([take]))
    (rel / "captures.json").write_text(json.dumps([cap]))
    return rel


def test_real_closed_loop_trajectory(tmp_path):
    rel = _sample_release(tmp_path)
    out = compile_release(rel, groups=["trajectory"])
    traj, files = out["trajectory"], out["trajectory_files"]
    with open(SAMPLES / "gen1" / "trajectory" / "closed_loop_trajectory.csv") as f:
        recs = list(csv.DictReader(f))
    assert traj.num_rows == len(recs) == 800
    p = np.array([[float(r[f"t{a}_world_device"]) for a in "xyz"] for r in recs])
    us = np.array([int(r["tracking_timestamp_us"]) for r in recs])
    row = files.to_pylist()[0]
    assert row["form"] == "geo" and row["n_rows"] == 800
    assert row["path_length_m"] == pytest.approx(
        float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()), rel=1e-12
    )
    t0 = 148_000_000_000 + 1e9 / 30  # row 1: the take's first frame
    assert np.allclose(traj.column("take_sec").to_numpy(), (us * 1000 - t0) / 1e9, atol=1e-6)
    assert traj.column("geo_available").to_pylist()[0] is False
    assert traj.column("gravity_z").to_pylist()[0] == -9.81
    summ = out["mps_summaries"].to_pylist()
    slam = [s for s in summ if s["stage"] == "SLAM"][0]
    assert slam["version"] == "1.2.3" and any("Trajectory total length: 7.67m" in i for i in slam["info"])


def test_real_closed_loop_without_geo_columns(tmp_path):
    rel = _sample_release(tmp_path)
    shutil.copy(
        SAMPLES / "gen1" / "trajectory" / "closed_loop_trajectory_geo_missing.csv",
        rel / "takes" / "sample_cap_1" / "trajectory" / "closed_loop_trajectory.csv",
    )
    out = compile_release(rel, groups=["trajectory"])
    assert out["trajectory_files"].to_pylist()[0]["form"] == "plain"
    assert out["trajectory"].column("geo_available").null_count == out["trajectory"].num_rows == 199


@pytest.mark.parametrize(
    "sample, form",
    [
        ("gen1/eye_gaze/eyegaze.csv", "v1"),
        ("gen1/eye_gaze/generalized_eye_gaze.csv", "v2"),
        ("gen1/eye_gaze_vergence/generalized_gaze.csv", "vergence"),
        ("gen2/eye_gaze/general_eye_gaze.csv", "gen2"),
    ],
)
def test_real_eye_gaze_forms(tmp_path, sample, form):
    rel = _sample_release(tmp_path, SAMPLES / sample)
    if form == "gen2":  # Gen 2 device times are another clock: shift the sync rows onto it
        ts = rel / "captures" / "sample_cap" / "timesync.csv"
        lines = ts.read_text().splitlines()
        shift = 1_130_000_000_000 - 148_000_000_000
        ts.write_text(
            "\n".join([lines[0]] + [f"{int(a) + shift},{b}" for a, b in (x.split(",") for x in lines[1:])])
            + "\n"
        )
    out = compile_release(rel, groups=["eye_gaze"])
    gaze = out["eye_gaze"].to_pylist()
    with open(SAMPLES / sample) as f:
        recs = list(csv.DictReader(f))
    assert len(gaze) == len(recs) and out["eye_gaze_files"].to_pylist()[0]["form"] == form
    for g, r in zip(gaze, recs):
        if form == "vergence":  # the combined yaw: the two rays' intersection seen from the middle
            tl, tr = math.tan(float(r["left_yaw_rads_cpf"])), math.tan(float(r["right_yaw_rads_cpf"]))
            x = 0.063 / 2 * (tl + tr) / (tr - tl)
            z = 0.063 / (tr - tl)
            assert g["yaw"] == pytest.approx(math.atan(x / z), abs=1e-12)
        else:
            assert g["yaw"] == pytest.approx(float(r["yaw_rads_cpf"]))
        v = (math.tan(g["yaw"]), math.tan(g["pitch"]), 1.0)
        n = math.sqrt(sum(c * c for c in v))
        assert (g["gaze_x"], g["gaze_y"], g["gaze_z"]) == pytest.approx(tuple(c / n for c in v))
        depth = r.get("depth_m") or ""
        assert g["depth_m"] == (float(depth) if depth not in ("", "0") else None)


# --------------------------------------------------------------------------- bad input
def _expect(rel: Path, group: str, *parts: str) -> InputError:
    with pytest.raises(InputError) as e:
        compile_release(rel, groups=[group])
    for p in parts:
        assert p in str(e.value), str(e.value)
    return e.value


def _traj(rel: Path) -> Path:
    return rel / "takes" / "sample_cap_1" / "trajectory" / "closed_loop_trajectory.csv"


def test_truncated_file(tmp_path):
    rel = _sample_release(tmp_path)
    data = _traj(rel).read_bytes()
    _traj(rel).write_bytes(data[: len(data) - 200])
    _expect(
        rel, "trajectory", "closed_loop_trajectory.csv: line 801", "28 comma-separated fields", "ends inside"
    )


def test_text_in_a_number_column(tmp_path):
    rel = _sample_release(tmp_path)
    lines = _traj(rel).read_text().splitlines()
    cells = lines[5].split(",")
    cells[4] = "abc"
    lines[5] = ",".join(cells)
    _traj(rel).write_text("\n".join(lines) + "\n")
    _expect(rel, "trajectory", "line 6, column ty_world_device", "a number", "'abc'")


def test_missing_column(tmp_path):
    rel = _sample_release(tmp_path)
    rows = [r.split(",") for r in _traj(rel).read_text().splitlines()]
    _traj(rel).write_text("\n".join(",".join(r[:19] + r[20:]) for r in rows) + "\n")
    _expect(rel, "trajectory", "line 1", "missing column(s) quality_score")


def test_unknown_header(tmp_path):
    rel = _sample_release(tmp_path)
    text = _traj(rel).read_text().replace("quality_score", "confidence", 1)
    _traj(rel).write_text(text)
    _expect(rel, "trajectory", "line 1", "unknown column(s) confidence", "missing column(s) quality_score")


def test_timesync_rows_missing(tmp_path):
    rel = _sample_release(tmp_path)
    ts = rel / "captures" / "sample_cap" / "timesync.csv"
    ts.write_text("\n".join(ts.read_text().splitlines()[:100]) + "\n")
    _expect(rel, "trajectory", "captures/sample_cap/timesync.csv: rows 1..478", "99 data rows")
    ts.unlink()
    _expect(rel, "eye_gaze", "captures/sample_cap/timesync.csv", "no such file")


def test_empty_aria_values_are_counted_not_refused(tmp_path):
    rel = _sample_release(tmp_path)
    ts = rel / "captures" / "sample_cap" / "timesync.csv"
    lines = ts.read_text().splitlines()
    lines[50] = ","
    ts.write_text("\n".join(lines) + "\n")
    out = compile_release(rel, groups=["trajectory"])
    assert out["trajectory_files"].to_pylist()[0]["n_sync_gaps"] == 1
    assert out["trajectory"].num_rows == 800


def test_gzip_corrupt_point_cloud(tmp_path):
    from egoexo_sql.point_clouds import read_points

    good = gzip.compress(
        b"uid,graph_uid,px_world,py_world,pz_world,inv_dist_std,dist_std\n"
        + b"1,g,0.1,0.2,0.3,0.001,0.01\n" * 50000
    )
    (tmp_path / "cut.csv.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError) as e:
        read_points(tmp_path / "cut.csv.gz")
    assert "cut.csv.gz" in str(e.value)
    (tmp_path / "bad.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    with pytest.raises(InputError) as e:
        read_points(tmp_path / "bad.csv.gz")
    assert "bad.csv.gz" in str(e.value) and "gzip" in str(e.value)


def test_bad_sensor_file_keeps_the_previous_catalog(tmp_path):
    """The CLI exits 2 naming the file, line and column, and the catalog stays as it was."""
    rel = _sample_release(tmp_path)
    catalog = tmp_path / "cat"

    def build():
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "egoexo_sql",
                "build",
                str(rel),
                "--catalog",
                str(catalog),
                "--only",
                "trajectory",
            ],
            capture_output=True,
            text=True,
        )

    first = build()
    assert first.returncode == 0, first.stderr
    before = (catalog / "build.json").read_bytes()
    text = _traj(rel).read_text().splitlines()
    cells = text[3].split(",")
    cells[1] = "12x"
    text[3] = ",".join(cells)
    _traj(rel).write_text("\n".join(text) + "\n")
    r = build()
    assert r.returncode == 2
    assert "closed_loop_trajectory.csv: line 4, column tracking_timestamp_us" in r.stderr
    assert (catalog / "build.json").read_bytes() == before


def test_takes_cli_has_trajectory_eye_gaze_where(sensor_catalog, cat):
    """`takes --has trajectory eye_gaze --where "path_length_m > 30"` as the docs write it:
    several --has values after one flag, then another option."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "egoexo_sql",
            "takes",
            "--catalog",
            str(sensor_catalog),
            "--has",
            "trajectory",
            "eye_gaze",
            "--where",
            "path_length_m > 30",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    want = cat.takes(has=["trajectory", "eye_gaze"], where="path_length_m > 30")["take_uid"].to_list()
    assert sorted(r.stdout.split()) == sorted(want) and want


def test_multi_value_options_know_every_group_and_has_kind():
    from egoexo_sql.cli import MULTI_VALUE_OPTIONS
    from egoexo_sql.select import HAS_KINDS
    from egoexo_sql.tables import GROUPS

    assert MULTI_VALUE_OPTIONS["--only"] == set(GROUPS)
    assert MULTI_VALUE_OPTIONS["--has"] == set(HAS_KINDS)
