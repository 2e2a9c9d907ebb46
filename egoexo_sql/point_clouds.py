"""Reading one take's semi-dense point cloud from the release, without compiling it.

Point clouds are 6.2 TB at take level, so the catalog only lists them (the
``point_clouds`` view, from the manifests). :func:`read_points` runs
``queries/point_cloud/points.sql`` on the take's ``semidense_points.csv.gz`` (or the
deprecated ``global_points.csv.gz``) with DuckDB, which streams the gzip file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

POINT_FILES = ("semidense_points.csv.gz", "global_points.csv.gz")
COLUMNS = ("uid", "graph_uid", "px_world", "py_world", "pz_world", "inv_dist_std", "dist_std")


def points_file(release: str | Path, take_name: str) -> Path:
    """The take's points file in the release folder (a UsageError when there is none)."""
    folder = Path(release) / "takes" / take_name / "trajectory"
    for name in POINT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise UsageError(
        f"no point cloud for take {take_name} in {folder} (download it with "
        f"`egoexo -o {release} --parts take_point_cloud --uids <take_uid>`)"
    )


def read_points(
    path: str | Path, *, max_inv_dist_std: float | None = None, max_dist_std: float | None = None
) -> pl.DataFrame:
    """The points of one ``semidense_points.csv.gz`` as a polars DataFrame, optionally
    only those whose uncertainties are at most the limits given."""
    import duckdb

    from .release import Release
    from .resources import queries_dir
    from .tables.sensor_csv import header, match_form

    path = Path(path)
    release = Release(path.parent)
    match_form(str(path), header(release, path.name), {"semidense_points": COLUMNS})
    sql = (queries_dir() / "point_cloud" / "points.sql").read_text(encoding="utf-8")
    con = duckdb.connect()
    try:
        params = {"path": str(path), "max_inv_dist_std": max_inv_dist_std, "max_dist_std": max_dist_std}
        frame: pl.DataFrame = con.sql(sql, params=params).pl()
        return frame
    except duckdb.Error as e:
        raise InputError(
            str(path), None, "a complete gzip CSV of points", str(e).splitlines()[0][:200]
        ) from None
    finally:
        con.close()
