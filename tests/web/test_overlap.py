"""Turns spoken over another voice carry a visible ``[overlap]`` mark on the transcript page, as in the exports."""

from __future__ import annotations

import pytest

from chorus.ingest import import_transcripts
from tests.helpers import chromium
from tests.web.conftest import accessible, serving, sign_in, signed_in


def _overlapped(study, tmp_path) -> None:
    """A transcript of FG01 whose second turn was spoken over the first (marked ``[overlap]`` in its file)."""
    path = tmp_path / "FG01-overlap.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\n<v Reyes>Welcome, and thank you for coming.\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Adaeze>[overlap] Right.\n\n"
        "00:00:04.500 --> 00:00:06.000\n<v Reyes>Shall we begin?\n"
    )
    import_transcripts(study, [path], group="FG01")


def test_the_overlap_mark_is_drawn_with_the_turn_and_not_in_its_words(web, tmp_path):
    _overlapped(web, tmp_path)
    client, _ = signed_in(web, "vic")
    for url in ("/transcripts/FG01-overlap", "/transcripts/FG01-overlap/turns"):  # the page, and its turns redrawn
        page = client.get(url).text
        turns = page.split('<div class="turn"')[1:]
        assert ["[overlap]" in t for t in turns] == [False, True, False]
        assert '<div class="said"' in turns[1] and "[overlap]" not in turns[1].split('<div class="said"')[1]
    assert "[overlap]" not in client.get("/transcripts/FG01").text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_reader_sees_which_turn_was_spoken_over_another(web, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    _overlapped(web, tmp_path)
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "cora")
        page.locator("nav a").first.click()
        page.get_by_role("link", name="FG01-overlap").click()
        turns = page.locator(".turn")
        expect(turns.nth(1).locator(".speaker")).to_contain_text("[overlap]")
        expect(turns.nth(1).get_by_title("spoken while another voice was heard")).to_be_visible()
        expect(turns.nth(0)).not_to_contain_text("[overlap]")
        expect(turns.nth(1).locator(".said")).to_have_text("Right.")
        accessible(page)
        browser.close()
