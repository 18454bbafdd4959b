"""Recordings: uploaded, transcribed as background jobs with live progress, and their speakers named.

The page polls the job list once a second, so progress shows without a reload.
Uploads stream to disk (the body is never held in memory) and go to the study's
``recordings`` folder; each becomes a job (:mod:`chorus.audio.jobs`) that a
worker process of ``chorus serve`` runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy import select

from chorus.errors import ChorusError
from chorus.study import jobs as queue
from chorus.study.models import Group
from chorus.study.store import Study, acting_as
from chorus.web.pages import OwnerRole, PostedForm, StudyOf, ViewerRole, Whole, in_the_browser, named_in_path, render
from chorus.web.uploads import MOST_RECORDING_MIB, base_name, recording_limit, set_recording_limit

router = APIRouter()
RECORDINGS = "recordings"


def _jobs() -> Any:
    from chorus.audio import jobs

    return jobs


def _saved(upload: UploadFile, study: Study) -> Path:
    """The upload in the study's recordings folder under its own base name (numbered if taken)."""
    from chorus.audio.media import FORMATS

    name = base_name(upload)
    if not name or name.startswith(".") or Path(name).suffix.lower() not in FORMATS:
        raise ChorusError(f"{name or 'the file'}: recordings are {', '.join(FORMATS)}")
    folder = study.folder / RECORDINGS
    folder.mkdir(exist_ok=True)
    path, number = folder / name, 1
    while True:
        try:
            out = path.open("xb")  # made only if new: two uploads of FG01.wav at once get two files
            break
        except FileExistsError:
            number += 1
            path = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
    with out:
        shutil.copyfileobj(upload.file, out, length=1024 * 1024)
    return path


@router.get("/recordings", response_class=HTMLResponse)
def recordings_page(request: Request, study: StudyOf, viewer: ViewerRole) -> Response:
    with study.reading() as session:
        groups = list(session.scalars(select(Group.name).order_by(Group.name)))
    from chorus.audio.jobs import ENROLMENT

    clips = sorted(p.stem for p in (study.folder / ENROLMENT).iterdir()) if (study.folder / ENROLMENT).is_dir() else []
    return render(request, "recordings/recordings.html", viewer, groups=groups, limit=recording_limit(study), most=MOST_RECORDING_MIB, clips=clips)


@router.post("/recordings/limit")
def raise_limit(request: Request, study: StudyOf, viewer: OwnerRole, mib: int = Form(ge=1, le=MOST_RECORDING_MIB)) -> Response:
    """How large one upload of recordings may be (owners): a long group filmed in high quality needs more."""
    with acting_as(viewer.name):
        set_recording_limit(study, mib)
    return RedirectResponse(f"{request.app.state.root}/recordings", status_code=303)


@router.get("/api/jobs")
def jobs_api(study: StudyOf, _: ViewerRole, kind: str | None = None) -> list[dict[str, Any]]:
    """The study's background jobs (transcriptions, de-identification), newest first, as the pages poll them."""
    return queue.jobs(study, kind)


@router.post("/api/recordings", status_code=201)
def upload_recordings(
    files: list[UploadFile], study: StudyOf, viewer: OwnerRole, group: str | None = Form(None, max_length=100),
    new_group: str | None = Form(None, max_length=100),
) -> dict[str, Any]:
    """Each recording saved and queued as a transcription job; one that cannot be is removed and named in the error.

    ``new_group`` makes the group the recordings are of first (its people can join it on the roster before the speakers are named).
    """
    from chorus.ingest import add_group
    from chorus.ingest.transcripts import group_for

    new_group = (new_group or "").strip()
    if new_group and group:
        raise HTTPException(400, "choose a group from the list or name a new one, not both")
    made = []
    for upload in files:
        path = None
        try:
            path = _saved(upload, study)
            if new_group and not group:  # made once a recording of it is saved, so a refused file leaves no group behind
                with acting_as(viewer.name):
                    group = add_group(study, new_group)
            with study.reading() as session:
                the_group = group or group_for(path, {g.name: g for g in session.scalars(select(Group))}).name
            made.append(_jobs().submit(study, path.relative_to(study.folder), the_group, viewer.name))
        except ChorusError as exc:
            if path is not None:
                path.unlink(missing_ok=True)
            message = in_the_browser(exc).replace(str(study.folder / RECORDINGS) + "/", "")
            raise HTTPException(400, f"{message}{'; the others were queued' if made else ''}") from None
    return {"jobs": made}


@router.post("/api/enrolment", status_code=201)
def upload_clips(files: list[UploadFile], study: StudyOf, viewer: OwnerRole) -> dict[str, list[str]]:
    """Voice clips, one per person, named by their roster id or pseudonym (Nina.wav): the speaker page then proposes them."""
    from chorus.audio.jobs import ENROLMENT
    from chorus.audio.media import FORMATS, probe
    from chorus.study.lookup import find_participant

    folder = study.folder / ENROLMENT
    folder.mkdir(exist_ok=True)
    kept = []
    for upload in files:
        name = base_name(upload)
        suffix = Path(name).suffix.lower()
        if suffix not in FORMATS:
            raise HTTPException(400, f"{name or 'the file'}: voice clips are recordings ({', '.join(FORMATS)})")
        with study.reading() as session:
            try:
                key = find_participant(session, Path(name).stem).key
            except ChorusError as exc:
                raise HTTPException(400, f"{name}: name the clip after the person it is ({exc})") from None
        for old in folder.glob(f"{key}.*"):
            old.unlink()
        path = folder / f"{key}{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, length=1024 * 1024)
        try:
            probe(path)
        except ChorusError as exc:
            path.unlink(missing_ok=True)
            raise HTTPException(400, in_the_browser(exc).replace(str(folder) + "/", "")) from None
        kept.append(key)
    return {"clips": kept}


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(job_id: Whole, study: StudyOf, viewer: OwnerRole) -> dict[str, str]:
    with named_in_path():
        queue.cancel(study, job_id, viewer.name)
    return {"state": "cancelled"}


@router.get("/jobs/{job_id}/audio")
def job_audio(job_id: Whole, study: StudyOf, _: OwnerRole) -> Response:
    """The job's recording, for the speaker page's play buttons (the browser asks for ranges)."""
    with named_in_path():
        job = queue.job(study, job_id)
    return FileResponse(study.folder / job.recording)


@router.get("/jobs/{job_id}/speakers", response_class=HTMLResponse)
def speakers_page(request: Request, job_id: Whole, study: StudyOf, viewer: OwnerRole) -> Response:
    """Each heard speaker with their first lines and a few seconds of their voice, and a choice among the group's people."""
    from chorus.audio.speakers import name_speakers

    with named_in_path():
        heard = _jobs().heard_of(study, job_id)
    proposed = name_speakers(heard.result, None, heard.voices, heard.job.facilitator)
    speakers: dict[str, dict[str, Any]] = {}
    for speaker in heard.result.speakers:
        # their worded turns (else any): the clip plays from the first and runs on over those that follow within half a second
        turns = heard.result.worded(speaker) or [t for t in heard.result.turns if t.speaker == speaker]
        entry = speakers[speaker] = {"speaker": speaker, "lines": [t.said for t in turns[:3] if t.said], "start": turns[0].start, "end": turns[0].end}
        for turn in turns[1:]:
            if entry["end"] - entry["start"] < 4 and turn.start <= entry["end"] + 0.5:
                entry["end"] = max(entry["end"], turn.end)
    with study.reading() as session:
        group = session.scalar(select(Group).where(Group.name == heard.job.group))
        people = [(p.key, p.pseudonym, p.discipline or p.role) for p in group.members] if group else []
    for entry in speakers.values():
        entry["proposed"] = proposed[entry["speaker"]].participant if entry["speaker"] in proposed else ""
        entry["how"] = proposed[entry["speaker"]].how if entry["speaker"] in proposed else ""
    return render(request, "recordings/speakers.html", viewer, job_id=job_id, job=heard.job, speakers=list(speakers.values()), people=people)


@router.post("/jobs/{job_id}/speakers")
def name_speakers(request: Request, job_id: Whole, study: StudyOf, viewer: OwnerRole, form: PostedForm) -> Response:
    """Store the transcript with the names chosen; a speaker left unidentified stays S<n>."""
    names = {key.removeprefix("speaker-"): (str(value) or None) for key, value in form.items() if key.startswith("speaker-")}
    if not names:
        raise HTTPException(400, "no speaker names were sent")
    with named_in_path():
        stored = _jobs().name_speakers_of(study, job_id, names, viewer.name)
    return RedirectResponse(f"{request.app.state.root}/transcripts/{stored.name}", status_code=303)
