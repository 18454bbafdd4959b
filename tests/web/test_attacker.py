"""The attacker's side, against ``chorus serve`` running on loopback as a team would start it.

tests/web/test_security.py checks the same defences on the app in process (it
counts the password hashes computed); here every request crosses a real socket
to a real server process, and what the server decided is read back from the
store it wrote.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.study.models import SignIn, Transcript, Turn
from chorus.web import users as accounts
from tests.helpers import imported
from tests.web.conftest import PASSWORD, chorus_serve

httpx = imported("httpx", "pip install 'chorus-qda[web]'")


def a_span(study) -> dict:
    """A coding's body for the first participant turn of FG01 (a turn's opening words, past the speaker's name)."""
    with study.reading() as session:
        start = session.scalars(select(Turn.start).join(Transcript).where(Transcript.name == "FG01").order_by(Turn.start)).all()[1]
    return {"transcript": "FG01", "code": "Funding", "start": start, "end": start + 5}


def signed_in(base: str, name: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A browser of ``name``'s, signed in; with the CSRF token its pages carry."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    answer = attempt(client, name, password)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text[:300]
    return client, re.search(r'const csrf = "([^"]+)"', client.get("/codes").text).group(1)


def attempt(client: httpx.Client, name: str, password: str) -> httpx.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf})


def replay(base: str, cookies: httpx.Cookies) -> int:
    """What a stolen cookie opens now: the status of the transcript it could read before."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as thief:
        return thief.get("/api/transcripts/FG01").status_code


def outcomes(study, name: str) -> list[str]:
    with study.reading() as session:
        return list(session.scalars(select(SignIn.outcome).where(SignIn.name == name).order_by(SignIn.id)))


@pytest.fixture
def backend() -> str:
    """SQLite only: what the store keeps of sessions and sign-ins is tested on both stores in test_security.py;
    here each test starts a server process, and the defences in front of the store are the same on either."""
    return "sqlite"


@pytest.fixture
def served(web):
    with chorus_serve(web.folder, "--lock-after", "5", "--lock-minutes", "15", "--upload-stall", "2") as base:
        yield web, base


def test_guessing_a_password_locks_the_account_until_an_owner_unlocks_it(served):
    study, base = served
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as guesser:
        failed = ["/login?failed=true"] * 3
        assert [attempt(guesser, "cora", f"guess {n}").headers["location"] for n in range(3)] == failed, "two mistypes free, then a wait"
        waiting = attempt(guesser, "cora", "guess 3")
        assert waiting.status_code == 429 and "just now; try again in 1 second" in waiting.text, "the fourth guess waits a second"
        time.sleep(1.1)
        assert attempt(guesser, "cora", "guess 3").headers["location"] == "/login?failed=true"
        time.sleep(2.1)  # then two
        assert attempt(guesser, "cora", "guess 4").headers["location"] == "/login?failed=true"
        refused = attempt(guesser, "cora", "guess 5")
        assert refused.status_code == 429 and "too many failed sign-ins for cora" in refused.text, "locked at the fifth failure"
        assert attempt(guesser, "cora", PASSWORD).status_code == 429, "the right password is refused while locked"
        # the server's own record: five checked failures, every other attempt refused before any hash work
        assert outcomes(study, "cora") == ["failed"] * 3 + ["refused", "failed", "failed", "locked", "refused", "refused"]
        owner, token = signed_in(base, "olive")
        assert owner.post("/people/cora", data={"unlock": "yes", "csrf": token}).status_code == 303
        assert attempt(guesser, "cora", PASSWORD).headers["location"] == "/", "unlocked by an owner"
        owner.close()
    assert "guess" not in json.dumps([str(row) for row in outcomes(study, "cora")])


def test_a_stolen_cookie_dies_with_sign_out_password_change_and_deactivation_even_from_the_command_line(served):
    study, base = served
    client, token = signed_in(base, "cora")
    assert replay(base, client.cookies) == 200
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert replay(base, client.cookies) == 401, "after sign-out"

    client, token = signed_in(base, "cole")
    stolen = httpx.Cookies(client.cookies)
    changed = client.post("/account", data={"current": PASSWORD, "password": "a new passphrase 2", "again": "a new passphrase 2", "csrf": token})
    assert changed.status_code == 303 and replay(base, client.cookies) == 200, "the changer goes on in a new session"
    assert replay(base, stolen) == 401, "after a password change"

    client, _ = signed_in(base, "vic")
    chorus = str(Path(sys.executable).parent / "chorus")
    subprocess.run([chorus, "--study", str(study.folder), "users", "deactivate", "vic"], check=True, capture_output=True)
    assert replay(base, client.cookies) == 401, "after deactivation in another process"


def test_a_demotion_counts_on_the_very_next_request(served):
    study, base = served
    coder, token = signed_in(base, "cole")
    body = a_span(study)
    made = coder.post("/api/codings", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    accounts.set_role(study, "cole", "viewer")
    assert coder.post("/api/codings", json={**body, "code": "Collaboration"}, headers={"X-CSRF-Token": token}).status_code == 401


def test_changes_without_a_token_or_with_it_in_the_url_are_refused(served):
    study, base = served
    coder, token = signed_in(base, "cora")
    body = a_span(study)
    assert coder.post("/api/codings", json=body).status_code == 403, "no token"
    assert coder.post(f"/api/codings?csrf={token}", json=body).status_code == 403, "a token in the URL"
    assert coder.post("/logout", params={"csrf": token}).status_code == 403
    assert coder.post("/api/codings", json=body, headers={"X-CSRF-Token": token}).status_code == 201


def raw_get(base: str, target: str, cookie: str) -> tuple[int, bytes]:
    """A GET sent byte for byte as written (no client tidies ``..`` away); the status and body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_no_file_route_leaves_the_study_by_its_path(served):
    study, base = served
    owner, _ = signed_in(base, "olive")
    cookie = "; ".join(f"{k}={v}" for k, v in owner.cookies.items())
    secrets = [b"SQLite format 3", (study.folder / "chorus.json").read_bytes()[:40], b"root:x:0:0"]
    assert raw_get(base, "/transcripts/FG01/audio", cookie)[0] == 200  # the routes work, so refusals below are the guard's
    hostile = ["..", "..%2F..%2Fchorus.json", "%2e%2e%2fstudy.sqlite", "..%5c..%5cchorus.json", "%2Fetc%2Fpasswd", "FG01%2F..%2F..%2Fchorus.json",
               "....%2F%2F....%2F%2Fetc%2Fpasswd", "%252e%252e%252fchorus.json"]
    for name in hostile:
        for route in [f"/transcripts/{name}/audio", f"/transcripts/{name}/export.qdpx", f"/jobs/{name}/audio", f"/transcripts/FG01/../../{name}"]:
            status, body = raw_get(base, route, cookie)
            assert status in (400, 404, 422), (route, status)
            assert not any(secret in body for secret in secrets), route


def test_oversized_and_stalled_uploads_are_cut_off_while_others_are_served(served):
    _, base = served
    coder, token = signed_in(base, "olive")
    big = coder.post("/api/transcripts", headers={"X-CSRF-Token": token}, files={"file": ("FG09.txt", b"x" * (21 * 2**20), "text/plain")})
    assert big.status_code == 413 and "limited to 20 MiB" in big.text

    def endless():  # no Content-Length: counted as it streams
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="FG09.txt"\r\nContent-Type: text/plain\r\n\r\n'
        for _ in range(25):
            yield b"y" * 2**20

    chunked = coder.post("/api/transcripts", headers={"X-CSRF-Token": token, "Content-Type": "multipart/form-data; boundary=b"}, content=endless())
    assert chunked.status_code == 413

    host, port = base.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in coder.cookies.items())
    slow = socket.create_connection((host, int(port)), timeout=30)
    slow.sendall(f"POST /api/transcripts HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nX-CSRF-Token: {token}\r\n"
                 "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n".encode())
    answered: list[bytes] = []

    def read_to_the_end() -> None:  # the server answers, then closes: headers and body may come in several pieces
        while chunk := slow.recv(4096):
            answered.append(chunk)

    reader = threading.Thread(target=read_to_the_end)
    reader.start()
    while reader.is_alive() and not answered:
        assert coder.get("/codes").status_code == 200, "others are served while an upload trickles"
        reader.join(0.2)
    reader.join(30)
    slow.close()
    answer = b"".join(answered)
    assert answer.startswith(b"HTTP/1.1 408") and b"sent nothing for 2 s" in answer
