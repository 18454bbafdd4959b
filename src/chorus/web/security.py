"""Who is asking, and may they: signed session cookies, the role check with its CSRF check, body limits.

Every route but the login page and the health check depends on :class:`Needs`
with the lowest role that may use it; :func:`chorus.web.app.create_app` reads the
role back from each route's dependencies, so the route table itself says who may
use what (and a test walks it).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, select, update
from starlette.concurrency import run_in_threadpool

from chorus.coding.rounds import blind_among, open_round_coders
from chorus.errors import ChorusError
from chorus.study.models import KeptSession, User, WebSession, as_utc, utcnow
from chorus.study.seeing import SEEING
from chorus.web.signin import Ledger, Throttle
from chorus.web.users import rank

COOKIE = "chorus_session"
SESSION_SECONDS = 12 * 3600
SECRET_FILE = ".chorus-web-secret"
MAX_BODY = 1 * 1024 * 1024
_STUDY_PREFIX = re.compile(r"^/studies/[^/]+(?=/)")
#: Larger bodies allowed on the upload routes (bytes); every other request is held to MAX_BODY.
UPLOAD_LIMITS = {"/api/transcripts": 20 * 1024 * 1024, "/api/import": 512 * 1024 * 1024, "/roster/check": 20 * 1024 * 1024, "/consensus": 20 * 1024 * 1024}


@dataclass(frozen=True)
class Policy:
    """How the web app guards sign-in (:class:`chorus.web.signin.Throttle`) and sessions, and how many requests a
    server process works on at once; ``chorus serve`` options set each."""

    throttle: Throttle = Throttle()
    idle_minutes: float = 30.0
    session_hours: float = 12.0
    upload_stall: float = 30.0  # seconds a request body may send nothing before it is cut off (408)
    #: Requests a server process works on at once; more wait their turn. Each of a request's round trips to
    #: PostgreSQL gives up Python's interpreter lock and must win it back, and with anyio's default of 40 at once
    #: those waits pile up: 50 coders at a person's pace on one process, p95 1,121 ms with 40 and 426 ms with 8
    #: (SQLite and flat-out throughput the same with either; ``benchmarks/bench_web.py``).
    threads: int = 8

    @classmethod
    def of(cls, settings: dict[str, Any] | None) -> Policy:
        """The policy :func:`dataclasses.asdict` wrote (a worker process reads it from its settings)."""
        if not settings:
            return cls()
        return cls(Throttle(**settings.get("throttle", {})), **{k: v for k, v in settings.items() if k != "throttle"})


def folder_secret(folder: Path) -> str:
    """The key that signs the session cookies of a study (or a server's home), made once and kept in its folder (mode 600)."""
    path = folder / SECRET_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


class Sessions:
    """Signed session cookies (HttpOnly, SameSite=Strict, Secure behind HTTPS) holding a user id and a CSRF token.

    A study's cookie is scoped to the path it is served at; a server home's has a
    name of its own, since its path (``/``) covers every study's.
    """

    def __init__(self, folder: Path, root: str, secure: bool, cookie: str = COOKIE):
        self.signer = URLSafeTimedSerializer(folder_secret(folder), salt="chorus-session")
        self.path, self.secure, self.cookie = root or "/", secure, cookie

    def read(self, request: Request, person: Sequence[Any] = ()) -> dict[str, Any]:
        """The session the request carries, or an empty one when it has none or a forged or stale one.

        ``person``: columns of the session's person, for sessions kept in the store
        (:class:`KeptSessions`) to read with it; a signed cookie alone has none to read.
        """
        raw = request.cookies.get(self.cookie)
        if not raw:
            return {}
        try:
            return self.signer.loads(raw, max_age=SESSION_SECONDS)
        except BadSignature:
            return {}

    def write(self, response: Response, data: dict[str, Any]) -> None:
        """Set the session on the response."""
        response.set_cookie(
            self.cookie, self.signer.dumps(data), max_age=SESSION_SECONDS, path=self.path, httponly=True, samesite="strict", secure=self.secure
        )

    def signed_out_page(self, response: Response, token: str) -> Response:
        """``response`` keeping ``token`` (from :meth:`form_token`) as the signed-out session's CSRF token."""
        self.write(response, {"csrf": token})
        return response

    def form_token(self, request: Request) -> str:
        """The CSRF token a signed-out form (sign-in) carries: the session's, or a new one."""
        return self.read(request).get("csrf") or secrets.token_urlsafe(24)

    def check(self, request: Request, sent: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The session (``data`` when the caller has read it already), refused (403) unless ``sent`` (else the
        request's ``X-CSRF-Token`` header) is its token.

        Never from the URL: proxies, server logs and browser history keep URLs.
        """
        data = self.read(request) if data is None else data
        if sent is None:
            sent = request.headers.get("x-csrf-token") or ""
        if not data.get("csrf") or not secrets.compare_digest(sent, data["csrf"]):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        return data

    def sign_in(self, response: Response, user_id: int) -> None:
        """A new session for ``user_id`` on ``response``, with a new CSRF token."""
        self.write(response, {"uid": user_id, "csrf": secrets.token_urlsafe(24)})

    def end(self, request: Request, response: Response) -> None:
        """End the request's session: remove its cookie."""
        response.delete_cookie(self.cookie, path=self.path)


class KeptSessions(Sessions):
    """Sessions the server keeps, so that it can end them before their cookie runs out.

    A study keeps its accounts' sessions in ``web_session``; a server home its
    owners' in its registry (``kept``: :class:`chorus.web.home.OwnerSession`). The
    cookie holds a random session id, signed; the store keeps only its SHA-256,
    with the person, the CSRF token and when the session began and was last seen.
    A session ends at sign-out, when its person's password, role or access changes
    (:mod:`chorus.web.users` ends them in the same transaction), after
    ``idle_minutes`` without a request, and ``hours`` after sign-in.
    """

    #: A session's last-seen time is written at most this often (seconds), not on every request.
    SEEN_EVERY = 60

    def __init__(self, store: Ledger, root: str, secure: bool, idle_minutes: float = 30, hours: float = 12,
                 kept: type[KeptSession] = WebSession, cookie: str = COOKIE):
        super().__init__(store.folder, root, secure, cookie)
        if idle_minutes <= 0 or hours <= 0:
            raise ChorusError("sessions need an idle timeout and a lifetime above 0")
        self.store, self.kept = store, kept
        self.idle, self.lifetime = timedelta(minutes=idle_minutes), timedelta(hours=hours)

    def read(self, request: Request, person: Sequence[Any] = ()) -> dict[str, Any]:
        """The request's session: its person (``uid``) and CSRF token, or ``{}`` if it has none or it ended.

        ``person`` names columns of the :class:`User` the session belongs to, read
        in the same statement and returned as ``person`` (a row): the role check's
        one statement per request.
        """
        data = super().read(request)
        if "sid" not in data:
            return {k: v for k, v in data.items() if k == "csrf"}  # a signed-out form's token, or nothing
        digest = hashlib.sha256(data["sid"].encode()).hexdigest()
        now, kept = utcnow(), self.kept
        with self.store.looking_up() as session:
            found = session.execute(_session_query(kept, tuple(person)), {"digest": digest}).first()
        if found is None:
            return {}
        number, user_id, csrf, created, seen = found[:5]
        created, seen = as_utc(created), as_utc(seen)
        ended = "expired" if now - created > self.lifetime else "idle" if now - seen > self.idle else None
        if ended or (now - seen).total_seconds() > self.SEEN_EVERY:
            with self.store.transaction() as session:
                session.execute(update(kept).where(kept.id == number).values(
                    **({"ended_at": now, "ended_why": ended} if ended else {"seen_at": now})
                ))
        return {} if ended else {"uid": user_id, "csrf": csrf, **({"person": found[5:]} if person else {})}

    def sign_in(self, response: Response, user_id: int) -> None:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self.store.transaction() as session:
            session.add(self.kept(digest=hashlib.sha256(sid.encode()).hexdigest(), user_id=user_id, csrf=csrf))
        self.write(response, {"sid": sid})

    def end(self, request: Request, response: Response) -> None:
        sid = Sessions.read(self, request).get("sid")
        if sid:
            with self.store.transaction() as session:
                session.execute(update(self.kept).where(self.kept.digest == hashlib.sha256(sid.encode()).hexdigest(),
                                                        self.kept.ended_at.is_(None)).values(ended_at=utcnow(), ended_why="signed out"))
        super().end(request, response)


@functools.lru_cache(maxsize=8)
def _session_query(kept: type[KeptSession], person: tuple[Any, ...]) -> Select:
    """The statement that reads a kept session by its digest, with ``person``'s columns: built once for each,
    as building it took 0.2 ms a request, longer than running it on SQLite."""
    query = (select(kept.id, kept.user_id, kept.csrf, kept.created_at, kept.seen_at, *person)  # type: ignore[attr-defined]
             .where(kept.digest == bindparam("digest"), kept.ended_at.is_(None)))
    return query.join(User, User.id == kept.user_id) if person else query


async def sent_token(request: Request) -> str:
    """The CSRF token a change carries: its ``X-CSRF-Token`` header (scripts), else its form's ``csrf`` field (forms)."""
    if request.headers.get("x-csrf-token"):
        return request.headers["x-csrf-token"]
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf")  # parsed once: the route reads the same form
        return sent if isinstance(sent, str) else ""
    return ""


class Viewer:
    """The signed-in user of a request: id, name, role, the session's CSRF token, and whether a blind round hides others' codings."""

    def __init__(self, user_id: int, name: str, role: str, csrf: str, blind: bool = False):
        self.id, self.name, self.role, self.csrf, self.blind = user_id, name, role, csrf, blind


#: What the role check reads of a session's person, in the session's statement: name, role, whether active, and the
#: open blind round's coders. One tuple for the life of the process, so that statement is built once.
_PERSON = (User.name, User.role, User.active, open_round_coders())


def viewer_of(request: Request, data: dict[str, Any] | None = None) -> Viewer | None:
    """Who the request's session is signed in as, if anyone still active (``data``: the session, when read already)."""
    state = request.app.state
    data = state.sessions.read(request, person=_PERSON) if data is None else data
    if "uid" in data and "person" not in data:  # a session in a signed cookie alone has no row to read its person with
        with state.study.reading() as session:
            data["person"] = session.execute(select(*_PERSON).where(User.id == data["uid"])).first()
    if data.get("person") is None:
        return None
    name, role, active, round_coders = data["person"]
    return Viewer(data["uid"], name, role, data.get("csrf", ""), blind_among(round_coders, name)) if active else None


class Needs:
    """A route's dependency: the signed-in :class:`Viewer`, refused below ``role`` or, on a change, without the CSRF token.

    The user and role are read from the store on every request, so a changed role
    or a deactivation takes effect at once; the token comes in the ``X-CSRF-Token`` header or
    the form's ``csrf`` field (:func:`sent_token`), never in the URL. A coder in an open blind round
    sees only their own codings for the rest of the request: the dependency is
    asynchronous so that what it sets (:func:`chorus.study.seeing.seeing_only`'s
    context) holds in the route that runs after it.
    """

    def __init__(self, role: str):
        self.role = role

    async def __call__(self, request: Request) -> Viewer:
        sent = await sent_token(request) if request.method not in ("GET", "HEAD") else None
        viewer = await run_in_threadpool(self._viewer, request, sent)
        SEEING.set(viewer.name if viewer.blind else None)  # this request's context: its route and template see only these codings
        return viewer

    def _viewer(self, request: Request, sent: str | None) -> Viewer:
        data = request.app.state.sessions.read(request, person=_PERSON)  # one statement: the kept session with its person and the open round
        viewer = viewer_of(request, data)
        if viewer is None:
            raise HTTPException(401, "sign in first")
        if sent is not None:
            request.app.state.sessions.check(request, sent, data)  # the session read above: not a second read of the store
        if rank(viewer.role) < rank(self.role):
            raise HTTPException(403, f"this needs the {self.role} role; you are a {viewer.role}")
        return viewer


class SecurityHeaders:
    """Headers on every answer: the app's own time, and what keeps study text out of caches, frames and other sites.

    A plain ASGI middleware that adds them as the answer starts (Starlette's
    ``@app.middleware("http")`` ran each request through a task and a stream of its own:
    1.5-2.5 ms of CPU per coding request, measured in process with a profiler).
    """

    #: ``Server-Timing`` is shown by browsers' developer tools and read by ``benchmarks/bench_pages.py``;
    #: study text (what participants said) stays out of caches and out of the Referer other sites see.
    FIXED = [
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"),
    ]
    #: Over HTTPS, browsers then refuse plain HTTP to this host for a year.
    HTTPS = [(b"strict-transport-security", b"max-age=31536000")]
    #: What a route may have set that these replace.
    REPLACED = frozenset(name for name, _ in FIXED + HTTPS) | {b"server-timing"}

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        extra = self.FIXED + self.HTTPS if scope.get("scheme") == "https" else self.FIXED

        async def headed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.REPLACED]
                message = {**message, "headers": [*kept, (b"server-timing", timing), *extra]}
            await send(message)

        await self.app(scope, receive, headed)


class BodyLimit:
    """Refuse request bodies over the route's limit with 413, and bodies that stall with 408, as they arrive.

    The Content-Length header is checked first; a body sent in chunks without one
    is counted as it streams and cut off at the limit (the app sees the client
    leave), so an upload cannot fill the disk by leaving the header out. A body
    that sends nothing for ``stall`` seconds is cut off too, so slow uploads
    cannot hold the server's threads and memory. ``limit_of(route)`` gives a
    route's limit where it is not fixed (a study's recordings, whose owner may
    raise it); else :data:`UPLOAD_LIMITS`.
    """

    def __init__(self, app: Any, limit_of: Callable[[str], int | None] | None = None, stall: float = 30.0):
        self.app, self.limit_of, self.stall = app, limit_of, stall

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        route = _STUDY_PREFIX.sub("", path[len(root) :] if root and path.startswith(root) else path)  # a home's study
        limit = (self.limit_of(route) if self.limit_of else None) or UPLOAD_LIMITS.get(route, MAX_BODY)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"
        too_big = (413, f"request bodies here are limited to {size}")
        if not declared.isdigit() or int(declared) > limit:
            await self._refuse(send, too_big)
            return
        seen, done, refusal = 0, False, None

        async def counted() -> dict[str, Any]:
            nonlocal seen, done, refusal
            if refusal:
                return {"type": "http.disconnect"}
            if done:  # the body is in: what follows waits for the client to leave, as long as it takes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.stall)
            except asyncio.TimeoutError:
                refusal = (408, f"the request body sent nothing for {self.stall:g} s; send it again")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                done = not message.get("more_body", False)
                if seen > limit:
                    refusal = too_big
                    return {"type": "http.disconnect"}
            return message

        async def answered(message: dict[str, Any]) -> None:
            if not refusal:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send, refusal)

        await self.app(scope, counted, answered)

    @staticmethod
    async def _refuse(send: Any, refusal: tuple[int, str]) -> None:
        status, error = refusal
        response = JSONResponse({"error": error}, status_code=status, headers={"Connection": "close"})
        await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})
