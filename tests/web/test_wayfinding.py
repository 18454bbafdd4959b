"""The small things that keep a person on their way between pages: counts said in words, hints, the way back, the icon."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from chorus import coding
from chorus.web.app import create_server
from tests.helpers import chromium
from tests.web.conftest import PASSWORD, accessible, serving, sign_in, signed_in


def test_counts_are_said_as_words_are(web):
    client, _ = signed_in(web, "cora")
    coding.apply_code(web, "FG01", "Challenges/Funding", "cora", turn=2)
    page = client.get("/codes").text
    funding = re.search(r'data-path="Challenges/Funding".*?(\d+ codings?)</div>', page, flags=re.S)
    assert funding and funding.group(1) == "1 coding"
    assert "0 codings" in page


def test_a_multi_select_says_how_to_choose_several(web):
    client, _ = signed_in(web, "cora")
    page = client.get("/autocode").text
    assert 'aria-describedby="transcripts-hint"' in page and "Ctrl-click (⌘-click on a Mac) chooses several" in page


def test_a_study_among_several_links_back_to_the_server_s_studies(web, make_study):
    from chorus.web import users

    other = make_study("other")
    users.add_user(other, "olive", PASSWORD, "owner")
    client = TestClient(create_server([web, other]), follow_redirects=False)
    login = client.get("/studies/study/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    assert client.post("/studies/study/login", data={"name": "olive", "password": PASSWORD, "csrf": csrf}).status_code == 303
    page = client.get("/studies/study/").text
    assert '<a href="/" title="every study on this server">All studies</a>' in page
    assert 'href="/static/favicon.svg"' in client.get("/").text and client.get("/static/favicon.svg").status_code == 200
    alone, _ = signed_in(web, "olive")
    assert "All studies" not in alone.get("/").text, "a study served alone has no list to go back to"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_job_rows_stay_in_place_while_nothing_but_their_progress_changes(web):
    from playwright.sync_api import expect, sync_playwright

    from chorus.study import jobs as queue

    job = queue.submit(web, "transcribe", "olive", "FG01", recording="recordings/FG01.wav", group="FG01")
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "olive")
        page.get_by_role("link", name="Recordings").click()
        row = page.locator(f"#jobs tr[data-job='{job}']")
        expect(row).to_have_attribute("data-state", "queued")
        row.evaluate("row => { row.kept = true; }")  # an expando: gone if the row is made again
        page.wait_for_timeout(2500)  # two refreshes and more
        assert row.evaluate("row => row.kept === true"), "a row whose job did not change is not made again"
        queue.finish(web, job, "olive", "running", fraction=0.25, stage="transcribing")
        expect(row).to_have_attribute("data-state", "running")
        row.evaluate("row => { row.kept = true; }")
        queue.finish(web, job, "olive", "running", fraction=0.75, stage="telling the speakers apart")
        expect(row.locator("progress")).to_have_js_property("value", 0.75)
        expect(row).to_contain_text("telling the speakers apart")
        assert row.evaluate("row => row.kept === true"), "progress moves in place"
        queue.finish(web, job, "olive", "naming")
        expect(row.get_by_role("link", name="Name the speakers")).to_be_visible()
        browser.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_page_the_bar_links_to_passes_axe_core(web):
    """WCAG 2.1 AA as axe-core checks it, on each page reached by its link in the bar, and on signing in."""
    from playwright.sync_api import sync_playwright

    coding.apply_code(web, "FG01", "Challenges/Funding", "cora", turn=2)
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        accessible(page)
        sign_in(page, base, "olive")
        accessible(page)
        names = page.locator("nav a").all_inner_texts()
        assert len(names) > 15
        for name in names:
            page.locator("nav a", has_text=re.compile(f"^{re.escape(name)}$")).first.click()
            page.wait_for_load_state()
            accessible(page)
        page.locator("nav a").first.click()
        page.get_by_role("link", name="FG01", exact=True).click()  # not its "Remove FG01…"
        accessible(page)  # a transcript with its recording, a coding and the stance buttons
        browser.close()
