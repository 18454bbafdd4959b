"""Coding as people code: select words with the mouse (or the keyboard), and the code menu opens beside them.

Everything in Chromium is done with real mouse and keyboard events: the words are
dragged over with the mouse, the code is typed into the menu and clicked, the
keyboard-only coder tabs to a turn and selects with Shift and the arrows. What is
stored is read back from the store.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus.study.lookup import code_path
from chorus.study.models import Code, Coding, Transcript, Turn
from tests.helpers import chromium
from tests.web.conftest import accessible, drag_over, serving, sign_in, signed_in


def turn_span(study, ordinal: int) -> tuple[int, int]:
    with study.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == ordinal))
        return turn.start, turn.end


def codings(study) -> list[tuple[str, int, int, str]]:
    with study.reading() as session:
        return [(code_path(c.code), c.start, c.end, c.coder.name) for c in session.scalars(select(Coding).order_by(Coding.id))]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_coder_selects_words_then_picks_the_existing_code_from_the_menu_beside_them(web):
    from playwright.sync_api import expect, sync_playwright

    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "cora")
        page.get_by_role("link", name="FG01").click()
        page.wait_for_url(base + "/transcripts/FG01")
        page.evaluate("window.stayed = true")  # gone if the page were loaded again
        page.mouse.wheel(0, 400)
        expect(page.locator("#turn-1")).not_to_be_in_viewport()

        dragged = drag_over(page, 12, 0, 20)
        words = dragged["words"]
        menu = page.get_by_role("dialog", name="Code the selected words")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert 0 <= box["y"] - dragged["bottom"] < 12 or 0 <= dragged["top"] - (box["y"] + box["height"]) < 12, "the menu opens beside the words"
        combo = page.get_by_role("combobox")
        expect(combo).to_be_focused()
        expect(page.locator("#code-quote")).to_have_text(words.strip())
        page.keyboard.type("Funding")
        options = page.get_by_role("option")
        expect(options.first).to_contain_text("Challenges/Funding")
        expect(options.last).to_have_text("New code “Funding”…")  # a new code is a choice of its own, never the default
        expect(combo).to_have_attribute("aria-expanded", "true")
        expect(combo).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
        accessible(page)  # the open menu too
        scrolled, where = page.evaluate("window.scrollY"), page.locator("#turn-12").bounding_box()["y"]
        options.first.click()
        turn = page.locator("#turn-12")
        expect(turn.locator(".margin .chip", has_text="Funding")).to_have_count(1)
        expect(turn.locator(".said mark")).to_have_text(words)
        expect(menu).to_be_hidden()
        expect(page.get_by_role("status")).to_contain_text("as Challenges/Funding")
        assert page.evaluate("window.stayed"), "no page load"
        assert abs(page.evaluate("window.scrollY") - scrolled) <= 1 and abs(turn.bounding_box()["y"] - where) <= 1, "the coded words stay where they were"
        start, _ = turn_span(web, 12)
        assert codings(web)[-1] == ("Challenges/Funding", start, start + 20, "cora")
        with web.reading() as session:
            assert session.scalar(select(func.count()).select_from(Code).where(Code.name == "Funding")) == 1, "no second Funding"

        page.keyboard.press("Control+z")  # undoes the last coding
        expect(turn.locator(".margin .chip")).to_have_count(0)
        expect(page.get_by_role("status")).to_contain_text("Undone")
        assert ("Challenges/Funding", start, start + 20, "cora") not in codings(web)

        drag_over(page, 12, 0, 20)
        expect(combo).to_be_focused()
        page.keyboard.type("fund")
        page.keyboard.press("Escape")  # Esc closes, nothing is coded
        expect(menu).to_be_hidden()
        assert not any(c[1] == start for c in codings(web))

        drag_over(page, 14, 4, 30)
        expect(combo).to_be_focused()
        page.keyboard.type("Staff turnover")
        expect(options).to_have_count(1)
        page.keyboard.press("Enter")  # the one option: a new code, which asks for its parent
        parent = page.get_by_label("New code “Staff turnover” under")
        expect(parent).to_be_focused()
        accessible(page)
        page.keyboard.type("Challenges")  # a select's type-ahead
        expect(parent).to_have_value("Challenges")
        page.keyboard.press("Enter")
        expect(page.locator("#turn-14 .margin .chip", has_text="Staff turnover")).to_have_count(1)
        start, _ = turn_span(web, 14)
        assert codings(web)[-1] == ("Challenges/Staff turnover", start + 4, start + 30, "cora")
        browser.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_coder_codes_with_the_keyboard_alone(web):
    from playwright.sync_api import expect, sync_playwright

    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "cora")
        page.get_by_role("link", name="FG01").click()
        page.wait_for_url(base + "/transcripts/FG01")
        for _ in range(80):  # Tab through the bar's links to the turns' one tab stop
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.matches('.said')"):
                break
        first = page.locator("#turn-1 .said")
        expect(first).to_be_focused()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        expect(page.locator("#turn-3 .said")).to_be_focused()
        for _ in range(15):
            page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("c")
        expect(page.get_by_role("combobox")).to_be_focused()
        page.keyboard.type("commun")
        expect(page.get_by_role("option").first).to_contain_text("Benefits/Communication")
        page.keyboard.press("Enter")
        expect(page.locator("#turn-3 .margin .chip", has_text="Communication")).to_have_count(1)
        expect(page.locator("#turn-3 .said")).to_be_focused()  # back where the coder was, to go on
        start, _ = turn_span(web, 3)
        assert codings(web)[-1] == ("Benefits/Communication", start, start + 15, "cora")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Shift+End")
        page.keyboard.press("Enter")
        expect(page.get_by_role("option").first).to_contain_text("Benefits/Communication")  # the recent code comes first
        expect(page.get_by_role("option").first).to_contain_text("recent")
        browser.close()


def test_the_turns_a_coding_changed_are_drawn_alone_and_the_page_has_its_icon(web):
    client, _ = signed_in(web, "vic")
    start, end = turn_span(web, 5)
    drawn = client.get(f"/transcripts/FG01/turns?start={start}&end={end}")
    assert drawn.status_code == 200 and drawn.text.count('class="turn"') == 1 and 'id="turn-5"' in drawn.text
    assert client.get(f"/transcripts/FG01/turns?start={start}&end={turn_span(web, 6)[0] + 1}").text.count('class="turn"') == 2
    page = client.get("/transcripts/FG01").text
    assert 'rel="icon" href="/static/favicon.svg"' in page and client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg")
    assert client.get("/static/codemenu.js").headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert client.get("/transcripts/nothing/turns").status_code == 404
