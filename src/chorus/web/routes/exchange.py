"""What leaves and enters the study whole: the findings report, the REFI-QDA project out and in."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Response, UploadFile
from fastapi.responses import HTMLResponse

from chorus.study.store import acting_as
from chorus.web.pages import OwnerRole, StudyOf, ViewerRole
from chorus.web.uploads import naming_uploads, uploaded

router = APIRouter()


@router.get("/report")
def report_download(study: StudyOf, _: ViewerRole) -> Response:
    from chorus.report import build

    with tempfile.TemporaryDirectory() as folder:
        written = build(study, Path(folder) / "findings.html")
        html = written.html.read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Disposition": 'attachment; filename="findings.html"'})


@router.get("/export.qdpx")
def export_download(study: StudyOf, _: OwnerRole) -> Response:
    from chorus.interop import export_qdpx

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.qdpx"
        export_qdpx(study, path)
        data = path.read_bytes()
    return Response(data, media_type="application/zip", headers={"Content-Disposition": 'attachment; filename="study.qdpx"'})


@router.post("/api/import", status_code=201)
def upload_project(file: UploadFile, study: StudyOf, viewer: OwnerRole, discipline: str | None = Form(None, max_length=200)) -> dict[str, Any]:
    from chorus.interop import import_qdpx

    with tempfile.TemporaryDirectory() as folder:
        path = uploaded(file, Path(folder), (".qdpx",))
        with naming_uploads(folder), acting_as(viewer.name):
            report = import_qdpx(study, path, variables={discipline: "discipline"} if discipline else None)
    return {"codes": report.codes, "transcripts": report.sources, "codings": report.codings, "participants": report.cases,
            "memos": report.notes, "coders": report.users, "skipped": report.skipped}
