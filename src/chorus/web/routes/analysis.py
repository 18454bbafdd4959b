"""Analysis pages: retrieved segments (and their download), themes by discipline under an editable rule,
the code x discipline matrix, saturation, co-occurrence and talk share.

Each page shows what the CLI command of the same name prints, from the same
library call, with the command's options as the page's fields.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from chorus import analysis
from chorus.analysis.saturation import guest_runs
from chorus.assist import jobs as background
from chorus.assist import search
from chorus.assist.embeddings import NotRead
from chorus.coding import codes as codebook
from chorus.errors import ChorusError
from chorus.report import save_table
from chorus.report.charts import bars, turn_taking
from chorus.study.counting import HELP as BASIS_HELP
from chorus.study.counting import choices, counting
from chorus.study.store import Study, acting_as
from chorus.web.pages import CoderRole, StudyOf, ViewerRole, attachment, back_to, render
from chorus.web.routes.assist import language_model
from chorus.words import counted

router = APIRouter()
#: Rows a segments page shows; the page says how many there are in all, and the download holds them all.
SEGMENTS_SHOWN = 500
#: The formats a table is downloaded in, and their media types.
TABLE_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def table_download(frame: pd.DataFrame, name: str, fmt: str) -> Response:
    """``frame`` as a CSV or XLSX attachment called ``name.fmt``, written as ``--out`` writes it."""
    if fmt not in TABLE_FORMATS:
        raise HTTPException(404, f"tables are downloaded as {' or '.join(TABLE_FORMATS)}")
    with tempfile.TemporaryDirectory() as folder:
        data = save_table(frame, Path(folder) / f"{name}.{fmt}").read_bytes()
    return attachment(data, f"{name}.{fmt}", TABLE_FORMATS[fmt])


def coding_basis(study: Study, basis: str) -> dict[str, Any]:
    """What an analysis page shows of the coding it counts: the field's value and choices, and the line that says it.

    A coder named who has not coded is refused (400, as every ChorusError is) with the coders who have.
    """
    with study.reading() as session:
        counted = counting(session, basis)
        offered = choices(session)
    return {"basis": str(counted.basis), "basis_line": counted.line, "basis_choices": offered, "basis_help": BASIS_HELP}


def _segment_filters(code: str | None, discipline: str | None, group: str | None, coder: str | None, transcript: str | None) -> dict[str, Any]:
    return {"code": code or None, "discipline": discipline or None, "group": group or None, "coder": coder or None, "transcript": transcript or None}


@router.get("/segments", response_class=HTMLResponse)
def segments_page(
    request: Request, study: StudyOf, viewer: ViewerRole, code: str | None = None, discipline: str | None = None,
    group: str | None = None, coder: str | None = None, transcript: str | None = None, basis: str = "auto",
    meaning: str = "", like: int | None = None, uncoded: bool = False, coded: str = "", refused: str = "",
) -> Response:
    """The coded segments the filters retrieve; or, with ``meaning`` (or ``like``, a coding), the passages nearest it in meaning
    among those the filters keep (as ``chorus search``), to code from the list."""
    counted = coding_basis(study, basis)
    filters = _segment_filters(code, discipline, group, coder, transcript)
    shown = {"filters": {**{k: v or "" for k, v in filters.items()}, "meaning": meaning, "uncoded": uncoded}, "codes": sorted(codebook.codebook(study)["path"]),
             "query": str(request.url.query), "coded": coded, "refused": refused, **counted}
    if meaning.strip() or like is not None:
        return _searched(request, study, viewer, meaning, like, filters, uncoded, shown)
    found = analysis.segments(study, **filters, limit=SEGMENTS_SHOWN, basis=basis)
    return render(request, "analysis/segments.html", viewer, rows=found.to_dict("records"), total=analysis.count_segments(study, **filters, basis=basis),
                  **shown)


#: How many passages a search by meaning on the Segments page shows.
SEARCHED = 25


def _searched(request: Request, study: Study, viewer: Any, meaning: str, like: int | None, filters: dict[str, Any], uncoded: bool,
              shown: dict[str, Any]) -> Response:
    """The Segments page with the passages nearest ``meaning`` (or coding ``like``); while the study's passages are not all
    read by the sentence model, the background job reading them, which the page watches."""
    searched = {"meaning": meaning, "like": like, "like_text": "", "results": [], "reading": None, "read_error": "", "search_error": ""}
    try:
        if like is not None:
            searched["like_text"] = search.coding_text(study, like)
            found = search.more_like(study, like, limit=SEARCHED, uncoded=uncoded, cached_only=True)
        else:
            found = search.search(study, meaning, limit=SEARCHED, uncoded=uncoded, cached_only=True, **filters)
        searched["results"] = found.to_dict("records")
    except NotRead as exc:
        searched["reading"] = {"missing": exc.missing, "job": background.active(study, background.READ, exc.embedder)}
    except ChorusError as exc:
        searched["search_error"] = str(exc)
    return render(request, "analysis/segments.html", viewer, status=400 if searched["search_error"] else 200, rows=[], total=0,
                  searched=searched, **shown)


@router.post("/segments/code")
def code_searched(
    request: Request, study: StudyOf, viewer: CoderRole, segment: list[str] = Form([]), with_code: str = Form("", max_length=400),
    meaning: str = Form("", max_length=2000), like: str = Form("", max_length=20), uncoded: str = Form("", max_length=10),
    code: str = Form("", max_length=400), discipline: str = Form("", max_length=200), group: str = Form("", max_length=200),
    coder: str = Form("", max_length=200), transcript: str = Form("", max_length=200),
) -> Response:
    """Code the ticked passages of a search (``segment``, one per passage) with ``with_code``; back to the same search."""
    back = {k: v for k, v in {"meaning": meaning, "like": like, "uncoded": uncoded, "code": code, "discipline": discipline, "group": group,
                                "coder": coder, "transcript": transcript}.items() if v}
    try:
        with acting_as(viewer.name):
            made = search.code_passages(study, segment, with_code, viewer.name)
    except ChorusError as exc:
        return back_to(request, "/segments", **back, refused=str(exc))
    return back_to(request, "/segments", **back, coded=f"{counted(made, 'passage')} coded {with_code}")


@router.post("/api/reading", status_code=201)
def start_reading(study: StudyOf, viewer: ViewerRole) -> dict[str, int]:
    """Queue the reading of every passage by the sentence model (what a search by meaning needs once); a worker runs it."""
    return {"job": background.submit_reading(study, viewer.name)}


@router.get("/segments.{fmt}")
def segments_download(
    fmt: str, study: StudyOf, _: ViewerRole, code: str | None = None, discipline: str | None = None,
    group: str | None = None, coder: str | None = None, transcript: str | None = None, basis: str = "auto",
) -> Response:
    """Every segment the filters retrieve, of the coding the basis counts, as ``chorus segments --out`` saves them."""
    return table_download(analysis.segments(study, **_segment_filters(code, discipline, group, coder, transcript), basis=basis), "segments", fmt)


def theme_rule(
    min_groups: int = analysis.Rule.min_groups, min_share: float = analysis.Rule.min_share, combine: str = analysis.Rule.combine
) -> analysis.Rule:
    """The rule the query's fields name, refused (400) with what is wrong: a dependency of the report downloads."""
    try:
        return analysis.Rule(min_groups, min_share, combine)
    except ChorusError as exc:
        raise HTTPException(400, str(exc)) from None


#: The theme rule a download is made under, from its query (``?min_groups=3&combine=and``).
RuleOf = Annotated[analysis.Rule, Depends(theme_rule)]


@router.get("/themes", response_class=HTMLResponse)
def themes_page(
    request: Request, study: StudyOf, viewer: ViewerRole, min_groups: int = analysis.Rule.min_groups, min_share: float = analysis.Rule.min_share,
    combine: str = analysis.Rule.combine, unit: str = "rule", basis: str = "auto",
) -> Response:
    """Themes with the disciplines that raised them under the rule in the fields (as ``chorus themes``), or counting one
    unit of analysis alone, with the themes whose disciplines the unit changes (as ``chorus themes --units``)."""
    counted = coding_basis(study, basis)
    fields = {"min_groups": min_groups, "min_share": min_share, "combine": combine, "unit": unit}
    try:
        rule = analysis.Rule(min_groups, min_share, combine)
        if unit not in ("rule", *analysis.UNITS):
            raise ChorusError(f"count by the rule or by {', '.join(analysis.UNITS)}, not {unit!r}")
    except ChorusError as exc:
        return render(request, "analysis/themes.html", viewer, status=400, themes=[], error=str(exc), rule=None, fields=fields, query="",
                      units=[], changed=[], **counted)
    found = analysis.themes(study, rule, quotes=2, basis=basis)
    units = analysis.by_unit(found, rule).to_dict("records")  # one row per theme, in the same order
    return render(request, "analysis/themes.html", viewer, themes=[{**t, "units": u} for t, u in zip(found.to_dict("records"), units)],
                  rule=str(rule), endpoint=language_model(study),
                  fields=fields, query=str(request.url.query), units=units, changed=[u for u in units if u["differs"]], **counted)


@router.get("/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, study: StudyOf, viewer: ViewerRole, count: str = "participants", basis: str = "auto") -> Response:
    """Codes by discipline, counting segments, participants, groups or share (as ``chorus matrix``)."""
    if count not in ("segments", "participants", "groups", "share"):
        raise HTTPException(400, "count is segments, participants, groups or share")
    counted = coding_basis(study, basis)
    frame = analysis.matrix(study, by="discipline", count=count, basis=basis)  # type: ignore[arg-type]
    return render(request, "analysis/matrix.html", viewer, count=count, m=frame, **counted)


@router.get("/saturation", response_class=HTMLResponse)
def saturation_page(
    request: Request, study: StudyOf, viewer: ViewerRole, base: int = 4, run: int = 2, threshold: float = 0.05, by: str = "",
    basis: str = "auto",
) -> Response:
    """New codes group by group and Guest, Namey & Chen's runs, with the method's parameters as fields (as ``chorus saturation``)."""
    counted = coding_basis(study, basis)
    fields = {"base": base, "run": run, "threshold": threshold, "by": by}
    try:
        curve = analysis.saturation(study, by or None, basis)
    except ChorusError as exc:
        return render(request, "analysis/saturation.html", viewer, status=400, error=str(exc), fields=fields, curve=[], runs=[], chart="",
                      **counted)
    try:  # the curve stands without the runs, as the CLI prints it before saying why there are none
        runs, why = guest_runs(curve, base, run, threshold, by or None).round(3).to_dict("records"), ""
    except ChorusError as exc:
        runs, why = [], str(exc)
    chart = bars(curve.set_index("group")["cumulative_codes"], "Codes found so far, group by group", "{:.0f}") if not by and not curve.empty else ""
    return render(request, "analysis/saturation.html", viewer, fields=fields, curve=curve.to_dict("records"), runs=runs, why=why,
                  chart=chart, columns=list(curve.columns), **counted)


@router.get("/cooccurrence", response_class=HTMLResponse)
def cooccurrence_page(request: Request, study: StudyOf, viewer: ViewerRole, basis: str = "auto") -> Response:
    """Code x code: turns in which both were applied (as ``chorus cooccurrence``)."""
    counted = coding_basis(study, basis)
    return render(request, "analysis/cooccurrence.html", viewer, m=analysis.cooccurrence(study, basis=basis), **counted)


@router.get("/talk", response_class=HTMLResponse)
def talk_page(request: Request, study: StudyOf, viewer: ViewerRole, group: str = "") -> Response:
    """Who talked how much: share by discipline (as ``chorus talk``), then each group's dynamics, flags and turn-taking (as ``chorus dynamics``)."""
    turns = analysis.turn_table(study)
    frame = analysis.talk_shares(study, ["discipline"], turns)["discipline"]
    chart = bars(frame.set_index("discipline")["share"], "Share of words spoken, by discipline") if not frame.empty else ""
    found = analysis.dynamics(study, turns)
    groups = found.groups["group"].tolist()
    group = group if group in groups else (groups[0] if groups else "")
    speakers = found.speakers[found.speakers["group"] == group].drop(columns="group")
    drawn = turn_taking(found.speakers, found.follows, group) if group else ""
    return render(request, "analysis/talk.html", viewer, share=frame.sort_values("share", ascending=False), chart=chart,
                  dynamics=found, group=group, speakers=speakers, drawn=drawn)
