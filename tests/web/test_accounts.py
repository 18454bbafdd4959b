"""Accounts in the browser: roles, deactivation refused at the next click, one-time reset links, one's own password."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from chorus.study.audit import log
from chorus.web.app import create_app
from chorus.web.users import users
from tests.web.conftest import PASSWORD, signed_in


def test_a_deactivated_coder_is_refused_on_their_next_request_and_cannot_sign_in(web):
    coder, coder_csrf = signed_in(web, "cora")
    owner, csrf = signed_in(web, "olive")
    assert coder.get("/codes").status_code == 200
    done = owner.post("/people/cora", headers={"X-CSRF-Token": csrf}, data={"active": "no"})
    assert done.status_code == 303 and "deactivated" in done.headers["location"]
    assert coder.get("/codes").status_code == 303, "the open session is refused at once"
    assert coder.post("/api/codes", json={"name": "X"}, headers={"X-CSRF-Token": coder_csrf}).status_code == 401
    again, login_csrf = signed_in(web, None)
    refused = again.post("/login", data={"name": "cora", "password": PASSWORD, "csrf": login_csrf})
    assert refused.headers["location"] == "/login?failed=true"
    owner.post("/people/cora", headers={"X-CSRF-Token": csrf}, data={"active": "yes"})
    signed_in(web, "cora")
    assert list(log(web, entity="app_user")["actor"].tail(2)) == ["olive", "olive"]


def test_the_sign_in_page_sends_someone_signed_in_on_and_signs_nobody_out(web):
    owner, _ = signed_in(web, "olive")
    again = owner.get("/login")  # a bookmark, a second tab: its form's fresh cookie used to end the session
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert owner.get("/codes").status_code == 200, "still signed in"
    coder, _ = signed_in(web, "cora")
    owner_csrf = re.search(r'const csrf = "([^"]+)"', owner.get("/codes").text).group(1)
    assert owner.post("/people/cora", headers={"X-CSRF-Token": owner_csrf}, data={"active": "no"}).status_code == 303
    assert coder.get("/codes").headers["location"] == "/login"
    assert coder.get("/login").status_code == 200, "deactivated: the form, not a loop back to the study"


def test_roles_change_and_the_last_owner_stays(web):
    owner, csrf = signed_in(web, "olive")
    owner.post("/people/vic", headers={"X-CSRF-Token": csrf}, data={"role": "coder"})
    assert dict(zip(users(web)["name"], users(web)["role"]))["vic"] == "coder"
    owner.post("/people/olive", headers={"X-CSRF-Token": csrf}, data={"role": "viewer"})  # olive is the only owner
    page = owner.get("/people")
    assert page.status_code == 200, "still an owner"
    refused = owner.post("/people/olive", headers={"X-CSRF-Token": csrf}, data={"role": "viewer"})
    assert refused.status_code == 400 and "last owner" in html.unescape(refused.text)
    assert owner.post("/people/nobody", headers={"X-CSRF-Token": csrf}, data={"role": "coder"}).status_code == 404
    assert owner.post("/people/nobody/reset", headers={"X-CSRF-Token": csrf}).status_code == 404
    idle = owner.post("/people/vic", headers={"X-CSRF-Token": csrf}, data={})
    assert idle.status_code == 400 and "nothing to change for vic" in idle.text, "an empty form changes nothing and says so"


def test_a_reset_link_works_once_and_the_old_password_stops(web):
    owner, csrf = signed_in(web, "olive")
    page = owner.post("/people/cole/reset", headers={"X-CSRF-Token": csrf})
    link = re.search(r'id="reset-link" value="([^"]+)"', page.text).group(1)
    assert "/reset?token=" in link and link not in owner.get("/people").text, "shown once"
    path = link.split("testserver", 1)[1]
    stranger = TestClient(create_app(web), follow_redirects=False)
    form = stranger.get(path)
    form_csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    token = path.split("token=")[1]
    short = stranger.post("/reset", data={"token": token, "password": "short", "again": "short", "csrf": form_csrf})
    assert short.status_code == 400 and "at least 10" in short.text
    done = stranger.post("/reset", data={"token": token, "password": "a brand new passphrase", "again": "a brand new passphrase", "csrf": form_csrf})
    assert done.headers["location"] == "/login?reset=cole"
    used = stranger.post("/reset", data={"token": token, "password": "another passphrase", "again": "another passphrase", "csrf": form_csrf})
    assert used.status_code == 400 and "used up" in used.text
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', stranger.get("/login").text).group(1)
    assert stranger.post("/login", data={"name": "cole", "password": PASSWORD, "csrf": login_csrf}).headers["location"] == "/login?failed=true"
    assert stranger.post("/login", data={"name": "cole", "password": "a brand new passphrase", "csrf": login_csrf}).headers["location"] == "/"
    assert stranger.post("/reset", data={"token": token, "password": "x" * 12, "again": "x" * 12, "csrf": "forged"}).status_code == 403


def test_everyone_changes_their_own_password(web):
    viewer, csrf = signed_in(web, "vic")
    wrong = viewer.post("/account", headers={"X-CSRF-Token": csrf}, data={"current": "not it at all", "password": "a new passphrase", "again": "a new passphrase"})
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    differ = viewer.post("/account", headers={"X-CSRF-Token": csrf}, data={"current": PASSWORD, "password": "a new passphrase", "again": "another one"})
    assert differ.status_code == 400
    done = viewer.post("/account", headers={"X-CSRF-Token": csrf}, data={"current": PASSWORD, "password": "a new passphrase", "again": "a new passphrase"})
    assert done.headers["location"] == "/account?changed=true"
    assert viewer.post("/account", data={"current": "a new passphrase", "password": "x" * 12, "again": "x" * 12}).status_code == 403, "CSRF"


def test_a_long_audit_trail_is_paged_newest_first(web, monkeypatch):
    from chorus.web.routes import rigour

    monkeypatch.setattr(rigour, "AUDIT_SHOWN", 4)
    owner, _ = signed_in(web, "olive")
    ids = list(log(web)["id"])
    first = owner.get("/audit")
    shown = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', first.text)]
    assert shown == ids[::-1][:4] and f"{len(ids)} changes, the newest 4 shown" in first.text
    older = html.unescape(re.search(r'href="([^"]+)" id="older"', first.text).group(1))
    second = owner.get(older)
    assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', second.text)] == ids[::-1][4:8] and "Newest" in second.text


def test_the_audit_trail_page_lists_changes_without_their_text(web):
    owner, csrf = signed_in(web, "olive")
    owner.post("/api/codes", json={"name": "Hope"}, headers={"X-CSRF-Token": csrf})
    everything = owner.get("/audit")  # inserts (no before) and deletes (no after) side by side
    assert everything.status_code == 200 and "insert" in everything.text and not re.search(r"#\d+\.0<", everything.text)
    page = owner.get("/audit?actor=olive")
    assert page.status_code == 200 and "code #" in page.text
    said = log(web, entity="transcript")["after"].dropna().iloc[0]
    assert '"text"' in said
    trail = owner.get("/audit?entity=transcript").text
    text = re.search(r'"text": "([^"]{20,})', said)
    assert text is None or text.group(1)[:20] not in html.unescape(trail), "what participants said is not on the page"
    assert owner.get("/audit?entity=nothing").status_code == 400
    viewer, _ = signed_in(web, "vic")
    assert "Older changes" not in owner.get("/audit?actor=olive").text, "one page holds them all"
    assert viewer.get("/audit").status_code == 403
