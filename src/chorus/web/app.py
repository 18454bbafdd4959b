"""The team web app: a thin shell over the same library calls the CLI makes.

Pages are rendered on the server (Jinja2) with a little JavaScript for
selecting text to code. Every route but the login page and the health check
needs a signed-in user; every state-changing request needs the session's CSRF
token (header ``X-CSRF-Token`` or form field ``csrf``); roles are checked on
every route (:data:`ROUTE_ROLES`). Sessions are signed cookies (HttpOnly,
SameSite=Strict, Secure behind HTTPS) holding the user's id and CSRF token;
the user and role are read from the store on every request, so a changed role
takes effect at once. Changes are logged in the audit trail under the user.

    chorus serve --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import bisect
import mimetypes
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chorus import analysis, coding
from chorus.analysis.frames import participants
from chorus.coding import codes as codebook
from chorus.errors import ChorusError, EditConflict
from chorus.study.lookup import code_path
from chorus.study.models import Code, Coder, Coding, Group, Participant, Transcript, Turn, User
from chorus.study.store import Study, acting_as
from chorus.web.users import rank, verify

COOKIE = "chorus_session"
SESSION_SECONDS = 12 * 3600
SECRET_FILE = ".chorus-web-secret"
MAX_BODY = 1 * 1024 * 1024
#: Larger bodies allowed on the upload routes (bytes); every other request is held to MAX_BODY.
UPLOAD_LIMITS = {"/api/transcripts": 20 * 1024 * 1024, "/api/import": 512 * 1024 * 1024}
PALETTE = {"physician": "#4e79a7", "nurse": "#59a14f", "APP": "#f28e2b", "psychosocial clinician": "#b07aa1"}
#: Who may use each route (path, method) -> lowest role; routes not listed are public.
ROUTE_ROLES: dict[tuple[str, str], str] = {}


def _secret(study: Study) -> str:
    path = study.folder / SECRET_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


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


def transcript_view(session: Session, transcript: Transcript) -> dict[str, Any]:
    """A transcript's turns, each with the codings that overlap it and its text cut into coded pieces.

    Work grows with turns plus codings (each coding is placed by a binary search
    over the turns' starts), so a 900-turn group with thousands of codings renders
    as fast per turn as a short one. Three queries, whatever the size.
    """
    codes = {c.id: (code_path(c), c.colour or "#999999") for c in session.scalars(select(Code))}
    codings = [
        {"id": coding_id, "code": codes[code_id][0], "colour": codes[code_id][1], "coder": coder, "start": start, "end": end}
        for coding_id, code_id, coder, start, end in session.execute(
            select(Coding.id, Coding.code_id, Coder.name, Coding.start, Coding.end)
            .join(Coder, Coder.id == Coding.coder_id)
            .where(Coding.transcript_id == transcript.id)
            .order_by(Coding.start, Coding.id)
        )
    ]
    rows = session.execute(
        select(Turn.ordinal, Turn.speaker_label, Participant.discipline, Participant.role, Turn.start, Turn.end, Turn.start_time, Turn.end_time)
        .join(Participant, Participant.id == Turn.participant_id)
        .where(Turn.transcript_id == transcript.id)
        .order_by(Turn.start)
    ).all()
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
        {"ordinal": row.ordinal, "speaker": row.speaker_label, "discipline": row.discipline, "role": row.role, "start": row.start,
         "end": row.end, "text": text[row.start : row.end], "time": row.start_time, "end_time": row.end_time,
         "codings": mine, "pieces": coded_pieces(text, row.start, row.end, mine)}
        for row, mine in zip(rows, overlapping)
    ]
    turns.sort(key=lambda t: t["ordinal"])
    return {"turns": turns, "codings": codings, "codes": sorted(path for path, _ in codes.values())}


class NewCoding(BaseModel):
    """A span of a transcript to code."""

    transcript: str = Field(max_length=200)
    code: str = Field(max_length=400)
    start: int = Field(ge=0)
    end: int = Field(ge=1)


class MergeInto(BaseModel):
    """The code another is merged into."""

    target: str = Field(min_length=1, max_length=400)


class NewMemo(BaseModel):
    """A memo's text."""

    text: str = Field(min_length=1, max_length=20_000)


class NewCode(BaseModel):
    """A code to add to the codebook."""

    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(default=None, max_length=400)
    colour: str | None = Field(default=None, max_length=7)


class CodeChange(BaseModel):
    """Changes to a code, with the version the editor saw (a newer one means someone else changed it)."""

    version: int
    name: str | None = Field(default=None, max_length=200)
    colour: str | None = Field(default=None, max_length=7)
    definition: str | None = Field(default=None, max_length=20_000)
    inclusion: str | None = Field(default=None, max_length=20_000)
    exclusion: str | None = Field(default=None, max_length=20_000)
    parent: str | None = Field(default=None, max_length=400)  # "" for the top level
    example: str | None = Field(default=None, max_length=20_000)


class _Viewer:
    def __init__(self, user_id: int, name: str, role: str, csrf: str):
        self.id, self.name, self.role, self.csrf = user_id, name, role, csrf


class BodyLimit:
    """Refuse request bodies over the route's limit with 413, counting the bytes as they arrive.

    The Content-Length header is checked first; a body sent in chunks without one
    is counted as it streams and cut off at the limit (the app sees the client
    leave), so an upload cannot fill the disk by leaving the header out.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        limit = UPLOAD_LIMITS.get(path[len(root) :] if root and path.startswith(root) else path, MAX_BODY)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen, over = 0, False

        async def counted() -> dict[str, Any]:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answered(message: dict[str, Any]) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send, limit)

        await self.app(scope, counted, answered)

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        response = JSONResponse({"error": f"request bodies here are limited to {limit // 1024} KiB"}, status_code=413)
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


def create_app(study: Study, secure_cookies: bool = False, root: str = "") -> FastAPI:
    """The web app over ``study``, served at ``root`` (``/studies/pc-study`` beside other studies; empty alone)."""
    app = FastAPI(title=f"Chorus: {study.name}", docs_url=None, redoc_url=None, openapi_url=None)
    signer = URLSafeTimedSerializer(_secret(study), salt="chorus-session")
    pages = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    pages.env.globals["root"] = root
    app.add_middleware(BodyLimit)

    def session_of(request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            return signer.loads(raw, max_age=SESSION_SECONDS)
        except BadSignature:
            return {}

    def set_session(response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE, signer.dumps(data), max_age=SESSION_SECONDS, path=root or "/", httponly=True, samesite="strict", secure=secure_cookies
        )

    def needs(role: str):  # noqa: ANN202 - a FastAPI dependency
        def check(request: Request) -> _Viewer:
            data = session_of(request)
            user_id = data.get("uid")
            found = None
            if user_id is not None:
                with study.reading() as session:
                    user = session.get(User, user_id)
                    found = (user.id, user.name, user.role) if user else None
            if found is None:
                raise HTTPException(401, "sign in first")
            viewer = _Viewer(*found, data.get("csrf", ""))
            if request.method not in ("GET", "HEAD"):
                sent = request.headers.get("x-csrf-token") or request.query_params.get("csrf") or ""
                if not data.get("csrf") or not secrets.compare_digest(sent, data["csrf"]):
                    raise HTTPException(403, "missing or wrong CSRF token; reload the page")
            if rank(viewer.role) < rank(role):
                raise HTTPException(403, f"this needs the {role} role; you are a {viewer.role}")
            return viewer

        return check

    def route(path: str, method: str, role: str | None) -> None:
        if role is not None:
            ROUTE_ROLES[(path, method)] = role

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET" and "/api/" not in request.url.path:
            return RedirectResponse(f"{root}/login", status_code=303)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(ChorusError)
    async def explained(_: Request, exc: ChorusError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.middleware("http")
    async def secured(request: Request, call_next):  # noqa: ANN001, ANN202 - Starlette middleware
        started = time.perf_counter()
        response = await call_next(request)
        # the app's own time, shown by browsers' developer tools and read by benchmarks/bench_pages.py
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"
        return response

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, failed: bool = False) -> Response:
        data = session_of(request)
        csrf = data.get("csrf") or secrets.token_urlsafe(24)
        response = pages.TemplateResponse(request, "login.html", {"study": study.name, "csrf": csrf, "failed": failed})
        set_session(response, {"csrf": csrf})
        return response

    @app.post("/login")
    def login(request: Request, name: str = Form(max_length=100), password: str = Form(max_length=1000), csrf: str = Form("")) -> Response:
        expected = session_of(request).get("csrf", "")
        if not expected or not secrets.compare_digest(csrf, expected):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        found = verify(study, name, password)
        if found is None:
            return RedirectResponse(f"{root}/login?failed=true", status_code=303)
        response = RedirectResponse(f"{root}/", status_code=303)
        set_session(response, {"uid": found[0], "csrf": secrets.token_urlsafe(24)})  # a new token for the new session
        return response

    route("/logout", "POST", "viewer")

    @app.post("/logout")
    def logout(_: _Viewer = Depends(needs("viewer"))) -> Response:
        response = RedirectResponse(f"{root}/login", status_code=303)
        response.delete_cookie(COOKIE, path=root or "/")
        return response

    route("/", "GET", "viewer")

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        with study.reading() as session:
            transcripts = session.execute(
                select(Transcript.name, Group.name, func.count(Turn.id))
                .join(Group, Group.id == Transcript.group_id)
                .outerjoin(Turn, Turn.transcript_id == Transcript.id)
                .group_by(Transcript.id, Transcript.name, Group.name)
                .order_by(Transcript.name)
            ).tuples().all()
        tree = codebook.codebook(study)
        return pages.TemplateResponse(request, "index.html", {"study": study.name, "viewer": viewer, "transcripts": transcripts, "codes": tree.to_dict("records")})

    route("/transcripts/{name}", "GET", "viewer")

    @app.get("/transcripts/{name}", response_class=HTMLResponse)
    def transcript_page(request: Request, name: str, viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        data = transcript_data(name)
        return pages.TemplateResponse(
            request, "transcript.html",
            {"study": study.name, "viewer": viewer, "t": data, "palette": PALETTE, "can_code": rank(viewer.role) >= rank("coder")},
        )

    def transcript_data(name: str) -> dict[str, Any]:
        with study.reading() as session:
            transcript = session.scalar(select(Transcript).where(Transcript.name == name))
            if transcript is None:
                raise HTTPException(404, f"no transcript called {name!r}")
            view = transcript_view(session, transcript)
            timed = any(t["time"] is not None for t in view["turns"])
            return {"name": transcript.name, "group": transcript.group.name, **view, "audio": timed and recording_of(transcript) is not None}

    def recording_of(transcript: Transcript) -> Path | None:
        """The recording a transcript was made from or its group's recording, if the file is there."""
        given = (transcript.media or {}).get("path") or transcript.group.recording_path
        if not given:
            return None
        path = Path(given) if Path(given).is_absolute() else study.folder / given
        return path if path.is_file() else None

    route("/transcripts/{name}/audio", "GET", "viewer")

    @app.get("/transcripts/{name}/audio")
    def transcript_audio(name: str, _: _Viewer = Depends(needs("viewer"))) -> Response:
        with study.reading() as session:
            transcript = session.scalar(select(Transcript).where(Transcript.name == name))
            path = recording_of(transcript) if transcript is not None else None
        if path is None:
            raise HTTPException(404, f"no recording for transcript {name!r}")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    route("/api/transcripts/{name}", "GET", "viewer")

    @app.get("/api/transcripts/{name}")
    def transcript_api(name: str, _: _Viewer = Depends(needs("viewer"))) -> dict[str, Any]:
        return transcript_data(name)

    route("/api/codings", "POST", "coder")

    @app.post("/api/codings", status_code=201)
    def add_coding(new: NewCoding, viewer: _Viewer = Depends(needs("coder"))) -> dict[str, int]:
        with acting_as(viewer.name):
            coding_id = coding.apply_code(study, new.transcript, new.code, viewer.name, start=new.start, end=new.end)
        return {"id": coding_id}

    route("/api/codings/{coding_id}", "DELETE", "coder")

    @app.delete("/api/codings/{coding_id}", status_code=204)
    def remove_coding(coding_id: int, viewer: _Viewer = Depends(needs("coder"))) -> Response:
        with study.reading() as session:
            owner = session.scalar(select(Coder.name).join(Coding, Coding.coder_id == Coder.id).where(Coding.id == coding_id))
        if owner is None:
            raise HTTPException(404, f"there is no coding #{coding_id}")
        if owner != viewer.name and viewer.role != "owner":
            raise HTTPException(403, f"coding #{coding_id} is {owner}'s; coders remove only their own")
        with acting_as(viewer.name):
            coding.remove_coding(study, coding_id)
        return Response(status_code=204)

    route("/api/codings/{coding_id}/memo", "POST", "coder")

    @app.post("/api/codings/{coding_id}/memo", status_code=201)
    def memo_on_coding(coding_id: int, memo: NewMemo, viewer: _Viewer = Depends(needs("coder"))) -> dict[str, int]:
        with acting_as(viewer.name):
            return {"id": coding.add_memo(study, memo.text, viewer.name, coding=coding_id)}

    route("/api/codes", "POST", "coder")

    @app.post("/api/codes", status_code=201)
    def new_code(new: NewCode, viewer: _Viewer = Depends(needs("coder"))) -> dict[str, str]:
        with acting_as(viewer.name):
            return {"path": codebook.add(study, new.name, new.parent, **({"colour": new.colour} if new.colour else {}))}

    route("/api/codes/{path:path}", "PATCH", "owner")

    @app.patch("/api/codes/{path:path}")
    def edit_code(path: str, change: CodeChange, viewer: _Viewer = Depends(needs("owner"))) -> dict[str, Any]:
        fields = {k: v for k, v in change.model_dump(exclude={"version", "name", "parent"}).items() if v is not None}
        try:
            with acting_as(viewer.name):
                codebook.edit(study, path, change.version, new_name=change.name or None, parent=change.parent, **fields)
        except EditConflict as exc:
            raise HTTPException(409, str(exc)) from None
        return {"ok": True}

    route("/segments", "GET", "viewer")

    @app.get("/segments", response_class=HTMLResponse)
    def segments_page(
        request: Request, code: str | None = None, discipline: str | None = None, group: str | None = None,
        coder: str | None = None, viewer: _Viewer = Depends(needs("viewer")),
    ) -> Response:
        filters = {"code": code or None, "discipline": discipline or None, "group": group or None, "coder": coder or None}
        found = analysis.segments(study, **filters, limit=500)
        return pages.TemplateResponse(
            request, "segments.html",
            {"study": study.name, "viewer": viewer, "rows": found.to_dict("records"), "total": analysis.count_segments(study, **filters),
             "filters": {"code": code or "", "discipline": discipline or "", "group": group or "", "coder": coder or ""}, "codes": sorted(codebook.codebook(study)["path"])},
        )

    route("/roster", "GET", "viewer")

    @app.get("/roster", response_class=HTMLResponse)
    def roster_page(request: Request, viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        with study.reading() as session:
            people = participants(session, facilitators=True)
        people = people.drop(columns=["participant_id"]).fillna("")
        sample = analysis.sample(study)["groups"].astype(object).fillna("")
        return pages.TemplateResponse(request, "tables.html", {
            "study": study.name, "viewer": viewer, "title": "Roster and groups",
            "tables": [("Participants", people), ("Focus groups", sample)],
        })

    route("/themes", "GET", "viewer")

    @app.get("/themes", response_class=HTMLResponse)
    def themes_page(request: Request, viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        found = analysis.themes(study, quotes=2)
        return pages.TemplateResponse(request, "themes.html", {"study": study.name, "viewer": viewer, "themes": found.to_dict("records")})

    route("/report", "GET", "viewer")

    @app.get("/report")
    def report_download(_: _Viewer = Depends(needs("viewer"))) -> Response:
        from chorus.report import build

        with tempfile.TemporaryDirectory() as folder:
            written = build(study, Path(folder) / "findings.html")
            html = written.html.read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"Content-Disposition": 'attachment; filename="findings.html"'})

    route("/export.qdpx", "GET", "owner")

    @app.get("/export.qdpx")
    def export_download(_: _Viewer = Depends(needs("owner"))) -> Response:
        from chorus.interop import export_qdpx

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "study.qdpx"
            export_qdpx(study, path)
            data = path.read_bytes()
        return Response(data, media_type="application/zip", headers={"Content-Disposition": 'attachment; filename="study.qdpx"'})

    def uploaded(upload: UploadFile, folder: Path, allowed: tuple[str, ...]) -> Path:
        """The upload saved under its own base name in ``folder``; the name is never a path."""
        name = Path((upload.filename or "").replace("\\", "/")).name
        if not name or name.startswith(".") or Path(name).suffix.lower() not in allowed:
            raise HTTPException(400, f"{name or 'the file'}: expected one of {', '.join(allowed)}")
        path = folder / name
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        return path

    def as_uploaded(text: str, folder: str) -> str:
        """``text`` naming the uploaded files as the user called them, not the temporary folder they sat in."""
        return text.replace(folder + "/", "")

    @contextmanager
    def naming_uploads(folder: str) -> Iterator[None]:
        try:
            yield
        except ChorusError as exc:
            raise HTTPException(400, as_uploaded(str(exc), folder)) from None

    route("/api/transcripts", "POST", "owner")

    @app.post("/api/transcripts", status_code=201)
    def upload_transcripts(
        files: list[UploadFile], group: str | None = Form(None, max_length=100), viewer: _Viewer = Depends(needs("owner"))
    ) -> dict[str, Any]:
        from chorus.ingest import import_transcripts
        from chorus.ingest.transcripts import FORMATS

        with tempfile.TemporaryDirectory() as folder:
            paths = [uploaded(f, Path(folder), FORMATS) for f in files]
            with naming_uploads(folder), acting_as(viewer.name):
                warnings = import_transcripts(study, paths, group=group or None)
        return {"imported": [p.stem for p in paths], "warnings": [as_uploaded(w, folder) for w in warnings]}

    route("/api/import", "POST", "owner")

    @app.post("/api/import", status_code=201)
    def upload_project(
        file: UploadFile, discipline: str | None = Form(None, max_length=200), viewer: _Viewer = Depends(needs("owner"))
    ) -> dict[str, Any]:
        from chorus.interop import import_qdpx

        with tempfile.TemporaryDirectory() as folder:
            path = uploaded(file, Path(folder), (".qdpx",))
            with naming_uploads(folder), acting_as(viewer.name):
                report = import_qdpx(study, path, variables={discipline: "discipline"} if discipline else None)
        return {"codes": report.codes, "transcripts": report.sources, "codings": report.codings, "participants": report.cases,
                "memos": report.notes, "coders": report.users, "skipped": report.skipped}

    route("/codes", "GET", "viewer")

    @app.get("/codes", response_class=HTMLResponse)
    def codes_page(request: Request, viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        return pages.TemplateResponse(
            request, "codes.html",
            {"study": study.name, "viewer": viewer, "codes": codebook.codebook(study).to_dict("records"),
             "can_edit": viewer.role == "owner", "can_add": rank(viewer.role) >= rank("coder")},
        )

    route("/api/codes/{path:path}/merge", "POST", "owner")

    @app.post("/api/codes/{path:path}/merge")
    def merge_code(path: str, into: MergeInto, viewer: _Viewer = Depends(needs("owner"))) -> dict[str, int]:
        with acting_as(viewer.name):
            return {"moved": codebook.merge(study, path, into.target)}

    route("/matrix", "GET", "viewer")

    @app.get("/matrix", response_class=HTMLResponse)
    def matrix_page(request: Request, count: str = "participants", viewer: _Viewer = Depends(needs("viewer"))) -> Response:
        if count not in ("segments", "participants", "groups", "share"):
            raise HTTPException(400, "count is segments, participants, groups or share")
        frame = analysis.matrix(study, by="discipline", count=count)  # type: ignore[arg-type]
        return pages.TemplateResponse(request, "matrix.html", {"study": study.name, "viewer": viewer, "count": count, "m": frame})

    return app


def create_server(studies: Sequence[Study], secure_cookies: bool = False) -> FastAPI:
    """The web app for one study at ``/``, or for several, each at ``/studies/<folder>`` with a page listing them.

    Each study keeps its own accounts, roles and session cookie (scoped to its path).
    """
    if len(studies) == 1:
        return create_app(studies[0], secure_cookies)
    server = FastAPI(title="Chorus", docs_url=None, redoc_url=None, openapi_url=None)
    pages = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    listed: list[tuple[str, str]] = []
    for study in studies:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", study.folder.resolve().name).strip("-") or "study"
        while any(slug == taken for taken, _ in listed):
            slug += "-2"
        listed.append((slug, study.name))
        server.mount(f"/studies/{slug}", create_app(study, secure_cookies, root=f"/studies/{slug}"))

    @server.get("/", response_class=HTMLResponse)
    def studies_page(request: Request) -> Response:
        return pages.TemplateResponse(request, "studies.html", {"study": "Studies", "studies": listed, "root": ""})

    return server
