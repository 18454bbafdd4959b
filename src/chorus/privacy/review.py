"""De-identification in the browser: the finder run as a background job, its findings reviewed, then applied.

The job (kind ``deidentify``, queued in :mod:`chorus.study.jobs`) runs
:func:`chorus.privacy.deidentify.find` over every transcript and keeps the
findings beside the store; a person accepts or rejects each (or a whole kind),
edits a tag if they like, and :func:`apply_review` applies them with
:func:`chorus.privacy.deidentify.apply`: one transaction, the originals written
to a key file in the folder the server's operator named, outside every study.

>>> job = submit(study, "olive")                                           # doctest: +SKIP
>>> key, counts = apply_review(study, job, {1: "accept"}, {}, Path("/srv/keys"), "olive")   # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from chorus.errors import ChorusError
from chorus.privacy.deidentify import apply, find
from chorus.study import jobs as queue
from chorus.study.models import Job
from chorus.study.store import Study, acting_as

KIND = "deidentify"
FINDINGS = "findings"


def submit(study: Study, by: str) -> int:
    """Queue a search of every transcript for protected health information; returns the job's id."""
    return queue.submit(study, KIND, by, "de-identification")


def run(study: Study, job: Job, report: queue.Report) -> None:
    """The worker's part: find, and keep the findings (they hold the protected words) for review."""
    report("loading the language model and reading the transcripts", 0.1)
    found = find(study)
    queue.keep_result(study, job.id, FINDINGS, found.to_json(orient="records").encode("utf-8"), job.created_by, "review", "waiting for review")


def findings_of(study: Study, job_id: int) -> pd.DataFrame:
    """The findings of a job waiting for review (the table ``chorus deid find`` writes)."""
    queue.job(study, job_id, waiting_in="review")
    text = queue.result(study, job_id, FINDINGS).decode("utf-8")
    return pd.read_json(io.StringIO(text), orient="records", dtype={"tag": str, "text": str, "decision": str})


def apply_review(
    study: Study, job_id: int, decisions: Mapping[int, str], tags: Mapping[int, str], keys: Path | None, by: str
) -> tuple[Path, dict[str, int]]:
    """Apply the findings accepted (by id), with any tag edited; returns the key file written and replacements per kind."""
    if keys is None:
        raise ChorusError("this server has no folder for de-identification keys, so findings cannot be applied; ask whoever runs the server to give it one")
    found = findings_of(study, job_id)
    if found.empty:
        queue.finish(study, job_id, by, "done", stage="nothing found", fraction=1.0)
        queue.forget(study, job_id)
        return Path(), {}
    found["decision"] = [decisions.get(int(i), "") for i in found["id"]]
    for finding, tag in tags.items():
        if tag.strip():
            found.loc[found["id"] == finding, "tag"] = tag.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    key = Path(keys) / f"{study.folder.name}-deid-{stamp}-job{job_id}.json"
    with acting_as(by):
        counts = apply(study, found, key)
    queue.finish(study, job_id, by, "done", stage="applied", fraction=1.0)
    queue.forget(study, job_id)
    return key, counts
