"""The discussion guide in the browser: upload it, align the turns to its questions, read the responses by
question and discipline, and confirm or move a question's boundary in a transcript (as ``chorus guide``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from chorus.analysis import turn_table
from chorus.analysis.dynamics import question_dynamics
from chorus.analysis.guide import answered, answers, responses
from chorus.analysis.stances import LEGEND, interlocutor_matrix
from chorus.assist.guide import confirm_question, submit_alignment, unalignable
from chorus.errors import ChorusError
from chorus.ingest.guide import import_guide
from chorus.study.models import GuideQuestion, Participant, Transcript, Turn, TurnQuestion
from chorus.study.store import Study, acting_as
from chorus.web.pages import PALETTE, OwnerRole, StudyOf, ViewerRole, Whole, back_to, in_the_browser, named_in_path, render
from chorus.web.uploads import as_uploaded, uploaded

router = APIRouter()
#: Below this confidence an aligned facilitator turn is marked for checking.
UNSURE = 0.7
#: A question's page shows each group's first answers, this many, unless asked for every one.
ANSWERS_SHOWN = 25


def _questions(study: Study) -> list[tuple[str, str]]:
    with study.reading() as session:
        return session.execute(select(GuideQuestion.key, GuideQuestion.text).order_by(GuideQuestion.ordinal)).all()


def _aligned(study: Study) -> pd.DataFrame:
    """Per transcript: its turns, those under a question, and the facilitator turns placed below :data:`UNSURE` confidence."""
    query = (
        select(Transcript.name.label("transcript"), func.count(Turn.id).label("turns"), func.count(TurnQuestion.turn_id).label("placed"))
        .select_from(Transcript).outerjoin(Turn, Turn.transcript_id == Transcript.id)
        .outerjoin(TurnQuestion, TurnQuestion.turn_id == Turn.id).group_by(Transcript.name).order_by(Transcript.name)
    )
    unsure = (
        select(Transcript.name.label("transcript"), func.count().label("unsure")).select_from(TurnQuestion)
        .join(Turn, Turn.id == TurnQuestion.turn_id).join(Transcript).join(Participant, Participant.id == Turn.participant_id)
        .where(Participant.role != "participant", TurnQuestion.confidence < UNSURE, TurnQuestion.confirmed.is_(False)).group_by(Transcript.name)
    )
    with study.reading() as session:
        counts = pd.DataFrame(session.execute(query).all(), columns=["transcript", "turns", "placed"])
        low = dict(session.execute(unsure).all())
    return counts.assign(unsure=[low.get(name, 0) for name in counts["transcript"]])


@router.get("/guide", response_class=HTMLResponse)
def guide_page(request: Request, study: StudyOf, viewer: ViewerRole, by: str = "discipline", error: str = "") -> Response:
    """The guide's questions, each transcript's alignment (and why one cannot be aligned), the alignment jobs, who answered each question by discipline (as ``chorus guide show``),
    and the questions to which half a group or more said nothing (as ``chorus dynamics --by-question``)."""
    questions = _questions(study)
    turns = turn_table(study) if questions else None
    found = responses(study, by, turns) if questions else pd.DataFrame()
    table = answered(found, by) if not found.empty else pd.DataFrame()
    silences = question_dynamics(study, turns)[1] if not found.empty else []
    return render(request, "guide/guide.html", viewer, questions=questions, aligned=_aligned(study) if questions else pd.DataFrame(),
                  cannot=unalignable(study) if questions else {}, table=table, by=by, error=error, unsure=UNSURE, silences=silences)


@router.get("/guide/questions/{key}", response_class=HTMLResponse)
def question_page(request: Request, study: StudyOf, viewer: ViewerRole, key: str, every: bool = False) -> Response:
    """One question's answers side by side across groups (as ``chorus guide answers``): each group's first
    :data:`ANSWERS_SHOWN` turns, or all of them with ``every``."""
    with named_in_path():
        found = answers(study, key)
    wording = dict(_questions(study))[key]
    by_group = [(group, rows.to_dict("records") if every else rows.head(ANSWERS_SHOWN).to_dict("records"), len(rows))
                for group, rows in found.groupby("group", sort=False)]
    return render(request, "guide/question.html", viewer, key=key, wording=wording, by_group=by_group,
                  palette=PALETTE, answered=found["speaker"].nunique())


@router.post("/guide")
def upload_guide(request: Request, study: StudyOf, viewer: OwnerRole, guide: UploadFile) -> Response:
    """Store the uploaded guide (CSV, XLSX or Word), as ``chorus guide import``."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            with acting_as(viewer.name):
                count = import_guide(study, uploaded(guide, Path(folder), (".csv", ".xlsx", ".docx")))
        except ChorusError as exc:
            return back_to(request, "/guide", error=as_uploaded(in_the_browser(exc), folder))
        except HTTPException as exc:
            return back_to(request, "/guide", error=exc.detail)
    return back_to(request, "/guide", error=f"{count} questions stored; now align the transcripts")


@router.post("/guide/align")
def align(request: Request, study: StudyOf, viewer: OwnerRole, transcript: str = Form("", max_length=200)) -> Response:
    """Queue an alignment of every transcript, or of ``transcript``, as ``chorus guide align`` does; confirmed turns are kept.

    Reading every turn's meaning takes minutes on a large study, so a worker
    process runs it as a job, which the guide page watches.
    """
    try:
        submit_alignment(study, viewer.name, transcript or None)
    except ChorusError as exc:
        return back_to(request, "/guide", error=in_the_browser(exc))
    return back_to(request, "/guide", error=f"{transcript or 'Every transcript'}: alignment queued; its progress is shown below")


def _turns(study: Study, name: str) -> pd.DataFrame:
    with study.reading() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.name == name))
        if transcript is None:
            raise HTTPException(404, f"no transcript called {name!r}")
        rows = session.execute(
            select(Turn.ordinal, Participant.pseudonym, Participant.role, Turn.start, Turn.end, GuideQuestion.key,
                   TurnQuestion.confidence, TurnQuestion.confirmed)
            .join(Participant, Participant.id == Turn.participant_id).outerjoin(TurnQuestion, TurnQuestion.turn_id == Turn.id)
            .outerjoin(GuideQuestion, GuideQuestion.id == TurnQuestion.question_id)
            .where(Turn.transcript_id == transcript.id).order_by(Turn.ordinal)
        ).all()
        text = transcript.text
    frame = pd.DataFrame(rows, columns=["turn", "speaker", "role", "start", "end", "question", "confidence", "confirmed"])
    return frame.assign(text=[text[a:b] for a, b in zip(frame["start"], frame["end"])]).drop(columns=["start", "end"])


@router.get("/guide/transcripts/{name}", response_class=HTMLResponse)
def guide_transcript(request: Request, study: StudyOf, viewer: ViewerRole, name: str, error: str = "") -> Response:
    """One transcript's turns under the guide's questions (each question where the facilitator opened it, its confidence),
    and its group's micro-interlocutor matrix (as ``chorus stances matrix``)."""
    turns = _turns(study, name)
    with study.reading() as session:
        group = session.scalar(select(Transcript).where(Transcript.name == name)).group.name
    placed = turns["question"].notna().any()
    return render(request, "guide/transcript.html", viewer, name=name, turns=turns, questions=_questions(study), unsure=UNSURE,
                  error=error, group=group, matrix=interlocutor_matrix(study, group) if placed else None, marks=LEGEND)


@router.post("/guide/transcripts/{name}")
def move_boundary(request: Request, study: StudyOf, viewer: OwnerRole, name: str, turn: Annotated[Whole, Form()], question: str = Form(max_length=100)) -> Response:
    """Confirm or move a boundary: this turn opens this question (as ``chorus guide move``); the transcript is realigned in a job the page watches."""
    try:
        with acting_as(viewer.name):
            confirm_question(study, name, turn, question)
        submit_alignment(study, viewer.name, name)
    except ChorusError as exc:
        return back_to(request, f"/guide/transcripts/{quote(name, safe='')}", error=in_the_browser(exc))
    return back_to(request, f"/guide/transcripts/{quote(name, safe='')}",
                   error=f"Turn {turn} opens {question}, confirmed; the turns after it follow once {name} is realigned below")
