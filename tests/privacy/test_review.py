"""De-identification as a background job: found, reviewed finding by finding, applied with the key outside the study."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.errors import ChorusError
from chorus.privacy import review
from chorus.study import jobs as queue
from chorus.study.models import Transcript
from tests.helpers import unchanged
from tests.privacy.test_deidentify import _spacy, with_phi  # noqa: F401 - fixtures


def found(study) -> int:
    job = review.submit(study, "olive")
    assert queue.run_next(study, "test:1", {review.KIND: review.run}) == job
    assert queue.jobs(study)[0]["state"] == "review"
    return job


def test_findings_are_reviewed_one_by_one_and_applied_with_the_key_outside_the_study(with_phi, tmp_path: Path):
    job = found(with_phi)
    findings = review.findings_of(with_phi, job)
    assert {"Emma Rodriguez", "Memphis"} <= set(findings["text"])
    memphis = int(findings.loc[findings["text"] == "Memphis", "id"].iloc[0])
    emma = int(findings.loc[findings["text"] == "Emma Rodriguez", "id"].iloc[0])
    decisions = {int(i): "accept" for i in findings["id"]} | {memphis: "reject"}
    key, counts = review.apply_review(with_phi, job, decisions, {emma: "[PATIENT-1]"}, tmp_path / "keys", "olive")
    assert key.parent == tmp_path / "keys" and key.is_file() and not key.resolve().is_relative_to(with_phi.folder.resolve())
    with with_phi.reading() as session:
        text = session.scalar(select(Transcript.text))
    assert "Emma Rodriguez" not in text and "[PATIENT-1]" in text and "Memphis" in text and counts
    assert queue.jobs(with_phi)[0]["state"] == "done" and not list((with_phi.folder / queue.WAITING).glob("*"))


def test_applying_needs_a_key_folder_and_a_decision_for_every_finding(with_phi, tmp_path: Path):
    job = found(with_phi)
    findings = review.findings_of(with_phi, job)
    with unchanged(with_phi), pytest.raises(ChorusError, match="no folder for de-identification keys"):
        review.apply_review(with_phi, job, {}, {}, None, "olive")
    with unchanged(with_phi), pytest.raises(ChorusError, match="no decision yet"):
        review.apply_review(with_phi, job, {int(findings["id"].iloc[0]): "accept"}, {}, tmp_path / "keys", "olive")
    with pytest.raises(ChorusError, match="outside the study folder"):
        review.apply_review(with_phi, job, {int(i): "accept" for i in findings["id"]}, {}, with_phi.folder / "keys", "olive")
    assert queue.jobs(with_phi)[0]["state"] == "review"
