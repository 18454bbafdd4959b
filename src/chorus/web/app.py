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
import time
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from chorus.errors import ChorusError
from chorus.study import store
from chorus.study.store import Study
from chorus.web.pages import templates
from chorus.web.routes import accounts, analysis, coding, exchange, studies, transcripts
from chorus.web.security import UPLOAD_LIMITS, BodyLimit, Needs, Sessions

__all__ = ["ROUTE_ROLES", "SERVE_SETTINGS", "UPLOAD_LIMITS", "create_app", "create_server", "server_from_environment"]

#: The environment variable that tells each worker process of ``chorus serve --workers N`` what to serve.
SERVE_SETTINGS = "CHORUS_SERVE"

#: Who may use each route (path, method) -> lowest role, read from the routes' dependencies; routes not listed are public.
ROUTE_ROLES: dict[tuple[str, str], str] = {}
ROUTERS = (accounts.router, studies.router, transcripts.router, coding.router, analysis.router, exchange.router)


def _role_of(dependant) -> str | None:  # noqa: ANN001 - FastAPI's Dependant
    """The role a route's dependencies ask for, searched depth first."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Needs):
            return dependency.call.role
        found = _role_of(dependency)
        if found is not None:
            return found
    return None


def create_app(study: Study, secure_cookies: bool = False, root: str = "") -> FastAPI:
    """The web app over ``study``, served at ``root`` (``/studies/pc-study`` beside other studies; empty alone)."""
    app = FastAPI(title=f"Chorus: {study.name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.study, app.state.root = study, root
    app.state.sessions = Sessions(study, root, secure_cookies)
    app.state.pages = templates(root)
    app.add_middleware(BodyLimit)
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

    return app


def create_server(studies: Sequence[Study], secure_cookies: bool = False) -> FastAPI:
    """The web app for one study at ``/``, or for several, each at ``/studies/<folder>`` with a page listing them.

    Each study keeps its own accounts, roles and session cookie (scoped to its path).
    """
    if len(studies) == 1:
        return create_app(studies[0], secure_cookies)
    server = FastAPI(title="Chorus", docs_url=None, redoc_url=None, openapi_url=None)
    server.state.pages = templates("")
    listed: list[tuple[str, str]] = []
    for study in studies:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", study.folder.resolve().name).strip("-") or "study"
        while any(slug == taken for taken, _ in listed):
            slug += "-2"
        listed.append((slug, study.name))
        server.mount(f"/studies/{slug}", create_app(study, secure_cookies, root=f"/studies/{slug}"))

    @server.get("/", response_class=HTMLResponse)
    def studies_page(request: Request) -> Response:
        return server.state.pages.TemplateResponse(request, "studies/studies.html", {"study": "Studies", "studies": listed, "viewer": None})

    return server


def server_from_environment() -> FastAPI:
    """The server for the study folders :data:`SERVE_SETTINGS` names (JSON: ``studies``, ``secure_cookies``).

    Each worker process of ``chorus serve --workers N`` builds its own app this way
    and opens its own connections to the same stores; sessions and CSRF tokens are
    signed with each study's key on disk, so any worker can answer any request.
    """
    settings = json.loads(os.environ[SERVE_SETTINGS])
    return create_server([store.open(Path(folder)) for folder in settings["studies"]], secure_cookies=settings["secure_cookies"])
