"""An owner removes a transcript in the browser: a confirm step that says what goes (turns, codings by whom, memos), one transaction
the audit trail logs, owners only; and the error that asks for a removal names that way in the browser (issue 48)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from sqlalchemy import func, select

import chorus
from chorus.coding import apply_code
from chorus.coding.memos import add_memo
from chorus.ingest import import_transcripts
from chorus.ingest.transcripts import removal
from chorus.study.models import AuditEntry, Coding, Memo, Transcript, Turn
from chorus.web import users
from tests.helpers import DEMO, chromium, imported, load_demo, shooter
from tests.web.conftest import PASSWORD, accessible, serving, sign_in, signed_in


def _coded(study) -> None:
    """FG02 coded by two coders (cora twice, cole once), with a memo on it and one on a coding; FG01 left as it is."""
    apply_code(study, "FG02", "Funding", "cora", turn=2)
    apply_code(study, "FG02", "Collaboration", "cora", turn=3)
    first = apply_code(study, "FG02", "Funding", "cole", turn=2)
    add_memo(study, "Staffing comes up again here", "cora", transcript="FG02")
    add_memo(study, "Is this funding or staffing?", "cole", coding=first)


def counts(study, name: str) -> tuple[int, int, int, int]:
    """How many transcripts called ``name``, turns, codings and memos the study holds in all."""
    with study.reading() as session:
        return tuple(session.scalar(select(func.count()).select_from(table).where(*where))
                     for table, where in [(Transcript, [Transcript.name == name]), (Turn, []), (Coding, []), (Memo, [])])


def test_the_confirm_step_counts_what_goes_and_the_removal_is_one_audited_step_for_owners_only(web):
    import_transcripts(web, [DEMO / "transcripts" / "FG02.vtt"])
    _coded(web)
    going = removal(web, "FG02")
    assert (going.codings, going.memos) == ({"cora": 2, "cole": 1}, 2) and going.turns > 0
    assert str(going) == f"FG02: {going.turns} turns, 3 codings (cora 2, cole 1) and 2 memos"
    owner, token = signed_in(web, "olive")
    coder, coder_token = signed_in(web, "cora")

    home = html.unescape(owner.get("/").text)
    assert 'href="/transcripts/FG02/remove">Remove FG02…</a>' in home
    assert "/remove" not in coder.get("/").text, "only owners are offered it"
    for refused in (coder.get("/transcripts/FG02/remove"), coder.post("/transcripts/FG02/remove", data={"csrf": coder_token, "confirmed": str(going)})):
        assert refused.status_code == 403 and refused.json()["error"] == "this needs the owner role; you are a coder"
    assert owner.get("/transcripts/FG99/remove").status_code == 404

    page = html.unescape(owner.get("/transcripts/FG02/remove").text)
    listed = re.sub(r"\s+", " ", re.search(r'<ul id="removal">(.*?)</ul>', page, re.S).group(1))
    assert f"{going.turns} turns" in listed and "3 codings, by cora (2), cole (1)" in listed and "2 memos" in listed
    assert f'name="confirmed" value="{going}"' in page

    apply_code(web, "FG02", "Funding", "cora", turn=4)  # coded after the owner read the confirm step: nothing goes
    before = counts(web, "FG02")
    stale = owner.post("/transcripts/FG02/remove", data={"csrf": token, "confirmed": str(going)})
    assert stale.status_code == 303 and counts(web, "FG02") == before
    said = html.unescape(owner.get(stale.headers["location"]).text)
    assert "FG02 changed since it was confirmed: removing it now would take" in said and "4 codings (cora 3, cole 1)" in said

    now = removal(web, "FG02")
    with web.reading() as session:
        last = session.scalar(select(func.max(AuditEntry.id)))
    removed = owner.post("/transcripts/FG02/remove", data={"csrf": token, "confirmed": str(now)})
    assert removed.status_code == 303 and removed.headers["location"].startswith("/?removed=")
    assert f"Removed {now}" in html.unescape(owner.get(removed.headers["location"]).text)
    assert counts(web, "FG02") == (0, before[1] - now.turns, before[2] - 4, before[3] - 2)
    with web.reading() as session:  # every row that went is in the trail, under the owner's name (the memos too, not cascaded away)
        logged = session.execute(select(AuditEntry.entity, AuditEntry.actor).where(AuditEntry.id > last, AuditEntry.action == "delete")).all()
    gone = [entity for entity, _ in logged]
    assert {actor for _, actor in logged} == {"olive"}
    assert (gone.count("transcript"), gone.count("turn"), gone.count("coding"), gone.count("memo")) == (1, now.turns, 4, 2)


def test_an_import_that_needs_a_transcript_removed_names_the_remove_link_in_the_browser_and_the_command_on_the_command_line(web):
    from chorus.errors import InputError

    owner, token = signed_in(web, "olive")
    again = owner.post("/api/transcripts", headers={"X-CSRF-Token": token},
                       files=[("files", ("FG01.txt", (DEMO / "transcripts" / "FG03.txt").read_bytes(), "text/plain"))])
    assert again.status_code == 400
    assert again.json()["error"] == ("FG01.txt: a transcript called 'FG01' is already in the study; rename the file, or remove that transcript "
                                     "first (its Remove link on the study's home page, which says what goes with it)")
    try:
        import_transcripts(web, [DEMO / "transcripts" / "FG01.docx"])
    except InputError as exc:
        assert exc.for_command_line().endswith("remove that transcript first (chorus transcripts remove FG01)")
        assert str(exc).endswith("(remove_transcript(study, 'FG01'))")
    else:
        raise AssertionError("a second FG01 was imported")
    from typer.testing import CliRunner

    from chorus.cli import app

    going = removal(web, "FG01")  # the command line asks with the same counts, and removes with the same call
    said = CliRunner().invoke(app, ["--study", str(web.folder), "transcripts", "remove", "FG01"], input="y\n")
    assert said.exit_code == 0 and f"Remove {going}? [y/N]" in said.output and f"removed {going}" in said.output, said.output
    assert counts(web, "FG01")[0] == 0


def test_an_owner_removes_a_transcript_in_chromium_with_the_confirm_and_finds_it_in_the_audit_trail(tmp_path: Path):
    playwright = imported("playwright.sync_api", "pip install 'chorus-qda[dev]'")
    expect, sync_playwright = playwright.expect, playwright.sync_playwright
    browser_path = chromium()
    study = chorus.init(tmp_path / "pc-study")
    load_demo(study, transcripts=["FG01", "FG02"])
    for name, role in [("olive", "owner"), ("cora", "coder"), ("cole", "coder")]:
        users.add_user(study, name, PASSWORD, role)
    _coded(study)
    going = removal(study, "FG02")
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)

    with serving(study) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        shot = shooter(page, shots)
        sign_in(page, base, "olive")

        page.get_by_role("link", name="Remove FG02…").click()
        listed = page.locator("#removal")
        expect(listed).to_contain_text(f"{going.turns} turns")
        expect(listed).to_contain_text("3 codings, by cora (2), cole (1)")
        expect(listed).to_contain_text("2 memos")
        accessible(page)
        shot("remove-confirm")
        page.get_by_role("link", name="Keep it").click()  # changing one's mind keeps it
        expect(page).to_have_title(re.compile(r"^FG02 "))
        page.get_by_role("link", name=re.compile(r"^pc-study$")).click()
        page.get_by_role("link", name="Remove FG02…").click()
        page.get_by_role("button", name="Remove FG02 and all of this").click()

        page.wait_for_url(re.compile(r"/\?removed="))
        expect(page.get_by_role("status").first).to_contain_text(f"Removed {going}")
        expect(page.locator("#transcripts")).not_to_contain_text("FG02")
        expect(page.locator("#transcripts")).to_contain_text("FG01")
        accessible(page)
        shot("removed")

        page.get_by_role("link", name="Audit").click()
        page.get_by_label("Record").click()
        page.keyboard.type("transcript")
        page.get_by_label("Action").select_option("delete")
        page.get_by_role("button", name="Filter").click()
        row = page.locator("#audit tr").nth(1)
        expect(row).to_contain_text("olive")
        expect(row).to_contain_text("delete")
        expect(row).to_contain_text("transcript #")
        accessible(page)
        shot("audit")
        browser.close()
    assert counts(study, "FG02")[0] == 0
