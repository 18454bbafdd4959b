"""The manuscript in Word: a methods and results draft with the tables journals print, figures, and COREQ.

Researchers publish in journals and write in Word, so :func:`manuscript` writes
what would otherwise be retyped from the HTML report: a methods draft whose
every number comes from the report's own tables (:func:`chorus.report.tables`),
Table 1 (participants), Table 2 (themes with the disciplines that raised them
and exemplar quotes), the theme x discipline heatmap and the saturation curve
as figures, the COREQ checklist (Tong, Sainsbury & Craig 2007) filled from what
the study records, and optionally a quotes appendix. Real Word styles (Title,
Heading 1-2, Caption, Table Grid) let a journal's template restyle it at once.
Speakers appear by pseudonym, discipline and group, never by roster id.

>>> manuscript(study, "findings.docx", characteristics=["years_in_oncology"])   # doctest: +SKIP
PosixPath('findings.docx')
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

import chorus
from chorus.analysis import Rule
from chorus.analysis.frames import participants
from chorus.analysis.themes import plural
from chorus.errors import ChorusError
from chorus.report.build import tables
from chorus.study.counting import Basis
from chorus.study.models import Transcript
from chorus.study.settings import APPROACH
from chorus.study.store import Study
from chorus.words import counted

#: Guest, Namey & Chen's parameters the report's saturation runs use.
SATURATION = {"base": 4, "run": 2, "threshold": 0.05}
#: Said of a COREQ item the study's records cannot answer.
AUTHORS = "To be completed by the authors."
#: The 32 COREQ items: number, domain, item.
COREQ = [
    (1, "Research team and reflexivity", "Interviewer/facilitator"), (2, "Research team and reflexivity", "Credentials"),
    (3, "Research team and reflexivity", "Occupation"), (4, "Research team and reflexivity", "Gender"),
    (5, "Research team and reflexivity", "Experience and training"), (6, "Research team and reflexivity", "Relationship established"),
    (7, "Research team and reflexivity", "Participant knowledge of the interviewer"),
    (8, "Research team and reflexivity", "Interviewer characteristics"),
    (9, "Study design", "Methodological orientation and theory"), (10, "Study design", "Sampling"),
    (11, "Study design", "Method of approach"), (12, "Study design", "Sample size"), (13, "Study design", "Non-participation"),
    (14, "Study design", "Setting of data collection"), (15, "Study design", "Presence of non-participants"),
    (16, "Study design", "Description of sample"), (17, "Study design", "Interview guide"), (18, "Study design", "Repeat interviews"),
    (19, "Study design", "Audio/visual recording"), (20, "Study design", "Field notes"), (21, "Study design", "Duration"),
    (22, "Study design", "Data saturation"), (23, "Study design", "Transcripts returned"),
    (24, "Analysis and findings", "Number of data coders"), (25, "Analysis and findings", "Description of the coding tree"),
    (26, "Analysis and findings", "Derivation of themes"), (27, "Analysis and findings", "Software"),
    (28, "Analysis and findings", "Participant checking"), (29, "Analysis and findings", "Quotations presented"),
    (30, "Analysis and findings", "Data and findings consistent"), (31, "Analysis and findings", "Clarity of major themes"),
    (32, "Analysis and findings", "Clarity of minor themes"),
]


def manuscript(
    study: Study, out: str | Path, rule: Rule | None = None, coders: Sequence[str] | None = None,
    characteristics: Sequence[str] = (), quotes: int = 0, basis: Basis | str | None = None,
) -> Path:
    """Write the Word draft to ``out`` (.docx): methods, Table 1, Table 2, two figures, COREQ, and ``quotes`` per theme and discipline.

    ``characteristics`` are roster columns Table 1 also describes (numbers as
    median (IQR), anything else as n (%)); ``coders`` are those whose agreement
    is reported and ``basis`` which coding the findings count, as in
    :func:`chorus.report.build`; the methods say which in a sentence.
    """
    from docx import Document  # here, not at the top: the CLI starts faster without it

    out = Path(out)
    if out.suffix.lower() != ".docx":
        raise ChorusError(f"{out.name}: the manuscript is written as .docx")
    rule = rule or Rule()
    named, found = tables(study, rule, coders, basis)
    with study.reading() as session:
        people = participants(session)
        media = [t.media or {} for t in session.scalars(select(Transcript))]
    missing = [c for c in characteristics if c not in people.columns]
    if missing:
        known = sorted(set(people.columns) - {"participant_id", "key", "pseudonym", "role", "groups"})
        raise ChorusError(f"no roster column {', '.join(map(repr, missing))}; the roster has {', '.join(known)}")
    figures = _figures(named)
    methods = named["methods"].set_index("item")["value"]  # the report's figures by name

    document = Document()
    document.add_paragraph(f"{study.name}: methods and results (draft)", style="Title")
    document.add_paragraph(f"Drafted by Chorus {chorus.__version__} from the study's store; every figure is the report's. "
                           "Check each sentence before it goes into the manuscript.", style="Subtitle")
    document.add_heading("Methods", level=1)
    for heading, text in _methods_text(named, methods, media, rule):
        document.add_heading(heading, level=2)
        document.add_paragraph(text)
    document.add_heading("Results", level=1)
    document.add_paragraph(f"Table 1 describes the {methods.get('Participants', 0)} participants; Table 2 the themes, each with the "
                           "disciplines that raised it and quotes; the tables after it follow the discussion guide question by "
                           "question and say how each theme was held in the groups. Figure 1 shows which discipline raised which "
                           "theme, Figure 2 how the codes accumulated group by group.")
    first = _table_one(people, characteristics)
    _table(document, "Table 1. Participant characteristics", first, widths=(1.6, *[4.9 / (len(first.columns) - 1)] * (len(first.columns) - 1)))
    _table(document, "Table 2. Themes, the disciplines that raised them, and exemplar quotes", _table_two(found),
           note=f"A discipline raised a theme when the theme was {rule}. Counts are participants and groups in which the theme was coded.",
           widths=(1.2, 1.3, 1.05, 0.75, 2.2))
    _focus_group_results(document, named)
    for number, (image, caption, alt) in enumerate(figures, start=1):
        _figure(document, image, f"Figure {number}. {caption}", alt)
    document.add_page_break()
    document.add_heading("Appendix: COREQ checklist", level=1)
    document.add_paragraph("Consolidated criteria for reporting qualitative research (Tong, Sainsbury & Craig, 2007): what the study "
                           "records for each of the 32 items.")
    _table(document, "Table A1. COREQ checklist", _coreq(named, methods, media, found, rule), widths=(0.4, 1.5, 1.7, 3.4))
    if quotes > 0:
        document.add_heading("Appendix: quotes by theme and discipline", level=1)
        _quotes_appendix(document, study, found, quotes, basis)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out


def _focus_group_results(document: Any, named: dict[str, pd.DataFrame]) -> None:
    """What only a focus group shows, after Table 2: the guide question by question, how each theme was held, the dynamics' flags."""
    number = 3
    questions = named["questions"]
    if not questions.empty:
        shown = pd.DataFrame({"Question": questions["question"] + ". " + questions["wording"], "Answered by": questions["answered_by"],
                              "Codes (turns)": questions["codes"]})
        _table(document, f"Table {number}. The discussion guide: who answered each question, and what was coded", shown,
               note="Answered by: participants (turns) per discipline, each participant turn placed under the question the facilitator "
                    "last asked. Codes: the codes on most of the question's participant turns.", widths=(2.2, 2.4, 1.9))
        number += 1
        silent = [f"{q.question}, {s}" for q in questions.itertuples() for s in q.silences.split("; ") if s]
        if silent:
            document.add_paragraph("Under some questions half a group or more said nothing: " + "; ".join(silent) + ".")
    held = named["stances_by_theme"]
    if not held.empty:
        shown = held.rename(columns={"theme": "Theme", "consensual": "Consensual", "contested": "Contested", "one voice": "One voice",
                                     "groups": "Groups"})
        _table(document, f"Table {number}. How each theme was held in the groups that raised it", shown.astype(str),
               note="Micro-interlocutor analysis (Onwuegbuzie et al., 2009). Contested: a participant's turn on the theme is coded "
                    "Stance/Dissents; otherwise one voice when a single member raised it, consensual when two or more did.",
               widths=(2.5, 1.0, 1.0, 1.0, 1.0))
    flags = named["dynamics_flags"]["flag"].tolist()
    document.add_paragraph("Group dynamics: " + ("; ".join(flags) + "." if flags else
                           "no group was carried by a few voices, had a silent member, or was led by its facilitators."))


def _transcribed_with(media: list[dict[str, Any]]) -> list[str]:
    """The Whisper models Chorus transcribed the study's recordings with (none: the transcripts were imported)."""
    return sorted({m["model"] for m in media if m.get("model")})


def _saturation_reached(runs: pd.DataFrame) -> str | None:
    """Guest, Namey & Chen's verdict on the report's runs ('after N groups' or 'not'), None with too few groups to say."""
    if runs.empty:
        return None
    reached = runs[runs["saturated"]]
    return f"after {int(reached.iloc[0]['groups_needed'])} groups" if not reached.empty else "not"


def _methods_text(named: dict[str, pd.DataFrame], methods: pd.Series, media: list[dict[str, Any]], rule: Rule) -> list[tuple[str, str]]:
    """The methods draft, paragraph by paragraph (heading, text), every number read from the report's tables."""
    groups, sample = named["sample_groups"], named["sample_participants"]
    disciplines = [(r.discipline, int(r.total)) for r in sample.itertuples() if r.discipline != "total"] if not sample.empty else []
    split = [what for what, column in (("discipline", "disciplines"), ("care team", "care_teams"))
             if column in groups.columns and not groups.empty and groups[column].astype(str).str.contains(",").eq(False).all()]
    people = ", ".join(f"{n} {plural(d) if n != 1 else d}" for d, n in disciplines)
    text = (f"We conducted {methods.get('Focus groups', 0)} focus groups with {methods.get('Participants', 0)} participants ({people}). "
            + (f"Groups were split by {' and '.join(split)}. " if split else "")
            + (f"Groups had {methods['Participants per group (min-max, mean)'].replace(', ', ' participants (mean ')}). "
               if "Participants per group (min-max, mean)" in methods else "")
            + (f"{methods.get('Facilitators', 0)} facilitators moderated the discussions" if str(methods.get("Facilitators", 0)) != "1"
               else "One facilitator moderated the discussions")
            + _lasted(groups["minutes"].dropna() if "minutes" in groups.columns else pd.Series(dtype=float), len(groups)))
    heard = [m for m in media if m.get("model")]
    if heard:
        models = _transcribed_with(media)
        diarizers = sorted({m.get("diarizer", "none") for m in heard})
        total = int(methods.get("Transcripts", 0) or 0)
        rest = total - len(heard)
        recorded = (f"Discussions were audio-recorded. {len(heard)} of {total} transcripts {'was' if len(heard) == 1 else 'were'} transcribed "
                    f"on the researchers' own machine with Whisper ({', '.join(models)}) and speakers separated with "
                    f"{', '.join(diarizers)}; each speaker was named against the roster by the researchers, and the transcripts "
                    "corrected by hand." + (" The other was transcribed verbatim." if rest == 1 else " The rest were transcribed verbatim." if rest > 1 else ""))
    else:
        recorded = f"Discussions were audio-recorded and transcribed verbatim ({methods.get('Words transcribed', 0)} words in {methods.get('Transcripts', 0)} transcripts)."
    deidentified = methods.get("De-identification", "not run")
    privacy = ("Names and other identifiers in the transcripts were replaced with consistent tags before analysis "
               f"({deidentified}); the key was kept apart from the study." if deidentified != "not run" else
               "Chorus's de-identification was not run on these transcripts; say how identifiers were handled.")
    versions = methods.get("Codebook versions", "none taken")
    agreements = [(item.removeprefix("Agreement ").removesuffix(" (by turn)"), value) for item, value in methods.items() if str(item).startswith("Agreement ")]
    coding = (f"Transcripts were coded by {methods.get('Analysis approach', APPROACH)} with a codebook of {methods.get('Codes in the codebook', 0)} codes"
              + (f", kept in {versions} numbered versions as it developed" if versions != "none taken" else "")
              + f". Coders: {methods.get('Coders', 'none')}. {named['coding_basis']['sentence'].iloc[0]} "
              + (" ".join(f"Intercoder agreement between {pair.replace(' / ', ' and ')}, by turn: {value} (percent agreement; kappa: Cohen's; "
                          "alpha: Krippendorff's)." for pair, value in agreements) if agreements else "Intercoder agreement was not computed."))
    suggested = named["suggestions"]
    if not suggested.empty and int(suggested["accepted"].sum()):
        accepted, rejected = int(suggested["accepted"].sum()), int(suggested["rejected"].sum())
        coding += (f" {counted(accepted, 'coding')} {'was' if accepted == 1 else 'were'} suggested by Chorus's local model and accepted "
                   f"by a coder; {counted(rejected, 'suggestion')} {'was' if rejected == 1 else 'were'} rejected.")
    reached = _saturation_reached(named["saturation_runs"])
    saturation = (f"Code saturation was assessed with Guest, Namey and Chen's method (base of {SATURATION['base']} groups, runs of "
                  f"{SATURATION['run']}, new-information threshold {SATURATION['threshold']:.0%}): "
                  + ("too few groups were coded to assess it." if reached is None else "it was not reached in the groups held." if reached == "not"
                     else f"it was reached {reached}."))
    themes = (f"Themes were reported with the disciplines that raised them: a discipline raised a theme when the theme was {rule}. "
              f"Analysis used Chorus {chorus.__version__}.")
    return [("Participants and setting", text), ("Recording and transcription", recorded), ("De-identification", privacy),
            ("Coding and agreement", coding), ("Saturation", saturation), ("Themes by discipline", themes)]


def _lasted(minutes: pd.Series, groups: int) -> str:
    """How long the groups lasted, from their turns' times, said only of the groups that have them."""
    if minutes.empty:
        return "."
    some = "" if len(minutes) == groups else f" ({counted(len(minutes), 'group')} of {groups} with times)"
    if len(minutes) == 1:
        return f"; the one group with times lasted {minutes.iloc[0]:g} minutes."
    return f", which lasted {minutes.min():g}-{minutes.max():g} minutes (mean {minutes.mean():.1f}){some}."


def _table_one(people: pd.DataFrame, characteristics: Sequence[str]) -> pd.DataFrame:
    """Participants by discipline (n, %), care team and each named characteristic, overall and per discipline."""
    people = people.assign(discipline=people["discipline"].fillna("(none)"), care_team=people["care_team"].fillna("(none)"))
    columns = {"All": people, **{d: people[people["discipline"] == d] for d in sorted(people["discipline"].unique())}}
    header = {name: f"{name} (n = {len(frame)})" for name, frame in columns.items()}
    rows: list[dict[str, str]] = []

    def tally(title: str, column: str, overall_only: bool = False) -> None:
        rows.append({"Characteristic": title, **{header[c]: "" for c in columns}})
        for value in sorted(people[column].astype(str).unique()):
            cells = {header[c]: "" for c in columns}
            for name, frame in list(columns.items())[: 1 if overall_only else None]:
                n = int((frame[column].astype(str) == value).sum())
                cells[header[name]] = f"{n} ({n / len(frame):.0%})" if len(frame) else "0"
            rows.append({"Characteristic": f"  {value}", **cells})

    tally("Discipline, n (%)", "discipline", overall_only=True)  # each discipline's own column is all of it
    tally("Care team, n (%)", "care_team")
    for column in characteristics:
        numbers = pd.to_numeric(people[column], errors="coerce")
        if numbers.notna().mean() >= 0.8:  # a number for (nearly) everyone: describe it as one
            title = column.replace("_", " ").capitalize()
            cells = {}
            for name, frame in columns.items():
                values = numbers.loc[frame.index].dropna()
                cells[header[name]] = (f"{values.median():g} ({values.quantile(0.25):g}-{values.quantile(0.75):g})" if len(values) else "")
            rows.append({"Characteristic": f"{title}, median (IQR)", **cells})
        else:
            tally(f"{column.replace('_', ' ').capitalize()}, n (%)", column)
    return pd.DataFrame(rows)


def _table_two(found: pd.DataFrame) -> pd.DataFrame:
    """The themes in the codebook's order under their parent, with who raised them, the counts and two quotes."""
    rows = []
    for category, themes in found.groupby("category", sort=False):
        if (themes["code"] != category).any():  # themes under a parent such as "Benefits": the parent heads them
            rows.append({"Theme": category, "Raised by": "", "Participants": "", "Groups": "", "Exemplar quotes": "", "_heading": True})
        for theme in themes.itertuples():
            said = "\n".join(f"“{q['text']}” ({q['discipline']}, {q['group']})" for q in theme.quotes[:2])
            raised = ", ".join(plural(d) for d in theme.disciplines) or "none under the rule"
            rows.append({"Theme": theme.theme, "Raised by": raised, "Participants": str(theme.participants), "Groups": str(theme.groups),
                         "Exemplar quotes": said, "_heading": False})
    return pd.DataFrame(rows, columns=["Theme", "Raised by", "Participants", "Groups", "Exemplar quotes", "_heading"])


def _figures(named: dict[str, pd.DataFrame]) -> list[tuple[bytes, str, str]]:
    """The heatmap and the saturation curve as print-resolution PNGs: (image, caption, alt text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    shares = named["theme_share_by_discipline"].set_index("theme") if not named["theme_share_by_discipline"].empty else pd.DataFrame()
    if not shares.empty:
        shares = shares.astype(float)
        fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(shares) + 1.6), dpi=300)
        ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(shares.columns)), [plural(str(c)) for c in shares.columns], fontsize=8)
        ax.set_yticks(range(len(shares.index)), shares.index, fontsize=8)
        for (i, j), value in pd.DataFrame(shares.to_numpy()).stack().items():
            ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7, color="white" if value > 0.55 else "black")
        ax.xaxis.tick_top()
        fig.tight_layout()
        figures.append((_png(fig), "Share of each discipline's participants who raised each theme.",
                        "Heatmap of themes by discipline: " + "; ".join(
                            f"{theme}: " + ", ".join(f"{plural(str(d))} {v:.0%}" for d, v in row.items()) for theme, row in shares.iterrows())))
        plt.close(fig)
    curve = named["saturation"]
    if not curve.empty:
        fig, ax = plt.subplots(figsize=(6.0, 3.0), dpi=300)
        ax.plot(range(1, len(curve) + 1), curve["cumulative_codes"], marker="o", color="#2c5d9b")
        ax.bar(range(1, len(curve) + 1), curve["new_codes"], color="#9ecae1", label="new codes")
        ax.set_xticks(range(1, len(curve) + 1), curve["group"], fontsize=7, rotation=90 if len(curve) > 12 else 0)
        ax.set_xlabel("Groups, in the order held", fontsize=8)
        ax.set_ylabel("Codes", fontsize=8)
        ax.legend(["codes found so far", "new codes"], fontsize=7, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        figures.append((_png(fig), "Codes found so far, and new codes, group by group in the order the groups were held.",
                        "Saturation curve: " + "; ".join(f"{r.group} {r.cumulative_codes} codes ({r.new_codes} new)" for r in curve.itertuples())))
        plt.close(fig)
    return figures


def _png(fig: Any) -> bytes:
    stream = io.BytesIO()
    fig.savefig(stream, format="png", dpi=300)
    return stream.getvalue()


def _coreq(named: dict[str, pd.DataFrame], methods: pd.Series, media: list[dict[str, Any]], found: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """What the study records for each COREQ item, or that the authors complete it."""
    reached = _saturation_reached(named["saturation_runs"])
    heard = _transcribed_with(media)
    answers = {
        1: f"{methods.get('Facilitators', 0)} facilitator(s) on the roster. Their identity: {AUTHORS.lower()}",
        12: f"{methods.get('Participants', 0)} participants in {methods.get('Focus groups', 0)} focus groups.",
        16: "Table 1: participants by discipline and care team, with the roster characteristics named.",
        19: ("Audio recordings, transcribed with Whisper (" + ", ".join(heard) + ") on the researchers' machine."
             if heard else "Audio recordings, transcribed verbatim (transcripts imported)."),
        21: (f"{methods['Duration in minutes (min-max, mean)']} minutes (min-max, mean)." if "Duration in minutes (min-max, mean)" in methods
             else f"{AUTHORS} (the transcripts carry no times)"),
        22: (f"Guest, Namey & Chen, base {SATURATION['base']}, run {SATURATION['run']}, threshold {SATURATION['threshold']:.0%}: "
             + ("not reached." if reached == "not" else f"reached {reached}.") if reached is not None else f"{AUTHORS} (too few groups to assess)"),
        24: f"Coders: {methods.get('Coders', 'none')}.",
        25: f"Codebook of {methods.get('Codes in the codebook', 0)} codes; versions: {methods.get('Codebook versions', 'none taken')}.",
        26: f"Inductive content analysis; themes with the disciplines that raised them (a discipline raised a theme when it was {rule}).",
        27: f"Chorus {chorus.__version__}.",
        29: "Yes: quotes attributed by discipline and group (Table 2" + ("" if found.empty else ", and the quotes appendix when included") + ").",
        31: f"{len(found)} themes in Table 2.",
    }
    return pd.DataFrame(
        [{"No.": str(n), "Domain": domain, "Item": item, "What the study records": answers.get(n, AUTHORS)} for n, domain, item in COREQ]
    )


def _table(document: Any, caption: str, frame: pd.DataFrame, note: str | None = None, widths: Sequence[float] | None = None) -> None:
    """``frame`` as a Word table (Table Grid, header row repeated on each page) under its numbered caption."""
    from docx.shared import Inches, Pt

    title = document.add_paragraph(caption, style="Caption")
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_before = Pt(14)
    shown = [c for c in frame.columns if not c.startswith("_")]
    table = document.add_table(rows=1, cols=len(shown))
    table.style = "Table Grid"
    for cell, column in zip(table.rows[0].cells, shown):
        cell.text = column
        cell.paragraphs[0].runs[0].bold = True
    _row_property(table.rows[0], "w:tblHeader")
    for record in frame.to_dict("records"):
        cells = table.add_row().cells
        if record.get("_heading"):  # a parent heading its themes: one cell across the row
            merged = cells[0].merge(cells[-1])
            merged.text = str(record[shown[0]])
            merged.paragraphs[0].runs[0].bold = True
            continue
        for cell, column in zip(cells, shown):
            cell.text = str(record[column])
    if widths:  # Word reads the cells' widths, LibreOffice the grid's: set both
        table.autofit = False
        for i, column in enumerate(table.columns):
            column.width = Inches(widths[min(i, len(widths) - 1)])
    for number, row in enumerate(table.rows):
        _row_property(row, "w:cantSplit")  # a theme and its quotes are read together
        for i, cell in enumerate(row.cells):
            if widths:
                cell.width = Inches(widths[min(i, len(widths) - 1)])
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8 if number == 0 else 9)  # headers such as "psychosocial clinician" fit their column
    if note:
        document.add_paragraph(f"Note. {note}").runs[0].font.size = Pt(9)


def _row_property(row: Any, name: str) -> None:
    """Switch a row property on (``w:tblHeader``: repeated on each page; ``w:cantSplit``: kept on one page)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    switch = OxmlElement(name)
    switch.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(switch)


def _figure(document: Any, image: bytes, caption: str, alt: str) -> None:
    """A figure with alt text (what a screen reader says) and its numbered caption under it."""
    from docx.shared import Inches

    paragraph = document.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    shape = paragraph.add_run().add_picture(io.BytesIO(image), width=Inches(6.0))
    shape._inline.docPr.set("descr", alt)
    shape._inline.docPr.set("title", caption)
    document.add_paragraph(caption, style="Caption")


def _quotes_appendix(document: Any, study: Study, found: pd.DataFrame, most: int, basis: Basis | str | None) -> None:
    """Up to ``most`` quotes per theme and discipline, attributed by pseudonym, discipline and group."""
    from chorus.analysis import themes

    richer = themes(study, quotes=max(most * 4, 8), basis=basis).set_index("code")
    for theme in found.itertuples():
        document.add_heading(theme.theme, level=2)
        by_discipline: dict[str, list[dict[str, Any]]] = {}
        for quote in richer.at[theme.code, "quotes"] if theme.code in richer.index else theme.quotes:
            by_discipline.setdefault(quote["discipline"], []).append(quote)
        for discipline in sorted(by_discipline):
            for quote in by_discipline[discipline][:most]:
                document.add_paragraph(f"“{quote['text']}” ({quote['speaker']}, {quote['discipline']}, {quote['group']})", style="Quote")
