"""The assist's long work as background jobs the pages watch: evaluations, suggestions, candidate codes, reading every passage.

No page request computes for long: the Suggestions page queues :func:`chorus.assist.suggest.suggest`
(kind :data:`SUGGEST`), the Candidates page :func:`chorus.assist.candidates.all_candidates`
(kind :data:`CANDIDATES`, its result kept beside the store so that a revisit reads
it), and a search by meaning on a study not read yet the embedding of every passage
(kind :data:`READ`). Each result remembers the audit trail's last entry when it was
made, so a page can say how many codings were made or changed since (:func:`changed_since`):
the result is stale, and the page offers to make it again. A worker runs every kind in
:data:`RUNNERS`.

How much the AI finds, asked from the browser: :func:`chorus.assist.evaluate.evaluate` as a background job.

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
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from chorus.assist.candidates import all_candidates, check_seeds, without_dismissed
from chorus.assist.embedders import DEFAULT, known_embedder
from chorus.assist.embeddings import segment_table, segment_vectors
from chorus.assist.evaluate import evaluable, evaluate
from chorus.assist.suggest import MIN_EXAMPLES, suggest
from chorus.errors import ChorusError, NotFound
from chorus.study import jobs as queue
from chorus.study.lookup import code_path, find_code
from chorus.study.models import AuditEntry, Coding, Job, Transcript
from chorus.study.store import Study, acting_as

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


SUGGEST = "suggest"
CANDIDATES = "candidates"
READ = "read"
#: What a job of :data:`SUGGEST`, :data:`CANDIDATES` or :data:`READ` keeps beside the store.
RESULT = "result"
#: States in which a job is still to finish.
ACTIVE = ("queued", "running")


def mark(study: Study) -> int:
    """The audit trail's last entry now: what a result made from the study as it is remembers."""
    with study.reading() as session:
        return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def changed_since(study: Study, since: int) -> int:
    """How many codings were made, changed or removed after audit entry ``since`` (a result made then is stale)."""
    with study.reading() as session:
        return int(session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "coding", AuditEntry.id > since)) or 0)


def active(study: Study, kind: str, name: str | None = None) -> int | None:
    """The newest queued or running job of ``kind`` (named ``name``), if any: asking twice queues it once."""
    with study.reading() as session:
        query = select(Job.id).where(Job.kind == kind, Job.state.in_(ACTIVE)).order_by(Job.id.desc()).limit(1)
        return session.scalar(query if name is None else query.where(Job.name == name))


def _kept(study: Study, kind: str, name: str | None = None) -> tuple[Job, dict[str, Any]] | None:
    """The newest finished job of ``kind`` (named ``name``) whose result is still beside the store, and that result."""
    with study.reading() as session:
        query = select(Job).where(Job.kind == kind, Job.state == "done").order_by(Job.id.desc())
        found = list(session.scalars(query if name is None else query.where(Job.name == name)).all())
        for job in found:
            session.expunge(job)
    for job in found:
        try:
            return job, json.loads(queue.result(study, job.id, RESULT).decode("utf-8"))
        except NotFound:
            continue
    return None


def _keep(study: Study, job: Job, result: dict[str, Any], stage: str) -> None:
    """Keep ``result`` as the job's and finish it; older finished jobs of its kind and name let theirs go."""
    queue.keep_result(study, job.id, RESULT, json.dumps(result).encode("utf-8"), job.created_by, "done", stage)
    with study.reading() as session:
        older = session.scalars(select(Job.id).where(Job.kind == job.kind, Job.name == job.name, Job.state == "done", Job.id < job.id)).all()
    for old in older:
        queue.forget(study, old)


def submit_suggestions(study: Study, code: str | None, threshold: float | None, by: str) -> int:
    """Queue suggestions for ``code`` (or every code with enough examples) at ``threshold`` (None: each code's calibrated one).

    A code with too few codings, or a threshold outside 0 to 1, is refused here, not in the worker; a run already
    queued or running is the one returned.
    """
    if threshold is not None and not 0 <= threshold <= 1:
        raise ChorusError(f"the lowest confidence is between 0 and 1, not {threshold}")
    name = ""
    if code:
        with study.reading() as session:
            found = find_code(session, code)
            name, have = code_path(found), session.scalar(select(func.count(Coding.id)).where(Coding.code_id == found.id)) or 0
        if have < MIN_EXAMPLES:
            raise ChorusError(f"{name!r} has {have} coded segments; suggestions need at least {MIN_EXAMPLES}")
    running = active(study, SUGGEST)
    if running is not None:
        return running
    job_id = queue.submit(study, SUGGEST, by, name or "every code")
    asked = study.folder / queue.WAITING
    asked.mkdir(exist_ok=True)
    (asked / f"{job_id}.asked").write_text(json.dumps({"code": name, "threshold": threshold}), encoding="utf-8")
    return job_id


def run_suggestions(study: Study, job: Job, report: queue.Report) -> None:
    """The worker's part: make the suggestions (they join the queue in the store) and keep how many, and when."""
    asked = json.loads(queue.result(study, job.id, "asked").decode("utf-8"))
    made_at = mark(study)
    with acting_as(job.created_by):
        made = suggest(study, code=asked["code"] or None, threshold=asked["threshold"], progress=report)
    _keep(study, job, {"mark": made_at, "made": len(made), **asked}, f"{len(made)} suggestions made")


def latest_suggestions(study: Study) -> dict[str, Any] | None:
    """The newest suggestion run: ``job``, ``state``, ``stage``, ``fraction``, ``error``, and once done ``made`` and ``changed``
    (codings made or changed since), ``code`` and ``threshold`` as asked; None before the first."""
    with study.reading() as session:
        job = session.scalars(select(Job).where(Job.kind == SUGGEST).order_by(Job.id.desc()).limit(1)).first()
        if job is None:
            return None
        shown = {"job": job.id, "state": job.state, "stage": job.stage or "", "fraction": job.fraction or 0.0, "error": job.error or ""}
    if shown["state"] == "done":
        kept = _kept(study, SUGGEST)
        if kept is not None and kept[0].id == shown["job"]:
            result = kept[1]
            shown.update(made=result["made"], changed=changed_since(study, result["mark"]), code=result["code"], threshold=result["threshold"])
    return shown


def submit_candidates(study: Study, seed: int, by: str) -> int:
    """Queue candidate codes clustered with ``seed``; a run of that seed already queued or running is the one returned."""
    check_seeds(seed)
    return active(study, CANDIDATES, str(seed)) or queue.submit(study, CANDIDATES, by, str(seed))


def run_candidates(study: Study, job: Job, report: queue.Report) -> None:
    """The worker's part: cluster the uncoded passages and keep every candidate with its passages for the page."""
    made_at = mark(study)
    try:
        frame = all_candidates(study, seed=int(job.name), progress=report)
    except ChorusError as exc:
        if "include_coded" in exc.arguments:  # the library's way out (cluster the coded passages too) is not the page's
            raise ChorusError("every passage is coded already: no candidate codes are left to find") from None
        raise
    table = segment_table(study).set_index("segment")
    passages = {
        str(number): [{"segment": s, "speaker": table.at[s, "speaker"], "discipline": table.at[s, "discipline"] or "",
                       "group": table.at[s, "group"] or "", "text": table.at[s, "text"]} for s in segments.split() if s in table.index]
        for number, segments in zip(frame["candidate"], frame["segments"])
    }
    result = {"mark": made_at, "candidates": json.loads(frame.to_json(orient="records")), "passages": passages}
    _keep(study, job, result, f"{len(frame)} candidates")


@dataclass
class KeptCandidates:
    """Candidate codes a worker made: the ``job``, who asked and when, the ``candidates`` still on offer, ``changed``."""

    job: int
    by: str
    made: str
    candidates: pd.DataFrame
    changed: int


#: A candidate stays on offer while at least this share of its passages is still uncoded.
STILL_UNCODED = 0.5


def kept_candidates(study: Study, seed: int) -> KeptCandidates | None:
    """The newest candidates made with ``seed``, as the page shows them; None before the first run finishes.

    Dismissed candidates are left out; so are those most of whose passages were
    coded since (adopted or merged: the numbers of the others stay as they were),
    and a candidate's passages coded since are no longer among its ``segments``.
    ``changed`` counts the codings made or changed since: the candidates are then stale.
    """
    kept = _kept(study, CANDIDATES, str(seed))
    if kept is None:
        return None
    job, result = kept
    frame = pd.DataFrame(result["candidates"], columns=["candidate", "label", "size", "groups", "disciplines", "quotes", "segments"])
    coded = _coded_since(study, result["mark"])
    if coded:
        members = [segments.split() for segments in frame["segments"]]
        left = [[s for s in ids if not _overlaps(s, coded)] for ids in members]
        frame = frame.assign(segments=[" ".join(ids) for ids in left], size=[len(ids) for ids in left])
        frame = frame[[bool(still) and len(still) >= STILL_UNCODED * len(ids) for still, ids in zip(left, members)]]
    made = job.finished_at.isoformat()[:16].replace("T", " ") if job.finished_at else ""
    return KeptCandidates(job.id, job.created_by, made, without_dismissed(study, frame).reset_index(drop=True),
                          changed_since(study, result["mark"]))


def candidate_passages(study: Study, job_id: int, candidate: int) -> list[dict[str, str]]:
    """The passages of candidate number ``candidate`` of candidates job ``job_id``: ``segment, speaker, discipline, group, text``.

    Those coded since the candidates were made are left out, as :func:`kept_candidates` leaves them out of its segments.
    """
    found = queue.job(study, job_id)
    if found.kind != CANDIDATES or found.state != "done":
        raise ChorusError(f"job {job_id} is not a finished run of candidate codes (it is {found.kind}, {found.state})")
    result = json.loads(queue.result(study, job_id, RESULT).decode("utf-8"))
    if str(candidate) not in result["passages"]:
        raise NotFound(f"job {job_id} made no candidate {candidate}")
    coded = _coded_since(study, result["mark"])
    return [p for p in result["passages"][str(candidate)] if not _overlaps(p["segment"], coded)]


def _coded_since(study: Study, since: int) -> dict[str, list[tuple[int, int]]]:
    """Per transcript, the spans of the codings made after audit entry ``since`` that are still there."""
    with study.reading() as session:
        made = select(AuditEntry.entity_id).where(AuditEntry.entity == "coding", AuditEntry.action == "insert", AuditEntry.id > since)
        rows = session.execute(select(Transcript.name, Coding.start, Coding.end).join(Transcript, Transcript.id == Coding.transcript_id)
                               .where(Coding.id.in_(made))).all()
    spans: dict[str, list[tuple[int, int]]] = {}
    for name, start, end in rows:
        spans.setdefault(name, []).append((start, end))
    return spans


def _overlaps(segment: str, spans: dict[str, list[tuple[int, int]]]) -> bool:
    transcript, _, span = segment.rpartition("@")
    a, b = (int(x) for x in span.split("-"))
    return any(start < b and end > a for start, end in spans.get(transcript, []))


def submit_reading(study: Study, by: str, embedder: str = DEFAULT) -> int:
    """Queue the reading of every passage with ``embedder`` (what a search by meaning needs first); one already queued is returned."""
    name = known_embedder(embedder)
    return active(study, READ, name) or queue.submit(study, READ, by, name)


def run_reading(study: Study, job: Job, report: queue.Report) -> None:
    """The worker's part: every passage embedded into the study's cache (nothing else in the study changes)."""
    report(f"reading every passage with {job.name}", 0.0)
    table = segment_table(study)
    segment_vectors(study, table, job.name, lambda done, total: report(f"reading every passage with {job.name}: {done} of {total}", done / total))
    _keep(study, job, {"mark": mark(study), "passages": len(table)}, f"{len(table)} passages read")


#: Every kind of job the assist has, and its runner, for the worker (:func:`chorus.study.jobs.work`).
RUNNERS: dict[str, queue.Runner] = {KIND: run, SUGGEST: run_suggestions, CANDIDATES: run_candidates, READ: run_reading}
