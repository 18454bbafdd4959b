"""Coding together, live: the change stream (GET /api/live) read as a page reads it, and pages that update in place.

The stream is read for real, over HTTP from a served app (a thread, or ``chorus serve``
in processes of its own), never through a test client that would wait for its end.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.coding import apply_code
from chorus.study.models import Transcript, Turn
from chorus.study.store import acting_as
from tests.helpers import chromium, imported, load_demo
from tests.web.conftest import PASSWORD, chorus_serve, code_with_the_menu, serving, sign_in, signed_in

httpx = imported("httpx", "pip install 'chorus-qda[web]'")


def turn_spans(study, name: str = "FG01") -> list[tuple[int, int]]:
    with study.reading() as session:
        return [tuple(r) for r in session.execute(select(Turn.start, Turn.end).join(Transcript).where(Transcript.name == name).order_by(Turn.start))]


def client_of(base: str, name: str) -> tuple[httpx.Client, str]:
    """A person signed in to the served app, with their CSRF token."""
    client = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf}).status_code == 303
    return client, re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)


class Stream:
    """A change stream read in a thread as a browser reads it: every line kept raw, every event parsed."""

    def __init__(self, client: httpx.Client, query: str = "", last_event_id: int | None = None):
        self.raw: list[str] = []
        self.events: list[dict] = []
        self.done = threading.Event()
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self._thread = threading.Thread(target=self._read, args=(client, query, headers), daemon=True)
        self._thread.start()

    def _read(self, client: httpx.Client, query: str, headers: dict) -> None:
        try:
            with client.stream("GET", "/api/live" + query, headers=headers, timeout=httpx.Timeout(30, read=None)) as answer:
                assert answer.headers["content-type"].startswith("text/event-stream")
                event: dict = {}
                for line in answer.iter_lines():
                    if self.done.is_set():
                        return
                    self.raw.append(line)
                    if not line:
                        if "data" in event:
                            self.events.append({**event, "data": json.loads(event["data"])})
                        event = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(":")
                        event[field] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        finally:
            self.done.set()

    def changes(self) -> list[dict]:
        return [e["data"] for e in self.events if "event" not in e]

    def wait_for(self, found, seconds: float = 20.0) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for change in self.changes():
                if found(change):
                    return change
            time.sleep(0.05)
        raise AssertionError(f"not heard within {seconds} s: {self.raw[-20:]}")

    def caught_up(self) -> int:
        """The last audit entry the stream says it is caught up to."""
        ats = [int(e["data"]) for e in self.events if e.get("event") == "at"]
        return ats[-1] if ats else -1

    def process(self) -> int:
        return int(next(line for line in self.raw if line.startswith(": served by process")).rsplit(" ", 1)[1])

    def close(self) -> None:
        self.done.set()


@contextmanager
def listening(client: httpx.Client, query: str = "", last_event_id: int | None = None):
    stream = Stream(client, query, last_event_id)
    try:
        deadline = time.monotonic() + 20
        while not any(line.startswith("retry:") for line in stream.raw):
            assert time.monotonic() < deadline and not stream.done.is_set(), f"the stream did not start: {stream.raw}"
            time.sleep(0.02)
        yield stream
    finally:
        stream.close()


def codes(client: httpx.Client, csrf: str, code: str, span: tuple[int, int]) -> httpx.Response:
    return client.post("/api/codings", json={"transcript": "FG01", "code": code, "start": span[0], "end": span[1]}, headers={"X-CSRF-Token": csrf})


def test_a_blind_coder_s_stream_carries_nothing_of_the_other_coder_s(web):
    spans = turn_spans(web)
    with serving(web) as base:
        olive, olive_csrf = client_of(base, "olive")
        opened = olive.post("/rounds", headers={"X-CSRF-Token": olive_csrf}, data={"coders": ["cora", "cole"], "transcripts": ["FG01"], "label": "pilot"})
        assert opened.status_code == 303
        cora, cora_csrf = client_of(base, "cora")
        cole, cole_csrf = client_of(base, "cole")
        with listening(cora, "?page=transcript:FG01") as hers, listening(olive, "?page=transcript:FG01") as owners:
            theirs = codes(cole, cole_csrf, "Benefits/Collaboration", spans[3]).json()["id"]
            assert cole.post(f"/api/codings/{theirs}/memo", json={"text": "cole's private thought"}, headers={"X-CSRF-Token": cole_csrf}).status_code == 201
            time.sleep(1.0)  # a few of the server's looks at the trail
            mine = codes(cora, cora_csrf, "Funding", spans[2]).json()["id"]
            assert hers.wait_for(lambda c: c.get("coding") == mine)["coder"] == "cora"
            owners.wait_for(lambda c: c.get("coding") == theirs)  # the owner, not in the round, hears everyone
            assert owners.wait_for(lambda c: c["kind"] == "memo.added")["text"] == "cole's private thought"
            time.sleep(0.5)
            heard = "\n".join(hers.raw)
            assert "cole" not in heard and "Collaboration" not in heard and "private thought" not in heard, heard
            assert all(c.get("coding") != theirs for c in hers.changes())
            assert not [e for e in hers.events if e.get("event") == "presence" and e["data"]], "a blind coder sees no one else at work"


def test_a_code_merged_while_a_coder_s_menu_offered_it_is_refused_with_what_became_of_it(web):
    spans = turn_spans(web)
    cora, cora_csrf = signed_in(web, "cora")
    assert codes(cora, cora_csrf, "Funding", spans[1]).status_code == 201  # a code in use: its codings say where it went
    assert "Challenges/Funding" in cora.get("/transcripts/FG01").text  # her menu offers it
    olive, olive_csrf = signed_in(web, "olive")
    assert olive.post("/api/codes/Funding/merge", json={"target": "Collaboration"}, headers={"X-CSRF-Token": olive_csrf}).status_code == 200
    refused = cora.post("/api/codings", json={"transcript": "FG01", "code": "Challenges/Funding", "start": spans[2][0], "end": spans[2][1]},
                        headers={"X-CSRF-Token": cora_csrf})
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("the code 'Challenges/Funding' was merged into 'Benefits/Collaboration' by olive")
    from chorus.coding import codes as codebook

    assert not (codebook.codebook(web)["code"] == "Funding").any(), "never made again"
    olive.post("/api/codes", json={"name": "Going"}, headers={"X-CSRF-Token": olive_csrf})
    codebook.delete(web, "Going")
    gone = cora.post("/api/codings", json={"transcript": "FG01", "code": "Going", "start": spans[2][0], "end": spans[2][1]}, headers={"X-CSRF-Token": cora_csrf})
    assert gone.status_code == 409 and "was removed by" in gone.json()["error"]
    unknown = cora.post("/api/codings", json={"transcript": "FG01", "code": "Never", "start": spans[2][0], "end": spans[2][1]}, headers={"X-CSRF-Token": cora_csrf})
    assert unknown.status_code == 400 and "no code 'Never'" in unknown.json()["error"]


def test_a_reconnecting_page_catches_up_after_the_server_was_stopped_and_started_again(web):
    spans = turn_spans(web)
    with chorus_serve(web.folder) as base:
        cora, _ = client_of(base, "cora")
        cole, cole_csrf = client_of(base, "cole")
        with listening(cora) as stream:
            first = codes(cole, cole_csrf, "Funding", spans[2]).json()["id"]
            stream.wait_for(lambda c: c.get("coding") == first)
            time.sleep(0.2)
            heard = stream.caught_up()
        cora.close()
    # the server is gone: changes go on through another door (the library, a colleague's command line)
    with acting_as("cole"):
        made = [apply_code(web, "FG01", "Funding", "cole", start=s, end=e) for s, e in spans[3:6]]
    with chorus_serve(web.folder) as base:
        cora, _ = client_of(base, "cora")
        with listening(cora, "?after=0", last_event_id=heard) as stream:  # EventSource sends the last id it had; it wins over the URL's
            for coding in made:
                stream.wait_for(lambda c, coding=coding: c.get("coding") == coding)
            assert first not in {c.get("coding") for c in stream.changes()}, "from where it was, not from the start"


def test_a_write_through_one_server_process_reaches_streams_served_by_the_other(web):
    """Two ``chorus serve`` on one study, as two hosts behind a proxy would be: the kernel, not the test, would
    pick which of ``--workers 2`` accepts a connection (on some machines one process takes them all), so each
    process here is reached by its own port and the write goes through the one that serves no stream."""
    spans = turn_spans(web)
    with chorus_serve(web.folder) as one, chorus_serve(web.folder) as other:
        cora, _ = client_of(one, "cora")
        cole, cole_csrf = client_of(other, "cole")
        with listening(cora, "?page=transcript:FG01") as hers, listening(cole, "?page=transcript:FG01") as his:
            assert hers.process() != his.process(), "two processes serve the two streams"
            made = codes(cole, cole_csrf, "Funding", spans[2]).json()["id"]
            assert hers.wait_for(lambda c: c.get("coding") == made)["coder"] == "cole"
            assert his.wait_for(lambda c: c.get("coding") == made)["coder"] == "cole"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_transcript_s_page_is_sent_the_codings_of_its_own_transcript_and_every_other_page_all(study):
    from chorus.study import changes
    from chorus.web.routes.live import Batch

    load_demo(study, transcripts=["FG01", "FG02"])
    after = changes.latest(study)
    with acting_as("cole"):
        here = apply_code(study, "FG01", "Funding", "cole", turn=2)
        there = apply_code(study, "FG02", "Funding", "cole", turn=2)
    batch = Batch(changes.since(study, after))
    def sent(page: str) -> list[int]:  # the changes' ids (an "at" event, where the page is caught up to, ends every batch)
        events = batch.said(page).split("\n\n")
        assert events[-2] == f"event: at\nid: {batch.found.last}\ndata: {batch.found.last}" and events[-1] == ""
        return [int(re.search(r"^id: (\d+)$", event, re.M).group(1)) for event in events[:-2]]

    ids = {page: sent(page) for page in ("transcript:FG01", "transcript:FG02", "codes", "")}
    coded = {change["coding"]: change["id"] for change in batch.found.changes if change["kind"] == "coding.added"}
    assert set(coded) == {here, there}
    assert coded[here] in ids["transcript:FG01"] and coded[there] not in ids["transcript:FG01"]
    assert coded[there] in ids["transcript:FG02"] and coded[here] not in ids["transcript:FG02"]
    assert ids["codes"] == ids[""] == [change["id"] for change in batch.found.changes]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_people_on_one_transcript_see_each_other_code_and_remove_without_a_reload(web):
    from playwright.sync_api import expect, sync_playwright

    folder = os.environ.get("CHORUS_SCREENSHOTS")
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for name in ("cora", "cole"):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(page, base, name)
            page.get_by_role("link", name="FG01").click()
            page.wait_for_url(base + "/transcripts/FG01")
            page.evaluate("window.stayed = true")  # gone if the page were loaded again
            pages[name] = page
        cora, cole = pages["cora"], pages["cole"]
        expect(cora.locator("#present")).to_contain_text("cole (opened it)")
        expect(cole.locator("#present")).to_contain_text("cora (opened it)")

        code_with_the_menu(cora, 12, 0, 20, "Funding")
        hers = cole.locator("#turn-12 .chip", has_text="Funding")
        expect(hers).to_have_attribute("title", "Challenges/Funding, coded by cora")
        expect(cole.locator("#turn-12 .said mark")).to_have_attribute("title", "Challenges/Funding, coded by cora")  # on the words too
        expect(cole.locator("#present")).to_contain_text("cora (coded “Challenges/Funding”)")

        code_with_the_menu(cole, 14, 0, 25, "Collaboration")
        expect(cora.locator("#turn-14 .chip", has_text="Collaboration")).to_have_attribute("title", "Benefits/Collaboration, coded by cole")
        if folder:
            shots = Path(folder)
            shots.mkdir(parents=True, exist_ok=True)
            cora.locator("#turn-14").scroll_into_view_if_needed()
            cole.locator("#turn-12").scroll_into_view_if_needed()
            cora.screenshot(path=str(shots / "1-cora-sees-cole-coding.png"))
            cole.screenshot(path=str(shots / "2-cole-sees-cora-coding.png"))

        cole.locator("#turn-14 .chip", has_text="Collaboration").get_by_role("button", name="remove the coding Benefits/Collaboration").click()
        expect(cora.locator("#turn-14 .chip", has_text="Collaboration")).to_have_count(0)
        cora.locator("#turn-12 .chip", has_text="Funding").get_by_role("button", name="remove the coding Challenges/Funding").click()
        expect(cole.locator("#turn-12 .chip")).to_have_count(0)
        expect(cole.locator("#turn-12 .said mark")).to_have_count(0)
        if folder:
            cora.screenshot(path=str(Path(folder) / "3-cora-after-both-removed.png"))
        assert cora.evaluate("window.stayed") and cole.evaluate("window.stayed"), "no page was loaded again"
        cole.context.close()  # cole leaves: he is no longer shown as here
        expect(cora.locator("#present")).to_have_text("", timeout=15_000)
        browser.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_code_system_changes_in_place_and_the_segments_page_says_what_is_new(web):
    from playwright.sync_api import expect, sync_playwright

    from chorus.coding import codes as codebook
    from tests.web.conftest import accessible

    spans = turn_spans(web)
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for link in ("Codes", "Segments"):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(page, base, "olive")
            page.get_by_role("link", name=link, exact=True).first.click()
            page.evaluate("window.stayed = true")
            pages[link] = page
        codes_page, segments = pages["Codes"], pages["Segments"]
        rows_before = segments.locator("table tr").count()
        cora, cora_csrf = client_of(base, "cora")
        assert codes(cora, cora_csrf, "Funding", spans[2]).status_code == 201
        expect(codes_page.locator('.code[data-path="Challenges/Funding"] .num')).to_have_text("1 coding")
        expect(segments.locator("#live-notice")).to_contain_text("1 new coding since this page was drawn")
        assert segments.locator("table tr").count() == rows_before, "the table does not move under the reader"
        with acting_as("cole"):
            codebook.edit(web, "Collaboration", None, new_name="Working together")
            codebook.edit(web, "Communication", None, colour="#112233")
        expect(codes_page.locator('.code[data-path="Benefits/Working together"] summary b')).to_have_text("Working together")
        expect(codes_page.locator('.code[data-path="Benefits/Communication"] .swatch')).to_have_css("background-color", "rgb(17, 34, 51)")
        expect(segments.locator("#live-notice")).to_contain_text("2 changes to the codebook or transcripts")
        accessible(segments)
        assert codes_page.evaluate("window.stayed") and segments.evaluate("window.stayed")
        browser.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_open_menu_stops_offering_a_code_merged_away_and_a_stale_choice_is_refused_with_what_became_of_it(web):
    from playwright.sync_api import expect, sync_playwright

    from tests.web.conftest import drag_over

    spans = turn_spans(web)
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "cora")
        page.get_by_role("link", name="FG01").click()
        page.wait_for_url(base + "/transcripts/FG01")
        cora, cora_csrf = client_of(base, "cora")
        assert codes(cora, cora_csrf, "Funding", spans[1]).status_code == 201  # in use: its codings say where it went
        drag_over(page, 12, 0, 20)
        expect(page.get_by_role("combobox")).to_be_focused()
        page.keyboard.type("Funding")
        expect(page.get_by_role("option").first).to_contain_text("Challenges/Funding")
        olive, olive_csrf = client_of(base, "olive")
        assert olive.post("/api/codes/Funding/merge", json={"target": "Collaboration"}, headers={"X-CSRF-Token": olive_csrf}).status_code == 200
        expect(page.get_by_role("option", name="Challenges/Funding")).to_have_count(0)  # the open menu hears of it
        expect(page.get_by_role("option").last).to_have_text("New code “Funding”…")  # offered, never made for her
        stale = codes(cora, cora_csrf, "Challenges/Funding", spans[11])  # a choice sent before the menu heard
        assert stale.status_code == 409 and "merged into 'Benefits/Collaboration' by olive" in stale.json()["error"]
        browser.close()
