"""The web tests' study with four accounts, and helpers to sign in through the API or a browser."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import imported, load_demo
from tests.stores import built

imported("fastapi", "pip install 'chorus-qda[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from chorus.web import users  # noqa: E402
from chorus.web.app import create_app  # noqa: E402

PASSWORD = "correct horse battery"


AUDIO = Path(__file__).resolve().parents[1] / "data" / "audio" / "sample.wav"


def with_recording(study, group: str) -> None:
    """Give ``group`` a recording in the study folder (a real 30 s call, standing in for the session's audio)."""
    from chorus.ingest import import_groups

    (study.folder / "recordings").mkdir(exist_ok=True)
    shutil.copy(AUDIO, study.folder / "recordings" / f"{group}.wav")
    (study.folder / "recordings.csv").write_text(f"group,recording\n{group},recordings/{group}.wav\n")
    import_groups(study, study.folder / "recordings.csv")


@pytest.fixture
def web(study):
    return built(study, _web_study)


def _web_study(study) -> None:
    load_demo(study, transcripts=["FG01"])
    with_recording(study, "FG01")
    for name, role in [("olive", "owner"), ("cora", "coder"), ("vic", "viewer"), ("cole", "coder")]:
        users.add_user(study, name, PASSWORD, role)


def signed_in(study, name: str | None) -> tuple[TestClient, str]:
    client = TestClient(create_app(study), follow_redirects=False)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    if name is None:
        return client, csrf
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/"
    token = re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)
    return client, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(study, app=None) -> Iterator[str]:
    """The app (by default ``study``'s) on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app or create_app(study), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True


def sign_in(page, base: str, name: str) -> None:
    """Sign in through the login form as a person does: click each field, type, press Enter."""
    page.goto(base + "/login")
    page.get_by_label("Name").click()
    page.keyboard.type(name)
    page.get_by_label("Password").click()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def follow(page, *links: str) -> None:
    """Go on as a person does, by links: the bar's link named ``links[0]``, then each further link by its whole name on the page it reached."""
    page.locator("nav").get_by_role("link", name=links[0], exact=True).click()
    page.wait_for_load_state()
    for name in links[1:]:
        page.get_by_role("link", name=name, exact=True).first.click()
        page.wait_for_load_state()


#: What axe-core checks: WCAG 2.0 and 2.1, levels A and AA, what universities buy to.
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]}


def accessible(page) -> None:
    """The page as it is now has no WCAG 2.1 AA violation axe-core finds (each one named when it has)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG_AA)
    assert found.violations_count == 0, f"{page.url}: {found.generate_report()}"


def drag_over(page, turn: int, first: int, last: int) -> dict:
    """Select characters [first, last) of a turn's words by dragging the mouse over them; returns the words and the line's top and bottom.

    The characters' places on screen are read from the page; the selection itself is made by the mouse.
    """
    said = page.locator(".turn").nth(turn - 1).locator(".said")
    said.scroll_into_view_if_needed()
    box = said.evaluate("""(node, [first, last]) => {
        const at = i => {  // the screen box of the i-th character of the turn's words, marks or not
            const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
            for (let text = walker.nextNode(), seen = 0; text; seen += text.length, text = walker.nextNode())
                if (i < seen + text.length) { const r = document.createRange(); r.setStart(text, i - seen); r.setEnd(text, i - seen + 1); return r.getBoundingClientRect(); }
        };
        const a = at(first), b = at(last - 1);
        return {x0: a.left + 1, y0: (a.top + a.bottom) / 2, x1: b.right - 1, y1: (b.top + b.bottom) / 2, top: a.top, bottom: b.bottom,
                words: node.textContent.slice(first, last)};
    }""", [first, last])
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, box["y1"], steps=4)
    page.mouse.move(box["x1"], box["y1"], steps=4)
    page.mouse.up()
    return box



def code_with_the_menu(page, turn: int, first: int, last: int, code: str) -> None:
    """Code characters [first, last) of a turn as a coder does: drag the mouse over them, type the code into the menu, click it."""
    from playwright.sync_api import expect

    drag_over(page, turn, first, last)
    expect(page.get_by_role("combobox")).to_be_focused()
    page.keyboard.type(code)
    option = page.get_by_role("option").first
    expect(option).to_contain_text(code)
    option.click()
    expect(page.get_by_role("dialog", name="Code the selected words")).to_be_hidden()


@contextmanager
def chorus_serve(folder: Path, *options: str, scheme: str = "http") -> Iterator[str]:
    """``chorus serve`` on ``folder`` in a process of its own on a free loopback port, as a user starts it; yields its base URL.

    What the server printed is printed when the block ends, so a failing test shows it.
    """
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    import httpx

    port = _free_port()
    command = [str(Path(sys.executable).parent / "chorus"), "--study", str(folder), "serve", "--port", str(port), *options]
    with tempfile.TemporaryFile(mode="w+") as said:  # a file, not a pipe: the server's worker processes share it
        server = subprocess.Popen(command, stdout=said, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        base = f"{scheme}://127.0.0.1:{port}"
        try:
            for _ in range(600):
                if server.poll() is not None:
                    said.seek(0)
                    raise RuntimeError(f"chorus serve stopped at start: {said.read()}")
                try:
                    httpx.get(base + "/login", timeout=1, verify=False)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield base
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            said.seek(0)
            print(said.read())
