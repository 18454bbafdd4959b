"""How much the AI finds, asked from the browser: :func:`chorus.assist.evaluate.evaluate` as a background job.

A researcher who never opens a terminal asks the same question ``chorus suggest
evaluate`` answers, for one embedder at a time, with its defaults (a quarter of
the transcripts hidden per fold, candidates clustered :data:`CLUSTERINGS` times).
A worker process of ``chorus serve`` runs it (a minute or more on a real study)
and keeps the figures beside the store, where the page reads them; nothing in
the study changes but the cache of embeddings. Jobs are of kind :data:`KIND`
in :mod:`chorus.study.jobs`; the job's name is the embedder.

>>> job = submit(study, "minilm", "cora")                                # doctest: +SKIP
>>> figures_of(study, job)["summary"]["f1"]                              # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from chorus.assist.embedders import known_embedder
from chorus.assist.evaluate import evaluable, evaluate
from chorus.errors import ChorusError
from chorus.study import jobs as queue
from chorus.study.models import Job
from chorus.study.store import Study

KIND = "evaluate"
FIGURES = "figures"
#: How many times the browser's evaluation clusters the segments (as ``make demo`` does): one clustering is one draw of k-means.
CLUSTERINGS = 10


def submit(study: Study, embedder: str, by: str) -> int:
    """Queue an evaluation of ``embedder`` (one of :data:`chorus.assist.embedders.EMBEDDERS`) for person ``by``; returns the job's id.

    A study the evaluation could not score (no codings, one transcript) is refused here, not in the worker minutes later.
    """
    evaluable(study)
    return queue.submit(study, KIND, by, known_embedder(embedder))


def run(study: Study, job: Job, report: queue.Report) -> None:
    """The worker's part: evaluate, and keep the figures for the page."""
    result = evaluate(study, embedder=job.name, clusterings=CLUSTERINGS, progress=report)
    figures = {"summary": result.summary(), "codes": _records(result.codes), "themes": _records(result.themes)}
    queue.keep_result(study, job.id, FIGURES, json.dumps(figures).encode("utf-8"), job.created_by, "done", "evaluated")


def figures_of(study: Study, job_id: int) -> dict[str, Any]:
    """A finished evaluation's figures: ``summary`` (as :meth:`Evaluation.summary`), ``codes`` and ``themes`` (their rows, per code)."""
    found = queue.job(study, job_id)
    if found.kind != KIND or found.state != "done":
        raise ChorusError(f"job {job_id} is not a finished evaluation (it is {found.kind}, {found.state})")
    return json.loads(queue.result(study, job_id, FIGURES).decode("utf-8"))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON keeps them (a figure that cannot be computed, such as precision with nothing suggested, as null)."""
    return json.loads(frame.to_json(orient="records"))
