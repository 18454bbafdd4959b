"""The findings report: one self-contained HTML file, plus every table as CSV and XLSX.

The report holds what a reviewer asks for: COREQ-style methods figures, the
sample (participants by discipline and care team, the groups), talk share, the
theme x discipline heatmap, the findings with the disciplines that raised each
theme and quotes with their speakers' pseudonyms, the code x discipline
matrices, and the rigour sections: intercoder agreement, codebook versions, the
audit trail summarised, and what de-identification replaced (counts only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select

import chorus
from chorus.analysis import (
    Rule,
    agreement,
    by_unit,
    dynamics,
    format_p,
    matrix,
    sample,
    saturation,
    talk_shares,
    themes,
    turn_table,
)
from chorus.analysis.guide import by_question
from chorus.analysis.saturation import guest_runs
from chorus.analysis.stances import theme_stances
from chorus.assist.candidates import candidate_codes
from chorus.assist.suggest import suggestion_summary
from chorus.coding.versions import versions
from chorus.errors import ChorusError
from chorus.privacy import summary as deidentification
from chorus.report.charts import bars, heatmap, turn_taking
from chorus.study import audit
from chorus.study.counting import Basis, counting
from chorus.study.counting import coders as coders_of
from chorus.study.models import AuditEntry, Code, Participant, Transcript
from chorus.study.settings import approach
from chorus.study.store import Study


@dataclass
class Report:
    """What :func:`build` wrote: the HTML file, the table files, and the tables themselves."""

    html: Path
    tables_dir: Path
    workbook: Path
    tables: dict[str, pd.DataFrame]


def coder_pairs(study: Study) -> list[tuple[str, str]]:
    """Pairs of coders who coded at least one transcript in common, the ones agreement can compare.

    Coders only: a consensus is written from its coders' codings, so pairing it with
    one of them measures nothing.
    """
    with study.reading() as session:
        by_coder = coders_of(session)
    names = sorted(by_coder)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if by_coder[a] & by_coder[b]]


def methods(study: Study, pairs: list[tuple[str, str]] | None = None, basis: Basis | str | None = None) -> pd.DataFrame:
    """Figures a COREQ-style methods section reports: ``item, value``.

    Groups and their size and length, participants by discipline, facilitators,
    words transcribed, the codebook and its versions, coders, which coding the
    findings count (``basis``, :mod:`chorus.study.counting`), agreement (of
    ``pairs``; by default every pair of coders with a transcript in common),
    de-identification and the audit trail.
    """
    pairs = coder_pairs(study) if pairs is None else pairs
    agreements = {pair: agreement(study, list(pair)) for pair in pairs}
    return _methods(study, sample(study), versions(study), agreements, deidentification(study), _basis(study, basis))


def _basis(study: Study, basis: Basis | str | None) -> pd.DataFrame:
    """Which coding the findings count: the basis asked for, and what it counts, as a line and as a methods sentence."""
    with study.reading() as session:
        counted = counting(session, basis)
    return pd.DataFrame({"basis": [str(counted.basis)], "line": [counted.line], "sentence": [counted.sentence]})


def _methods(
    study: Study, people: dict[str, pd.DataFrame], known: pd.DataFrame,
    agreements: dict[tuple[str, str], pd.DataFrame], replaced: pd.DataFrame, basis: pd.DataFrame,
) -> pd.DataFrame:
    """:func:`methods` from tables the report has already drawn."""
    groups, by_discipline = people["groups"], people["participants"]
    with study.reading() as session:
        facilitators = session.scalar(select(func.count()).select_from(Participant).where(Participant.role == "facilitator"))
        transcripts = session.scalar(select(func.count()).select_from(Transcript))
        coders = sorted(coders_of(session))
        codes = session.scalar(select(func.count()).select_from(Code))
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
    rows: list[tuple[str, object]] = [("Focus groups", len(groups)), ("Transcripts", transcripts)]
    if not groups.empty:
        sizes = groups["participants"]
        rows.append(("Participants per group (min-max, mean)", f"{sizes.min()}-{sizes.max()}, {sizes.mean():.1f}"))
        minutes = groups["minutes"].dropna()
        if not minutes.empty:  # from the turns' times: a group without them (no recording, no timed transcript) has none
            rows.append(("Duration in minutes (min-max, mean)", f"{minutes.min():g}-{minutes.max():g}, {minutes.mean():.1f}"))
            rows.append(("Groups timed", f"{len(minutes)} of {len(groups)}"))
        rows.append(("Words transcribed", int(groups["words"].sum())))
    if not by_discipline.empty:
        totals = by_discipline.set_index("discipline")["total"]
        rows.append(("Participants", int(totals.get("total", totals.sum()))))
        rows += [(f"Participants: {d}", int(n)) for d, n in totals.items() if d != "total"]
    rows += [("Facilitators", facilitators), ("Analysis approach", approach(study)), ("Codes in the codebook", codes)]
    rows.append(("Codebook versions", len(known) if not known.empty else "none taken"))
    rows.append(("Coders", ", ".join(coders) or "none"))
    rows.append(("Findings count", basis["line"].iloc[0]))
    for (a, b), table in agreements.items():
        overall = table.iloc[-1]
        rows.append((f"Agreement {a} / {b} (by turn)", f"{overall.percent_agreement:.0%}, kappa {overall.kappa:.2f}, alpha {overall.alpha:.2f}"))
    rows.append(("De-identification", f"{int(replaced['replacements'].sum())} replacements" if not replaced.empty else "not run"))
    rows.append(("Audit trail entries", entries))
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": str})


def _candidates(study: Study) -> pd.DataFrame:
    """Candidate codes among the still uncoded segments, or an empty table when the assist extra is missing or too little is left."""
    try:
        found = candidate_codes(study)
    except ChorusError:
        return pd.DataFrame(columns=["candidate", "label", "size", "disciplines", "groups"])
    return found[["candidate", "label", "size", "disciplines", "groups"]]


def _guest(curve: pd.DataFrame) -> pd.DataFrame:
    """Guest et al.'s runs with the defaults (base 4, run 2, 5%), or an empty table with too few groups."""
    try:
        runs = guest_runs(curve)
        return runs.assign(ratio=runs["ratio"].round(3), groups_needed=runs["groups_needed"].map(lambda n: "" if pd.isna(n) else str(n)))
    except ChorusError:
        return pd.DataFrame(columns=["base", "run_start", "run_groups", "new_in_run", "base_codes", "ratio", "saturated", "groups_needed"])


def tables(
    study: Study, rule: Rule | None = None, coders: Sequence[str] | None = None, basis: Basis | str | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every table of the report, by name, and the themes they were drawn from.

    ``coders`` are those whose agreement is reported (each pair of them); by
    default every pair of coders who coded a transcript in common. ``basis``: which
    coding the findings count (:mod:`chorus.study.counting`; by default the
    consensus where one is written, each passage once); the ``coding_basis`` table
    says what it counted.
    """
    found = themes(study, rule, basis=basis)
    people = sample(study)
    turns = turn_table(study)
    talk = dynamics(study, turns)
    held = theme_stances(study, basis)
    pairs = coder_pairs(study) if coders is None else [(a, b) for i, a in enumerate(coders) for b in coders[i + 1:]]
    agreements = {(a, b): agreement(study, [a, b]) for a, b in pairs}
    known, replaced, curve = versions(study), deidentification(study), saturation(study, basis=basis)
    counted = _basis(study, basis)
    out = {
        "coding_basis": counted,
        "methods": _methods(study, people, known, agreements, replaced, counted),
        "sample_participants": people["participants"],
        "sample_groups": people["groups"],
        "talk_share": talk_shares(study, ["discipline"], turns)["discipline"],
        "group_dynamics": talk.groups,
        "dynamics_flags": pd.DataFrame({"flag": talk.flags}),
        "questions": by_question(study, basis),
        "stances_by_theme": held.summary,
        "stances_by_group": held.by_group,
        "speakers_by_group": talk.speakers,
        "turn_taking": talk.follows,
        "themes": themes_table(found),
        "theme_share_by_discipline": _theme_frame(found, "share"),
        "themes_by_unit": by_unit(found, rule),
        "matrix_segments": matrix(study, count="segments", basis=basis).reset_index(),
        "matrix_participants": matrix(study, count="participants", basis=basis).reset_index(),
        "matrix_groups": matrix(study, count="groups", basis=basis).reset_index(),
        "quotes": pd.DataFrame(
            [{"theme": t.label, **q} for t in found.itertuples() for q in t.quotes],
            columns=["theme", "text", "speaker", "discipline", "group", "turn"],
        ),
        "agreement": pd.concat(
            [table.assign(coders=f"{a} / {b}") for (a, b), table in agreements.items()], ignore_index=True
        ) if agreements else pd.DataFrame(columns=["coders", "code"]),
        "saturation": curve,
        "saturation_runs": _guest(curve),
        "codebook_versions": known,
        "audit_summary": audit.summary(study),
        "deidentification": replaced,
        "suggestions": suggestion_summary(study),
        "candidate_codes": _candidates(study),
    }
    return out, found


def themes_table(found: pd.DataFrame) -> pd.DataFrame:
    """Themes as a flat table for CSV/XLSX: disciplines joined, nested figures and quotes left out."""
    return found.drop(columns=["per_discipline", "quotes"]).assign(disciplines=found["disciplines"].map(", ".join))


def _theme_frame(found: pd.DataFrame, field: str) -> pd.DataFrame:
    rows = {t.theme: {d: v[field] for d, v in t.per_discipline.items()} for t in found.itertuples()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "theme"
    return frame.reset_index() if not frame.empty else pd.DataFrame(columns=["theme"])


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: times in UTC, written without their zone."""
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    zoned += [c for c in frame.columns if frame[c].dtype == object and frame[c].map(lambda v: getattr(v, "tzinfo", None) is not None).any()]
    if not zoned:
        return frame
    return frame.assign(**{c: pd.to_datetime(frame[c], utc=True).dt.tz_convert(None) for c in zoned})


def save_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Save one table as CSV or XLSX, chosen by the file's extension."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        _for_excel(frame).to_excel(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise ChorusError(f"{path}: save tables as .csv or .xlsx")
    return path


def write_tables(named: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Each table as ``folder/NAME.csv`` and all of them as sheets of ``folder/tables.xlsx``."""
    folder.mkdir(parents=True, exist_ok=True)
    workbook = folder / "tables.xlsx"
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for name, frame in named.items():
            frame.to_csv(folder / f"{name}.csv", index=False)
            _for_excel(frame).to_excel(writer, sheet_name=name[:31], index=False)
    return workbook


def build(
    study: Study, out: str | Path, rule: Rule | None = None, coders: Sequence[str] | None = None, basis: Basis | str | None = None,
) -> Report:
    """Write the findings report to ``out`` (HTML) and its tables beside it (``<out>_tables/``).

    ``coders``: whose intercoder agreement to report; ``basis``: which coding the
    findings count (see :func:`tables`); the report says it in one line.

    >>> build(study, "findings.html")                          # doctest: +SKIP
    """
    rule = rule or Rule()
    out = Path(out)
    named, found = tables(study, rule, coders, basis)
    share = _theme_frame(found, "share").set_index("theme")
    raised = _theme_frame(found, "raised").set_index("theme")
    talk = named["talk_share"].set_index(named["talk_share"].columns[0])["share"] if not named["talk_share"].empty else pd.Series(dtype=float)
    environment = Environment(loader=PackageLoader("chorus.report", "templates"), autoescape=select_autoescape(["html"]))
    environment.filters["p"] = format_p
    categories: dict[str, list] = {}
    for theme in found.itertuples():
        categories.setdefault(theme.category, []).append(theme)
    html = environment.get_template("report.html").render(
        study=study.name,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=chorus.__version__,
        rule=str(rule),
        basis=named["coding_basis"]["line"].iloc[0],
        sample=named["sample_participants"],
        groups=named["sample_groups"],
        totals={
            "participants": int(named["sample_participants"].iloc[-1]["total"]) if not named["sample_participants"].empty else 0,
            "groups": len(named["sample_groups"]),
            "turns": int(named["sample_groups"]["turns"].sum()) if not named["sample_groups"].empty else 0,
            "words": int(named["sample_groups"]["words"].sum()) if not named["sample_groups"].empty else 0,
        },
        talk=named["talk_share"],
        units=named["themes_by_unit"],
        dynamics=named["group_dynamics"],
        dynamics_flags=named["dynamics_flags"]["flag"].tolist(),
        questions=named["questions"],
        stances=named["stances_by_theme"],
        contested=named["stances_by_group"][named["stances_by_group"]["verdict"] != "consensual"],
        turn_taking=[(group, turn_taking(named["speakers_by_group"], named["turn_taking"], group)) for group in named["group_dynamics"]["group"]],
        talk_chart=bars(talk, "Share of words spoken by discipline"),
        heatmap=heatmap(share, raised, "Share of each discipline's participants who raised each theme") if not share.empty else "",
        categories=categories,
        methods=named["methods"],
        saturation=named["saturation"],
        saturation_runs=named["saturation_runs"],
        saturation_chart=bars(named["saturation"].set_index("group")["cumulative_codes"], "Codes found so far, group by group", "{:.0f}") if not named["saturation"].empty else "",
        agreement=named["agreement"],
        versions=named["codebook_versions"],
        audit=named["audit_summary"],
        deidentification=named["deidentification"],
        suggestions=named["suggestions"],
        candidates=named["candidate_codes"],
        matrices={
            "Coded segments": named["matrix_segments"],
            "Participants": named["matrix_participants"],
            "Groups": named["matrix_groups"],
        },
        tables_dir=f"{out.stem}_tables",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    folder = out.parent / f"{out.stem}_tables"
    workbook = write_tables(named, folder)
    return Report(out, folder, workbook, named)
