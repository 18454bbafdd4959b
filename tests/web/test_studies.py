"""Several studies on one server: a page listing them, each under its own path with its own accounts."""

from __future__ import annotations

import re

import pytest

from tests.helpers import chromium, imported, load_demo

imported("fastapi", "pip install 'chorus-qda[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from chorus.web import app as web_app  # noqa: E402
from chorus.web import users  # noqa: E402
from chorus.web.app import create_server  # noqa: E402
from tests.web.conftest import PASSWORD, serving  # noqa: E402


@pytest.fixture
def two(make_study):
    first, second = make_study("nurses-study"), make_study("physicians-study")
    load_demo(first, ["FG02"])
    load_demo(second, ["FG01"])
    users.add_user(first, "nina", PASSWORD, "coder")
    users.add_user(second, "omar", PASSWORD, "owner")
    return first, second


def _sign_in(client: TestClient, root: str, name: str) -> str:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"{root}/login").text).group(1)
    signed = client.post(f"{root}/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
    assert signed.status_code == 303 and signed.headers["location"] == f"{root}/"
    return re.search(r'const csrf = "([^"]+)"', client.get(f"{root}/codes").text).group(1)


def test_each_study_has_its_path_accounts_and_session(two, monkeypatch) -> None:
    client = TestClient(create_server(list(two)), follow_redirects=False)
    listing = client.get("/").text
    assert 'href="/studies/nurses-study/"' in listing and 'href="/studies/physicians-study/"' in listing
    csrf = _sign_in(client, "/studies/nurses-study", "nina")
    page = client.get("/studies/nurses-study/transcripts/FG02").text
    assert 'href="/studies/nurses-study/codes"' in page and '"root": "/studies/nurses-study"' in page  # the code menu's API calls start there
    assert 'src="/studies/nurses-study/static/transcript.js"' in page and client.get("/studies/nurses-study/static/transcript.js").status_code == 200
    # the session is the first study's only: the second asks to sign in, and nina has no account there
    assert client.get("/studies/physicians-study/").headers["location"] == "/studies/physicians-study/login"
    refused = client.post("/studies/physicians-study/login", data={"name": "nina", "password": PASSWORD, "csrf": "x"})
    assert refused.status_code == 403
    made = client.post(
        "/studies/nurses-study/api/codings", json={"transcript": "FG02", "code": "Funding", "start": 10, "end": 30}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201
    monkeypatch.setitem(web_app.UPLOAD_LIMITS, "/api/transcripts", 1024)
    big = client.post("/studies/nurses-study/api/transcripts", files=[("files", ("FG04.txt", b"x" * 4096))], headers={"X-CSRF-Token": csrf})
    assert big.status_code == 413 and "1 KiB" in big.json()["error"]


def test_in_a_browser_the_links_stay_inside_the_study(two) -> None:
    from playwright.sync_api import sync_playwright

    with serving(two[0], app=create_server(list(two))) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(base + "/")
        page.click("a[href='/studies/physicians-study/']")
        page.wait_for_url(base + "/studies/physicians-study/login")
        page.fill("input[name=name]", "omar")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/studies/physicians-study/")
        page.click("text=FG01")
        page.wait_for_url(base + "/studies/physicians-study/transcripts/FG01")
        page.click("nav >> text=Codes")
        page.wait_for_url(base + "/studies/physicians-study/codes")
        page.click("text=Sign out")
        page.wait_for_url(base + "/studies/physicians-study/login")
        browser.close()
