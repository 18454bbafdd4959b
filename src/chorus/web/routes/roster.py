"""The roster and the groups: the tables, and (owners) uploading them with a preview before anything is stored.

An upload is checked first (:func:`chorus.ingest.roster_problems`): every problem
is listed by file, row and column and nothing is stored; clean tables are shown
as they would be stored, each row new, updated or unchanged, and stored on confirmation,
both in one transaction (either table may come alone), as ``chorus roster import`` and ``chorus groups import`` do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from chorus import analysis, ingest
from chorus.analysis.frames import participants
from chorus.errors import ChorusError
from chorus.study.models import Participant
from chorus.study.store import Study, acting_as
from chorus.web.pages import OwnerRole, PostedForm, StudyOf, ViewerRole, back_to, named_in_path, render
from chorus.web.uploads import held, holding, uploaded

router = APIRouter()
TABLES = (".csv", ".xlsx")


def _tables(folder: Path) -> tuple[Path | None, Path | None]:
    roster = next(folder.glob("roster/*"), None)
    groups = next(folder.glob("groups/*"), None)
    return roster, groups


def _roster_tables(request: Request, study: Study, viewer, **context: object) -> Response:
    with study.reading() as session:
        people = participants(session, facilitators=True)
    people = people.drop(columns=["participant_id"]).fillna("")
    sample = analysis.sample(study)["groups"].astype(object).fillna("")
    return render(request, "roster/roster.html", viewer, tables=[("Participants", people), ("Focus groups", sample)], **context)


@router.get("/roster", response_class=HTMLResponse)
def roster_page(request: Request, study: StudyOf, viewer: ViewerRole, stored: str = "", unchanged: int = 0, edited: str = "") -> Response:
    return _roster_tables(request, study, viewer, stored=stored, unchanged=unchanged, edited=edited)


def _given(upload: UploadFile | None) -> bool:
    """Whether a file field of the form was filled (a browser sends an empty part for one left empty)."""
    return upload is not None and bool(upload.filename)


@router.post("/roster/check", response_class=HTMLResponse)
def check_roster(
    request: Request, study: StudyOf, viewer: OwnerRole, roster: UploadFile | None = None, groups: UploadFile | None = None
) -> Response:
    """Check an uploaded roster table, groups table or both; list every problem, or show what would be stored."""
    with holding(study) as (upload, folder):
        paths: dict[str, Path | None] = {}
        for kind, sent in (("roster", roster), ("groups", groups)):
            paths[kind] = None
            if _given(sent):
                (folder / kind).mkdir()
                paths[kind] = uploaded(sent, folder / kind, TABLES)
        problems = ingest.roster_problems(study, paths["roster"], paths["groups"])
    if problems:
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "roster/check.html", viewer, status=400, problems=problems)
    people, sessions = ingest.roster_preview(study, paths["roster"], paths["groups"])
    return render(request, "roster/check.html", viewer, problems=[], people=people, groups=sessions, upload=upload,
                  files=[p.name for p in paths.values() if p is not None])


@router.post("/roster/store")
def store_roster(request: Request, study: StudyOf, viewer: OwnerRole, upload: str = Form(max_length=40)) -> Response:
    """Store a checked upload, all or nothing, under the signed-in owner's name in the audit trail."""
    folder = held(study, upload)
    roster, groups = _tables(folder)
    try:
        with acting_as(viewer.name):
            summary = ingest.import_roster_and_groups(study, roster, groups)
    except ChorusError as exc:  # the store changed since the check (someone else's import)
        raise HTTPException(400, str(exc).replace(str(folder) + "/", "")) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return back_to(request, "/roster", stored=summary.added + summary.updated, unchanged=summary.unchanged)


def _person_form(study: Study, key: str) -> dict[str, object]:
    from chorus.study.lookup import find_participant
    from chorus.study.models import Group

    with named_in_path(), study.reading() as session:
        person = find_participant(session, key)
        disciplines = sorted({d for d in session.scalars(select(Participant.discipline)) if d})
        return {"key": person.key, "pseudonym": person.pseudonym, "discipline": person.discipline or "", "care_team": person.care_team or "",
                "role": person.role, "member_of": [g.name for g in person.groups], "disciplines": disciplines,
                "groups": list(session.scalars(select(Group.name).order_by(Group.name)))}


@router.get("/roster/people/{key}", response_class=HTMLResponse)
def person_page(request: Request, key: str, study: StudyOf, viewer: OwnerRole) -> Response:
    """One person on the roster, to correct in place (owners)."""
    return render(request, "roster/person.html", viewer, **_person_form(study, key))


@router.post("/roster/people/{key}")
def edit_person(request: Request, key: str, study: StudyOf, viewer: OwnerRole, form: PostedForm) -> Response:
    """Correct one person's pseudonym, discipline, care team, role and groups (owners)."""
    try:
        with acting_as(viewer.name):
            ingest.edit_participant(
                study, key, pseudonym=str(form.get("pseudonym", "")), discipline=str(form.get("discipline", "")),
                care_team=str(form.get("care_team", "")), role=str(form.get("role", "participant")), groups=[str(g) for g in form.getlist("groups")],
            )
    except ChorusError as exc:
        return render(request, "roster/person.html", viewer, status=400, error=str(exc), **_person_form(study, key))
    return back_to(request, "/roster", edited=key)


def _group_form(study: Study, name: str) -> dict[str, object]:
    from chorus.study.lookup import find_group

    with named_in_path(), study.reading() as session:
        group = find_group(session, name)
        return {"name": group.name, "date": group.date.isoformat() if group.date else "", "recording": group.recording_path or ""}


@router.get("/roster/groups/{name}", response_class=HTMLResponse)
def group_page(request: Request, name: str, study: StudyOf, viewer: OwnerRole) -> Response:
    """One group's date and recording, to correct in place (owners)."""
    return render(request, "roster/group.html", viewer, **_group_form(study, name))


@router.post("/roster/groups/{name}")
def edit_group_page(
    request: Request, name: str, study: StudyOf, viewer: OwnerRole, date: str = Form("", max_length=20), recording: str = Form("", max_length=500),
) -> Response:
    try:
        with acting_as(viewer.name):
            ingest.edit_group(study, name, date=date, recording=recording)
    except ChorusError as exc:
        return render(request, "roster/group.html", viewer, status=400, **{**_group_form(study, name), "date": date, "recording": recording, "error": str(exc)})
    return back_to(request, "/roster", edited=name)
