"""Signing in and out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chorus.web.pages import StudyOf, ViewerRole, render
from chorus.web.users import verify

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, failed: bool = False) -> Response:
    sessions = request.app.state.sessions
    csrf = sessions.read(request).get("csrf") or secrets.token_urlsafe(24)
    response = render(request, "accounts/login.html", None, csrf=csrf, failed=failed)
    sessions.write(response, {"csrf": csrf})
    return response


@router.post("/login")
def login(
    request: Request, study: StudyOf, name: str = Form(max_length=100), password: str = Form(max_length=1000), csrf: str = Form("")
) -> Response:
    sessions, root = request.app.state.sessions, request.app.state.root
    expected = sessions.read(request).get("csrf", "")
    if not expected or not secrets.compare_digest(csrf, expected):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")
    found = verify(study, name, password)
    if found is None:
        return RedirectResponse(f"{root}/login?failed=true", status_code=303)
    response = RedirectResponse(f"{root}/", status_code=303)
    sessions.write(response, {"uid": found[0], "csrf": secrets.token_urlsafe(24)})  # a new token for the new session
    return response


@router.post("/logout")
def logout(request: Request, _: ViewerRole) -> Response:
    response = RedirectResponse(f"{request.app.state.root}/login", status_code=303)
    request.app.state.sessions.end(response)
    return response
