"""A study from nothing to speaker-named, corrected and de-identified transcripts in Chromium, without one CLI call after ``chorus serve``.

Set ``CHORUS_SCREENSHOTS=DIR`` to keep a screenshot of every page it passes through.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from chorus.audio.synthetic import FOCUS_GROUP, speak
from tests.audio.conftest import GROUPS, ROSTER, need_voices
from tests.helpers import chromium, imported, shooter

imported("playwright", "pip install 'chorus-qda[dev]'")
PASSWORD = "a long enough passphrase"
#: The spoken exchange, one nurse naming a patient (what de-identification must find).
SCRIPT = tuple(
    (who, "For me it means we talk with families like Emma Rodriguez's about comfort early, not only at the end.")
    if said.startswith("For me") else (who, said)
    for who, said in FOCUS_GROUP
)
BAD_ROSTER = ROSTER.replace("P02,Omar,physician", "P02,Omar,").replace("P03,Priya", "P01,Priya")  # two rows wrong


def test_a_researcher_runs_the_first_half_of_a_study_in_the_browser(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    need_voices()
    browser_path = chromium()
    files = tmp_path / "files"
    files.mkdir()
    speak(SCRIPT, files / "FG01.wav")
    speak(SCRIPT[:4], files / "FG02.wav")
    (files / "bad-roster.csv").write_text(BAD_ROSTER)
    (files / "roster.csv").write_text(ROSTER)
    (files / "groups.csv").write_text(GROUPS)
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home, keys = tmp_path / "home", tmp_path / "keys"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chorus"), "serve", "--home", str(home), "--keys", str(keys), "--port", str(_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        link = next(line.strip() for line in server.stdout if "/setup?token=" in line)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            shot = shooter(page, shots)
            _wait_for(lambda: _answers(page, link))
            shot("setup")
            page.fill("input[name=name]", "olive")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=again]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("text=Create a study")).to_be_visible()
            page.fill("input[name=title]", "Palliative care in pediatric oncology")
            page.fill("input[name=folder]", "pc-study")
            shot("home")
            page.click("text=Create the study")
            page.fill("input[name=name]", "olive")  # the study's own sign-in: the creator is its owner
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("text=No transcript yet")).to_be_visible()
            shot("new-study")

            page.click("nav >> text=Roster")
            page.set_input_files("input[name=roster]", str(files / "bad-roster.csv"))
            page.set_input_files("input[name=groups]", str(files / "groups.csv"))
            page.click("text=Check")
            expect(page.locator("text=nothing was stored")).to_be_visible()
            problems = page.locator("#problems tr").all_inner_texts()[1:]
            assert [p.split("\t")[:3] for p in problems] == [["bad-roster.csv", "line 4", "discipline"], ["bad-roster.csv", "line 5", "id"]]
            shot("roster-problems")
            page.click("text=upload the tables again")
            page.set_input_files("input[name=roster]", str(files / "roster.csv"))
            page.set_input_files("input[name=groups]", str(files / "groups.csv"))
            page.click("text=Check")
            expect(page.locator("text=4 people (4 new, 0 updated, 0 unchanged)")).to_be_visible()
            shot("roster-preview")
            page.click("text=Store them")
            expect(page.locator("text=Stored in one transaction: 6 rows new or changed.")).to_be_visible()

            page.click("nav >> text=Recordings")
            page.set_input_files("input[name=files]", [str(files / "FG01.wav"), str(files / "FG02.wav")])
            page.click("text=Upload and transcribe")
            expect(page.locator("#upload-status")).to_have_text("2 recordings queued")
            page.wait_for_selector("#jobs tr[data-state=running]", timeout=120_000)
            shot("recordings-running")
            expect(page.locator("#jobs tr[data-state=naming]")).to_have_count(2, timeout=300_000)
            shot("recordings-heard")

            names = {"FG01": ["F1", "P01", "P02", "P03"], "FG02": ["F1", "P01", "P02", ""]}  # FG02: one speaker unidentified
            for recording in ("FG01", "FG02"):
                page.locator(f"#jobs tr:has-text('{recording}.wav') >> text=Name the speakers").click()
                selects = page.locator("select[name^=speaker-]")
                for i in range(selects.count()):
                    selects.nth(i).select_option(names[recording][i] if i < len(names[recording]) else "")
                shot(f"speakers-{recording}")
                page.click("text=Store the transcript")
                page.wait_for_url(re.compile(f".*/transcripts/{recording}$"))
                shot(f"transcript-{recording}")
                page.click("nav >> text=Recordings")

            page.click("nav >> text=Palliative care in pediatric oncology")
            page.get_by_role("link", name="FG01", exact=True).click()
            page.wait_for_url(re.compile(".*/transcripts/FG01$"))
            shown = page.locator(".turn").nth(1).locator(".said").inner_text()
            page.locator(".turn").nth(1).locator("a", has_text=re.compile("^edit$")).click()
            heard = page.locator("textarea[name=text]").input_value()
            corrected = SCRIPT[1][1]  # what the nurse said, word for word
            page.fill("textarea[name=text]", corrected)
            shot("turn-editor")
            page.click("text=Save the turn")
            expect(page.locator(".turn").nth(1).locator(".said")).to_have_text(corrected)
            assert heard == shown, "the editor opens on the words the transcript shows"

            page.click("nav >> text=De-identify")
            page.click("text=Find in every transcript")
            page.wait_for_selector("#jobs tr[data-state=review]", timeout=180_000)
            shot("deid-found")
            page.click("text=Review the findings")
            expect(page.locator("mark", has_text="Emma Rodriguez").first).to_be_visible()
            for kind in page.locator("button[data-decide=accept]").all():
                kind.click()  # accept every finding, kind by kind ...
            if page.locator("button[data-kind=INSTITUTION][data-decide=reject]").count():
                page.click("button[data-kind=INSTITUTION][data-decide=reject]")  # ... but 'institutions' the recogniser made up
            shot("deid-review")
            page.click("text=Apply the accepted findings")
            expect(page.locator("text=not offered for download")).to_be_visible()
            shot("deid-applied")
            [key] = keys.joinpath("pc-study").iterdir()
            assert "Emma Rodriguez" in key.read_text() and str(key) in page.content()

            page.click("nav >> text=Palliative care in pediatric oncology")
            transcripts = page.locator("table").first.inner_text()
            assert "FG01" in transcripts and "FG02" in transcripts
            shot("study")
            page.click("nav >> text=Roster")
            roster = page.locator("table").first.inner_text()  # the participants, with their groups
            assert all(name in roster for name in ("Reyes", "Nina", "Omar", "Priya"))
            shot("roster")
            page.click("nav >> text=Palliative care in pediatric oncology")
            page.get_by_role("link", name="FG01", exact=True).click()
            page.wait_for_url(re.compile(".*/transcripts/FG01$"))
            assert "Emma Rodriguez" not in page.content() and "[PERSON-1]" in page.content()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if os.environ.get("CHORUS_SCREENSHOTS") is None:
        shutil.rmtree(shots, ignore_errors=True)


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(page, link: str) -> bool:
    try:
        return page.goto(link).status == 200
    except Exception:  # noqa: BLE001 - the server is still starting
        return False


def _wait_for(check, seconds: float = 60.0) -> None:
    import time

    until = time.monotonic() + seconds
    while not check():
        if time.monotonic() > until:
            raise AssertionError("the server did not answer")
        time.sleep(0.2)
