"""Rigour: blind rounds of independent coding, agreement between coders, the disagreements decided one by one
and the consensus written, and the audit trail (owners).

The figures are those of ``chorus agreement`` (the same call, shown rounded as
the CLI shows them), the consensus is written by :func:`chorus.analysis.consensus`
from the page's decisions as from a decisions file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from chorus import analysis
from chorus.analysis.agreement import DECISIONS, decide
from chorus.coding import codes as codebook
from chorus.coding import rounds
from chorus.errors import ChorusError
from chorus.ingest.files import Row
from chorus.report.build import coder_pairs
from chorus.study import audit
from chorus.study.lookup import transcript_names
from chorus.study.store import Study, acting_as
from chorus.web.pages import CoderRole, OwnerRole, PostedForm, StudyOf, ViewerRole, Whole, back_to, render
from chorus.web.routes.analysis import table_download
from chorus.web.uploads import as_uploaded, uploaded
from chorus.web.users import rank, users

router = APIRouter()
#: The statistics the agreement table shows, in the order ``chorus agreement --out`` saves them.
STATISTICS = ["units", "coded", "percent_agreement", "kappa", "cohen_kappa", "fleiss_kappa", "brennan_prediger", "alpha"]
#: Audit entries an audit-trail page lists, newest first.
AUDIT_SHOWN = 300
#: Disagreements an agreement page lists at a time: two coders of a real study disagree on thousands of units.
DISAGREEMENTS_SHOWN = 100


def _comparison(
    study: Study, coders: list[str], unit: str, code: list[str], chance: str, transcript: str = "", page: int = 1, **context: Any,
) -> dict[str, Any]:
    """The page's context: the choices, and (two coders or more) the agreement table and one page of the disagreements."""
    known = sorted({name for pair in coder_pairs(study) for name in pair})
    shown: dict[str, Any] = {"known": known, "coders": coders, "unit": unit, "code": code, "chance": chance, "transcript": transcript,
                             "codes": list(codebook.codebook(study)["path"]), "decisions": DECISIONS, **context}
    if len(coders) >= 2:
        table, listed = analysis.comparison(study, coders, unit=unit, codes=code or None, chance=chance)  # type: ignore[arg-type]
        shown["table"] = table[["code", *STATISTICS]].round(3).to_dict("records")
        shown["transcripts"] = listed["transcript"].unique().tolist()
        chosen = listed[listed["transcript"] == transcript] if transcript else listed
        pages = max(1, -(-len(chosen) // DISAGREEMENTS_SHOWN))
        page = min(max(page, 1), pages)
        first = (page - 1) * DISAGREEMENTS_SHOWN
        shown.update(disagreements=chosen.iloc[first:first + DISAGREEMENTS_SHOWN].to_dict("records"), total=len(listed),
                     chosen=len(chosen), first=first, page=page, pages=pages)
    return shown


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request, study: StudyOf, viewer: ViewerRole, coders: list[str] = Query(default=[]), unit: str = "turn",
    code: list[str] = Query(default=[]), chance: str = "cohen", transcript: str = "", page: int = 1, written: str = "",
) -> Response:
    """Agreement per code and over all codes between the chosen coders, and their disagreements with the text, a page at a time."""
    try:
        return render(request, "rigour/agreement.html", viewer, **_comparison(study, coders, unit, code, chance, transcript, page, written=written))
    except ChorusError as exc:
        return render(request, "rigour/agreement.html", viewer, status=400, **{**_comparison(study, [], unit, code, chance, error=str(exc)), "coders": coders})


@router.get("/agreement/disagreements.{fmt}")
def disagreements_download(
    fmt: str, study: StudyOf, _: ViewerRole, coders: list[str] = Query(default=[]), unit: str = "turn", code: list[str] = Query(default=[]),
) -> Response:
    """The disagreements with an empty decision column, to decide in a meeting, as ``chorus agreement --disagreements`` saves them."""
    return table_download(analysis.disagreements(study, coders, unit=unit, codes=code or None), "disagreements", fmt)  # type: ignore[arg-type]


class Decision(BaseModel):
    """What the coders decided about one disagreement of their comparison: keep, drop, recode (to a code), or "" (undecided)."""

    coders: list[str] = Field(min_length=2, max_length=20)
    unit: str = Field(default="turn", max_length=10)
    transcript: str = Field(max_length=200)
    turn: Whole
    sentence: int = Field(default=0, ge=0, le=2**31 - 1)
    code: str = Field(max_length=400)
    decision: str = Field(default="", max_length=10)
    recode_to: str = Field(default="", max_length=400)


@router.post("/api/decisions")
def record_decision(decided: Decision, study: StudyOf, viewer: CoderRole) -> dict[str, str]:
    """Store one decision as it is made (the page sends each as it is chosen), so a refused write or a reload loses none."""
    with acting_as(viewer.name):
        decide(study, decided.coders, decided.transcript, decided.turn, decided.sentence, decided.code, decided.decision,
               decided.recode_to, unit=decided.unit)  # type: ignore[arg-type]
    return {"stored": decided.decision or "undecided"}


@router.post("/consensus")
def write_consensus(request: Request, study: StudyOf, viewer: OwnerRole, form: PostedForm) -> Response:
    """Write the consensus coding from the page's decisions, or from a decisions file, as ``chorus consensus`` does."""
    coders, unit, code = [str(c) for c in form.getlist("coders")], str(form.get("unit", "turn")), [str(c) for c in form.getlist("code")]
    into = str(form.get("into", "")).strip() or "consensus"
    fields = ("transcript", "turn", "sentence", "code_of", "decision", "recode_to")
    columns = [form.getlist(f) for f in fields]
    rows = [Row({"transcript": t, "turn": n, "sentence": s, "code": c, "decision": d, "recode_to": r}, f"disagreement {i}")
            for i, (t, n, s, c, d, r) in enumerate(zip(*columns), start=1)]
    sent = form.get("decisions_file")
    try:
        with tempfile.TemporaryDirectory() as folder, acting_as(viewer.name):
            if isinstance(sent, UploadFile) and sent.filename:
                decisions: Any = uploaded(sent, Path(folder), (".csv", ".xlsx"))
                try:
                    summary = analysis.consensus(study, coders, into=into, unit=unit, decisions=decisions, codes=code or None)  # type: ignore[arg-type]
                except ChorusError as exc:
                    raise ChorusError(as_uploaded(str(exc), folder)) from None
            else:
                summary = analysis.consensus(study, coders, into=into, unit=unit, decisions=rows, codes=code or None)  # type: ignore[arg-type]
    except (ChorusError, HTTPException) as exc:
        error = exc.detail if isinstance(exc, HTTPException) else str(exc)
        return render(request, "rigour/agreement.html", viewer, status=400, **_comparison(study, coders, unit, code, "cohen", error=error))
    written = f"{into}: " + ", ".join(f"{n} {what}" for what, n in summary.items())
    return back_to(request, "/agreement", coders=coders, unit=unit, code=code, written=written)


def _changed(before: str | None, after: str | None) -> str:
    """The fields an audit entry changed, by name only: their values may be what participants said."""
    old, new = (json.loads(side) if isinstance(side, str) else {} for side in (before, after))  # none: pandas may give NaN
    return ", ".join(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, study: StudyOf, viewer: OwnerRole, entity: str = "", actor: str = "", action: str = "",
    before: Whole | None = None,
) -> Response:
    """The audit trail, newest first, a page at a time, filtered by record, person and action; what changed, never the transcript text."""
    filters = {"entity": entity, "actor": actor, "action": action}
    chosen = {k: v or None for k, v in filters.items()}
    try:
        shown, total = audit.log(study, **chosen, newest=AUDIT_SHOWN, before=before), audit.size(study, **chosen)
    except ChorusError as exc:
        return render(request, "rigour/audit.html", viewer, status=400, error=str(exc), rows=[], total=0, filters=filters)
    rows = [{**r, "entity_id": "" if pd.isna(r["entity_id"]) else int(r["entity_id"]), "fields": _changed(r.pop("before"), r.pop("after"))}
            for r in shown.iloc[::-1].to_dict("records")]
    older = rows[-1]["id"] if len(rows) == AUDIT_SHOWN else None
    return render(request, "rigour/audit.html", viewer, rows=rows, total=total, filters=filters, older=older, paged=before is not None)


def _rounds_page(request: Request, study: Study, viewer: Any, status: int = 200, **context: Any) -> Response:
    people = users(study)
    coders = [p["name"] for p in people.to_dict("records") if p["active"] and rank(p["role"]) >= rank("coder")]
    with study.reading() as session:
        transcripts = transcript_names(session)
    kept = rounds.rounds(study)
    return render(request, "rigour/rounds.html", viewer, status=status, rounds=kept.to_dict("records"), coders=coders, transcripts=transcripts,
                  open=bool((kept["closed_at"].isna()).any()) if not kept.empty else False, **context)


@router.get("/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, study: StudyOf, viewer: OwnerRole) -> Response:
    """Blind rounds: open one naming coders and transcripts, close the open one (owners)."""
    return _rounds_page(request, study, viewer)


@router.post("/rounds")
def open_round(request: Request, study: StudyOf, viewer: OwnerRole, form: PostedForm) -> Response:
    """Open a blind round: its coders see and count only their own codings until it is closed."""
    coders, transcripts = [str(c) for c in form.getlist("coders")], [str(t) for t in form.getlist("transcripts")]
    try:
        with acting_as(viewer.name):
            rounds.open_round(study, coders, transcripts, str(form.get("label", "")).strip() or None)
    except ChorusError as exc:
        return _rounds_page(request, study, viewer, status=400, error=str(exc))
    return back_to(request, "/rounds")


@router.post("/rounds/close")
def close_round(request: Request, study: StudyOf, viewer: OwnerRole, unit: str = Form("turn", max_length=10)) -> Response:
    """Close the open round and go to the agreement of its coders."""
    try:
        with acting_as(viewer.name):
            closed = rounds.close_round(study)
    except ChorusError as exc:
        return _rounds_page(request, study, viewer, status=400, error=str(exc))
    return back_to(request, "/agreement", coders=closed["coders"], unit=unit)
