"""The team web app: a thin shell over the same library calls the CLI makes.

Pages are rendered on the server (Jinja2) with a little JavaScript for
selecting text to code. The routes live in :mod:`chorus.web.routes`, one module
per family of pages, their templates in folders of the same names; this module
only assembles them. Every route but the login page and the health check needs a
signed-in user of at least the role it names (:class:`chorus.web.security.Needs`,
collected in :data:`ROUTE_ROLES`); every state-changing request needs the
session's CSRF token. Changes are logged in the audit trail under the user.

    chorus serve --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount, Router
from starlette.types import Receive, Scope, Send

from chorus.errors import ChorusError
from chorus.study import changes, store
from chorus.study.store import Study
from chorus.web.home import Home, OwnerSession
from chorus.web.pages import in_the_browser, templates
from chorus.web.routes import accounts, analysis, assist, autocode, coding, exchange, guide, live, privacy, recordings, rigour, roster, studies, transcripts
from chorus.web.routes import home as home_pages
from chorus.web.security import UPLOAD_LIMITS, BodyLimit, KeptSessions, Needs, Policy, SecurityHeaders
from chorus.web.uploads import MOST_RECORDING_MIB, recording_limit

RECORDINGS_ROUTE = "/api/recordings"
#: The pages' scripts (small ES modules, no build step) and the icon: public, as they hold no study data.
STATIC = Path(__file__).parent / "static"

__all__ = ["ROUTE_ROLES", "SERVE_SETTINGS", "UPLOAD_LIMITS", "create_app", "create_home_server", "create_server", "server_from_environment"]

#: The environment variable that tells each worker process of ``chorus serve --workers N`` what to serve.
SERVE_SETTINGS = "CHORUS_SERVE"

#: Who may use each route (path, method) -> lowest role, read from the routes' dependencies; routes not listed are public.
ROUTE_ROLES: dict[tuple[str, str], str] = {}
ROUTERS = (accounts.router, studies.router, roster.router, recordings.router, transcripts.router, privacy.router, coding.router, autocode.router, assist.router, analysis.router, guide.router, rigour.router, exchange.router, live.router)


def _role_of(dependant) -> str | None:  # noqa: ANN001 - FastAPI's Dependant
    """The role a route's dependencies ask for, searched depth first."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Needs):
            return dependency.call.role
        found = _role_of(dependency)
        if found is not None:
            return found
    return None


def _served_by(policy: Policy) -> Callable[[FastAPI], Any]:
    """The lifespan of a server process's top app: its requests worked on ``policy.threads`` at once."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = policy.threads  # the event loop's own, made with it
        yield

    return lifespan


async def _malformed(_: Request, exc: RequestValidationError) -> Response:
    """A request whose path, query, form or body does not fit its route: 422, said as every other error is (``{"error": ...}``)."""
    said = "; ".join(f"{' '.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())
    return JSONResponse({"error": said}, status_code=422)


def create_app(study: Study, secure_cookies: bool = False, root: str = "", keys: Path | None = None, policy: Policy | None = None) -> FastAPI:
    """The web app over ``study``, served at ``root`` (``/studies/pc-study`` beside other studies; empty alone).

    ``keys`` is the folder, outside the study, where de-identification writes its key files;
    ``policy`` how sign-in is throttled, how long sessions last and how many requests are worked on at once.
    """
    policy = policy or Policy()
    app = FastAPI(title=f"Chorus: {study.name}", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_served_by(policy))
    app.state.study, app.state.root, app.state.keys = study, root, keys
    app.state.sessions = KeptSessions(study, root, secure_cookies, policy.idle_minutes, policy.session_hours)
    app.state.throttle = policy.throttle
    app.state.pages = templates(root)
    app.state.pages.env.globals["live_head"] = lambda: changes.latest(study)  # where a page drawn now starts listening
    app.add_middleware(BodyLimit, limit_of=lambda route: recording_limit(study) * 2**20 if route == RECORDINGS_ROUTE else None,
                       stall=policy.upload_stall)
    app.add_middleware(SecurityHeaders)  # outermost: refusals of bodies carry the headers too
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:  # their routes side by side in the app's own table (no prefixes or router-wide dependencies to merge)
        app.router.routes.extend(router.routes)
    for route in app.routes:
        role = _role_of(route.dependant) if isinstance(route, APIRoute) else None
        if role is not None:
            ROUTE_ROLES.update({(route.path, method): role for method in route.methods})

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET" and "/api/" not in request.url.path:
            return RedirectResponse(f"{root}/login", status_code=303)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(ChorusError)
    async def explained(_: Request, exc: ChorusError) -> Response:
        return JSONResponse({"error": in_the_browser(exc)}, status_code=400)

    app.add_exception_handler(RequestValidationError, _malformed)

    return app


def create_server(studies: Sequence[Study], secure_cookies: bool = False, keys: Path | None = None, policy: Policy | None = None) -> FastAPI:
    """The web app for one study at ``/``, or for several, each at ``/studies/<folder>`` with a page listing them.

    Each study keeps its own accounts, roles and session cookie (scoped to its path).
    """
    if len(studies) == 1:
        return create_app(studies[0], secure_cookies, keys=keys, policy=policy)
    server = FastAPI(title="Chorus", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_served_by(policy or Policy()))
    server.state.pages = templates("")
    server.mount("/static", StaticFiles(directory=STATIC), name="static")
    listed: list[tuple[str, str]] = []
    for study in studies:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", study.folder.resolve().name).strip("-") or "study"
        while any(slug == taken for taken, _ in listed):
            slug += "-2"
        listed.append((slug, study.name))
        server.mount(f"/studies/{slug}", create_app(study, secure_cookies, root=f"/studies/{slug}", keys=keys / slug if keys else None, policy=policy))

    @server.get("/", response_class=HTMLResponse)
    def studies_page(request: Request) -> Response:
        return server.state.pages.TemplateResponse(request, "studies/studies.html", {"study": "Studies", "studies": listed, "viewer": None})

    return server


class _StudyApps:
    """The apps of a home's studies under ``/studies/<folder>/``, each made on its first request.

    Made on demand, so a study created in the browser is served by every worker
    process of ``chorus serve --workers N``, not only by the one that created it.
    """

    def __init__(self, home: Home, secure_cookies: bool, keys: Path | None, policy: Policy | None):
        self.home, self.secure_cookies, self.keys, self.policy = home, secure_cookies, keys, policy
        self.router = Router()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            slug = (path[len(root) :] if path.startswith(root) else path).lstrip("/").split("/", 1)[0]
            if slug and not any(isinstance(r, Mount) and r.path == f"/{slug}" for r in self.router.routes):
                try:
                    study = self.home.study(slug)
                except ChorusError:
                    response = JSONResponse({"error": f"there is no study {slug!r} on this server"}, status_code=404)
                    await response(scope, receive, send)
                    return
                keys = self.keys / slug if self.keys else None
                self.router.routes.append(Mount(f"/{slug}", create_app(study, self.secure_cookies, root=f"/studies/{slug}", keys=keys, policy=self.policy)))
        await self.router(scope, receive, send)


def create_home_server(home: Home, secure_cookies: bool = False, keys: Path | None = None, policy: Policy | None = None) -> FastAPI:
    """The server for a home (``chorus serve --home DIR``): setup, the studies, creating one; each study under ``/studies/<folder>/``."""
    policy = policy or Policy()
    server = FastAPI(title="Chorus", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_served_by(policy))
    server.state.home, server.state.root = home, ""
    server.state.pages = templates("")
    server.state.sessions = KeptSessions(home, "", secure_cookies, policy.idle_minutes, policy.session_hours, kept=OwnerSession, cookie="chorus_home")
    server.state.throttle = policy.throttle
    server.add_middleware(BodyLimit, limit_of=lambda route: MOST_RECORDING_MIB * 2**20 if route == RECORDINGS_ROUTE else None,  # each study holds to its own
                          stall=policy.upload_stall)
    server.router.routes.extend(home_pages.router.routes)
    server.mount("/static", StaticFiles(directory=STATIC), name="static")
    server.mount("/studies", _StudyApps(home, secure_cookies, keys, policy))

    @server.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    server.add_exception_handler(RequestValidationError, _malformed)
    return server


def served_studies(settings: dict[str, Any]) -> Callable[[], list[Study]]:
    """The studies a server's settings name: its study folders, or every study in its home (as it is now)."""
    if settings.get("home"):
        home = Home(settings["home"], settings.get("db"))
        return lambda: [home.study(slug) for slug, _ in home.studies()]
    opened = [store.open(Path(folder)) for folder in settings["studies"]]
    return lambda: opened


def job_worker(settings: str, server: int) -> None:
    """A job worker process of ``chorus serve`` (process id ``server``): runs the served studies' queued jobs until that server stops.

    The server's id comes from the server, not from ``os.getppid()`` here: a server
    stopped while this process was still starting would otherwise leave it running forever.
    """
    from chorus.assist import guide
    from chorus.assist import jobs as evaluation
    from chorus.audio import jobs as transcription
    from chorus.privacy import review
    from chorus.study import jobs

    config = json.loads(settings)
    cluster = config.get("cluster")
    runners = {transcription.KIND: lambda s, j, r: transcription.run(s, j, r, cluster=cluster), review.KIND: review.run,
               **evaluation.RUNNERS, guide.KIND: guide.run_alignment}
    jobs.work(served_studies(config), stop=lambda: os.getppid() != server, runners=runners)


def server_from_environment() -> FastAPI:
    """The server :data:`SERVE_SETTINGS` describes (JSON: ``studies`` or ``home`` and ``db``, ``secure_cookies``).

    Each worker process of ``chorus serve --workers N`` builds its own app this way
    and opens its own connections to the same stores; sessions and CSRF tokens are
    signed with keys kept on disk, so any worker can answer any request.
    """
    settings = json.loads(os.environ[SERVE_SETTINGS])
    keys = Path(settings["keys"]) if settings.get("keys") else None
    policy = Policy.of(settings.get("policy"))
    if settings.get("home"):
        return create_home_server(Home(settings["home"], settings.get("db")), secure_cookies=settings["secure_cookies"], keys=keys, policy=policy)
    return create_server([store.open(Path(folder)) for folder in settings["studies"]], secure_cookies=settings["secure_cookies"], keys=keys, policy=policy)
