"""De-identification in the browser (owners): the finder as a background job, a review table, then apply.

The key file that holds the originals goes to the folder the server's operator
named (``chorus serve --keys DIR``), outside every study; it is never offered for
download, and restoring from it stays a command for the operator.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from chorus.errors import ChorusError
from chorus.web.pages import OwnerRole, PostedForm, StudyOf, Whole, in_the_browser, named_in_path, render

router = APIRouter()


def _review() -> Any:
    from chorus.privacy import review

    return review


def _keys(request: Request) -> Path | None:
    return getattr(request.app.state, "keys", None)


@router.get("/deidentify", response_class=HTMLResponse)
def deidentify_page(request: Request, study: StudyOf, viewer: OwnerRole) -> Response:
    return render(request, "privacy/deidentify.html", viewer, keys=_keys(request))


@router.post("/api/deidentify", status_code=201)
def start_finding(study: StudyOf, viewer: OwnerRole) -> dict[str, int]:
    """Queue the search of every transcript for protected health information."""
    return {"job": _review().submit(study, viewer.name)}


@router.get("/deidentify/{job_id}", response_class=HTMLResponse)
def review_page(request: Request, job_id: Whole, study: StudyOf, viewer: OwnerRole) -> Response:
    """Each finding in its sentence with its proposed tag, to accept, reject or re-tag, one by one, by kind or by its words.

    The words found more than once come first with their count, most first: a word
    the model took for a name wherever it opens a sentence ("Teamwork", "Automatic")
    is one decision, not hundreds, and rejecting it leaves the other names of its kind alone.
    """
    with named_in_path():
        findings = _review().findings_of(study, job_id)
    rows = []
    for row in findings.itertuples():
        context, words = str(row.context), str(row.text)
        at = context.find(words)
        before, after = (context[:at], context[at + len(words):]) if at >= 0 else (context, "")
        rows.append({"id": int(row.id), "transcript": row.transcript, "turn": int(row.turn), "kind": row.kind, "tag": row.tag,
                     "before": before, "words": words, "after": after})
    kinds = sorted({r["kind"] for r in rows})
    repeated = [(words, count) for words, count in Counter(r["words"] for r in rows).most_common() if count > 1]
    return render(request, "privacy/review.html", viewer, job_id=job_id, rows=rows, kinds=kinds, repeated=repeated, keys=_keys(request))


async def _decided(form: PostedForm) -> tuple[dict[int, str], dict[int, str]]:
    """The review form's decision and tag for each finding, by the finding's id."""
    decisions = {int(m.group(1)): str(v) for k, v in form.items() if (m := re.fullmatch(r"decision-(\d+)", k))}
    tags = {int(m.group(1)): str(v) for k, v in form.items() if (m := re.fullmatch(r"tag-(\d+)", k))}
    return decisions, tags


@router.post("/deidentify/{job_id}", response_class=HTMLResponse)
def apply_page(
    request: Request, job_id: Whole, study: StudyOf, viewer: OwnerRole,
    decided: Annotated[tuple[dict[int, str], dict[int, str]], Depends(_decided)],
) -> Response:
    """Apply the accepted findings; the page says where the key file went."""
    decisions, tags = decided
    try:
        with named_in_path():  # a job not there is 404; what else goes wrong is said on the page
            key, counts = _review().apply_review(study, job_id, decisions, tags, _keys(request), viewer.name)
    except ChorusError as exc:
        return render(request, "privacy/deidentify.html", viewer, status=400, keys=_keys(request), error=in_the_browser(exc), job_id=job_id)
    return render(request, "privacy/deidentify.html", viewer, keys=_keys(request), applied=counts, key=key)
