"""De-identification in the browser: the finder as a job, the review table, apply with the key outside the study."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from chorus.privacy import review
from chorus.study import jobs as queue
from chorus.study.models import Transcript
from tests.helpers import imported, unchanged
from tests.privacy.test_deidentify import _spacy, with_phi  # noqa: F401 - fixtures

imported("fastapi", "pip install 'chorus-qda[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from chorus.web import users  # noqa: E402
from chorus.web.app import create_app  # noqa: E402
from tests.web.conftest import PASSWORD  # noqa: E402


def owner_of(study, keys: Path | None, name: str = "olive", role: str = "owner") -> tuple[TestClient, str]:
    users.add_user(study, name, PASSWORD, role)
    client = TestClient(create_app(study, keys=keys), follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
    return client, re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)


def test_findings_are_reviewed_in_the_browser_and_the_key_goes_where_the_operator_said(with_phi, tmp_path: Path):
    client, csrf = owner_of(with_phi, tmp_path / "keys")
    assert str(tmp_path / "keys") in client.get("/deidentify").text
    job = client.post("/api/deidentify", headers={"X-CSRF-Token": csrf}).json()["job"]
    assert queue.run_next(with_phi, "test:1", {review.KIND: review.run}) == job  # a worker process's turn
    page = client.get(f"/deidentify/{job}")
    assert page.status_code == 200 and "<mark>Emma Rodriguez</mark>" in page.text
    ids = re.findall(r'name="decision-(\d+)"', page.text)
    kinds = dict(re.findall(r'<tr data-kind="(\w+)" data-words="([^"]*)"><td>', page.text))
    memphis = [i for i, words in zip(ids, re.findall(r'<tr data-kind="\w+" data-words="([^"]*)">', page.text)) if words == "Memphis"]
    form = {f"decision-{i}": "accept" for i in ids} | {f"decision-{i}": "reject" for i in memphis}
    done = client.post(f"/deidentify/{job}", headers={"X-CSRF-Token": csrf}, data=form)
    assert done.status_code == 200 and "Applied" in done.text and "not offered for download" in done.text and kinds
    [key] = (tmp_path / "keys").iterdir()
    assert str(key) in done.text
    with with_phi.reading() as session:
        text = session.scalar(select(Transcript.text))
    assert "Emma Rodriguez" not in text and "Memphis" in text
    assert client.get(f"/deidentify/{job}").status_code == 400  # applied: no longer waiting for review
    assert client.get(f"/deidentify/{job + 1}").json() == {"error": f"there is no job {job + 1}"}
    assert client.post(f"/deidentify/{job + 1}", headers={"X-CSRF-Token": csrf}, data=form).status_code == 404


def test_without_a_key_folder_the_findings_cannot_be_applied_and_coders_cannot_start(with_phi, tmp_path: Path):
    client, csrf = owner_of(with_phi, None)
    assert "no folder for key files" in client.get("/deidentify").text
    job = client.post("/api/deidentify", headers={"X-CSRF-Token": csrf}).json()["job"]
    queue.run_next(with_phi, "test:1", {review.KIND: review.run})
    ids = re.findall(r'name="decision-(\d+)"', client.get(f"/deidentify/{job}").text)
    with unchanged(with_phi):
        refused = client.post(f"/deidentify/{job}", headers={"X-CSRF-Token": csrf}, data={f"decision-{i}": "accept" for i in ids})
    assert refused.status_code == 400 and "no folder for de-identification keys" in refused.text
    coder, coder_csrf = owner_of(with_phi, None, "cora", "coder")
    assert coder.post("/api/deidentify", headers={"X-CSRF-Token": coder_csrf}).status_code == 403
    assert coder.get(f"/deidentify/{job}").status_code == 403


def test_in_a_browser_one_click_decides_every_finding_of_the_same_words(with_phi, tmp_path: Path):
    """Words found more than once are listed with their count; their buttons decide those rows and no others."""
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import chromium
    from tests.web.conftest import chorus_serve, follow, sign_in

    users.add_user(with_phi, "olive", PASSWORD, "owner")
    with chorus_serve(with_phi.folder, "--keys", str(tmp_path / "keys")) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "olive")
        follow(page, "De-identify")
        page.click("text=Find in every transcript")
        expect(page.locator("#jobs tr[data-state=review]")).to_have_count(1, timeout=180_000)  # found by the server's job worker
        page.get_by_role("link", name="Review the findings").click()
        expect(page.locator("#repeated")).to_contain_text("Emma Rodriguez ×2")
        expect(page.locator("#repeated")).to_contain_text("Jayden ×2")
        page.click("#repeated button[data-words='Jayden'][data-decide=reject]")
        page.click("#repeated button[data-words='Emma Rodriguez'][data-decide=accept]")
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        decided = [(row.get_attribute("data-words"), row.locator("select").input_value()) for row in page.locator("#findings tr[data-kind]").all()]
        browser.close()
    assert sorted(d for w, d in decided if w == "Jayden") == ["reject", "reject"]
    assert sorted(d for w, d in decided if w == "Emma Rodriguez") == ["accept", "accept"]
    others = [d for w, d in decided if w not in ("Jayden", "Emma Rodriguez")]
    assert others and set(others) == {""}  # the findings of other words are still to decide
