"""What every route reads from the app it runs in: the study, the page templates, and how to render one.

Templates live in folders named after the route modules that render them
(``transcripts/transcript.html`` for :mod:`chorus.web.routes.transcripts`);
``base.html`` frames them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import Field
from starlette.datastructures import FormData

from chorus.errors import ChorusError, NotFound, Refused, Way
from chorus.study.models import LARGEST_INTEGER
from chorus.study.store import Study
from chorus.web.security import Needs, Viewer
from chorus.words import counted

TEMPLATES = Path(__file__).parent / "templates"
#: Discipline colours of the speaker names on transcript pages: each at least 4.5:1 on white and on a playing turn's yellow (WCAG AA).
PALETTE = {"physician": "#3f6a96", "nurse": "#3b7d33", "APP": "#9c4f00", "psychosocial clinician": "#8e5683"}


def ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (``#rrggbb``): the text of a code's chip in its own colour.

    >>> ink("#e6ab02"), ink("#2c5d9b")
    ('#000000', '#ffffff')
    """
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def templates(root: str) -> Jinja2Templates:
    """The page templates of an app served at ``root`` (links in pages start with it); ``n|counted("coding")`` says a count."""
    found = Jinja2Templates(directory=str(TEMPLATES))
    found.env.globals["root"] = root
    found.env.filters["counted"] = counted
    found.env.filters["ink"] = ink
    return found


async def study_of(request: Request) -> Study:
    """The study the app serves (asynchronous: FastAPI runs a plain function dependency in a worker thread, a hop per request)."""
    return request.app.state.study


StudyOf = Annotated[Study, Depends(study_of)]


async def posted_form(request: Request) -> FormData:
    """The form a route was sent, its repeated and numbered fields included.

    Read here, asynchronously, so that the route itself can be a plain function:
    FastAPI runs those in a worker thread, while an ``async`` route runs in the event
    loop every request shares, and its store reads and writes would hold them all up.
    """
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]

#: A number a request names a row or a turn by (a job, a coding, a suggestion, a codebook version, a turn): whole, and no
#: larger than the store's integer columns hold (:data:`LARGEST_INTEGER`), so a wild one is refused (422), not a server error.
Whole = Annotated[int, Field(ge=0, le=LARGEST_INTEGER)]

#: The signed-in user, refused below the role the name says.
ViewerRole = Annotated[Viewer, Depends(Needs("viewer"))]
CoderRole = Annotated[Viewer, Depends(Needs("coder"))]
OwnerRole = Annotated[Viewer, Depends(Needs("owner"))]


@contextmanager
def named_in_path() -> Iterator[None]:
    """Around the library call on the thing a route's path names: not there is 404, another person's to change 403.

    Only there: a name the study lacks that comes in a form or a body is the request's fault, which the app answers 400.
    """
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Refused as exc:
        raise HTTPException(403, str(exc)) from None


#: What a library message names as an argument (:attr:`ChorusError.arguments`: the command line's ``--group``), as the pages offer it.
IN_THE_BROWSER = {"group": "the Group field"}


def in_the_browser(exc: Exception) -> str:
    """An error as a page or a JSON answer says it: the ways out it names are the page's fields and links, never the command line's options or commands."""
    if not isinstance(exc, ChorusError) or not exc.arguments:
        return str(exc)
    return exc.template.format(**{name: value.browser if isinstance(value, Way) else IN_THE_BROWSER.get(name, name.replace("_", " "))
                                  for name, value in exc.arguments.items()})


def render(request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any) -> Response:
    """The page ``template`` with the study's name and the viewer, for the nav bar, added to ``context``."""
    state = request.app.state
    return state.pages.TemplateResponse(request, template, {"study": state.study.name, "viewer": viewer, **context}, status_code=status)


def back_to(request: Request, path: str, **query: object) -> Response:
    """After a form is done: a redirect (303) to ``path`` of this app, its ``query`` encoded (names and codes may hold ``&`` or ``/``; a list repeats its key)."""
    return RedirectResponse(f"{request.app.state.root}{path}" + (f"?{urlencode(query, doseq=True)}" if query else ""), status_code=303)


def attachment(data: bytes, name: str, media_type: str) -> Response:
    """``data`` as a download called ``name``."""
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
