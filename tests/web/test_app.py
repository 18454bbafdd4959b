"""The web app: sign-in, roles and CSRF on every route, coding through the API, and a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus import coding
from chorus.ingest.guide import import_guide
from chorus.study import audit
from chorus.study.models import Coding, Transcript, Turn
from tests.helpers import DEMO, chromium, imported

fastapi = imported("fastapi", "pip install 'chorus-qda[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from chorus.web import users  # noqa: E402
from chorus.web.app import ROUTE_ROLES, create_app, create_server  # noqa: E402
from chorus.web.security import Policy  # noqa: E402
from tests.web.conftest import (  # noqa: E402
    AUDIO,
    PASSWORD,
    code_with_the_menu,
    follow,
    serving,
    sign_in,
    signed_in,
    with_recording,
)


def a_span(study) -> tuple[int, int]:
    with study.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 2))
        return turn.start, turn.start + 40


def test_coders_code_and_uncode_through_the_api_as_themselves(web):
    client, csrf = signed_in(web, "cora")
    start, end = a_span(web)
    made = client.post("/api/codings", json={"transcript": "FG01", "code": "Funding", "start": start, "end": end}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    coding_id = made.json()["id"]
    with web.reading() as session:
        stored = session.get(Coding, coding_id)
        assert stored.coder.name == "cora" and (stored.start, stored.end) == (start, end)
    assert audit.log(web, entity="coding").actor.iloc[-1] == "cora"
    shown = client.get("/api/transcripts/FG01").json()
    assert any(c["id"] == coding_id and c["coder"] == "cora" for c in shown["codings"])
    overlap = client.post("/api/codings", json={"transcript": "FG01", "code": "Funding", "start": start, "end": end}, headers={"X-CSRF-Token": csrf})
    assert overlap.status_code == 400 and "overlaps" in overlap.json()["error"]
    other, other_csrf = signed_in(web, "cole")
    refused = other.delete(f"/api/codings/{coding_id}", headers={"X-CSRF-Token": other_csrf})
    assert refused.status_code == 403 and refused.json()["error"] == f"coding #{coding_id} is cora's; coders remove only their own"
    assert client.delete(f"/api/codings/{coding_id}", headers={"X-CSRF-Token": csrf}).status_code == 204  # still there: cora's to remove
    gone = client.delete(f"/api/codings/{coding_id}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 404 and gone.json()["error"] == f"there is no coding #{coding_id}"
    assert "Funding" in client.get("/matrix").text
    assert "Adaeze" in client.get("/roster").text and "FG01" in client.get("/roster").text
    assert "segments" in client.get("/themes").text
    report = client.get("/report")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"] and "<svg" in report.text
    assert client.get("/export.qdpx").status_code == 403  # owners only


def test_memos_new_codes_and_codebook_edits_that_collide(web):
    owner_client, _ = signed_in(web, "olive")
    exported = owner_client.get("/export.qdpx")
    assert exported.status_code == 200 and exported.content[:2] == b"PK"
    coder, csrf = signed_in(web, "cora")
    start, end = a_span(web)
    created = coder.post("/api/codes", json={"name": "Hope"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201 and created.json()["path"] == "Hope"
    made = coder.post("/api/codings", json={"transcript": "FG01", "code": "Hope", "start": start, "end": end}, headers={"X-CSRF-Token": csrf}).json()
    memo = coder.post(f"/api/codings/{made['id']}/memo", json={"text": "Hope despite the prognosis"}, headers={"X-CSRF-Token": csrf})
    assert memo.status_code == 201
    missing = coder.post(f"/api/codings/{made['id'] + 99}/memo", json={"text": "On nothing"}, headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404 and missing.json()["error"] == f"there is no coding #{made['id'] + 99}"
    page = coder.get("/segments", params={"code": "Hope"})
    assert "1 coded segments" in page.text and "Adaeze" in page.text
    owner, owner_csrf = signed_in(web, "olive")
    other, other_csrf = signed_in(web, "olive")
    version = int(codes_table(web).set_index("path").at["Hope", "version"])
    first = owner.patch("/api/codes/Hope", json={"version": version, "definition": "Talk of hope"}, headers={"X-CSRF-Token": owner_csrf})
    assert first.status_code == 200
    late = other.patch("/api/codes/Hope", json={"version": version, "name": "Optimism"}, headers={"X-CSRF-Token": other_csrf})
    assert late.status_code == 409 and "changed by someone else" in late.json()["error"]
    assert codes_table(web).set_index("path").at["Hope", "definition"] == "Talk of hope"  # the first edit stands
    assert coder.patch("/api/codes/Hope", json={"version": version + 1, "name": "Optimism"}, headers={"X-CSRF-Token": csrf}).status_code == 403


def codes_table(study):
    from chorus.coding import codes

    return codes.codebook(study)


def test_a_malformed_request_is_told_which_part_does_not_fit_as_every_error_is(web):
    owner, csrf = signed_in(web, "olive")
    bad_path = owner.get("/jobs/nope/speakers")
    assert bad_path.status_code == 422
    assert bad_path.json() == {"error": "path job_id: Input should be a valid integer, unable to parse string as an integer"}
    no_body = owner.patch("/api/codes/1", headers={"X-CSRF-Token": csrf})
    assert no_body.status_code == 422 and no_body.json() == {"error": "body: Field required"}  # what the pages' scripts show
    for path in (f"/jobs/{2**31}/speakers", f"/transcripts/FG01/turns/{2**64}", f"/codes/versions?old={2**31}", f"/audit?before={2**63}"):
        wild = owner.get(path)  # more than the store's integers hold: refused, not a server error from the database
        assert wild.status_code == 422 and "less than or equal to 2147483647" in wild.json()["error"], path
    assert owner.delete(f"/api/codings/{2**31}", headers={"X-CSRF-Token": csrf}).status_code == 422
    largest = 2**31 - 1  # a number the store can look up, on SQLite and PostgreSQL
    assert owner.get(f"/jobs/{largest}/speakers").json() == {"error": f"there is no job {largest}"}
    assert owner.delete(f"/api/codings/{largest}", headers={"X-CSRF-Token": csrf}).status_code == 404
    for nul in (owner.get("/transcripts/FG%00x"), owner.get("/segments", params={"code": "Fund\x00ing"}),
                owner.post("/roster/groups/FG%0001", headers={"X-CSRF-Token": csrf}, data={"date": "2024-02-07"})):
        assert nul.status_code == 400 and "a NUL character (\\x00) is not text" in nul.json()["error"]  # PostgreSQL's server error before


def test_every_route_needs_a_session_the_right_role_and_a_csrf_token(web):
    for coder, turn in (("cora", 2), ("cole", 3)):  # two coders of one transcript, for the pages that compare coders
        coding.apply_code(web, "FG01", "Funding", coder, turn=turn)
    import_guide(web, DEMO / "guide.csv")  # for the page of a question
    app = create_app(web)
    anonymous = TestClient(app, follow_redirects=False)
    viewer, viewer_csrf = signed_in(web, "vic")
    coder, coder_csrf = signed_in(web, "cora")
    owner, owner_csrf = signed_in(web, "olive")
    public = {("/login", "GET"), ("/login", "POST"), ("/reset", "GET"), ("/reset", "POST"), ("/healthz", "GET")}
    routes = {(r.path, m) for r in app.routes if hasattr(r, "methods") for m in r.methods if m != "HEAD"}
    assert routes - public == set(ROUTE_ROLES), "every route states who may use it"
    start, end = a_span(web)
    bodies = {
        "/api/codings": {"transcript": "FG01", "code": "Funding", "start": start, "end": end}, "/api/codes": {"name": "New"},
        "/api/codings/{coding_id}/memo": {"text": "a memo"}, "/api/codes/{path:path}": {"version": 1, "definition": "x"},
        "/api/evaluations": {"embedder": "glove"},
    }
    for (path, method), role in ROUTE_ROLES.items():
        url = {"/segments.{fmt}": "/segments.csv", "/transcripts/{name}/export.{fmt}": "/transcripts/FG01/export.txt",
               "/agreement/disagreements.{fmt}": "/agreement/disagreements.csv?coders=cora&coders=cole"}.get(path, path)
        url = url.replace("{name}", "FG01").replace("{coding_id}", "1").replace("{path:path}", "Funding").replace("{ordinal}", "2").replace("{job_id}", "1").replace("{suggestion}/{decision}", "1/accept").replace("{key}", "Q1")
        refused = anonymous.request(method, url, json=bodies.get(path))
        assert refused.status_code in (401, 303), (path, method)
        if method == "GET":
            assert viewer.get(url).status_code == (200 if role == "viewer" else 403), path
            continue
        assert coder.request(method, url, json=bodies.get(path)).status_code == 403, f"{method} {path} without CSRF"
        in_url = owner.request(method, url + ("&" if "?" in url else "?") + f"csrf={owner_csrf}", json=bodies.get(path))
        assert in_url.status_code == 403 and "CSRF" in in_url.text, f"{method} {path}: a token in the URL is refused"
        if role != "viewer":
            assert viewer.request(method, url, json=bodies.get(path), headers={"X-CSRF-Token": viewer_csrf}).status_code == 403, path
    assert coder.post("/api/codings", json=bodies["/api/codings"], headers={"X-CSRF-Token": viewer_csrf}).status_code == 403  # another session's token


def test_forms_carry_the_csrf_token_in_a_field_never_in_their_address(web):
    owner, token = signed_in(web, "olive")
    for page in ("/codes", "/people", "/rounds", "/account", "/roster"):
        text = owner.get(page).text
        assert "csrf=" not in text, page
        forms = re.findall(r'<form method="post"[^>]*>(.{0,200})', text)
        assert forms and all(f'<input type="hidden" name="csrf" value="{token}">' in after[:90] for after in forms), page
    kept = owner.post("/codes/versions", data={"label": "v-field", "csrf": token})
    assert kept.status_code == 303, "the form's field is the token"
    assert owner.post("/codes/versions", data={"label": "v-forged", "csrf": "forged"}).status_code == 403
    assert owner.post("/codes/versions", data={"label": "v-none"}).status_code == 403


def test_no_answer_is_cached_or_leaks_its_address_to_other_sites(web):
    viewer, _ = signed_in(web, "vic")
    refused = viewer.post("/api/codings", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    missing = viewer.get("/api/transcripts/no-such-transcript")
    assert refused.status_code == 413 and missing.status_code >= 400
    for answer in (viewer.get("/login"), viewer.get("/transcripts/FG01"), viewer.get("/api/transcripts/FG01"), viewer.get("/segments.csv"),
                   refused, missing):
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["Referrer-Policy"] == "no-referrer", answer.url
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY", answer.url
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'"), answer.url
        assert re.fullmatch(r"app;dur=\d+\.\d", answer.headers["Server-Timing"]), answer.url
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP on loopback: HSTS only over HTTPS (test_serve)


def test_sign_in_refuses_wrong_passwords_and_forged_requests(web):
    client, csrf = signed_in(web, None)
    wrong = client.post("/login", data={"name": "cora", "password": "not the password", "csrf": csrf})
    assert wrong.headers["location"] == "/login?failed=true"
    nobody = client.post("/login", data={"name": "nobody", "password": PASSWORD, "csrf": csrf})
    assert nobody.headers["location"] == "/login?failed=true"
    assert client.post("/login", data={"name": "cora", "password": PASSWORD, "csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 303  # still signed out
    huge = client.post("/api/codings", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    with pytest.raises(Exception, match="at least 10"):
        users.add_user(web, "short", "tiny", "coder")
    log = audit.log(web, entity="app_user").to_string()
    assert "$argon2" not in log and "(hidden)" in log


def test_in_a_browser_a_coder_selects_text_codes_it_and_sees_it_in_the_matrix(web, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    browser_path = chromium()
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/transcripts/FG01")
        assert page.url.endswith("/login")  # signed out: sent to sign in
        page.fill("input[name=name]", "cora")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.screenshot(path=str(tmp_path / "home.png"))
        page.click("text=FG01")
        code_with_the_menu(page, 2, 0, 25, "Funding")
        page.wait_for_selector(".margin span:has-text('Funding')")
        second = page.locator(".turn").nth(1)
        second.locator(".pick-stance").click()  # the stance family is not in the codebook yet: made on first use
        page.locator("#stance-menu button", has_text="Dissents").click()
        page.wait_for_selector(".turn >> nth=1 >> .stance.dissents")
        second = page.locator(".turn").nth(1)
        assert second.locator(".stance").inner_text().startswith("D Dissents") and second.locator(".said mark").count() == 1, \
            "a stance marks the turn in the margin; it does not underline the words"
        assert page.locator(".turn").nth(0).locator(".pick-stance").count() == 0, "the facilitator's turn takes no stance"
        page.screenshot(path=str(tmp_path / "transcript.png"), full_page=False)
        follow(page, "Matrix", "segments")
        row = page.locator("tr", has_text="Funding").first
        assert "1" in row.inner_text()
        row.locator("a", has_text="1").first.click()  # a matrix cell opens its segments
        page.wait_for_url(re.compile(r".*/segments\?code=.*discipline=physician"))
        assert "1 coded segments" in page.content()
        page.click("text=Sign out")
        page.wait_for_url(base + "/login")
        viewer = browser.new_page()
        viewer.goto(base + "/login")
        viewer.fill("input[name=name]", "vic")
        viewer.fill("input[name=password]", PASSWORD)
        viewer.click("button[type=submit]")
        viewer.wait_for_url(base + "/")
        viewer.get_by_role("link", name="FG01", exact=True).click()
        viewer.wait_for_url(base + "/transcripts/FG01")
        assert viewer.locator("#code-menu").count() == 0 and "coding needs the coder role" in viewer.content()
        assert viewer.locator(".stance").count() == 1 and viewer.locator(".pick-stance").count() == 0
        browser.close()
    with web.reading() as session:
        coded = session.scalars(select(Coding).order_by(Coding.id)).all()
        assert [c.coder.name for c in coded] == ["cora", "cora"] and [c.code.name for c in coded] == ["Funding", "Dissents"]
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 2))
        assert (coded[0].start, coded[0].end) == (turn.start, turn.start + 25)
        assert (coded[1].start, coded[1].end) == (turn.start, turn.end) and coded[1].code.parent.name == "Stance"
    assert (tmp_path / "transcript.png").stat().st_size > 10_000


def test_a_timed_transcript_plays_its_recording_in_sync_and_shows_coded_spans(web, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    from chorus.coding.codings import apply_code
    from chorus.ingest import import_transcripts
    from tests.helpers import DEMO

    import_transcripts(web, [DEMO / "transcripts" / "FG02.vtt"])
    with_recording(web, "FG02")
    with web.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG02", Turn.ordinal == 3))
        span = (turn.start + 4, turn.start + 30)
    apply_code(web, "FG02", "Funding", "cora", start=span[0], end=span[1])
    client, _ = signed_in(web, "vic")
    assert client.get("/transcripts/FG02/audio", headers={"Range": "bytes=0-99"}).status_code == 206  # seekable
    assert client.get("/transcripts/FG02/audio").content == AUDIO.read_bytes()
    browser_path = chromium()
    with serving(web) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "vic")
        page.get_by_role("link", name="FG02", exact=True).click()
        page.wait_for_url(base + "/transcripts/FG02")
        mark = page.locator(".turn").nth(2).locator(".said mark")
        assert mark.count() == 1 and "Funding" in mark.get_attribute("title")
        with web.reading() as session:
            text = session.scalar(select(Transcript.text).where(Transcript.name == "FG02"))
        assert mark.inner_text() == text[span[0] : span[1]]
        third = page.locator(".turn").nth(2)
        third.locator(".seek").click()
        page.wait_for_selector(".turn.playing", timeout=10_000)
        assert third.get_attribute("class").split() == ["turn", "playing"]
        at = page.evaluate("document.getElementById('audio').currentTime")
        assert at == pytest.approx(float(third.get_attribute("data-time")), abs=1.0)
        page.screenshot(path=str(tmp_path / "audio.png"))
        browser.close()


def test_a_turn_shows_exactly_the_codings_that_overlap_it(web):
    from chorus.coding import apply_code, autocode
    from chorus.web.routes.transcripts import transcript_view

    with web.reading() as session:
        turns = session.execute(select(Turn.start, Turn.end).join(Transcript).where(Transcript.name == "FG01").order_by(Turn.start)).all()
    apply_code(web, "FG01", "Collaboration", "ann", start=turns[3].end - 5, end=turns[5].start + 5)  # across three turns
    apply_code(web, "FG01", "Communication", "ann", start=turns[7].start, end=turns[7].start + 3)
    autocode(web, "Funding", "ben", pattern=r"fund|team|care", scope="match")
    with web.reading() as session:
        view = transcript_view(session, session.scalar(select(Transcript).where(Transcript.name == "FG01")))
    codings = view["codings"]
    assert len(codings) > 15
    for turn in view["turns"]:
        expected = {c["id"] for c in codings if c["start"] < turn["end"] and c["end"] > turn["start"]}
        assert {c["id"] for c in turn["codings"]} == expected
        assert "".join(p["text"] for p in turn["pieces"]) == turn["text"]
        at = turn["start"]
        for piece in turn["pieces"]:
            covering = {c["id"] for c in codings if c["start"] <= at and c["end"] >= at + len(piece["text"])}
            assert {c["id"] for c in piece["codings"]} == covering & expected
            at += len(piece["text"])


def test_a_transcript_page_takes_the_same_queries_whatever_its_length_and_codings(web, tmp_path: Path):
    from chorus.coding import autocode
    from tests.helpers import long_transcript, statements

    long_transcript(web, tmp_path, "FG01-long", 900)
    autocode(web, "Funding", "ann", pattern="funding|roles", scope="match")
    client, _ = signed_in(web, "vic")
    counts = {}
    for name in ("FG01", "FG01-long"):
        with statements(web) as sent:
            page = client.get(f"/transcripts/{name}")
        assert page.status_code == 200
        counts[name] = len(sent)
    assert page.text.count('class="turn"') == 900 and page.text.count("<mark") >= 1800
    assert counts["FG01"] == counts["FG01-long"]


def test_owners_fix_a_misheard_word_in_the_editor_and_codings_stay(web):
    owner, csrf = signed_in(web, "olive")
    start, end = a_span(web)
    coding = owner.post("/api/codings", json={"transcript": "FG01", "code": "Funding", "start": start, "end": end}, headers={"X-CSRF-Token": csrf}).json()["id"]
    page = owner.get("/transcripts/FG01/turns/2")
    assert page.status_code == 200 and "turn 2 of" in page.text and 'href="/transcripts/FG01/turns/2"' in owner.get("/transcripts/FG01").text
    said = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S).group(1)
    with web.reading() as session:
        before = session.get(Coding, coding)
        words = session.get(Transcript, before.transcript_id).text[before.start:before.end]
    fixed = said.replace("whole", "entire")
    saved = owner.post("/transcripts/FG01/turns/2", headers={"X-CSRF-Token": csrf}, data={"text": fixed, "speaker": "P01"})
    assert saved.status_code == 303 and saved.headers["location"] == "/transcripts/FG01#turn-2"
    with web.reading() as session:
        after = session.get(Coding, coding)
        text = session.get(Transcript, after.transcript_id).text
        now = text[after.start:after.end]
    assert fixed in text and now == words  # the coding is on words the fix did not touch
    empty = owner.post("/transcripts/FG01/turns/2", headers={"X-CSRF-Token": csrf}, data={"text": "  ", "speaker": "P01"})
    assert empty.status_code == 400 and "not empty" in empty.text
    for missing, said in (("FG99/turns/2", "no transcript 'FG99' in the study"), ("FG01/turns/999", "FG01 has no turn 999")):
        assert (owner.get(f"/transcripts/{missing}").status_code, owner.get(f"/transcripts/{missing}").json()["error"][:len(said)]) == (404, said)
        assert owner.post(f"/transcripts/{missing}", headers={"X-CSRF-Token": csrf}, data={"text": fixed, "speaker": "P01"}).status_code == 404
    coder, _ = signed_in(web, "cora")
    assert coder.get("/transcripts/FG01/turns/2").status_code == 403
    assert 'turns/2"' not in coder.get("/transcripts/FG01").text


def test_no_route_runs_in_the_event_loop_every_request_shares():
    """FastAPI runs a plain route in a worker thread and an ``async`` one in the server's event loop: a store read or
    an autocoding there holds up every other request until it ends. Forms are read by dependencies instead."""
    import importlib
    import inspect
    import pkgutil

    import chorus.web.routes

    in_the_loop = [
        f"{module.name}.{route.endpoint.__name__}"
        for module in pkgutil.iter_modules(chorus.web.routes.__path__)
        for route in importlib.import_module(f"chorus.web.routes.{module.name}").router.routes
        if inspect.iscoroutinefunction(route.endpoint)
    ]
    # The change stream waits in the loop by design (a thread per open page would cap the pages at the thread pool's
    # 40); it reads the store only in worker threads, which its own source shows: every changes.* call goes through to_thread.
    assert in_the_loop == ["live.live"]
    import chorus.web.routes.live as live
    source = inspect.getsource(live)
    assert source.count("changes.latest") == source.count("run_sync(changes.latest")


def test_a_server_process_works_on_as_many_requests_at_once_as_its_policy_says(web):
    """Each round trip to PostgreSQL gives up Python's interpreter lock: with anyio's 40 worker threads, requests wait on
    each other to win it back. The served app sets its event loop's limit, alone, beside other studies, and in worker processes."""
    import json
    from dataclasses import asdict

    import anyio.to_thread

    for app in (create_app(web, policy=Policy(threads=3)), create_server([web, web], policy=Policy(threads=3))):
        with TestClient(app) as client:
            assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 3
    assert Policy.of(json.loads(json.dumps(asdict(Policy(threads=3))))) == Policy(threads=3)  # a worker process's settings
