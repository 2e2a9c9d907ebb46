"""egoexo-sql serve in a real browser: Chromium driven by Playwright, against a uvicorn
server on 127.0.0.1. Playwright's own browser download is not reachable here, so the
tests use Debian's chromium (installed by .ci/run) and skip, saying what is missing,
where there is none."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = (
    os.environ.get("EGOEXO_SQL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
pytest.importorskip("playwright", reason="playwright is not installed (pip install pytest-playwright)")
if CHROMIUM is None:
    pytest.skip("no chromium executable (apt-get install chromium)", allow_module_level=True)

from live_server import live_server  # noqa: E402

from egoexo_sql.catalog import Catalog  # noqa: E402
from egoexo_sql.serve import create_app  # noqa: E402

SHOTS = (
    Path(os.environ.get("EGOEXO_SQL_SCREENSHOTS", "")) if os.environ.get("EGOEXO_SQL_SCREENSHOTS") else None
)


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's Chromium under Playwright, for this module only: a session-long Playwright
    would leave its event loop running under the tests that come after (the shell's)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def base_url_live(demo_catalog):
    with live_server(create_app(demo_catalog, sql_timeout=2.0)) as port:
        yield f"http://127.0.0.1:{port}"


def shot(page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_clicking_facets_changes_the_counts_and_the_table(page, base_url_live, demo_catalog):
    page.goto(f"{base_url_live}/takes")
    total = int(page.locator("#take-count").inner_text().replace(",", ""))
    with Catalog.open(demo_catalog) as cat:
        assert total == cat.connection.sql("SELECT count(*) FROM takes").fetchall()[0][0]
        cooking = cat.connection.sql("SELECT count(*) FROM takes WHERE scenario = 'Cooking'").fetchall()[0][0]
        cooking_train = cat.connection.sql(
            "SELECT count(*) FROM takes WHERE scenario = 'Cooking' AND split = 'train'"
        ).fetchall()[0][0]
    shot(page, "takes")
    page.locator('a.facet[data-facet="scenario"][data-value="Cooking"]').click()
    page.wait_for_url("**scenario=Cooking**")
    assert int(page.locator("#take-count").inner_text().replace(",", "")) == cooking
    page.locator('a.facet[data-facet="split"][data-value="train"]').click()
    page.wait_for_url("**split=train**")
    assert int(page.locator("#take-count").inner_text().replace(",", "")) == cooking_train
    scen = page.locator("#takes-table tbody tr td:nth-child(2)").all_inner_texts()
    splits = page.locator("#takes-table tbody tr td:nth-child(4)").all_inner_texts()
    assert scen and set(scen) == {"Cooking"} and set(splits) == {"train"}
    shot(page, "takes-cooking-train")
    # the state is in the URL: reloading gives the same selection
    page.reload()
    assert int(page.locator("#take-count").inner_text().replace(",", "")) == cooking_train


def test_the_egoexo_command_of_the_selection_appears_and_can_be_copied(page, base_url_live):
    page.goto(f"{base_url_live}/takes?scenario=Cooking&split=train")
    page.locator("#copy-egoexo").click()
    page.wait_for_function("document.querySelector('#egoexo-commands').textContent.includes('egoexo -o')")
    text = page.locator("#egoexo-commands").inner_text()
    href = page.locator("#egoexo-link").get_attribute("href")
    assert "--uids" in text and text.strip() in page.request.get(f"{base_url_live}{href}").text()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url_live)
    page.locator("#copy-commands").click()
    page.wait_for_function("document.querySelector('#copy-commands').textContent === 'copied'")
    assert (
        page.evaluate("navigator.clipboard.readText()") == page.request.get(f"{base_url_live}{href}").text()
    )


def test_a_take_page_shows_its_timeline_lanes(page, base_url_live, demo_catalog):
    with Catalog.open(demo_catalog) as cat:
        uid, n_sources = cat.connection.sql(
            "SELECT take_uid, count(DISTINCT source) FROM take_timeline GROUP BY take_uid "
            "ORDER BY 2 DESC, take_uid LIMIT 1"
        ).fetchall()[0]
    page.goto(f"{base_url_live}/take/{uid}")
    assert page.locator("svg.timeline").is_visible()
    lanes = page.locator("svg.timeline text.lane").all_inner_texts()
    assert len(lanes) == n_sources >= 3
    marks = page.locator("svg.timeline a.mark")
    assert marks.count() > 5
    marks.last.click(force=True)  # a mark jumps to its row with the full text (marks may overlap)
    page.wait_for_function("location.hash.startsWith('#ev-')")
    assert page.locator("tr:target").count() == 1
    shot(page, "take")


def test_sql_runs_and_copy_is_refused(page, base_url_live):
    page.goto(f"{base_url_live}/sql")
    page.fill("#sql-text", "SELECT scenario, count(*) AS n FROM takes GROUP BY ALL ORDER BY n DESC")
    page.click("#run-sql")
    page.wait_for_selector("#sql-result")
    assert page.locator("#sql-result tbody tr").count() >= 2
    page.fill("#sql-text", "COPY takes TO '/tmp/egoexo_sql_browser.csv'")
    page.click("#run-sql")
    page.wait_for_selector("#error")
    assert "refused COPY" in page.locator("#error").inner_text()
    assert not Path("/tmp/egoexo_sql_browser.csv").exists()
    shot(page, "sql-refused")


# --------------------------------------------------------------------------- the player


@pytest.fixture(scope="module")
def video_live(video_catalog):
    """A server over the catalog of ``demo --videos``, and the take it plays: one with
    keystep segments and a video on disk."""
    from egoexo_sql import media

    with live_server(create_app(video_catalog)) as port:
        with Catalog.open(video_catalog) as cat:
            release = media.release_dir_of(cat)
            found = [uid for uid, _ in media.takes_with_videos(cat, release)]
            uid = cat.execute(
                "SELECT take_uid FROM take_summary WHERE take_uid IN (SELECT unnest(?)) "
                "AND n_keystep_segments > 0 ORDER BY take_name LIMIT 1",
                [found],
            ).fetchall()[0][0]
            videos = media.take_media(cat, uid, release).present
        yield f"http://127.0.0.1:{port}", uid, videos


def open_player(page, video_live):
    base, uid, videos = video_live
    page.goto(f"{base}/take/{uid}")
    page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=20_000)
    return uid, videos


def current_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_the_video_loads_and_plays_and_the_cursor_and_active_text_follow(page, video_live, video_catalog):
    uid, videos = open_player(page, video_live)
    assert page.evaluate("document.getElementById('player').videoWidth") > 0
    assert page.evaluate("document.getElementById('player').duration") > 5
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Space")  # a user gesture: plays
    page.wait_for_function("document.getElementById('player').currentTime > 1.0", timeout=10_000)
    assert not page.evaluate("document.getElementById('player').paused")
    x1 = float(page.locator("svg.timeline .playhead").get_attribute("x1"))
    page.wait_for_function(f"+document.querySelector('svg.timeline .playhead').getAttribute('x1') > {x1}")
    page.keyboard.press("Space")
    page.wait_for_function("document.getElementById('player').paused")
    # at the time of an atomic description its text is under the player and its row marked
    with Catalog.open(video_catalog) as cat:
        start, text = cat.connection.execute(
            "SELECT start_time, text FROM take_timeline WHERE take_uid = ? AND source = 'atomic' "
            "AND start_time > 2 ORDER BY start_time LIMIT 1",
            [uid],
        ).fetchall()[0]
    page.evaluate(f"document.getElementById('player').currentTime = {start + 0.01}")
    row = page.locator('#now .now-row[data-source="atomic"]')
    row.wait_for()
    assert " ".join(text.split()) in row.inner_text()
    ev = row.get_attribute("data-ev")
    assert "now" in page.locator(f"#ev-{ev}").get_attribute("class").split()
    # the play head stands where the time is on the axis
    svg = page.locator("svg.timeline")
    x0, x1_, end = (float(svg.get_attribute(a)) for a in ("data-x0", "data-x1", "data-end"))
    want = x0 + (x1_ - x0) * (start + 0.01) / end
    page.wait_for_function(
        f"Math.abs(+document.querySelector('svg.timeline .playhead').getAttribute('x1') - {want}) < 0.2"
    )
    shot(page, "player")


def test_clicking_a_keystep_mark_seeks_the_video_to_its_start(page, video_live, video_catalog):
    uid, _ = open_player(page, video_live)
    marks = page.locator('svg.timeline a.mark[data-source="keystep"]')
    assert marks.count() > 0
    with Catalog.open(video_catalog) as cat:
        starts = [
            r[0]
            for r in cat.connection.execute(
                "SELECT start_time FROM keystep_segments WHERE take_uid = ? ORDER BY start_time", [uid]
            ).fetchall()
        ]
    for i in range(marks.count()):
        mark = marks.nth(i)
        start = float(mark.get_attribute("data-start"))
        assert start in starts
        mark.click(force=True)
        page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start}) < 0.1")
        assert abs(current_time(page) - start) < 0.1
        assert page.locator("#events tr.picked").get_attribute("id") == f"ev-{mark.get_attribute('data-ev')}"


def test_the_keyboard_steps_frames_and_jumps_between_keysteps(page, video_live, video_catalog):
    uid, _ = open_player(page, video_live)
    with Catalog.open(video_catalog) as cat:
        starts = [
            r[0]
            for r in cat.connection.execute(
                "SELECT DISTINCT start_time FROM keystep_segments WHERE take_uid = ? ORDER BY 1", [uid]
            ).fetchall()
        ]
    page.locator("h1").click()
    page.keyboard.press("n")
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {starts[0]}) < 0.01")
    if len(starts) > 1:
        page.keyboard.press("n")
        page.wait_for_function(
            f"Math.abs(document.getElementById('player').currentTime - {starts[1]}) < 0.01"
        )
        page.keyboard.press("p")
        page.wait_for_function(
            f"Math.abs(document.getElementById('player').currentTime - {starts[0]}) < 0.01"
        )
    f = int(current_time(page) * 30 + 1e-6)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('frame').textContent === '{f + 1}'")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"document.getElementById('frame').textContent === '{f - 1}'")


def test_switching_camera_keeps_the_time(page, video_live):
    _, videos = open_player(page, video_live)
    assert len(videos) >= 2
    page.evaluate("document.getElementById('player').currentTime = 7.25")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 7.25) < 0.01")
    for v in videos[1:]:
        page.locator(f'#cams button.cam[data-src="{v.url}"]').click()
        page.wait_for_function(
            f"document.getElementById('player').src.endsWith({v.url!r}) && "
            "document.getElementById('player').readyState >= 1 && "
            "Math.abs(document.getElementById('player').currentTime - 7.25) < 0.05",
            timeout=10_000,
        )
        assert page.evaluate("document.getElementById('player').dataset.cam") == v.cam_id


def test_subtitle_tracks_load_with_one_cue_per_annotation(page, video_live, video_catalog):
    uid, _ = open_player(page, video_live)
    with Catalog.open(video_catalog) as cat:
        want = dict(
            cat.connection.execute(
                "SELECT source, count(*) FROM take_timeline WHERE take_uid = ? AND start_time IS NOT NULL "
                "AND text IS NOT NULL AND trim(text) <> '' "
                "AND source IN ('atomic', 'commentary', 'keystep', 'narration') GROUP BY ALL",
                [uid],
            ).fetchall()
        )
    sources = page.eval_on_selector_all("#player track", "ts => ts.map(t => t.dataset.source)")
    assert sorted(sources) == sorted(want)
    page.evaluate("for (const t of document.getElementById('player').textTracks) t.mode = 'hidden'")
    page.wait_for_function(
        "[...document.querySelectorAll('#player track')].every(t => t.readyState === 2)", timeout=10_000
    )
    got = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#player track')]"
        ".map(t => [t.dataset.source, t.track.cues.length]))"
    )
    assert got == want


def test_the_pose_overlay_draws_the_points_of_an_annotated_frame(page, video_live, video_catalog):
    from egoexo_sql import media

    uid, videos = open_player(page, video_live)
    cam = videos[0].cam_id
    with Catalog.open(video_catalog) as cat:
        w, h = media.image_size(cat, uid, cam)
        rows = cat.connection.execute(
            "WITH p AS (SELECT kind, source, frame_number, x, y FROM ego_pose_2d WHERE take_uid = ? AND cam_id = ? "
            "AND annotation_idx = 0 AND x IS NOT NULL AND y IS NOT NULL), "
            "c AS (SELECT kind, min(source) AS source FROM p GROUP BY kind) "
            "SELECT kind, frame_number, count(*) FILTER (WHERE x BETWEEN 0 AND ? AND y BETWEEN 0 AND ?) "
            "FROM p JOIN c USING (kind, source) GROUP BY ALL",
            [uid, cam, w, h],
        ).fetchall()
    assert rows, f"the demo take has no 2D pose in {cam}"
    per_kind: dict[str, dict[int, int]] = {}
    for kind, frame, n in rows:
        per_kind.setdefault(kind, {})[frame] = n
    frame = max(rows, key=lambda r: r[2])[1]

    def drawn(kind_frames: dict[int, int], f: int) -> int:  # the frame drawn: this one, else the nearest (3)
        for d in (0, -1, 1, -2, 2, -3, 3):
            if f + d in kind_frames:
                return kind_frames[f + d]
        return 0

    want = sum(drawn(k, frame) for k in per_kind.values())
    page.wait_for_function(f"document.getElementById('pose-canvas').dataset.loaded === {cam!r}")
    page.evaluate(f"document.getElementById('player').currentTime = {(frame + 0.5) / 30}")
    page.wait_for_function(f"document.getElementById('frame').textContent === '{frame}'")
    page.wait_for_function(f"document.getElementById('pose-canvas').dataset.points === '{want}'")
    shot(page, "pose")
    page.locator("#pose-toggle").uncheck()
    assert page.evaluate("document.getElementById('pose-canvas').dataset.points") == "0"


def test_a_range_request_returns_206_with_the_right_bytes(page, video_live, video_catalog):
    from egoexo_sql import media

    base, _, videos = video_live
    with Catalog.open(video_catalog) as cat:
        data = (media.release_dir_of(cat) / videos[0].path).read_bytes()
    r = page.request.get(f"{base}{videos[0].url}", headers={"Range": "bytes=500-1499"})
    assert r.status == 206 and r.body() == data[500:1500]
    assert (
        r.headers["content-range"] == f"bytes 500-1499/{len(data)}" and r.headers["accept-ranges"] == "bytes"
    )
