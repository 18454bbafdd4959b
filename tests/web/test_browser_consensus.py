"""Deciding disagreements in Chromium: each decision is stored as it is chosen, so a refused write and a reload lose none."""

from __future__ import annotations

import os
from pathlib import Path

import chorus
from chorus import analysis
from chorus.coding import apply_code
from chorus.web import users
from tests.helpers import chromium, imported, load_demo, shooter
from tests.web.conftest import PASSWORD, follow, serving, sign_in


def participant_turns(study, transcript: str) -> list[int]:
    """The turns of ``transcript`` that participants spoke (the units coders can disagree on)."""
    turns = analysis.turn_table(study)
    mine = turns[(turns["transcript"] == transcript) & (turns["role"] == "participant")]
    return mine["turn"].tolist()


def test_eight_decisions_survive_a_refused_write_and_a_reload(tmp_path: Path):
    playwright = imported("playwright.sync_api", "pip install 'chorus-qda[dev]'")
    expect, sync_playwright = playwright.expect, playwright.sync_playwright
    browser_path = chromium()
    study = chorus.init(tmp_path / "pc-study")
    load_demo(study, transcripts=["FG01"])
    for name, role in [("olive", "owner"), ("cora", "coder"), ("cole", "coder")]:
        users.add_user(study, name, PASSWORD, role)
    turns = participant_turns(study, "FG01")
    apply_code(study, "FG01", "Funding", "cole", turn=turns[0])  # the coders agree on one turn...
    for turn in turns[:9]:
        apply_code(study, "FG01", "Funding", "cora", turn=turn)  # ...and cora alone coded eight more
    assert len(analysis.disagreements(study, ["cora", "cole"])) == 8
    choices = ["keep", "drop", "keep", "recode", "drop", "keep", "drop", "keep"]
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)

    with serving(study) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        owner = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        shot = shooter(owner, shots)
        sign_in(owner, base, "olive")
        follow(owner, "Agreement")
        owner.check("input[name=coders][value=cora]")
        owner.check("input[name=coders][value=cole]")
        owner.click("text=Compare")
        rows = owner.locator("#disagreements tr[data-code]")
        expect(rows).to_have_count(8)
        for n, decision in enumerate(choices):
            row = rows.nth(n)
            row.locator("select[name=decision]").select_option(decision)
            if decision == "recode":
                expect(row.locator(".stored")).to_have_text("choose the code to recode to")
                row.locator("select[name=recode_to]").select_option("Benefits/Collaboration")
            expect(row.locator(".stored")).to_have_text("stored")
        shot("decided")

        owner.fill("#consensus input[name=into]", "cora")  # a coder compared: the write is refused
        owner.click("#write-consensus")
        expect(owner.locator("[role=alert]")).to_contain_text("not 'cora', one of the coders compared")
        shot("refused")
        follow(owner, "Agreement")  # the page opened again, as anyone opens it: the decisions come from the store
        owner.check("input[name=coders][value=cora]")
        owner.check("input[name=coders][value=cole]")
        owner.click("text=Compare")
        rows = owner.locator("#disagreements tr[data-code]")
        assert [rows.nth(n).locator("select[name=decision]").input_value() for n in range(8)] == choices
        assert rows.nth(3).locator("select[name=recode_to]").input_value() == "Benefits/Collaboration"
        shot("after-reload")

        owner.click("#write-consensus")
        expect(owner.locator("[role=status]").first).to_contain_text("4 kept, 3 dropped, 1 recoded")
        browser.close()
    written = analysis.segments(study, basis="consensus")
    assert sorted(written["code"]) == ["Benefits/Collaboration", *["Challenges/Funding"] * 5]
