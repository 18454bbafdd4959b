"""Every error the web app shows names what to do in the web app, never a terminal command (``chorus ...``) or option (``--group``).

Each request below meets one of the library's errors that pages and JSON answers
show; the words shown are checked, not the source.
"""

from __future__ import annotations

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
