"""The take page's sensor views: the trajectory seen from above and the speed and gaze
lanes of its timeline, from the 100 ms bins of motion_bins and gaze_bins (the SQL is
``queries/serve/take_path.sql`` and ``take_lanes.sql``), so a take of any length costs a
few thousand rows."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

#: at most this many points on the path and per lane (a 30 minute take: 18,000 bins)
MAX_PATH_POINTS = 2000
MAX_LANE_POINTS = 600


@cache
def _query(name: str) -> str:
    from ..resources import queries_dir

    return (queries_dir() / "serve" / f"{name}.sql").read_text(encoding="utf-8")


def take_motion(
    cat: Any, take_uid: str, duration: float | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(path points (take second, x, y), lane rows (lane, take second, value)) of a take;
    both empty when it has no trajectory or eye gaze."""
    seconds = max(1.0, duration or 0.0)
    step = max(1, math.ceil(seconds * 10 / MAX_PATH_POINTS))
    bucket = max(1, math.ceil(seconds / MAX_LANE_POINTS))
    path = cat.execute(_query("take_path"), {"take_uid": take_uid, "step": step}).fetchall()
    lanes = cat.execute(_query("take_lanes"), {"take_uid": take_uid, "bucket": bucket}).fetchall()
    return path, lanes
