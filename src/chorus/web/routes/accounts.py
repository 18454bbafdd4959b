"""Signing in and out, and the study's people: who may read, code or own it."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chorus.errors import ChorusError
from chorus.web.pages import OwnerRole, StudyOf, ViewerRole, render
from chorus.web.users import ROLES, add_user, users, verify

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, failed: bool = False) -> Response:
    sessions = request.app.state.sessions
    csrf = sessions.form_token(request)
    return sessions.signed_out_page(render(request, "accounts/login.html", None, csrf=csrf, failed=failed), csrf)


@router.post("/login")
def login(
    request: Request, study: StudyOf, name: str = Form(max_length=100), password: str = Form(max_length=1000), csrf: str = Form("")
) -> Response:
    sessions, root = request.app.state.sessions, request.app.state.root
    sessions.check(request, csrf)
    found = verify(study, name, password)
    if found is None:
        return RedirectResponse(f"{root}/login?failed=true", status_code=303)
    response = RedirectResponse(f"{root}/", status_code=303)
    sessions.sign_in(response, found[0])  # a new token for the new session
    return response


@router.post("/logout")
def logout(request: Request, _: ViewerRole) -> Response:
    response = RedirectResponse(f"{request.app.state.root}/login", status_code=303)
    request.app.state.sessions.end(response)
    return response


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, study: StudyOf, viewer: OwnerRole, added: str = "") -> Response:
    """The study's accounts and their roles, and the form that adds one (owners)."""
    return render(request, "accounts/people.html", viewer, people=users(study).to_dict("records"), roles=ROLES, added=added)


@router.post("/people")
def add_person(
    request: Request, study: StudyOf, viewer: OwnerRole, name: str = Form(max_length=100), role: str = Form(max_length=20),
    password: str = Form(max_length=1000),
) -> Response:
    """Give a person an account in the study with a role and a first password, as ``chorus users add`` does."""
    try:
        add_user(study, name.strip(), password, role)
    except ChorusError as exc:
        return render(request, "accounts/people.html", viewer, status=400, people=users(study).to_dict("records"), roles=ROLES,
                      error=str(exc), name=name, role=role)
    return RedirectResponse(f"{request.app.state.root}/people?added={name.strip()}", status_code=303)
