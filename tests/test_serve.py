"""egoexo-sql serve over HTTP (Starlette's test client, and a real uvicorn server on
127.0.0.1 for concurrency): every route, its errors, and exports identical to the CLI."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

starlette = pytest.importorskip("starlette", reason="starlette is not installed (pip install egoexo-sql)")
from live_server import live_server  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from egoexo_sql.catalog import Catalog  # noqa: E402
from egoexo_sql.serve import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(demo_catalog):
    with TestClient(create_app(demo_catalog, sql_timeout=1.0)) as c:
        yield c


def cli(capsys, *args) -> str:
    from test_validate import run_cli

    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/takes",
        "/takes?scenario=Cooking&split=train&has=keystep&sort=duration_sec&desc=1",
        "/takes?text=egg&min_duration=10&max_duration=10000&page=1",
        "/facets.json",
        "/table/takes",
        "/table/keystep_segments?split=train&sort=start_time",
        "/table/take_timeline",
        "/sql",
        "/sql?q=SELECT+42",
        "/search",
        "/search?q=egg&in=atomic",
        "/static/htmx.min.js",
        "/static/style.css",
    ],
)
def test_every_page_answers(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.text[:300])


def test_index_lists_every_view_with_its_rows(client, demo_catalog):
    page = client.get("/").text
    with Catalog.open(demo_catalog) as cat:
        for name, _, rows, _ in cat.table_rows():
            assert f'href="/table/{name}"' in page
            assert f">{rows:,}<" in page


@pytest.mark.parametrize(
    "fmt, query, args",
    [
        ("uids", "scenario=Cooking&split=train", ["--scenario", "Cooking", "--split", "train"]),
        ("csv", "has=keystep&narrated=false", ["--has", "keystep", "--not-narrated"]),
        (
            "json",
            "university=cmu&university=unc&min_duration=60",
            ["--university", "cmu", "--university", "unc", "--min-duration", "60"],
        ),
        (
            "egoexo",
            "scenario=Cooking&parts=takes&parts=captures",
            ["--scenario", "Cooking", "--parts", "takes", "captures"],
        ),
        ("plan", "split=val&parts=takes", ["--split", "val", "--parts", "takes"]),
        ("uids", "sample=2&per=scenario&seed=3", ["--sample", "2", "--per", "scenario", "--seed", "3"]),
    ],
)
def test_exports_are_the_takes_command_output_byte_for_byte(client, demo_catalog, capsys, fmt, query, args):
    r = client.get(f"/takes.{fmt}?{query}")
    assert r.status_code == 200, r.text
    want = cli(capsys, "takes", "--catalog", str(demo_catalog), "--format", fmt, *args)
    assert r.text == want and want


def test_facet_counts_are_those_of_the_selection(client, demo_catalog):
    got = client.get("/facets.json?split=train&has=keystep").json()
    with Catalog.open(demo_catalog) as cat:
        n = cat.connection.sql(
            "SELECT count(*) FROM take_summary WHERE split = 'train' AND has_keystep"
        ).fetchall()[0][0]
        per = dict(
            cat.connection.sql(
                "SELECT scenario, count(*) FROM take_summary WHERE split = 'train' "
                "AND has_keystep GROUP BY ALL"
            ).fetchall()
        )
    assert got["count"] == n > 0
    assert got["facets"]["scenario"] == per
    assert got["facets"]["split"] == {"train": n}
    assert got["facets"]["has"]["keystep"] == n


def test_facet_links_keep_the_state_in_the_url(client):
    page = client.get("/takes?split=train").text
    assert (
        'href="?split=train&amp;scenario=Cooking"' in page or 'href="?split=train&scenario=Cooking"' in page
    )
    assert "✕" in page  # the selected value can be removed


def test_take_page_has_its_timeline_lanes_and_download_command(client, demo_catalog, capsys):
    with Catalog.open(demo_catalog) as cat:
        uid, name = cat.connection.sql(
            "SELECT take_uid, any_value(take_name) FROM take_timeline JOIN takes USING (take_uid) "
            "GROUP BY take_uid ORDER BY count(DISTINCT source) DESC, take_uid LIMIT 1"
        ).fetchall()[0]
        sources = {
            r[0]
            for r in cat.connection.sql(
                f"SELECT DISTINCT source FROM take_timeline WHERE take_uid = '{uid}'"
            ).fetchall()
        }
    for key in (uid, name):
        r = client.get(f"/take/{key}")
        assert r.status_code == 200
        assert 'class="timeline"' in r.text
        for s in sources:
            assert f'data-source="{s}"' in r.text
    want = cli(
        capsys,
        "takes",
        "--catalog",
        str(demo_catalog),
        "--where",
        f"take_uid = '{uid}'",
        "--format",
        "egoexo",
    )
    assert want.strip().splitlines()[-1] in r.text


@pytest.fixture(scope="module")
def sensor_client(sensor_catalog):
    with TestClient(create_app(sensor_catalog, sql_timeout=5.0)) as c:
        yield c


def _polyline(svg: str, marker: str) -> list[tuple[float, float]]:
    """The points of the first polyline after ``marker`` in ``svg``."""
    import re

    m = re.search(re.escape(marker) + r'.*?<polyline points="([^"]+)"', svg, re.S)
    assert m, marker
    return [tuple(map(float, p.split(","))) for p in m.group(1).split()]


def test_take_page_shows_the_trajectory_from_above_and_speed_and_gaze_lanes(sensor_client, sensor_catalog):
    """The path is the take's 100 ms bins seen from above at one scale on both axes (its
    shape is the bins' x/y shape); the lanes' ranges are the per-second speed and gaze
    angles computed here from the bins."""
    import re

    with Catalog.open(sensor_catalog) as cat:
        uid, duration = cat.connection.sql(
            "SELECT take_uid, duration_sec FROM take_summary WHERE has_trajectory AND has_eye_gaze "
            "AND duration_sec < 200 ORDER BY path_length_m DESC, take_uid LIMIT 1"
        ).fetchall()[0]
        bins = cat.connection.execute(
            "SELECT x, y FROM motion_bins WHERE take_uid = ? ORDER BY bin", [uid]
        ).fetchall()
        speed = cat.connection.execute(
            "SELECT min(v), max(v), count(*) FROM (SELECT sum(path_m) / (count(*) * 0.1) AS v FROM motion_bins "
            "WHERE take_uid = ? GROUP BY bin // 10)",
            [uid],
        ).fetchall()[0]
        yaw = cat.connection.execute(
            "SELECT min(v), max(v) FROM (SELECT degrees(sum(mean_yaw * n) / sum(n)) AS v FROM gaze_bins "
            "WHERE take_uid = ? AND kind = 'general' GROUP BY bin // 10)",
            [uid],
        ).fetchall()[0]
    # under 200 s: one lane value per second, one path point per 100 ms bin
    r = sensor_client.get(f"/take/{uid}?t=5")
    assert r.status_code == 200
    path = _polyline(r.text, 'id="trajectory"')
    assert len(path) == len(bins)
    # seen from above: x to the right, y up (SVG y grows downwards), one scale for both
    xs, ys = [b[0] for b in bins], [b[1] for b in bins]
    k = (max(p[0] for p in path) - min(p[0] for p in path)) / (max(xs) - min(xs))
    assert (max(p[1] for p in path) - min(p[1] for p in path)) / (max(ys) - min(ys)) == pytest.approx(
        k, rel=0.02
    )
    i, j = xs.index(max(xs)), ys.index(max(ys))
    assert path[i][0] == pytest.approx(max(p[0] for p in path), abs=0.1)
    assert path[j][1] == pytest.approx(min(p[1] for p in path), abs=0.1)
    assert 'class="start"' in r.text and 'class="end"' in r.text and 'class="cursor"' in r.text
    lanes = re.findall(r'<g class="signal" data-lane="([^"]+)"><title>[^:]+: ([-\d.]+) to ([-\d.]+)', r.text)
    got = {name: (float(lo), float(hi)) for name, lo, hi in lanes}
    assert set(got) == {"speed", "gaze yaw", "gaze pitch"}
    *speed, seconds = speed
    assert got["speed"] == pytest.approx(tuple(speed), abs=0.006)
    assert got["gaze yaw"] == pytest.approx(yaw, abs=0.006)
    assert len(_polyline(r.text, 'data-lane="speed"')) == seconds


def test_a_long_takes_path_and_lanes_are_thinned(sensor_client, sensor_catalog):
    from egoexo_sql.serve.motion import MAX_LANE_POINTS, MAX_PATH_POINTS

    with Catalog.open(sensor_catalog) as cat:
        uid, n_bins = cat.connection.sql(
            "SELECT take_uid, count(*) FROM motion_bins GROUP BY take_uid ORDER BY 2 DESC LIMIT 1"
        ).fetchall()[0]
    assert n_bins > MAX_PATH_POINTS
    r = sensor_client.get(f"/take/{uid}")
    assert MAX_PATH_POINTS / 2 <= len(_polyline(r.text, 'id="trajectory"')) <= MAX_PATH_POINTS
    assert len(_polyline(r.text, 'data-lane="speed"')) <= MAX_LANE_POINTS


def test_take_page_without_sensor_files_has_no_path_or_lanes(sensor_client, sensor_catalog):
    with Catalog.open(sensor_catalog) as cat:
        (uid,) = cat.connection.sql(
            "SELECT take_uid FROM take_summary WHERE NOT has_trajectory AND NOT has_eye_gaze LIMIT 1"
        ).fetchall()[0]
    r = sensor_client.get(f"/take/{uid}")
    assert r.status_code == 200 and 'class="timeline"' in r.text
    assert 'id="trajectory"' not in r.text and 'class="signal"' not in r.text


@pytest.mark.parametrize(
    "url, status, message",
    [
        ("/take/no-such-take", 404, "no take with take_uid or take_name"),
        ("/table/no_such_view", 404, "no view"),
        ("/no/such/route", 404, ""),
        ("/takes?narrated=maybe", 400, "narrated: expected true or false"),
        ("/takes?min_duration=soon", 400, "min_duration: expected a number"),
        ("/takes?scenario=Cookin", 400, "Cooking"),
        ("/takes?sort=nope", 400, "sort: one of"),
        ("/takes?page=0", 400, "page: expected at least 1"),
        ("/takes.csv?where=DROP+TABLE+takes", 400, "where"),
        ("/table/takes?no_such_column=1", 400, "not a column of takes"),
        ("/sql?q=COPY+takes+TO+'/tmp/x.csv'", 400, "refused COPY"),
        ("/sql.csv?q=SELECT+*+FROM+read_csv('/etc/passwd')", 400, "refused read_csv()"),
        ("/sql.json?q=SELECT+1;SELECT+2", 400, "refused a second statement"),
        ("/takes.zip", 404, ""),
    ],
)
def test_errors(client, url, status, message):
    r = client.get(url)
    assert r.status_code == status, (url, r.text[:200])
    assert message in r.text


def test_bad_sql_gets_the_message_query_prints(client, demo_catalog, capsys):
    from test_validate import run_cli

    sql = "SELECT * FROM read_text('/etc/hostname')"
    code, _, err = run_cli(capsys, "query", "--catalog", str(demo_catalog), sql)
    assert code == 1
    r = client.get("/sql.csv", params={"q": sql})
    assert r.status_code == 400 and r.text.strip() == err.strip()


def test_sql_answers_and_exports(client):
    r = client.get(
        "/sql.json", params={"q": "SELECT scenario, count(*) AS n FROM takes GROUP BY ALL ORDER BY 1"}
    )
    rows = json.loads(r.text)
    assert rows and all(set(x) == {"scenario", "n"} for x in rows)
    page = client.get("/sql", params={"q": "SELECT 6 * 7 AS answer"}).text
    assert "<th>answer</th>" in page and "<td>42</td>" in page


def test_a_runaway_query_is_stopped_and_the_server_keeps_answering(client):
    t0 = time.perf_counter()
    r = client.get("/sql", params={"q": "SELECT count(*) FROM range(1000000000000) a"})
    assert r.status_code == 400 and "was stopped" in r.text
    assert time.perf_counter() - t0 < 10
    assert client.get("/facets.json").status_code == 200


def test_table_filter_sort_page_and_exports(client, demo_catalog):
    with Catalog.open(demo_catalog) as cat:
        n = cat.connection.sql("SELECT count(*) FROM keystep_segments WHERE split = 'val'").fetchall()[0][0]
    page = client.get("/table/keystep_segments?split=val").text
    assert f"{n:,} rows" in page
    rows = json.loads(client.get("/table/keystep_segments.json?split=val&sort=start_time").text)
    assert len(rows) == n and [r["start_time"] for r in rows] == sorted(r["start_time"] for r in rows)
    csv_text = client.get("/table/keystep_segments.csv?split=val").text
    assert len(csv_text.strip().splitlines()) == n + 1


def test_search_hits_link_to_their_take_at_their_time(client):
    page = client.get("/search?q=egg").text
    assert 'href="/take/' in page and "?t=" in page


def test_48_concurrent_requests_on_a_real_server(demo_catalog):
    import httpx

    with live_server(create_app(demo_catalog), wait_s=5.0) as port:
        urls = [
            "/takes?scenario=Cooking&split=train&has=keystep",
            "/facets.json?split=val",
            "/table/keystep_segments",
            "/takes.uids?has=atomic",
            "/sql.json?q=SELECT+count(*)+FROM+takes",
            "/",
        ] * 8
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c,
            ThreadPoolExecutor(48) as pool,
        ):
            statuses = list(pool.map(lambda u: c.get(u).status_code, urls))
        assert statuses == [200] * 48


def test_the_serve_command_binds_loopback_and_warns_otherwise(demo_catalog, capsys, monkeypatch):
    import uvicorn
    from test_validate import run_cli

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: seen.update(host=host, port=port))
    code, _, err = run_cli(capsys, "serve", "--catalog", str(demo_catalog))
    assert code == 0 and seen == {"host": "127.0.0.1", "port": 8000}
    assert "warning" not in err and "http://127.0.0.1:8000/takes" in err
    code, _, err = run_cli(
        capsys, "serve", "--catalog", str(demo_catalog), "--host", "0.0.0.0", "--port", "9000"
    )
    assert code == 0 and seen == {"host": "0.0.0.0", "port": 9000}
    assert "warning: listening on 0.0.0.0" in err
