"""Analysis pages: retrieved segments, themes by discipline, and the code x discipline matrix."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from chorus import analysis
from chorus.coding import codes as codebook
from chorus.web.pages import StudyOf, ViewerRole, render

router = APIRouter()
#: Rows a segments page shows; the page says how many there are in all.
SEGMENTS_SHOWN = 500


@router.get("/segments", response_class=HTMLResponse)
def segments_page(
    request: Request, study: StudyOf, viewer: ViewerRole, code: str | None = None, discipline: str | None = None,
    group: str | None = None, coder: str | None = None,
) -> Response:
    filters = {"code": code or None, "discipline": discipline or None, "group": group or None, "coder": coder or None}
    found = analysis.segments(study, **filters, limit=SEGMENTS_SHOWN)
    return render(
        request, "analysis/segments.html", viewer,
        rows=found.to_dict("records"), total=analysis.count_segments(study, **filters),
        filters={k: v or "" for k, v in filters.items()}, codes=sorted(codebook.codebook(study)["path"]),
    )


@router.get("/themes", response_class=HTMLResponse)
def themes_page(request: Request, study: StudyOf, viewer: ViewerRole) -> Response:
    found = analysis.themes(study, quotes=2)
    return render(request, "analysis/themes.html", viewer, themes=found.to_dict("records"))


@router.get("/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, study: StudyOf, viewer: ViewerRole, count: str = "participants") -> Response:
    if count not in ("segments", "participants", "groups", "share"):
        raise HTTPException(400, "count is segments, participants, groups or share")
    frame = analysis.matrix(study, by="discipline", count=count)  # type: ignore[arg-type]
    return render(request, "analysis/matrix.html", viewer, count=count, m=frame)
