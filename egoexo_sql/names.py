"""Names users type and the package checks against: the ``--only`` groups of ``demo``
and ``build``, and the ``--has`` kinds of ``takes`` (catalog-contract.md).

A module of constants only, so that the CLI's argument parsing (``egoexo-sql --help``
stays fast) and the modules that act on these names read one list:
:mod:`egoexo_sql.tables` (GROUPS, SENSOR_GROUPS), :mod:`egoexo_sql.select` (HAS_KINDS)
and :data:`egoexo_sql.cli.MULTI_VALUE_OPTIONS`.
"""

from __future__ import annotations

# The --only groups of `demo` and `build` (catalog-contract.md).
GROUPS = (
    "metadata",
    "splits",
    "keystep",
    "proficiency",
    "atomic",
    "commentary",
    "relations",
    "ego_pose",
    "transcripts",
    "manifests",
    # Aria sensor data (MPS trajectory and eye gaze, capture timesync, GoPro calibrations,
    # point clouds: tables/sensors.py)
    "trajectory",
    "eye_gaze",
    "timesync",
    "calibration",
    "point_cloud",
    # build only: the text search index, made from the files of the text groups
    # (atomic, commentary, transcripts, keystep, proficiency); the demo writes nothing for it
    "search",
)
#: the groups of Aria sensor files (large at real rates; tests/test_sensors.py has its own release)
SENSOR_GROUPS = ("trajectory", "eye_gaze", "timesync", "calibration", "point_cloud")

#: ``takes --has`` kinds; each is the take_summary column ``has_<kind>``
HAS_KINDS = (
    "keystep",
    "atomic",
    "commentary",
    "relations",
    "body_pose",
    "hand_pose",
    "proficiency",
    "keystep_benchmark",
    "relations_boxes",
    "trajectory",
    "eye_gaze",
)
