"""Transcripts: the coding page with its recording, its JSON, uploading transcript files, and fixing a turn."""

from __future__ import annotations

import bisect
import mimetypes
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chorus.coding.stances import STANCES, stance_of
from chorus.errors import ChorusError
from chorus.ingest.transcripts import overlapped_turn
from chorus.study import changes
from chorus.study.lookup import all_codes, code_path, find_transcript
from chorus.study.models import LARGEST_INTEGER, Code, Coder, Coding, Participant, Transcript, Turn
from chorus.study.store import Study, acting_as
from chorus.web.pages import PALETTE, OwnerRole, StudyOf, ViewerRole, Whole, back_to, in_the_browser, named_in_path, render
from chorus.web.uploads import as_uploaded, naming_uploads, uploaded
from chorus.web.security import Viewer
from chorus.web.users import rank

router = APIRouter()


def coded_pieces(text: str, start: int, end: int, codings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A turn's text cut where codings start and end: each piece with the codings covering it.

    >>> [(p["text"], len(p["codings"])) for p in coded_pieces("abcdef", 0, 6, [{"start": 2, "end": 4}])]
    [('ab', 0), ('cd', 1), ('ef', 0)]
    """
    inside = [c for c in codings if c["start"] < end and c["end"] > start]
    cuts = sorted({start, end} | {min(max(c[k], start), end) for c in inside for k in ("start", "end")})
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [c for c in inside if c["start"] <= a and c["end"] >= b]
        pieces.append({"text": text[a:b], "codings": covering})
    return pieces


def transcript_view(session: Session, transcript: Transcript, span: tuple[int, int] | None = None) -> dict[str, Any]:
    """A transcript's turns, each with the codings that overlap it and its text cut into coded pieces.

    A stance coding (``stance``: its name) is a mark on the whole turn, shown in
    the margin; it does not cut the text into pieces. With ``span`` (start, end),
    only the turns that overlap it, and the codings on those turns: what the
    coding page redraws after a coding is made or removed, without the rest.

    Work grows with turns plus codings (each coding is placed by a binary search
    over the turns' starts), so a 900-turn group with thousands of codings renders
    as fast per turn as a short one. Three queries, whatever the size.
    """
    codes = {c.id: (code_path(c), c.colour or "#999999") for c in session.scalars(select(Code))}
    turns_of = (
        select(Turn.ordinal, Turn.speaker_label, Participant.pseudonym, Participant.discipline, Participant.role, Turn.start, Turn.end,
               Turn.start_time, Turn.end_time)
        .join(Participant, Participant.id == Turn.participant_id)
        .where(Turn.transcript_id == transcript.id)
        .order_by(Turn.start)
    )
    if span is not None:
        turns_of = turns_of.where(Turn.end > span[0], Turn.start < span[1])
    rows = session.execute(turns_of).all()
    codings_of = (
        select(Coding.id, Coding.code_id, Coder.name, Coding.start, Coding.end)
        .join(Coder, Coder.id == Coding.coder_id)
        .where(Coding.transcript_id == transcript.id)
        .order_by(Coding.start, Coding.id)
    )
    if span is not None:
        codings_of = codings_of.where(Coding.end > (rows[0].start if rows else 0), Coding.start < (rows[-1].end if rows else 0))
    codings = [
        {"id": coding_id, "code": codes[code_id][0], "colour": codes[code_id][1], "coder": coder, "start": start, "end": end,
         "stance": stance_of(codes[code_id][0])}
        for coding_id, code_id, coder, start, end in session.execute(codings_of)
    ]
    starts = [row.start for row in rows]
    overlapping: list[list[dict[str, Any]]] = [[] for _ in rows]
    for c in codings:
        at = max(bisect.bisect_right(starts, c["start"]) - 1, 0)
        while at < len(rows) and rows[at].start < c["end"]:
            if rows[at].end > c["start"]:
                overlapping[at].append(c)
            at += 1
    text = transcript.text
    turns = [
        {"ordinal": row.ordinal, "speaker": row.pseudonym, "label": row.speaker_label, "discipline": row.discipline, "role": row.role, "start": row.start,
         "end": row.end, "text": text[row.start : row.end], "time": row.start_time, "end_time": row.end_time,
         "overlap": overlapped_turn(transcript.media, row.ordinal, row.start_time, row.end_time),
         "codings": mine, "pieces": coded_pieces(text, row.start, row.end, [c for c in mine if not c["stance"]])}
        for row, mine in zip(rows, overlapping)
    ]
    turns.sort(key=lambda t: t["ordinal"])
    return {"turns": turns, "codings": codings, "codes": sorted(path for path, _ in codes.values())}


def recording_of(study: Study, transcript: Transcript) -> Path | None:
    """The recording a transcript was made from or its group's recording, if the file is there."""
    given = (transcript.media or {}).get("path") or transcript.group.recording_path
    if not given:
        return None
    path = Path(given) if Path(given).is_absolute() else study.folder / given
    return path if path.is_file() else None


def transcript_data(study: Study, name: str) -> dict[str, Any]:
    """What the transcript page shows, as the JSON API gives it too."""
    with study.reading() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.name == name))
        if transcript is None:
            raise HTTPException(404, f"no transcript called {name!r}")
        view = transcript_view(session, transcript)
        timed = any(t["time"] is not None for t in view["turns"])
        return {"name": transcript.name, "group": transcript.group.name, **view, "timed": timed, "audio": timed and recording_of(study, transcript) is not None}


#: How many of a coder's last-used codes the code menu offers first.
RECENT_CODES = 8


def menu_codes(study: Study, coder: str) -> dict[str, list[Any]]:
    """What the code menu offers: every code (path, colour, definition) in codebook order, and ``coder``'s last-used codes, latest first.

    Stance codes are left out: a stance is recorded on the whole turn, from its own menu.
    """
    with study.reading() as session:
        codes = [{"path": code_path(c), "colour": c.colour or "#999999", "definition": c.definition or ""} for c in all_codes(session)]
        used = session.execute(
            select(Coding.code_id, func.max(Coding.id).label("last")).join(Coder, Coder.id == Coding.coder_id)
            .where(Coder.name == coder).group_by(Coding.code_id).order_by(func.max(Coding.id).desc()).limit(RECENT_CODES * 2)
        ).all()
        recent = [code_path(session.get(Code, code_id)) for code_id, _ in used]
    return {"codes": [c for c in codes if not stance_of(c["path"])], "recent": [p for p in recent if not stance_of(p)][:RECENT_CODES]}


def _coding_context(viewer: Viewer, data: dict[str, Any]) -> dict[str, Any]:
    """What the transcript page and its redrawn turns are rendered with."""
    return {"t": data, "palette": PALETTE, "can_code": rank(viewer.role) >= rank("coder"), "can_edit": viewer.role == "owner", "stances": STANCES}


@router.get("/transcripts/{name}", response_class=HTMLResponse)
def transcript_page(request: Request, name: str, study: StudyOf, viewer: ViewerRole) -> Response:
    """A transcript to read and code: select words and the code menu opens beside them."""
    live_after = changes.latest(study)  # before what the page shows: what comes after reaches it through the change stream
    data = transcript_data(study, name)
    context = _coding_context(viewer, data)
    menu = menu_codes(study, viewer.name) if context["can_code"] else {"codes": [], "recent": []}
    page = {"root": request.app.state.root, "transcript": data["name"], "csrf": viewer.csrf, **menu}
    return render(request, "transcripts/transcript.html", viewer, page=page, live_after=live_after, **context)


@router.get("/transcripts/{name}/turns", response_class=HTMLResponse)
def turns_of_span(request: Request, name: str, study: StudyOf, viewer: ViewerRole, start: Whole = 0, end: Whole = LARGEST_INTEGER) -> Response:
    """The turns that overlap ``[start, end)`` as the transcript page draws them: redrawn in place after a coding changes, with no page load."""
    with named_in_path(), study.reading() as session:
        transcript = find_transcript(session, name)
        view = transcript_view(session, transcript, span=(start, end))
        data = {"name": transcript.name, **view, "audio": any(t["time"] is not None for t in view["turns"]) and recording_of(study, transcript) is not None}
    return render(request, "transcripts/turns.html", viewer, **_coding_context(viewer, data))


@router.get("/transcripts/{name}/audio")
def transcript_audio(name: str, study: StudyOf, _: ViewerRole) -> Response:
    with study.reading() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.name == name))
        path = recording_of(study, transcript) if transcript is not None else None
    if path is None:
        raise HTTPException(404, f"no recording for transcript {name!r}")
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


@router.get("/api/transcripts/{name}")
def transcript_api(name: str, study: StudyOf, _: ViewerRole) -> dict[str, Any]:
    return transcript_data(study, name)


@router.post("/api/transcripts", status_code=201)
def upload_transcripts(
    files: list[UploadFile], study: StudyOf, viewer: OwnerRole, group: str | None = Form(None, max_length=100)
) -> dict[str, Any]:
    from chorus.ingest import import_transcripts
    from chorus.ingest.transcripts import FORMATS

    with tempfile.TemporaryDirectory() as folder:
        paths = [uploaded(f, Path(folder), FORMATS) for f in files]
        with naming_uploads(folder), acting_as(viewer.name):
            warnings = import_transcripts(study, paths, group=group or None)
    return {"imported": [p.stem for p in paths], "warnings": [as_uploaded(w, folder) for w in warnings]}


def _turn_context(study: Study, name: str, ordinal: int) -> dict[str, Any]:
    with named_in_path(), study.reading() as session:
        transcript = find_transcript(session, name)
        turn = session.scalar(select(Turn).where(Turn.transcript_id == transcript.id, Turn.ordinal == ordinal))
        if turn is None:
            raise HTTPException(404, f"{transcript.name} has no turn {ordinal}")
        people = [(p.key, p.pseudonym, p.discipline or p.role) for p in transcript.group.members]
        if turn.participant not in transcript.group.members:
            people.append((turn.participant.key, turn.participant.pseudonym, turn.participant.role))
        return {"name": transcript.name, "ordinal": ordinal, "text": transcript.text[turn.start:turn.end],
                "speaker": turn.participant.key, "people": people, "turns": len(transcript.turns)}


@router.get("/transcripts/{name}/remove", response_class=HTMLResponse)
def removal_page(request: Request, name: str, study: StudyOf, viewer: OwnerRole, error: str = "") -> Response:
    """What removing the transcript takes with it (its turns, codings by coder, memos), to confirm (owners; as ``chorus transcripts remove``)."""
    from chorus.ingest.transcripts import removal

    with named_in_path():
        going = removal(study, name)
    return render(request, "transcripts/remove.html", viewer, going=going, error=error)


@router.post("/transcripts/{name}/remove")
def remove(request: Request, name: str, study: StudyOf, viewer: OwnerRole, confirmed: str = Form(max_length=10_000)) -> Response:
    """Remove the transcript with what the confirm step said goes, in one transaction the audit trail logs; refused if that changed meanwhile."""
    from chorus.ingest.transcripts import remove_transcript

    try:
        with named_in_path(), acting_as(viewer.name):
            remove_transcript(study, name, confirmed=confirmed)
    except ChorusError as exc:
        return back_to(request, f"/transcripts/{quote(name, safe='')}/remove", error=in_the_browser(exc))
    return back_to(request, "/", removed=confirmed)


@router.get("/transcripts/{name}/turns/{ordinal}", response_class=HTMLResponse)
def turn_editor(request: Request, name: str, ordinal: Whole, study: StudyOf, viewer: OwnerRole) -> Response:
    """One turn's text and speaker, to fix what the recogniser misheard (owners)."""
    return render(request, "transcripts/turn.html", viewer, **_turn_context(study, name, ordinal))


@router.post("/transcripts/{name}/turns/{ordinal}")
def edit_turn_page(
    request: Request, name: str, ordinal: Whole, study: StudyOf, viewer: OwnerRole,
    text: str = Form(max_length=100_000), speaker: str = Form(max_length=100),
) -> Response:
    """Store the fixed turn; codings on unchanged words stay, the audit trail records the change."""
    from chorus.ingest.editing import edit_turn

    try:
        with acting_as(viewer.name):
            edit_turn(study, name, ordinal, text=text, speaker=speaker)
    except ChorusError as exc:
        context = {**_turn_context(study, name, ordinal), "text": text, "speaker": speaker, "error": str(exc)}
        return render(request, "transcripts/turn.html", viewer, status=400, **context)
    return RedirectResponse(f"{request.app.state.root}/transcripts/{name}#turn-{ordinal}", status_code=303)
