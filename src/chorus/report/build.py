"""The findings report: one self-contained HTML file, plus every table as CSV and XLSX.

The report holds what a reviewer asks for: the sample (participants by
discipline and care team, the groups), talk share, the theme x discipline heatmap,
the findings with the disciplines that raised each theme and quotes with their
speakers' pseudonyms, and the code x discipline matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

import chorus
from chorus.errors import ChorusError
from chorus.analysis import Rule, format_p, matrix, sample, talk_share, themes
from chorus.report.charts import bars, heatmap
from chorus.study.store import Study


@dataclass
class Report:
    """What :func:`build` wrote: the HTML file, the table files, and the tables themselves."""

    html: Path
    tables_dir: Path
    workbook: Path
    tables: dict[str, pd.DataFrame]


def tables(study: Study, rule: Rule | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every table of the report, by name, and the themes they were drawn from."""
    found = themes(study, rule)
    people = sample(study)
    out = {
        "sample_participants": people["participants"],
        "sample_groups": people["groups"],
        "talk_share": talk_share(study),
        "themes": themes_table(found),
        "theme_share_by_discipline": _theme_frame(found, "share"),
        "matrix_segments": matrix(study, count="segments").reset_index(),
        "matrix_participants": matrix(study, count="participants").reset_index(),
        "matrix_groups": matrix(study, count="groups").reset_index(),
        "quotes": pd.DataFrame(
            [{"theme": t.label, **q} for t in found.itertuples() for q in t.quotes],
            columns=["theme", "text", "speaker", "discipline", "group", "turn"],
        ),
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


def save_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Save one table as CSV or XLSX, chosen by the file's extension."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False)
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
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return workbook


def build(study: Study, out: str | Path, rule: Rule | None = None) -> Report:
    """Write the findings report to ``out`` (HTML) and its tables beside it (``<out>_tables/``).

    >>> build(study, "findings.html")                          # doctest: +SKIP
    """
    rule = rule or Rule()
    out = Path(out)
    named, found = tables(study, rule)
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
        sample=named["sample_participants"],
        groups=named["sample_groups"],
        totals={
            "participants": int(named["sample_participants"].iloc[-1]["total"]) if not named["sample_participants"].empty else 0,
            "groups": len(named["sample_groups"]),
            "turns": int(named["sample_groups"]["turns"].sum()) if not named["sample_groups"].empty else 0,
            "words": int(named["sample_groups"]["words"].sum()) if not named["sample_groups"].empty else 0,
        },
        talk=named["talk_share"],
        talk_chart=bars(talk, "Share of words spoken by discipline"),
        heatmap=heatmap(share, raised, "Share of each discipline's participants who raised each theme") if not share.empty else "",
        categories=categories,
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
