"""Blind rounds: while one is open, its coders see and count only their own codings, in every page and answer."""

from __future__ import annotations

import json

from chorus import analysis
from chorus.coding import rounds
from tests.web.conftest import signed_in


def codes_through_the_api(client, csrf: str, code: str, turn_span: tuple[int, int]) -> int:
    answer = client.post("/api/codings", json={"transcript": "FG01", "code": code, "start": turn_span[0], "end": turn_span[1]},
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_in_a_blind_round_a_coder_sees_only_their_own_codings_until_it_closes(web):
    from tests.web.test_app import a_span

    owner, owner_csrf = signed_in(web, "olive")
    opened = owner.post("/rounds", headers={"X-CSRF-Token": owner_csrf}, data={"coders": ["cora", "cole"], "transcripts": ["FG01"], "label": "pilot"})
    assert opened.status_code == 303 and rounds.blind(web, "cora") and not rounds.blind(web, "olive")
    cora, cora_csrf = signed_in(web, "cora")
    cole, cole_csrf = signed_in(web, "cole")
    span = a_span(web)
    codes_through_the_api(cora, cora_csrf, "Funding", span)
    theirs = codes_through_the_api(cole, cole_csrf, "Benefits/Collaboration", span)

    pages = ["/transcripts/FG01", "/segments", "/segments.csv", "/matrix?count=segments", "/themes", "/cooccurrence", "/codes", "/report",
             "/saturation", "/talk"]
    for page in pages:
        text = cora.get(page).text
        assert "Collaboration (" not in text and "cole" not in text.replace('name="coders" value="cole"', ""), page
    shown = cora.get("/api/transcripts/FG01").json()
    assert "cole" not in json.dumps(shown) and theirs not in {c["id"] for c in shown.get("codings", [])}
    assert "Blind round" in cora.get("/codes").text
    assert cora.delete(f"/api/codings/{theirs}", headers={"X-CSRF-Token": cora_csrf}).status_code in (403, 404)
    everyone = owner.get("/segments").text
    assert "cole" in everyone and "cora" in everyone, "the owner, not in the round, sees both"

    closed = owner.post("/rounds/close", headers={"X-CSRF-Token": owner_csrf}, data={"unit": "turn"})
    assert closed.status_code == 303 and closed.headers["location"] == "/agreement?coders=cole&coders=cora&unit=turn"
    assert not rounds.blind(web, "cora")
    assert "cole" in cora.get("/segments").text
    page = owner.get(closed.headers["location"]).text
    assert 'id="agreement"' in page and len(analysis.disagreements(web, ["cole", "cora"])) == page.count('name="decision"')


def test_a_round_needs_two_coders_and_transcripts_and_one_at_a_time(web):
    owner, csrf = signed_in(web, "olive")
    for form, message in [({"coders": ["cora"], "transcripts": ["FG01"]}, "at least two coders"),
                          ({"coders": ["cora", "cole"]}, "name the transcripts"),
                          ({"coders": ["cora", "cole"], "transcripts": ["FG77"]}, "FG77")]:
        page = owner.post("/rounds", headers={"X-CSRF-Token": csrf}, data=form)
        assert page.status_code == 400 and message in page.text
    assert rounds.rounds(web).empty
    owner.post("/rounds", headers={"X-CSRF-Token": csrf}, data={"coders": ["cora", "cole"], "transcripts": ["FG01"]})
    again = owner.post("/rounds", headers={"X-CSRF-Token": csrf}, data={"coders": ["cora", "cole"], "transcripts": ["FG01"]})
    assert again.status_code == 400 and "open already" in again.text
    coder, coder_csrf = signed_in(web, "cora")
    assert coder.post("/rounds/close", headers={"X-CSRF-Token": coder_csrf}).status_code == 403
