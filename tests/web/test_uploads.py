"""Uploads through the web app (transcripts, REFI-QDA projects) and code system edits: limits,
hostile names, errors naming the uploaded file, all or nothing, and who may do it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import DEMO, imported, load_demo, unchanged

imported("fastapi", "pip install 'chorus-qda[web]'")

from chorus.study import audit  # noqa: E402
from chorus.study.models import Code, Coding, Transcript  # noqa: E402
from chorus.web import app as web_app  # noqa: E402
from chorus.web import users  # noqa: E402
from tests.web.conftest import PASSWORD, signed_in  # noqa: E402


def _transcripts(study) -> list[str]:
    with study.reading() as session:
        return sorted(session.scalars(select(Transcript.name)))


def test_an_owner_uploads_transcripts_in_one_transaction(web) -> None:
    client, csrf = signed_in(web, "olive")
    files = [("files", ("FG02.vtt", (DEMO / "transcripts" / "FG02.vtt").read_bytes(), "text/vtt"))]
    made = client.post("/api/transcripts", files=files, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["imported"] == ["FG02"]
    assert _transcripts(web) == ["FG01", "FG02"]
    assert set(audit.log(web, entity="transcript")["actor"]) >= {"olive"}
    # a second file with an unknown speaker stops both; the error names the uploaded file and line
    bad = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Somebody Else>hello\n"
    files = [("files", ("FG03.txt", (DEMO / "transcripts" / "FG03.txt").read_bytes(), "text/plain")), ("files", ("FG04.vtt", bad, "text/vtt"))]
    with unchanged(web):
        refused = client.post("/api/transcripts", files=files, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error.startswith("FG04.vtt: 1 turn(s) with speakers not in group FG04: line 3: unknown speaker 'Somebody Else'")
    assert "/tmp" not in error


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../../../etc/FG02.exe", "FG02.exe: expected one of"),
        (".bashrc", "expected one of"),
        ("..\\..\\notes.txt", "notes.txt: cannot tell which group"),
        ("/etc/passwd.txt", "passwd.txt: cannot tell which group"),
    ],
)
def test_hostile_file_names_are_reduced_to_a_name_and_refused(web, tmp_path: Path, filename: str, message: str) -> None:
    client, csrf = signed_in(web, "olive")
    with unchanged(web):
        refused = client.post("/api/transcripts", files=[("files", (filename, b"Reyes: hello", "text/plain"))], headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and message in refused.json()["error"]


def test_uploads_over_the_limit_are_refused_even_without_a_length(web, monkeypatch) -> None:
    monkeypatch.setitem(web_app.UPLOAD_LIMITS, "/api/transcripts", 64 * 1024)
    client, csrf = signed_in(web, "olive")
    big = b"Adaeze: " + b"words " * 20_000
    with unchanged(web):
        declared = client.post("/api/transcripts", files=[("files", ("FG02.txt", big, "text/plain"))], headers={"X-CSRF-Token": csrf})
        assert declared.status_code == 413 and "64 KiB" in declared.json()["error"]

        body = (b'--b\r\nContent-Disposition: form-data; name="files"; filename="FG02.txt"\r\n'
                b"Content-Type: text/plain\r\n\r\n" + big + b"\r\n--b--\r\n")

        def chunks():  # a well-formed upload sent in chunks, with no Content-Length
            for at in range(0, len(body), 4096):
                yield body[at : at + 4096]

        streamed = client.post("/api/transcripts", content=chunks(), headers={"X-CSRF-Token": csrf, "Content-Type": "multipart/form-data; boundary=b"})
        assert streamed.status_code == 413, streamed.text


def test_a_refi_qda_project_uploads_into_a_study(make_study, tmp_path: Path) -> None:
    from chorus.interop import export_qdpx

    source = make_study("source")
    load_demo(source, ["FG01", "FG02"])
    export_qdpx(source, tmp_path / "pc.qdpx")
    target = make_study("target")
    users.add_user(target, "olive", PASSWORD, "owner")
    users.add_user(target, "cora", PASSWORD, "coder")
    coder, coder_csrf = signed_in(target, "cora")
    data = (tmp_path / "pc.qdpx").read_bytes()
    assert coder.post("/api/import", files={"file": ("pc.qdpx", data)}, headers={"X-CSRF-Token": coder_csrf}).status_code == 403
    client, csrf = signed_in(target, "olive")
    truncated = data[: len(data) // 2]
    with unchanged(target):
        broken = client.post("/api/import", files={"file": ("pc.qdpx", truncated)}, headers={"X-CSRF-Token": csrf})
    assert broken.status_code == 400 and broken.json()["error"].startswith("pc.qdpx")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", b"<" + b" " * (300 * 1024 * 1024))
    with unchanged(target):
        refused = client.post("/api/import", files={"file": ("bomb.qdpx", bomb.getvalue())}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and refused.json()["error"].startswith("bomb.qdpx")
    done = client.post("/api/import", files={"file": ("pc.qdpx", data)}, data={"discipline": "discipline"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201, done.text
    assert done.json()["transcripts"] == 2 and _transcripts(target) == ["FG01", "FG02"]


def test_the_code_system_is_edited_moved_and_merged_with_version_checks(web) -> None:
    client, csrf = signed_in(web, "olive")
    headers = {"X-CSRF-Token": csrf}
    page = client.get("/codes")
    assert page.status_code == 200 and 'data-path="Challenges/Funding"' in page.text and "<button class=\"primary\" data-save>" in page.text
    with web.reading() as session:
        version = session.scalar(select(Code.version).where(Code.name == "Funding"))
    moved = client.patch("/api/codes/Challenges/Funding", json={"version": version, "name": "Money", "parent": ""}, headers=headers)
    assert moved.status_code == 200, moved.text
    stale = client.patch("/api/codes/Money", json={"version": version, "colour": "#112233"}, headers=headers)
    assert stale.status_code == 409
    client.post("/api/codes", json={"name": "Costs", "parent": "Challenges"}, headers=headers)
    from chorus.coding.codings import apply_code

    apply_code(web, "FG01", "Money", "cora", turn=2)
    merged = client.post("/api/codes/Money/merge", json={"target": "Challenges/Costs"}, headers=headers)
    assert merged.status_code == 200 and merged.json() == {"moved": 1}
    with web.reading() as session:
        assert session.scalar(select(Code).where(Code.name == "Money")) is None
        (coding,) = session.scalars(select(Coding)).all()
        assert coding.code.name == "Costs"
    coder, coder_csrf = signed_in(web, "cora")
    assert coder.post("/api/codes/Challenges/Costs/merge", json={"target": "Benefits"}, headers={"X-CSRF-Token": coder_csrf}).status_code == 403
    page = coder.get("/codes").text
    assert "<button class=\"primary\" data-save>" not in page and 'id="add"' in page  # coders add codes; owners edit them


def test_in_a_browser_an_owner_uploads_a_transcript_and_edits_a_code(web, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.helpers import chromium
    from tests.web.conftest import follow, serving, sign_in

    (tmp_path / "FG02.vtt").write_bytes((DEMO / "transcripts" / "FG02.vtt").read_bytes())
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "olive")
        page.set_input_files("#transcripts-form input[type=file]", str(tmp_path / "FG02.vtt"))
        page.click("#transcripts-form button")
        page.wait_for_selector("a:has-text('FG02')")
        page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
        follow(page, "Codes")
        row = page.locator(".code[data-path='Challenges/Funding']")
        row.locator("summary").click()
        row.locator("textarea[name=definition]").fill("Money for palliative care positions and services.")
        row.locator("[data-save]").click()
        page.wait_for_selector("text=Money for palliative care positions and services.")
        page.screenshot(path=str(tmp_path / "codes.png"), full_page=True)
        browser.close()
    assert _transcripts(web) == ["FG01", "FG02"]
    with web.reading() as session:
        assert session.scalar(select(Code.definition).where(Code.name == "Funding")) == "Money for palliative care positions and services."


def test_a_code_edit_that_fails_part_way_changes_nothing(web) -> None:
    client, csrf = signed_in(web, "olive")
    with web.reading() as session:
        version = session.scalar(select(Code.version).where(Code.name == "Funding"))
    client.post("/api/codes", json={"name": "Money"}, headers={"X-CSRF-Token": csrf})  # a top-level code of the new name
    with unchanged(web):  # the rename would do, the move to the top clashes: the definition is not kept either
        clash = client.patch(
            "/api/codes/Challenges/Funding", json={"version": version, "definition": "new", "name": "Money", "parent": ""},
            headers={"X-CSRF-Token": csrf},
        )
        assert clash.status_code == 400 and "there is already a code 'Money' there" in clash.json()["error"]
