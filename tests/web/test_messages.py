"""Every error the web app shows names what to do in the web app, never a terminal command (``chorus ...``) or option (``--group``).

Each request below meets one of the library's errors that pages and JSON answers
show; the words shown are checked, not the source.
"""

from __future__ import annotations

import html
import re

from tests.helpers import DEMO
from tests.web.conftest import AUDIO, signed_in


def in_web_words(said: str) -> str:
    assert "chorus " not in said.lower() and " --" not in said, f"a terminal command shown in the browser: {said}"
    return said


def page_error(page: str) -> str:
    found = re.findall(r'class="error"[^>]*>(.*?)</', page, flags=re.S)
    assert found, "the page shows no error"
    return in_web_words(" ".join(found))


def test_no_page_or_json_error_tells_the_browser_to_use_a_terminal(web):
    client, csrf = signed_in(web, "olive")
    headers = {"X-CSRF-Token": csrf}

    def refused(path: str, **sent) -> str:
        answer = client.post(path, headers=headers, **sent)
        assert answer.status_code == 400, (path, answer.text)
        return in_web_words(answer.json()["error"])

    stray = refused("/api/transcripts", files=[("files", ("interview.txt", b"Reyes: hello", "text/plain"))])
    assert "cannot tell which group" in stray and "the Group field" in stray and "FG01" in stray
    again = refused("/api/transcripts", files=[("files", ("FG01.txt", (DEMO / "transcripts" / "FG03.txt").read_bytes(), "text/plain"))])
    assert "already in the study" in again
    assert "UTF-8" in refused("/api/transcripts", files=[("files", ("FG02.txt", "Reyes: hello".encode("utf-16-le"), "text/plain"))])
    assert "the Group field" in refused("/api/recordings", files=[("files", ("interview.wav", AUDIO.read_bytes(), "audio/wav"))])
    assert "no codebook version 8 (versions: none kept yet)" in page_error(client.get("/codes/versions?old=8&new=9").text)
    assert "no folder for key files" in page_error(client.get("/deidentify").text)  # this app was given no --keys
    login, _ = signed_in(web, None)
    assert "People page" in in_web_words(login.get("/login").text.split("<main>")[1])


def test_a_study_with_no_groups_yet_says_so_when_a_transcript_cannot_find_its_group(study):
    from chorus.errors import InputError
    from chorus.ingest.transcripts import group_for

    error = None
    try:
        group_for(DEMO / "transcripts" / "FG01.txt", {})
    except InputError as exc:
        error = exc
    assert error is not None and "there are no groups yet: add them to the roster first" in str(error)
    assert error.for_command_line().endswith("or name its group with --group")


def page_words(page: str) -> str:
    """What a page says to the person (its main part's text, without its scripts and styles), checked for terminal advice."""
    main = page.split("<main>", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return in_web_words(html.unescape(re.sub(r"<[^>]+>", " ", main)))


def test_the_errors_and_help_that_named_a_command_name_the_web_way(web, tmp_path):
    """Issue 48: re-importing a project's transcript, a guide not yet uploaded, a language model not named, and the help of
    the Agreement and Audit pages: each says what to do in the web app."""
    from chorus.coding import apply_code
    from tests.interop import tiny

    client, csrf = signed_in(web, "olive")
    headers = {"X-CSRF-Token": csrf}
    project = tiny.write(tmp_path)  # its FG01 is another project's source than the study's FG01
    sent = [("file", ("tiny.qdpx", project.read_bytes(), "application/zip"))]
    which = client.post("/api/import", headers=headers, files=sent)
    assert which.status_code == 400 and "name it in the discipline variable field" in in_web_words(which.json()["error"])
    clash = client.post("/api/import", headers=headers, files=sent, data={"discipline": "Profession"})
    assert clash.status_code == 400, clash.text
    said = in_web_words(clash.json()["error"])
    assert "not this project's source" in said and "its Remove link on the study's home page" in said

    aligned = client.post("/guide/align", data={"csrf": csrf})
    assert "no discussion guide yet: upload it on the Guide page" in page_words(client.get(aligned.headers["location"]).text)
    for coder in ("cora", "cole"):
        apply_code(web, "FG01", "Funding", coder, turn=2)
    summaries = client.post("/summaries", data={"csrf": csrf})  # coded passages to summarise, and no model named
    assert summaries.status_code == 400 and "whoever runs the server can name a local one" in page_error(summaries.text)
    agreement = page_words(client.get("/agreement?coders=cora&coders=cole&unit=turn").text)
    assert "For cora, cole, by turn" in agreement and "kappa" in agreement
    assert "whoever runs the server can export the entries in full" in page_words(client.get("/audit").text)
    for path in ("/", "/guide", "/transcripts/FG01/remove", "/roster", "/codes", "/agreement", "/audit", "/rounds", "/people", "/evaluation"):
        page_words(client.get(path).text)  # the pages an owner reads to act: no command in their words
    report = client.get("/report")  # a document of its own (no <main>): its words, without its styles
    assert report.status_code == 200, report.text
    words = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", report.text, flags=re.S)))
    assert "by Chorus 0" in words  # the product and version it names, as a report should (capitalised, a number after it)
    assert not re.search(r"\bchorus [a-z]| --[a-z]", words), f"a terminal command in the report: {words}"
