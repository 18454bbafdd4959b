"""A team's whole path in Chromium, as people go it: from the setup link to the Word draft, with the mouse and the keyboard.

``chorus serve`` runs in a process of its own and transcribes in its own job
worker; the test process only drives Chromium. The owner opens the setup link,
creates the study, uploads the roster and groups, the codebook, two transcripts
and a recording (a short synthesized exchange) whose speakers she names; she adds
a coder and opens a blind round for the two of them. Each codes in a browser of
their own by dragging the mouse over words and choosing a code from the menu
beside them, and sees only their own codings. The owner closes the round, decides
the four disagreements on the agreement page, writes the consensus and counts the
themes from it; the page's figures and the downloaded Word draft's Table 2 equal
the counts written by hand below from what the coders coded.

Set ``CHORUS_SCREENSHOTS=DIR`` to keep a screenshot, 1280 px wide, of every page the walk passes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from chorus.audio.synthetic import FOCUS_GROUP, speak
from tests.audio.conftest import need_voices
from tests.helpers import DEMO, chromium, imported
from tests.web.conftest import WCAG_AA, _free_port, code_with_the_menu

imported("playwright", "pip install 'chorus-qda[dev]'")
imported("docx", "pip install 'chorus-qda[report]'")
imported("axe_playwright_python", "pip install 'chorus-qda[dev]'")

OWNER, CODER = ("olive", "a long enough passphrase"), ("cora", "quiet maple harbour lantern")
#: What each coder codes in the blind round: (transcript, turn, code). The speakers, from examples/pc-study:
#: FG01 is the physicians' group (turn 6 Camila, 7 Dmitri, 8 Elena, 9 Adaeze, 12 Bernard), FG02 the nurses'
#: (turn 4 Hannah, 5 Isaac, 8 Fatima, 9 Gwen).
BOTH = [("FG01", 6, "Early integration"), ("FG01", 7, "Early integration"), ("FG01", 12, "Funding"),
        ("FG02", 4, "Normalizing palliative care"), ("FG02", 9, "Medical opposition")]
CODED = {
    "olive": BOTH + [("FG01", 8, "Early integration"), ("FG02", 8, "Medical opposition")],
    "cora": BOTH + [("FG01", 9, "Early integration"), ("FG02", 5, "Normalizing palliative care")],
}
#: The four disagreements and what the team decides: keep Elena's and Fatima's, drop Adaeze's, and Isaac's
#: "special event" is about how families see the team, not about normalizing it.
DECIDED = {("FG01", 8): ("keep", ""), ("FG01", 9): ("drop", ""), ("FG02", 8): ("keep", ""),
           ("FG02", 5): ("recode", "Family perceptions of palliative care")}
#: The consensus, counted by hand: theme -> (segments, participants, groups).
#: Early integration: Camila, Dmitri (both coders) and Elena (kept); Adaeze's dropped. Funding: Bernard.
#: Normalizing: Hannah (both); Isaac's recoded. Medical opposition: Gwen (both) and Fatima (kept).
#: Family perceptions: Isaac (recoded). Each theme in one group: FG01's or FG02's.
THEMES = {
    "Early integration": (3, 3, 1),
    "Funding": (1, 1, 1),
    "Normalizing palliative care": (1, 1, 1),
    "Medical opposition": (2, 2, 1),
    "Family perceptions of palliative care": (1, 1, 1),
}
#: The recording, FG03 (the APPs' group): four turns, the facilitator (whom the page proposes) and three of its people.
SPOKEN = FOCUS_GROUP[:4]
PEOPLE = ["P11", "P12", "P13"]


class Walk:
    """Keeps what the walk passes: a screenshot of each page, numbered in order (when ``CHORUS_SCREENSHOTS`` is set), and its checks:
    axe-core's, no terminal command or option in its words, and no sideways scrolling."""

    def __init__(self, shots: Path | None):
        from axe_playwright_python.sync_playwright import Axe

        self.shots, self.count, self.axe = shots, 0, Axe()
        self.failing: dict[str, list[str]] = {}  # page -> what is wrong with it

    def look(self, page, name: str) -> None:
        self.count += 1
        called = f"{self.count:02d}-{name}"
        if self.shots is not None:
            page.evaluate("window.scrollTo(0, 0)")  # for the picture only: a sticky bar is drawn where the page was scrolled to
            page.screenshot(path=str(self.shots / f"{called}.png"), full_page=True)
        found = self.axe.run(page, options=WCAG_AA)
        if found.violations_count:
            self.failing.setdefault(called, []).append(found.generate_report())
        said = re.findall(r"(?:^|\s)(chorus [a-z][\w-]*|--[a-z][\w-]*)", page.locator("main").inner_text())
        if said:
            self.failing.setdefault(called, []).append(f"a terminal command or option on the page: {said}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > page.viewport_size["width"]:
            self.failing.setdefault(called, []).append(f"{wide} px wide in a window of {page.viewport_size['width']} px: it scrolls sideways")


def type_into(page, field, text: str) -> None:
    """Click into a field and type, as a person does."""
    field.click()
    page.keyboard.type(text)


def sign_in_to_study(page, name: str, password: str) -> None:
    """The study's own sign-in form, typed into."""
    type_into(page, page.get_by_label("Name"), name)
    type_into(page, page.get_by_label("Password"), password)
    page.get_by_role("button", name="Sign in").click()


def code_the_round(page, walk: Walk, who: str) -> dict[tuple[str, int], str]:
    """Open each transcript from the study's page and code what ``who`` codes there, by dragging over a turn's first
    words (to the end of a word); returns the words coded, by transcript and turn."""
    from playwright.sync_api import expect

    coded = {}
    for transcript in ("FG01", "FG02"):
        page.locator("nav").get_by_role("link", name="Palliative care in pediatric oncology").click()
        page.get_by_role("link", name=transcript, exact=True).click()
        expect(page.locator("#blind")).to_be_visible()
        mine = [(turn, code) for t, turn, code in CODED[who] if t == transcript]
        for turn, code in mine:
            said = page.locator(f"#turn-{turn} .said").inner_text()
            words = said[:said.index(" ", 16)]  # a few whole words
            code_with_the_menu(page, turn, 0, len(words), code)
            expect(page.locator(f"#turn-{turn} .said mark")).to_have_text(words)
            expect(page.locator(f"#turn-{turn} .margin .chip")).to_have_count(1)
            coded[(transcript, turn)] = words
        expect(page.locator(".margin .chip")).to_have_count(len(mine))  # their own codings, and no one else's
        walk.look(page, f"{who}-{transcript}")
    return coded


def test_a_team_goes_from_the_setup_link_to_the_word_draft_in_the_browser(tmp_path: Path):
    from docx import Document
    from playwright.sync_api import expect, sync_playwright

    need_voices()
    browser_path = chromium()
    speak(SPOKEN, tmp_path / "FG03.wav")
    kept = os.environ.get("CHORUS_SCREENSHOTS")
    shots = Path(kept) if kept else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    walk = Walk(shots)
    home, keys = tmp_path / "home", tmp_path / "keys"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chorus"), "serve", "--home", str(home), "--keys", str(keys), "--port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    said: list[str] = []
    try:
        for line in server.stdout:  # what it printed before the link is shown if it stops without one
            said.append(line)
            if "/setup?token=" in line:
                link = line.strip()
                break
        else:
            raise AssertionError("chorus serve stopped without printing a setup link")
        # what the server prints from here on, read so that its pipe never fills; shown when the test fails
        threading.Thread(target=lambda: said.extend(server.stdout), daemon=True).start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
            olive = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()

            # The setup link, as the server printed it: the owner pastes it into the address bar.
            olive.goto(link)
            expect(olive.get_by_role("heading", name="Set up this Chorus server")).to_be_visible()
            walk.look(olive, "setup")
            type_into(olive, olive.get_by_label("Name"), OWNER[0])
            type_into(olive, olive.get_by_label("Password", exact=True), OWNER[1])
            type_into(olive, olive.get_by_label("Password again"), OWNER[1])
            olive.get_by_role("button", name="Create the owner account").click()
            expect(olive.get_by_role("heading", name="Create a study")).to_be_visible()
            walk.look(olive, "studies")
            type_into(olive, olive.get_by_label("Title"), "Palliative care in pediatric oncology")
            type_into(olive, olive.get_by_label("Folder name"), "pc-study")
            olive.get_by_role("button", name="Create the study").click()
            walk.look(olive, "study-sign-in")
            sign_in_to_study(olive, *OWNER)
            expect(olive.get_by_text("No transcript yet")).to_be_visible()
            walk.look(olive, "new-study")

            # The roster and the groups, then the codebook.
            olive.get_by_role("main").get_by_role("link", name="Roster").click()  # the new study says where to start
            olive.get_by_label("Roster").set_input_files(DEMO / "roster.csv")
            olive.get_by_label("Groups").set_input_files(DEMO / "groups.csv")
            olive.get_by_role("button", name="Check").click()
            expect(olive.get_by_text("39 people (39 new, 0 updated, 0 unchanged)")).to_be_visible()
            walk.look(olive, "roster-check")
            olive.get_by_role("button", name="Store them").click()
            expect(olive.get_by_text("Stored in one transaction: 47 rows new or changed.")).to_be_visible()
            walk.look(olive, "roster")
            olive.locator("nav").get_by_role("link", name="Codes").click()
            olive.get_by_label("Codebook").set_input_files(DEMO / "codebook.csv")
            olive.get_by_role("button", name="Preview the import").click()
            expect(olive.get_by_text("It would add 12 codes")).to_be_visible()
            walk.look(olive, "codebook-check")
            olive.get_by_role("button", name="Import it").click()
            expect(olive.get_by_text("codebook.csv imported into the codebook")).to_be_visible()
            walk.look(olive, "codes")

            # Two transcripts from files, and a recording the server's worker transcribes.
            olive.locator("nav").get_by_role("link", name="Palliative care in pediatric oncology").click()
            olive.get_by_label("transcript files").set_input_files([DEMO / "transcripts" / "FG01.docx", DEMO / "transcripts" / "FG02.vtt"])
            olive.get_by_role("button", name="Import transcripts").click()
            expect(olive.get_by_role("link", name="FG02", exact=True)).to_be_visible()
            walk.look(olive, "transcripts")
            olive.locator("nav").get_by_role("link", name="Recordings").click()
            olive.get_by_label("recordings to transcribe").set_input_files(tmp_path / "FG03.wav")
            olive.get_by_role("button", name="Upload and transcribe").click()
            expect(olive.locator("#upload-status")).to_have_text("1 recording queued")
            naming = olive.get_by_role("link", name="Name the speakers")
            expect(naming).to_be_visible(timeout=180_000)
            walk.look(olive, "recordings-heard")
            naming.click()
            voices = olive.locator("select[name^=speaker-]")
            expect(voices.first).to_be_visible()
            people = iter(PEOPLE)
            for n in range(voices.count()):  # the proposal (the facilitator: who asks the most questions) taken, the others named in turn
                if voices.nth(n).input_value() == "":
                    voices.nth(n).select_option(next(people, ""))
            walk.look(olive, "speakers")
            olive.get_by_role("button", name="Store the transcript").click()
            expect(olive.locator(".turn").first).to_be_visible()
            assert olive.url.endswith("/transcripts/FG03")
            walk.look(olive, "recorded-transcript")

            # A coder, and a blind round of the two of them on the two transcripts.
            olive.locator("nav").get_by_role("link", name="People").click()
            type_into(olive, olive.get_by_label("Name", exact=True), CODER[0])
            type_into(olive, olive.get_by_label("First password"), CODER[1])
            olive.get_by_role("button", name="Add", exact=True).click()
            expect(olive.get_by_text("cora can now sign in here")).to_be_visible()
            walk.look(olive, "people")
            olive.locator("nav").get_by_role("link", name="Rounds").click()
            olive.get_by_label("olive").check()
            olive.get_by_label("cora").check()
            olive.get_by_role("option", name="FG01").click()
            olive.get_by_role("option", name="FG02").click(modifiers=["Control"])  # several, as the hint says
            type_into(olive, olive.get_by_label("Label"), "double coding")
            name, field = olive.get_by_text("Label", exact=True).bounding_box(), olive.get_by_label("Label").bounding_box()
            assert field["x"] > name["x"] + name["width"] and abs(field["y"] - name["y"]) < field["height"], "the field beside its name"
            walk.look(olive, "round-to-open")
            olive.get_by_role("button", name="Open the round").click()
            expect(olive.get_by_text("Round 1 (double coding) is open")).to_be_visible()
            expect(olive.get_by_role("status").filter(has_text="Round 1")).to_contain_text(re.compile("(olive, cora|cora, olive) on FG01, FG02"))
            walk.look(olive, "round-open")

            # Each codes in a browser of their own, seeing only their own codings.
            words = code_the_round(olive, walk, "olive")
            cora = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            cora.goto(olive.url.split("/transcripts/")[0] + "/")  # the address the owner gave her
            sign_in_to_study(cora, *CODER)
            expect(cora.locator("#blind")).to_be_visible()
            walk.look(cora, "cora-study")
            words |= code_the_round(cora, walk, "cora")
            olive.reload()  # cora's codings are not hers to see while the round is open
            expect(olive.locator(".margin .chip")).to_have_count(len([c for c in CODED["olive"] if c[0] == "FG02"]))

            # The round closed, its disagreements decided, the consensus written.
            olive.locator("nav").get_by_role("link", name="Rounds").click()
            olive.get_by_role("button", name="Close the round and compare").click()
            rows = olive.locator("#disagreements tr[data-code]")
            expect(rows).to_have_count(len(DECIDED))
            expect(olive.locator("#blind")).to_have_count(0)
            walk.look(olive, "agreement")
            for (transcript, turn), (decision, recode_to) in DECIDED.items():
                row = olive.locator(f"#disagreements tr[data-transcript={transcript}][data-turn='{turn}']")
                row.locator("select[name=decision]").select_option(decision)
                if recode_to:
                    row.locator("select[name=recode_to]").select_option(recode_to)
                expect(row.locator(".stored")).to_have_text("stored")
            walk.look(olive, "decided")
            olive.get_by_role("button", name="Write the consensus", exact=True).click()
            expect(olive.get_by_role("status").filter(has_text="Consensus written")).to_contain_text("2 kept, 1 dropped, 1 recoded")
            walk.look(olive, "consensus")

            # The themes, counted from the consensus; the page's figures are the hand counts.
            olive.get_by_role("status").get_by_role("link", name="the themes").click()  # the way on from the consensus
            olive.get_by_label("Findings count").select_option("consensus")
            olive.get_by_role("button", name="Apply the rule").click()
            counted = re.compile("Findings count the consensus coding of (cora and olive|olive and cora)")
            expect(olive.locator("#basis-line")).to_contain_text(counted)
            walk.look(olive, "themes")
            shown = {}
            for theme in olive.locator(".theme").all():
                label = theme.locator("b").inner_text()
                figures = re.search(r"(\d+) segments?, (\d+) participants?, (\d+) groups?", theme.inner_text())
                shown[label.split(" (")[0]] = (label, tuple(int(n) for n in figures.groups()))
            assert {name: counts for name, (_, counts) in shown.items()} == THEMES
            quoted = [re.match("“(.*)”", q).group(1) for q in olive.locator(".theme blockquote").all_inner_texts()]
            assert quoted and set(quoted) <= set(words.values()), "the quotes are the words the coders coded, kept ones too"

            # The Word draft, downloaded by its link: Table 2 holds the page's figures.
            with olive.expect_download() as download:
                olive.get_by_role("link", name="findings.docx").click()
            if shots is not None:
                download.value.save_as(shots / "findings.docx")
            draft = Document(download.value.path())
            assert any(counted.search(p.text) for p in draft.paragraphs), "the methods say which coding the findings count"
            [table] = [t for t in draft.tables if [c.text for c in t.rows[0].cells][:4] == ["Theme", "Raised by", "Participants", "Groups"]]
            in_word = {}
            for row in table.rows[1:]:
                theme, raised, participants, groups = (c.text for c in row.cells[:4])
                if participants != theme:  # a heading row ("Benefits") is one cell across the table
                    in_word[theme] = (raised, int(participants), int(groups))
            assert {name: (said[1], said[2]) for name, said in in_word.items()} == {name: (p, g) for name, (_, p, g) in THEMES.items()}
            for name, (label, _) in shown.items():
                raised = in_word[name][0]
                assert label == (f"{name} ({raised})" if raised != "none under the rule" else f"{name} (no discipline by the rule)"), label
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        print("".join(said))
    assert not walk.failing, "\n\n".join(f"{name}: {report}" for name, reports in walk.failing.items() for report in reports)
