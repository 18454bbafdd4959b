"""Signing in and out, the study's people (who may read, code or own it; deactivated; reset by a one-time link),
and each person's own password."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chorus.errors import ChorusError
from chorus.study.store import acting_as
from chorus.web import signin
from chorus.web import users as accounts
from chorus.web.pages import OwnerRole, StudyOf, ViewerRole, back_to, in_the_browser, named_in_path, render
from chorus.web.security import viewer_of
from chorus.web.users import ROLES, add_user, users, verify

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, failed: bool = False, reset: str = "") -> Response:
    """The sign-in form; someone signed in already goes to the study (the form's fresh cookie would sign them out)."""
    if viewer_of(request) is not None:
        return back_to(request, "/")
    sessions = request.app.state.sessions
    csrf = sessions.form_token(request)
    return sessions.signed_out_page(render(request, "accounts/login.html", None, csrf=csrf, failed=failed, reset=reset), csrf)


@router.post("/login")
def login(
    request: Request, study: StudyOf, name: str = Form(max_length=100), password: str = Form(max_length=1000), csrf: str = Form("")
) -> Response:
    """Sign in, unless the name or the address has failed too often of late (then the password is not even checked)."""
    sessions, root, throttle = request.app.state.sessions, request.app.state.root, request.app.state.throttle
    sessions.check(request, csrf)
    address = request.client.host if request.client else ""
    refused = signin.refusal(study, name, address, throttle)
    with acting_as(name):  # the trail names who tried
        if refused:
            signin.record(study, name, address, "refused", throttle)
            page = render(request, "accounts/login.html", None, status=429, csrf=csrf, failed=False, reset="", refused=refused)
            return sessions.signed_out_page(page, csrf)
        found = verify(study, name, password)
        signin.record(study, name, address, "failed" if found is None else "signed in", throttle)
    if found is None:
        return RedirectResponse(f"{root}/login?failed=true", status_code=303)
    response = RedirectResponse(f"{root}/", status_code=303)
    sessions.sign_in(response, found[0])  # a new session, with a new token
    return response


@router.post("/logout")
def logout(request: Request, study: StudyOf, viewer: ViewerRole) -> Response:
    response = RedirectResponse(f"{request.app.state.root}/login", status_code=303)
    request.app.state.sessions.end(request, response)
    with acting_as(viewer.name):
        signin.record(study, viewer.name, request.client.host if request.client else "", "signed out")
    return response


def _people(request: Request, study: StudyOf, viewer: OwnerRole, status: int = 200, **context: object) -> Response:
    locked = set(signin.locked(study, request.app.state.throttle))
    return render(request, "accounts/people.html", viewer, status=status, people=users(study).to_dict("records"), roles=ROLES, locked=locked, **context)


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, study: StudyOf, viewer: OwnerRole, added: str = "", changed: str = "") -> Response:
    """The study's accounts and their roles, and the form that adds one (owners)."""
    return _people(request, study, viewer, added=added, changed=changed)


@router.post("/people/{name}")
def change_person(
    request: Request, name: str, study: StudyOf, viewer: OwnerRole, role: str = Form("", max_length=20), active: str = Form("", max_length=5),
    unlock: str = Form("", max_length=5),
) -> Response:
    """Change a person's role, deactivate (their next request is refused) or activate them, or unlock their sign-in, as ``chorus users`` does."""
    if not (role or active or unlock):
        return _people(request, study, viewer, status=400, error_of_people=f"nothing to change for {name}: choose a role, activate, deactivate or unlock")
    try:
        with named_in_path(), acting_as(viewer.name):  # a person not there is 404; a refused change is said on the page
            if role:
                accounts.set_role(study, name, role)
            if active:
                accounts.set_active(study, name, active == "yes")
            if unlock:
                signin.unlock(study, name=name, by=viewer.name)
    except ChorusError as exc:
        return _people(request, study, viewer, status=400, error_of_people=in_the_browser(exc))
    what = (f"is now a {role}" if role else "can sign in again" if active == "yes" or unlock else "is deactivated: their next request is refused")
    return back_to(request, "/people", changed=f"{name} {what}")


@router.post("/people/{name}/reset", response_class=HTMLResponse)
def reset_link(request: Request, name: str, study: StudyOf, viewer: OwnerRole) -> Response:
    """A one-time link for ``name`` to choose a new password; shown this once (their old password stops working)."""
    try:
        with named_in_path(), acting_as(viewer.name):
            token = accounts.reset_link_token(study, name)
    except ChorusError as exc:
        return _people(request, study, viewer, status=400, error_of_people=in_the_browser(exc))
    link = f"{str(request.base_url).rstrip('/')}{request.app.state.root}/reset?token={token}"  # the base is the server's, not the study's
    return _people(request, study, viewer, reset_for=name, reset_link=link, hours=accounts.RESET_HOURS)


@router.get("/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: str = "") -> Response:
    """Where a reset link leads: a form for the new password."""
    sessions = request.app.state.sessions
    csrf = sessions.form_token(request)
    return sessions.signed_out_page(render(request, "accounts/reset.html", None, csrf=csrf, token=token), csrf)


@router.post("/reset", response_class=HTMLResponse)
def reset(
    request: Request, study: StudyOf, token: str = Form(max_length=100), password: str = Form(max_length=1000),
    again: str = Form(max_length=1000), csrf: str = Form(""),
) -> Response:
    sessions = request.app.state.sessions
    sessions.check(request, csrf)
    try:
        if password != again:
            raise ChorusError("the two passwords differ")
        with acting_as("(reset link)"):
            name = accounts.reset_password(study, token, password)
    except ChorusError as exc:
        return sessions.signed_out_page(render(request, "accounts/reset.html", None, status=400, csrf=csrf, token=token, error=in_the_browser(exc)), csrf)
    return back_to(request, "/login", reset=name)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, viewer: ViewerRole, changed: bool = False) -> Response:
    """The signed-in person's own account: change the password."""
    return render(request, "accounts/account.html", viewer, changed=changed)


@router.post("/account", response_class=HTMLResponse)
def change_own_password(
    request: Request, study: StudyOf, viewer: ViewerRole, current: str = Form(max_length=1000), password: str = Form(max_length=1000),
    again: str = Form(max_length=1000),
) -> Response:
    try:
        if password != again:
            raise ChorusError("the two new passwords differ")
        with acting_as(viewer.name):
            accounts.change_password(study, viewer.name, current, password)
    except ChorusError as exc:
        return render(request, "accounts/account.html", viewer, status=400, error=in_the_browser(exc))
    response = back_to(request, "/account", changed="true")
    request.app.state.sessions.sign_in(response, viewer.id)  # the change ended every session of theirs; this browser goes on in a new one
    return response


@router.post("/people")
def add_person(
    request: Request, study: StudyOf, viewer: OwnerRole, name: str = Form(max_length=100), role: str = Form(max_length=20),
    password: str = Form(max_length=1000),
) -> Response:
    """Give a person an account in the study with a role and a first password, as ``chorus users add`` does."""
    try:
        add_user(study, name.strip(), password, role)
    except ChorusError as exc:
        return _people(request, study, viewer, status=400, error=in_the_browser(exc), name=name, role=role)
    return back_to(request, "/people", added=name.strip())
