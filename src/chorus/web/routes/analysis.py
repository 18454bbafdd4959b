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
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from chorus import analysis
from chorus.analysis.saturation import guest_runs
from chorus.coding import codes as codebook
from chorus.errors import ChorusError
from chorus.report import save_table
from chorus.report.charts import bars, turn_taking
from chorus.study.counting import HELP as BASIS_HELP
from chorus.study.counting import choices, counting
from chorus.study.store import Study
from chorus.web.pages import StudyOf, ViewerRole, attachment, render
from chorus.web.routes.assist import language_model

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
) -> Response:
    counted = coding_basis(study, basis)
    filters = _segment_filters(code, discipline, group, coder, transcript)
    found = analysis.segments(study, **filters, limit=SEGMENTS_SHOWN, basis=basis)
    return render(
        request, "analysis/segments.html", viewer,
        rows=found.to_dict("records"), total=analysis.count_segments(study, **filters, basis=basis),
        filters={k: v or "" for k, v in filters.items()}, codes=sorted(codebook.codebook(study)["path"]),
        query=str(request.url.query), **counted,
    )


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
