"""Autocoding: every match of a pattern or keyword list, previewed in its context, coded on confirmation.

The preview and the coding are the same call, :func:`chorus.coding.autocode`
(the preview as its dry run), so what is confirmed is what is coded; the
codings are the signed-in coder's, in the audit trail under their name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from chorus import coding
from chorus.coding import codes as codebook
from chorus.coding.autocode import SCOPES
from chorus.errors import ChorusError
from chorus.study.lookup import transcript_names
from chorus.study.store import Study, acting_as
from chorus.web.pages import CoderRole, PostedForm, StudyOf, back_to, in_the_browser, render

router = APIRouter()
#: Units a preview lists; the counts per transcript cover them all.
PREVIEW_SHOWN = 300


def _choices(study: Study) -> dict[str, Any]:
    with study.reading() as session:
        names = transcript_names(session)
    return {"codes": list(codebook.codebook(study)["path"]), "transcripts": names, "scopes": SCOPES}


async def _asked(form: PostedForm) -> dict[str, Any]:
    """The autocoding the form asks for, as :func:`chorus.coding.autocode`'s arguments."""
    words = str(form.get("keywords", "")).strip()
    return {
        "code": str(form.get("code", "")), "pattern": str(form.get("pattern", "")) or None,
        "keywords": [w.strip() for w in words.split(",") if w.strip()] or None,
        "scope": str(form.get("scope", "turn")), "transcripts": [str(t) for t in form.getlist("transcripts")] or None,
        "include_facilitators": form.get("include_facilitators") == "on", "ignore_case": form.get("case_sensitive") != "on",
    }


#: The form's autocoding, read before the route runs: the routes are plain functions (a long autocoding runs in a
#: worker thread, not in the event loop every request shares).
Asked = Annotated[dict[str, Any], Depends(_asked)]


def _form(asked: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as the page shows them again."""
    return {**asked, "keywords": ", ".join(asked["keywords"] or []), "pattern": asked["pattern"] or "", "transcripts": asked["transcripts"] or []}


@router.get("/autocode", response_class=HTMLResponse)
def autocode_page(request: Request, study: StudyOf, viewer: CoderRole, coded: int | None = None, code: str = "") -> Response:
    """The autocoding form (coders)."""
    asked = {"code": code, "pattern": "", "keywords": "", "scope": "turn", "transcripts": [], "include_facilitators": False, "ignore_case": True}
    return render(request, "autocode/autocode.html", viewer, asked=asked, coded=coded, **_choices(study))


@router.post("/autocode/preview", response_class=HTMLResponse)
def preview_autocode(request: Request, study: StudyOf, viewer: CoderRole, asked: Asked) -> Response:
    """Every unit the autocoding would code, in its context, with a count per transcript; nothing is stored."""
    try:
        found = coding.autocode(study, coder=viewer.name, dry_run=True, **asked)
    except ChorusError as exc:
        return render(request, "autocode/autocode.html", viewer, status=400, asked=_form(asked), error=in_the_browser(exc), **_choices(study))
    counts = found.groupby("transcript")["status"].value_counts().unstack(fill_value=0).reset_index() if not found.empty else found
    return render(
        request, "autocode/autocode.html", viewer, asked=_form(asked), found=found.head(PREVIEW_SHOWN).to_dict("records"), total=len(found),
        would=int((found["status"] == "would code").sum()) if not found.empty else 0, counts=counts.to_dict("records"), **_choices(study),
    )


@router.post("/autocode")
def apply_autocode(request: Request, study: StudyOf, viewer: CoderRole, asked: Asked) -> Response:
    """Code what the preview showed, as the signed-in coder."""
    try:
        with acting_as(viewer.name):
            found = coding.autocode(study, coder=viewer.name, **asked)
    except ChorusError as exc:
        return render(request, "autocode/autocode.html", viewer, status=400, asked=_form(asked), error=in_the_browser(exc), **_choices(study))
    coded = int((found["status"] == "coded").sum()) if not found.empty else 0
    return back_to(request, "/autocode", coded=coded, code=asked["code"])
