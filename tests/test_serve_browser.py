"""egoexo-sql serve in a real browser: Chromium driven by Playwright, against a uvicorn
server on 127.0.0.1. Playwright's own browser download is not reachable here, so the
tests use Debian's chromium (installed by .ci/run) and skip, saying what is missing,
where there is none."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = (
    os.environ.get("EGOEXO_SQL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
pytest.importorskip("playwright", reason="playwright is not installed (pip install pytest-playwright)")
if CHROMIUM is None:
    pytest.skip("no chromium executable (apt-get install chromium)", allow_module_level=True)

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
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(demo_catalog, sql_timeout=2.0), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    th.join(10)


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
