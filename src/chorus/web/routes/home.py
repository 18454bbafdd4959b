"""A server's home page: first-run setup, the server owners' sign-in, the list of studies, creating one.

Served at the root of ``chorus serve --home DIR``; each study's own pages are
under ``/studies/<folder>/`` with their own accounts (see :mod:`chorus.web.home`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from chorus.errors import ChorusError
from chorus.web import signin
from chorus.web.home import Home
from chorus.web.pages import in_the_browser
from chorus.web.security import sent_token

router = APIRouter()


class ServerOwner:
    """The signed-in owner of the server: id, name and the session's CSRF token."""

    def __init__(self, owner_id: int, name: str, csrf: str):
        self.id, self.name, self.csrf = owner_id, name, csrf
        self.role = "server owner"


async def server_owner(request: Request) -> ServerOwner:
    """A route's dependency: the server owner signed in, with the CSRF token on a change.

    Asynchronous to read the form's token; the session and the owner are read from the
    store in a worker thread, not in the event loop every request goes through.
    """
    sent = await sent_token(request) if request.method not in ("GET", "HEAD") else None
    return await run_in_threadpool(_signed_in_owner, request, sent)


def _signed_in_owner(request: Request, sent: str | None) -> ServerOwner:
    owner = _signed_in(request)
    if owner is None:
        raise HTTPException(401, "sign in first")
    if sent is not None:
        request.app.state.sessions.check(request, sent)
    return owner


def _signed_in(request: Request) -> ServerOwner | None:
    """The server owner this request's session is signed in as, if any (a store read)."""
    data = request.app.state.sessions.read(request)
    name = request.app.state.home.owner(data["uid"]) if "uid" in data else None
    return ServerOwner(data["uid"], name, data.get("csrf", "")) if name else None


OwnerOfServer = Annotated[ServerOwner, Depends(server_owner)]


def _home(request: Request) -> Home:
    return request.app.state.home


def _page(request: Request, template: str, viewer: ServerOwner | None, status: int = 200, **context: object) -> Response:
    return request.app.state.pages.TemplateResponse(
        request, f"home/{template}", {"study": "Chorus", "viewer": viewer, "home_nav": True, **context}, status_code=status
    )


@router.get("/", response_class=HTMLResponse)
def home_page(request: Request) -> Response:
    """Every study on the server; for a signed-in owner, the form that creates one."""
    home = _home(request)
    return _page(request, "home.html", _signed_in(request), studies=home.studies(), set_up=home.has_owner(), storage="PostgreSQL" if home.db else "SQLite")


@router.post("/studies")
def create_study(request: Request, owner: OwnerOfServer, folder: str = Form(max_length=100), title: str = Form(max_length=400)) -> Response:
    """Create a study; its creator is its first owner, with the same name and password."""
    home = _home(request)
    try:
        home.create_study(folder.strip(), title, owner.name)
    except ChorusError as exc:
        return _page(request, "home.html", owner, status=400, studies=home.studies(), set_up=True, error=in_the_browser(exc), folder=folder, title=title,
                     storage="PostgreSQL" if home.db else "SQLite")
    return RedirectResponse(f"/studies/{folder.strip()}/", status_code=303)


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, token: str = "") -> Response:
    """The first owner's form, for whoever holds the setup link."""
    good = _home(request).token_is_good(token)
    return _page(request, "setup.html", None, status=200 if good else 410, token=token, good=good)


@router.post("/setup")
def set_up(
    request: Request, token: str = Form(max_length=200), name: str = Form(max_length=100),
    password: str = Form(max_length=1000), again: str = Form(max_length=1000),
) -> Response:
    """Create the first owner with the setup token, and sign them in."""
    home = _home(request)
    try:
        if password != again:
            raise ChorusError("the two passwords differ")
        owner = home.redeem(token, name.strip(), password)
    except ChorusError as exc:
        good = home.token_is_good(token)
        return _page(request, "setup.html", None, status=400 if good else 410, token=token, good=good, error=in_the_browser(exc), name=name)
    response = RedirectResponse("/", status_code=303)
    request.app.state.sessions.sign_in(response, owner)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, failed: bool = False) -> Response:
    """The server owner's sign-in form; an owner signed in already goes to the studies (the form's fresh cookie would sign them out)."""
    if _signed_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    sessions = request.app.state.sessions
    csrf = sessions.form_token(request)
    return sessions.signed_out_page(_page(request, "login.html", None, csrf=csrf, failed=failed), csrf)


@router.post("/login")
def login(request: Request, name: str = Form(max_length=100), password: str = Form(max_length=1000), csrf: str = Form("")) -> Response:
    """Sign a server owner in, throttled as a study's sign-in is (a refused attempt's password is not even checked)."""
    sessions, throttle, home = request.app.state.sessions, request.app.state.throttle, _home(request)
    sessions.check(request, csrf)
    address = request.client.host if request.client else ""
    refused = signin.refusal(home, name, address, throttle, owners_unlock=False)  # the lock ends by itself
    if refused:
        signin.record(home, name, address, "refused", throttle)
        return sessions.signed_out_page(_page(request, "login.html", None, status=429, csrf=csrf, refused=refused), csrf)
    found = home.verify(name, password)
    signin.record(home, name, address, "failed" if found is None else "signed in", throttle)
    if found is None:
        return RedirectResponse("/login?failed=true", status_code=303)
    response = RedirectResponse("/", status_code=303)
    sessions.sign_in(response, found[0])
    return response


@router.post("/logout")
def logout(request: Request, owner: OwnerOfServer) -> Response:
    response = RedirectResponse("/", status_code=303)
    request.app.state.sessions.end(request, response)
    signin.record(_home(request), owner.name, request.client.host if request.client else "", "signed out")
    return response
