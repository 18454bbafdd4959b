"""A study's home page: its transcripts and code system; and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from chorus.coding import codes as codebook
from chorus.study.models import Group, Transcript, Turn
from chorus.web.pages import StudyOf, ViewerRole, render

router = APIRouter()


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, study: StudyOf, viewer: ViewerRole, removed: str = "") -> Response:
    """The study's transcripts (an owner removes one from here: a confirm step says what goes) and its code system; ``removed``: what was just removed."""
    with study.reading() as session:
        transcripts = session.execute(
            select(Transcript.name, Group.name, func.count(Turn.id))
            .join(Group, Group.id == Transcript.group_id)
            .outerjoin(Turn, Turn.transcript_id == Transcript.id)
            .group_by(Transcript.id, Transcript.name, Group.name)
            .order_by(Transcript.name)
        ).all()
    tree = codebook.codebook(study)
    return render(request, "studies/index.html", viewer, transcripts=transcripts, codes=tree.to_dict("records"), removed=removed)
