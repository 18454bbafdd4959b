"""``chorus serve --home``: the one-time setup link, the server's owners, studies created in the browser, their people."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select, text, update

from tests.helpers import imported, require

imported("fastapi", "pip install 'chorus-qda[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from chorus.errors import ChorusError  # noqa: E402
from chorus.study import store  # noqa: E402
from chorus.web import home as homes  # noqa: E402
from chorus.web.app import create_home_server  # noqa: E402
from chorus.web.home import Home, OwnerSession, OwnerSignIn  # noqa: E402
from chorus.web.security import Policy  # noqa: E402
from chorus.web.signin import Throttle  # noqa: E402

PASSWORD = "correct horse battery"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def set_up(home: Home, policy: Policy | None = None) -> TestClient:
    """The first owner, 'ann', made through the setup link; the client signed in as her."""
    client = TestClient(create_home_server(home, policy=policy), follow_redirects=False)
    token = home.setup_token()
    assert client.get(f"/setup?token={token}").status_code == 200
    made = client.post("/setup", data={"token": token, "name": "ann", "password": PASSWORD, "again": PASSWORD})
    assert made.status_code == 303
    return client


def study_sign_in(client: TestClient, slug: str, name: str, password: str = PASSWORD) -> int:
    page = client.get(f"/studies/{slug}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(f"/studies/{slug}/login", data={"name": name, "password": password, "csrf": csrf}).headers["location"]


def test_the_setup_link_makes_the_first_owner_once(tmp_path: Path):
    home = Home(tmp_path / "home")
    client = TestClient(create_home_server(home), follow_redirects=False)
    assert "not set up yet" in client.get("/").text
    token = home.setup_token()
    assert client.get("/setup?token=guessed").status_code == 410
    differ = client.post("/setup", data={"token": token, "name": "ann", "password": PASSWORD, "again": PASSWORD + "x"})
    assert differ.status_code == 400 and "differ" in differ.text and not home.has_owner()
    short = client.post("/setup", data={"token": token, "name": "ann", "password": "short", "again": "short"})
    assert short.status_code == 400 and "at least 10" in short.text and not home.has_owner()
    made = client.post("/setup", data={"token": token, "name": "ann", "password": PASSWORD, "again": PASSWORD})
    assert made.status_code == 303 and home.has_owner()
    assert "Create a study" in client.get("/").text  # signed in as the new owner
    assert client.get("/login").headers["location"] == "/" and "Create a study" in client.get("/").text, "the sign-in page keeps the session"
    other = TestClient(create_home_server(home), follow_redirects=False)
    again = other.post("/setup", data={"token": token, "name": "eve", "password": PASSWORD, "again": PASSWORD})
    assert again.status_code == 410 and home.verify("eve", PASSWORD) is None
    assert other.get(f"/setup?token={token}").status_code == 410
    with pytest.raises(ChorusError, match="set up already"):
        home.setup_token()
    assert "Create a study" not in other.get("/").text


def test_a_setup_link_goes_stale(tmp_path: Path):
    home = Home(tmp_path / "home")
    token = home.setup_token()
    with home.engine.begin() as connection:
        connection.execute(update(homes._tokens).values(expires_at=homes._now().replace(year=2020)))
    client = TestClient(create_home_server(home), follow_redirects=False)
    assert client.get(f"/setup?token={token}").status_code == 410
    stale = client.post("/setup", data={"token": token, "name": "ann", "password": PASSWORD, "again": PASSWORD})
    assert stale.status_code == 410 and not home.has_owner()
    newer = home.setup_token()
    assert home.token_is_good(newer) and not home.token_is_good(token)


def test_owners_create_studies_and_add_people_who_see_only_their_study(tmp_path: Path):
    home = Home(tmp_path / "home")
    ann = set_up(home)
    csrf = csrf_of(ann.get("/").text)
    assert ann.post("/studies", data={"folder": "pc-study", "title": "Palliative care"}).status_code == 403  # no CSRF token
    made = ann.post("/studies", headers={"X-CSRF-Token": csrf}, data={"folder": "pc-study", "title": "Palliative care in pediatric oncology"})
    assert made.status_code == 303 and made.headers["location"] == "/studies/pc-study/"
    assert store.open(tmp_path / "home" / "pc-study").name == "Palliative care in pediatric oncology"
    assert ann.post("/studies", headers={"X-CSRF-Token": csrf}, data={"folder": "other", "title": "A second study"}).status_code == 303
    for folder, message in [("pc-study", "already a folder"), ("Bad Name", "cannot name a study folder"), ("../up", "cannot name")]:
        refused = ann.post("/studies", headers={"X-CSRF-Token": csrf}, data={"folder": folder, "title": "T"})
        assert refused.status_code == 400 and message in refused.text
    assert not (tmp_path / "up").exists()

    assert study_sign_in(ann, "pc-study", "ann") == "/studies/pc-study/"  # the creator owns it, with the same password
    people = ann.get("/studies/pc-study/people")
    assert people.status_code == 200 and "ann" in people.text
    token = csrf_of(people.text)
    short = ann.post("/studies/pc-study/people", headers={"X-CSRF-Token": token}, data={"name": "cora", "role": "coder", "password": "short"})
    assert short.status_code == 400 and "at least 10" in short.text
    added = ann.post("/studies/pc-study/people", headers={"X-CSRF-Token": token}, data={"name": "cora", "role": "coder", "password": PASSWORD})
    assert added.status_code == 303

    cora = TestClient(create_home_server(home), follow_redirects=False)
    assert study_sign_in(cora, "pc-study", "cora") == "/studies/pc-study/"
    assert cora.get("/studies/pc-study/").status_code == 200
    assert cora.get("/studies/pc-study/people").status_code == 403  # owners only
    assert study_sign_in(cora, "other", "cora") == "/studies/other/login?failed=true"  # not a person of the other study
    assert cora.get("/studies/other/").status_code == 303
    assert cora.post("/studies", data={"folder": "mine", "title": "Mine"}).status_code == 401  # not a server owner
    csrf_page = cora.get("/login")
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', csrf_page.text).group(1)
    assert cora.post("/login", data={"name": "cora", "password": PASSWORD, "csrf": login_csrf}).headers["location"] == "/login?failed=true"
    assert cora.get("/studies/nowhere/").status_code == 404
    assert sorted(slug for slug, _ in home.studies()) == ["other", "pc-study"]


def test_studies_created_on_the_servers_postgresql_keep_their_store_there(tmp_path: Path):
    url = os.environ.get("CHORUS_TEST_POSTGRES")
    if not url:
        require("PostgreSQL", "apt-get install postgresql, then set CHORUS_TEST_POSTGRES=postgresql://user:pass@127.0.0.1/db")
    slug = f"pg-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    home = Home(tmp_path / "home", db=url)
    ann = set_up(home)
    csrf = csrf_of(ann.get("/").text)
    try:
        assert ann.post("/studies", headers={"X-CSRF-Token": csrf}, data={"folder": slug, "title": "On the team server"}).status_code == 303
        study = home.study(slug)
        assert study.dialect == "postgresql" and not (tmp_path / "home" / slug / store.SQLITE_FILE).exists()
        assert study_sign_in(ann, slug, "ann") == f"/studies/{slug}/"
    finally:
        home.close()
        from sqlalchemy import create_engine

        engine = create_engine(store._normalise_url(url))
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "study_{slug.replace("-", "_")}" CASCADE'))
        engine.dispose()


def test_chorus_serve_home_prints_a_setup_link_that_works(tmp_path: Path):
    import httpx

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chorus_command = str(Path(sys.executable).parent / "chorus")
    server = subprocess.Popen(
        [chorus_command, "serve", "--home", str(tmp_path / "home"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "80"},
    )
    try:
        printed = []
        for line in server.stdout:
            printed.append(line)
            if "/setup?token=" in line:
                break
        link = printed[-1].strip()
        assert link.startswith(f"http://127.0.0.1:{port}/setup?token=")
        assert all(len(line.rstrip("\n")) <= 80 for line in printed[:-1])  # the link alone may be longer
        for _ in range(100):
            try:
                page = httpx.get(link, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert page.status_code == 200 and "first owner" in page.text
        token = parse_qs(urlparse(link).query)["token"][0]
        assert Home(tmp_path / "home").token_is_good(token)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_every_home_route_but_the_public_ones_needs_a_signed_in_server_owner_and_the_token(tmp_path: Path):
    home = Home(tmp_path / "home")
    ann = set_up(home)
    app = create_home_server(home)
    public = {("/", "GET"), ("/setup", "GET"), ("/setup", "POST"), ("/login", "GET"), ("/login", "POST")}
    routes = {(r.path, m) for r in app.routes if hasattr(r, "methods") for m in r.methods if m != "HEAD"}
    guarded = routes - public
    assert guarded == {("/studies", "POST"), ("/logout", "POST")}
    anonymous = TestClient(app, follow_redirects=False)
    for path, method in guarded:
        assert anonymous.request(method, path).status_code == 401, path
        assert ann.request(method, path).status_code == 403, f"{path} without the CSRF token"


def test_a_homes_studies_take_uploads_up_to_their_own_limits(tmp_path: Path):
    home = Home(tmp_path / "home")
    ann = set_up(home)
    ann.post("/studies", data={"folder": "pc-study", "title": "T", "csrf": csrf_of(ann.get("/").text)})
    study_sign_in(ann, "pc-study", "ann")
    token = re.search(r'const csrf = "([^"]+)"', ann.get("/studies/pc-study/recordings").text).group(1)
    two_mib = b"RIFF" + b"\x00" * (2 * 1024 * 1024)
    answer = ann.post("/studies/pc-study/api/recordings", files={"files": ("FG01.wav", two_mib, "audio/wav")}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 400 and "which group" in answer.json()["error"]  # read, past the 1 MiB limit of other requests


def _owner_attempt(client: TestClient, name: str, password: str):
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(client.get("/login").text)})


def test_guessing_an_owners_password_locks_the_name_without_checking_a_password(tmp_path: Path, monkeypatch):
    home = Home(tmp_path / "home")
    policy = Policy(throttle=Throttle(lock_after=3, first_delay=0))
    set_up(home, policy)
    checked = []
    real = homes.users.password_matches
    monkeypatch.setattr(homes.users, "password_matches", lambda stored, typed: checked.append(typed) or real(stored, typed))
    guesser = TestClient(create_home_server(home, policy=policy), follow_redirects=False)
    assert [_owner_attempt(guesser, "ann", f"guess {n}").headers["location"] for n in range(3)] == ["/login?failed=true"] * 3
    refused = _owner_attempt(guesser, "ann", PASSWORD)
    assert refused.status_code == 429 and "too many failed sign-ins for ann; try again in 15 minutes." in refused.text, "the right password, refused while locked"
    assert "ask an owner" not in refused.text, "no server owner can unlock another: the lock ends by itself"
    assert len(checked) == 3, "the refused attempt cost no password hash"
    with home.reading() as session:
        kept = session.execute(select(OwnerSignIn.name, OwnerSignIn.outcome).order_by(OwnerSignIn.id)).all()
    assert [o for n, o in kept if n == "ann"] == ["failed", "failed", "failed", "locked", "refused"]
    assert "guess" not in repr(kept), "never the password typed"
    with home.transaction() as session:  # the lock's 15 minutes go by
        session.execute(update(OwnerSignIn).values(at=homes._now() - timedelta(minutes=16)))
    assert _owner_attempt(guesser, "ann", PASSWORD).headers["location"] == "/"


def test_an_owners_session_ends_at_sign_out_and_when_idle(tmp_path: Path):
    home = Home(tmp_path / "home")
    ann = set_up(home)
    stolen = dict(ann.cookies)
    page = ann.get("/").text
    assert "Create a study" in page
    token = csrf_of(page)
    assert ann.post("/logout", data={"csrf": token}).status_code == 303
    replay = TestClient(create_home_server(home), follow_redirects=False, cookies=stolen)
    assert "Create a study" not in replay.get("/").text, "the copied cookie shows the page signed out"
    assert replay.post("/studies", data={"folder": "x", "title": "X", "csrf": token}).status_code == 401, "and may change nothing"
    with home.reading() as session:
        assert session.scalars(select(OwnerSession.ended_why)).all() == ["signed out"]
        assert session.scalars(select(OwnerSignIn.outcome)).all() == ["signed out"]

    assert _owner_attempt(ann, "ann", PASSWORD).headers["location"] == "/"
    with home.transaction() as session:  # 31 minutes without a request
        session.execute(update(OwnerSession).values(seen_at=homes._now() - timedelta(minutes=31)))
    assert "Create a study" not in ann.get("/").text
    with home.reading() as session:
        assert session.scalars(select(OwnerSession.ended_why).order_by(OwnerSession.id)).all() == ["signed out", "idle"]
