"""What leaves and enters the study whole: the findings report and its tables, the REFI-QDA project out and in,
the codebook as QDC, a transcript for Word, media players or MAXQDA."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Response, UploadFile

from chorus.study.store import acting_as
from chorus.web.pages import OwnerRole, StudyOf, ViewerRole, attachment
from chorus.web.routes.analysis import TABLE_FORMATS, RuleOf
from chorus.web.uploads import naming_uploads, uploaded

router = APIRouter()


@router.get("/report")
def report_download(study: StudyOf, _: ViewerRole, rule: RuleOf, basis: str = "auto") -> Response:
    """The findings report (self-contained HTML) under the theme rule and basis given, as ``chorus report`` writes it."""
    from chorus.report import build

    with tempfile.TemporaryDirectory() as folder:
        written = build(study, Path(folder) / "findings.html", rule, basis=basis)
        return attachment(written.html.read_bytes(), "findings.html", "text/html; charset=utf-8")


@router.get("/report.docx")
def manuscript_download(
    study: StudyOf, _: ViewerRole, rule: RuleOf, characteristics: str = "", quotes: int = 0, basis: str = "auto",
) -> Response:
    """The manuscript draft in Word under the theme rule and basis given, as ``chorus report --docx`` writes it."""
    from chorus.report import manuscript

    with tempfile.TemporaryDirectory() as folder:
        wanted = [c.strip() for c in characteristics.split(",") if c.strip()]
        path = manuscript(study, Path(folder) / "findings.docx", rule, characteristics=wanted,
                          quotes=min(max(quotes, 0), 20), basis=basis)
        return attachment(path.read_bytes(), "findings.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


@router.get("/report/tables.xlsx")
def report_tables_download(study: StudyOf, _: ViewerRole, rule: RuleOf, basis: str = "auto") -> Response:
    """Every table of the findings report, under the theme rule and basis given, as the sheets of one workbook."""
    from chorus.report import tables, write_tables

    with tempfile.TemporaryDirectory() as folder:
        named, _found = tables(study, rule, basis=basis)
        data = write_tables(named, Path(folder)).read_bytes()
    return attachment(data, "tables.xlsx", TABLE_FORMATS["xlsx"])


@router.get("/codebook.qdc")
def codebook_download(study: StudyOf, _: ViewerRole) -> Response:
    """The codebook as a REFI-QDA codebook for MAXQDA, NVivo, ATLAS.ti or QualCoder (as ``chorus codebook export``)."""
    from chorus.interop import export_qdc

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "codebook.qdc"
        export_qdc(study, path)
        return attachment(path.read_bytes(), "codebook.qdc", "application/xml")


@router.get("/transcripts/{name}/export.{fmt}")
def transcript_download(name: str, fmt: str, study: StudyOf, _: ViewerRole) -> Response:
    """A transcript with speakers and time stamps, as ``chorus transcripts export`` writes it (docx, vtt, srt, txt)."""
    from chorus.audio.export import FORMATS, export_transcript

    if f".{fmt}" not in FORMATS:
        raise HTTPException(404, f"transcripts are downloaded as {', '.join(f[1:] for f in FORMATS)}")
    types = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "vtt": "text/vtt"}
    with tempfile.TemporaryDirectory() as folder:
        path = export_transcript(study, name, Path(folder) / f"{name}.{fmt}")
        return attachment(path.read_bytes(), path.name, types.get(fmt, "text/plain; charset=utf-8"))


@router.get("/export.qdpx")
def export_download(study: StudyOf, _: OwnerRole) -> Response:
    from chorus.interop import export_qdpx

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.qdpx"
        export_qdpx(study, path)
        data = path.read_bytes()
    return attachment(data, "study.qdpx", "application/zip")


@router.post("/api/import", status_code=201)
def upload_project(file: UploadFile, study: StudyOf, viewer: OwnerRole, discipline: str | None = Form(None, max_length=200)) -> dict[str, Any]:
    from chorus.interop import import_qdpx

    with tempfile.TemporaryDirectory() as folder:
        path = uploaded(file, Path(folder), (".qdpx",))
        with naming_uploads(folder), acting_as(viewer.name):
            report = import_qdpx(study, path, variables={discipline: "discipline"} if discipline else None)
    return {"codes": report.codes, "transcripts": report.sources, "codings": report.codings, "participants": report.cases,
            "memos": report.notes, "coders": report.users, "skipped": report.skipped}
