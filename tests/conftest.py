"""Shared fixtures: a synthetic release (and, where the build exists, a catalog) built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from egoexo_sql.names import SENSOR_GROUPS

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_SCALE = 0.02


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory) -> tuple[Path, object]:
    """(release folder, DemoReport) of a small synthetic release with every annotation
    group. The Aria sensor groups (trajectory, eye gaze, timesync, ...) would make it five
    times as large and slow to build; tests/test_sensors.py writes and builds its own."""
    from egoexo_sql.demo import generate
    from egoexo_sql.tables import GROUPS, SENSOR_GROUPS

    out = tmp_path_factory.mktemp("release")
    report = generate(out, scale=SMALL_SCALE, seed=7, only=[g for g in GROUPS if g not in SENSOR_GROUPS])
    return out, report


@pytest.fixture(scope="session")
def demo_catalog(demo_release, tmp_path_factory) -> Path:
    """A catalog compiled from ``demo_release`` (the build step of issue 3)."""
    from egoexo_sql.builder import build_catalog

    release, _ = demo_release
    cat = tmp_path_factory.mktemp("catalog") / "egoexo_catalog"
    build_catalog(release, cat)
    return cat


@pytest.fixture(scope="session")
def video_release(tmp_path_factory) -> tuple[Path, object]:
    """(release folder, DemoReport) of a small synthetic release with real videos of a few
    takes (``demo --videos``: needs PyAV and Pillow, else the tests using it skip)."""
    pytest.importorskip("av", reason="PyAV is not installed (pip install 'egoexo-sql[videos]')")
    pytest.importorskip("PIL", reason="Pillow is not installed (pip install 'egoexo-sql[videos]')")
    from egoexo_sql.demo import generate
    from egoexo_sql.tables import GROUPS, SENSOR_GROUPS

    out = tmp_path_factory.mktemp("video_release")
    only = [g for g in GROUPS if g not in SENSOR_GROUPS]  # as demo_release: no Aria sensor files
    report = generate(out, scale=SMALL_SCALE, seed=7, videos=True, only=only)
    return out, report


@pytest.fixture(scope="session")
def video_catalog(video_release, tmp_path_factory) -> Path:
    """A catalog compiled from ``video_release`` (it records that release folder)."""
    from egoexo_sql.builder import build_catalog

    release, _ = video_release
    cat = tmp_path_factory.mktemp("video_catalog") / "egoexo_catalog"
    build_catalog(release, cat)
    return cat


#: the sensor groups and what they are read with (the takes, keysteps and manifests)
SENSOR_RELEASE_GROUPS = ["metadata", "splits", "keystep", "manifests", *SENSOR_GROUPS]


@pytest.fixture(scope="session")
def sensor_release(tmp_path_factory) -> tuple[Path, object]:
    """(release folder, DemoReport) of a small release with the Aria sensor groups (and the
    metadata, keysteps and manifests they are read with): tests/test_sensors.py, the take
    page's trajectory and lanes (tests/test_serve.py) and the Spark views (test_spark.py)."""
    from egoexo_sql.demo import generate

    out = tmp_path_factory.mktemp("sensor_release")
    report = generate(out, scale=0.02, seed=11, only=SENSOR_RELEASE_GROUPS)
    return out, report


@pytest.fixture(scope="session")
def sensor_catalog(sensor_release, tmp_path_factory) -> Path:
    """A catalog compiled from ``sensor_release``."""
    from egoexo_sql.builder import build_catalog

    release, _ = sensor_release
    cat = tmp_path_factory.mktemp("sensor_catalog") / "cat"
    build_catalog(release, cat)
    return cat
