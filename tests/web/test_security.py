"""The web app against an attacker: password guessing, stolen cookies replayed, tokens in URLs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from chorus.errors import ChorusError, NotFound
from chorus.study import audit
from chorus.study.models import SignIn, WebSession, utcnow
from chorus.web import signin
from chorus.web import users as accounts
from chorus.web.app import create_app
from chorus.web.security import Policy, Sessions
from chorus.web.signin import Throttle
from tests.web.conftest import PASSWORD, signed_in

QUICK = Policy(Throttle(lock_after=10, address_lock_after=50, lock_minutes=15, first_delay=0))


def attempt(client: TestClient, name: str, password: str):
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf})


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """The names whose password was checked (the costly argon2 work), in order."""
    checked: list[str] = []
    real = accounts.password_matches
    monkeypatch.setattr(accounts, "password_matches", lambda stored, password: checked.append(password) or real(stored, password))
    return checked


def test_the_eleventh_guess_is_refused_unchecked_until_an_owner_unlocks(web, hashes):
    guesser = TestClient(create_app(web, policy=QUICK), follow_redirects=False)
    for n in range(10):
        assert attempt(guesser, "cora", f"guess {n}").headers["location"] == "/login?failed=true"
    assert len(hashes) == 10
    eleventh = attempt(guesser, "cora", "guess 10")
    assert eleventh.status_code == 429 and "too many failed sign-ins for cora" in eleventh.text and len(hashes) == 10, "refused without hash work"
    right = attempt(guesser, "cora", PASSWORD)
    assert right.status_code == 429 and len(hashes) == 10, "the right password is refused while locked"
    assert signin.locked(web, QUICK.throttle) == ["cora"]
    owner = TestClient(create_app(web, policy=QUICK), follow_redirects=False)
    assert attempt(owner, "olive", PASSWORD).headers["location"] == "/"
    token = re.search(r'name="csrf" value="([^"]+)"', owner.get("/people").text).group(1)
    assert 'id="unlock-cora"' in owner.get("/people").text
    assert owner.post("/people/cora", data={"unlock": "yes", "csrf": token}).status_code == 303
    assert attempt(guesser, "cora", PASSWORD).headers["location"] == "/", "an owner unlocked it"
    with pytest.raises(NotFound, match=r"there is no user called 'nobody' \(users: "):  # the accounts' own lookup and message
        signin.unlock(web, name="nobody", by="olive")
    assert owner.post("/people/nobody", data={"unlock": "yes", "csrf": token}).status_code == 404
    trail = audit.log(web, entity="sign_in")
    outcomes = [a["outcome"] for a in map(__import__("json").loads, trail["after"])]
    assert outcomes.count("failed") == 10 and {"locked", "refused", "unlocked", "signed in"} <= set(outcomes)
    assert not any("guess" in str(after) for after in trail["after"]), "never the password typed"
    assert set(trail[trail["after"].str.contains('"unlocked"')]["actor"]) == {"olive"}


def test_failures_make_the_next_attempt_wait_and_an_address_is_locked_across_names(web, hashes):
    slow = TestClient(create_app(web, policy=Policy(Throttle(first_delay=20))), follow_redirects=False)
    for _ in range(3):  # two mistypes are free; the third failure makes the next attempt wait
        attempt(slow, "vic", "wrong")
    waiting = attempt(slow, "vic", PASSWORD)
    assert waiting.status_code == 429 and "try again in 20 seconds" in waiting.text and len(hashes) == 3, re.findall(r"Not checked[^<]*", waiting.text)
    spray = TestClient(create_app(web, policy=Policy(Throttle(address_lock_after=5, first_delay=0))), follow_redirects=False)
    for name in ("cole", "nobody"):  # with vic's three above, five failures from this address
        attempt(spray, name, "wrong")
    blocked = attempt(spray, "olive", PASSWORD)
    assert blocked.status_code == 429 and "from this address" in blocked.text and len(hashes) == 5
    signin.unlock(web, address="testclient", by="olive")
    assert attempt(spray, "olive", PASSWORD).headers["location"] == "/"


def replayed(study, name: str) -> tuple[TestClient, dict[str, str], str]:
    """A signed-in client, and a copy of its cookie as a thief would take it."""
    client, token = signed_in(study, name)
    return client, dict(client.cookies), token


def thief(study, cookies: dict[str, str]) -> TestClient:
    other = TestClient(create_app(study), follow_redirects=False)
    other.cookies.update(cookies)
    return other


def test_a_copied_cookie_stops_working_when_the_server_ends_its_session(web):
    client, cookies, token = replayed(web, "cora")
    assert thief(web, cookies).get("/api/transcripts/FG01").status_code == 200
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert thief(web, cookies).get("/api/transcripts/FG01").status_code == 401, "after sign-out"

    client, cookies, token = replayed(web, "cole")
    done = client.post("/account", data={"current": PASSWORD, "password": "a new passphrase 2", "again": "a new passphrase 2", "csrf": token})
    assert done.status_code == 303 and client.get("/api/transcripts/FG01").status_code == 200, "the changer goes on in a new session"
    assert thief(web, cookies).get("/api/transcripts/FG01").status_code == 401, "after a password change"

    _, cookies, _ = replayed(web, "vic")
    accounts.set_active(web, "vic", False)
    assert thief(web, cookies).get("/api/transcripts/FG01").status_code == 401, "after deactivation"


def test_a_demotion_counts_on_the_next_request_and_sessions_time_out(web):
    owner, token = signed_in(web, "olive")
    accounts.add_user(web, "otto", PASSWORD, "owner")
    otto, _ = signed_in(web, "otto")
    assert otto.get("/people").status_code == 200
    assert owner.post("/people/otto", data={"role": "viewer", "csrf": token}).status_code == 303
    assert otto.get("/people").status_code in (303, 401, 403)
    reader, _ = signed_in(web, "vic")
    with web.transaction() as session:
        session.execute(update(WebSession).values(seen_at=utcnow() - timedelta(minutes=31)))
    assert reader.get("/api/transcripts/FG01").status_code == 401, "idle for 31 minutes"
    reader, _ = signed_in(web, "vic")
    with web.transaction() as session:
        session.execute(update(WebSession).where(WebSession.ended_at.is_(None)).values(created_at=utcnow() - timedelta(hours=13)))
    assert reader.get("/api/transcripts/FG01").status_code == 401, "13 hours after sign-in"
    with web.reading() as session:
        why = set(session.scalars(select(WebSession.ended_why)))
        kept = list(session.scalars(select(WebSession.digest)))
    assert {"idle", "expired", "role changed"} <= why
    cookie = reader.cookies.get("chorus_session")
    assert all(len(d) == 64 and d not in cookie for d in kept), "only a hash of the session id is stored"
    with web.reading() as session:
        assert session.scalar(select(SignIn.id).where(SignIn.outcome == "signed in")) is not None


def test_guessable_passwords_are_refused_with_advice(web):
    for weak in ("password1234", "qwertyuiop12", "olive olive olive"):
        with pytest.raises(ChorusError, match="too easy to guess"):
            accounts.add_user(web, "olivia", weak, "coder")
    owner, token = signed_in(web, "olive")
    refused = owner.post("/people", data={"name": "pat", "role": "coder", "password": "abcdefghij1", "csrf": token})
    assert refused.status_code == 400 and "too easy to guess" in refused.text
    accounts.add_user(web, "pat", "quartz lantern meadow", "coder")  # a few uncommon words


def test_a_password_made_of_the_study_title_or_the_name_is_refused(tmp_path):
    import chorus

    palliative = chorus.init(tmp_path / "pc", name="Palliative care in pediatric oncology")
    heart = chorus.init(tmp_path / "hf", name="Home monitoring after heart failure")
    for strong_elsewhere in ("Palliative2025", "Oncology2025!", "Pediatric2025!"):  # zxcvbn scores each 3 on its own
        accounts.add_user(heart, f"pat-{strong_elsewhere[:4]}", strong_elsewhere, "coder")
        with pytest.raises(ChorusError, match="too easy to guess"):
            accounts.add_user(palliative, "pat", strong_elsewhere, "coder")
    accounts.add_user(heart, "Kim", "Zabrowski2025", "coder")
    with pytest.raises(ChorusError, match="too easy to guess"):
        accounts.add_user(heart, "Zabrowski", "Zabrowski2025", "coder")


def test_a_session_in_a_signed_cookie_alone_still_reads_its_person_on_every_request(web):
    """No kept row to read the person with (the web benchmark's baseline): the role check reads them on their own."""
    app = create_app(web)
    app.state.sessions = Sessions(web.folder, "", secure=False)
    client = TestClient(app, follow_redirects=False)
    assert attempt(client, "vic", PASSWORD).status_code == 303
    assert client.get("/api/transcripts/FG01").status_code == 200
    accounts.set_active(web, "vic", False)
    assert client.get("/api/transcripts/FG01").status_code == 401, "after deactivation"
