"""The Word manuscript, read back with python-docx: its numbers are the HTML report's, its figures have alt text,
COREQ has 32 rows, and no roster id or de-identified original is anywhere in it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from docx import Document

import chorus
from chorus.analysis import Rule
from chorus.analysis.frames import participants
from chorus.assist.guide import align_guide
from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest import import_transcripts
from chorus.ingest.guide import import_guide
from chorus.report import build, manuscript, tables
from tests.helpers import DEMO, code_demo, imported

imported("spacy", "pip install 'chorus-qda[privacy]' (the de-identification check)")


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    """The demo coded by pattern with its discussion guide and one dissent, a transcript naming a patient de-identified,
    then the manuscript and the HTML report.

    Written once for the module, in SQLite: the document only reads the store, through the functions the
    report's own tests run on both stores.
    """
    from chorus.privacy import deidentify

    tmp_path = tmp_path_factory.mktemp("manuscript")
    coded = code_demo(chorus.init(tmp_path / "pc-study"))
    import_guide(coded, DEMO / "guide.csv")
    align_guide(coded)
    apply_code(coded, "FG06", "Stance/Dissents", "autocoder", turn=13)  # turn 13 is coded Funding: contested in FG06
    said = tmp_path / "FG12.txt"
    said.write_text("Adaeze: I still think about Emma Rodriguez and her family, and what funding we never had for them.\n")
    import_transcripts(coded, [said], group="FG01")
    deidentify.apply(coded, deidentify.find(coded, transcripts=["FG12"]), tmp_path / "key.json", accept_all=True)
    rule = Rule(2, 0.10, "or")
    path = manuscript(coded, tmp_path / "findings.docx", rule, characteristics=["years_in_oncology"], quotes=2)
    html = build(coded, tmp_path / "findings.html", rule).html.read_text(encoding="utf-8")
    return coded, Document(str(path)), path, html, rule


def text_of(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def test_the_draft_has_its_sections_captions_and_figures_with_alt_text(drafted):
    _, document, path, _, _ = drafted
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for wanted in ("Methods", "Participants and setting", "Coding and agreement", "Saturation", "Results",
                   "Appendix: COREQ checklist", "Appendix: quotes by theme and discipline"):
        assert wanted in headings
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert [c.split(".")[0] for c in captions] == ["Table 1", "Table 2", "Table 3", "Table 4", "Figure 1", "Figure 2", "Table A1"]
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    described = re.findall(r'<wp:docPr [^>]*descr="([^"]+)"', xml)
    assert len(described) == 2 and described[0].startswith("Heatmap of themes by discipline") and described[1].startswith("Saturation curve")
    assert xml.count("<w:tblHeader") == 5, "each table repeats its header row on a new page"


def test_table_one_and_table_two_hold_the_html_reports_numbers(drafted):
    study, document, _, html, rule = drafted
    named, found = tables(study, rule)
    first, second = document.tables[0], document.tables[1]
    header = [c.text for c in first.rows[0].cells]
    sample = named["sample_participants"].set_index("discipline")["total"]
    total = int(sample["total"])
    assert header[1] == f"All (n = {total})" and f"{total} participants" in text_of(document)
    rows = {r.cells[0].text.strip(): [c.text for c in r.cells] for r in first.rows}
    for discipline, n in sample.drop("total").items():
        assert rows[discipline][1] == f"{n} ({n / total:.0%})"
        assert f"<td class=\"num\">{n}</td>" in html or f">{n}<" in html
    with study.reading() as session:
        years = participants(session)["years_in_oncology"].astype(float)
    assert rows["Years in oncology, median (IQR)"][1] == f"{years.median():g} ({years.quantile(0.25):g}-{years.quantile(0.75):g})"
    shown = {r.cells[0].text: [c.text for c in r.cells] for r in second.rows[1:]}
    assert {"Benefits", "Challenges"} <= set(shown), "themes under their parents"
    for theme in found.itertuples():
        row = shown[theme.theme]
        assert row[2] == str(theme.participants) and row[3] == str(theme.groups)
        assert theme.label in html
        for discipline in theme.disciplines:
            assert discipline in row[1]
    assert f"a discipline raised a theme when the theme was {rule}" in "\n".join(p.text for p in document.paragraphs).replace("A discipline", "a discipline")


def test_the_guide_question_by_question_how_themes_were_held_and_the_dynamics_are_the_reports(drafted):
    study, document, _, html, rule = drafted
    named, _ = tables(study, rule)
    questions, held = named["questions"], named["stances_by_theme"]
    guide = document.tables[2]
    assert [c.text for c in guide.rows[0].cells] == ["Question", "Answered by", "Codes (turns)"] and len(guide.rows) == len(questions) + 1 == 11
    for row, q in zip(guide.rows[1:], questions.itertuples()):
        assert [c.text for c in row.cells] == [f"{q.question}. {q.wording}", q.answered_by, q.codes]
        assert q.answered_by in html
    said = text_of(document)
    for q in questions.itertuples():
        for silence in filter(None, q.silences.split("; ")):
            assert f"{q.question}, {silence}" in said
    stances = document.tables[3]
    shown = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in stances.rows[1:]}
    assert set(shown) == set(held.theme) and shown["Challenges/Funding"][1] == "1", "FG06's dissent on funding"
    for t in held.itertuples():
        assert shown[t.theme] == [str(t.consensual), str(t.contested), str(t[4]), str(t.groups)]
    flags = named["dynamics_flags"]["flag"].tolist()
    assert ("Group dynamics: " + "; ".join(flags) if flags else "Group dynamics: no group was carried by a few voices") in said


def test_coreq_has_its_32_items_and_says_what_the_study_cannot_know(drafted):
    _, document, _, _, _ = drafted
    checklist = document.tables[4]
    assert len(checklist.rows) == 33 and [c.text for c in checklist.rows[0].cells][0] == "No."
    answers = {r.cells[0].text: r.cells[3].text for r in checklist.rows[1:]}
    assert answers["1"].endswith("to be completed by the authors.") and answers["9"] == "To be completed by the authors."
    assert "participants in" in answers["12"] and answers["24"].startswith("Coders: analyst, autocoder.")
    assert "Guest, Namey & Chen" in answers["22"] and answers["27"].startswith("Chorus ")


def test_no_roster_id_and_no_de_identified_original_is_anywhere_in_it(drafted):
    study, _, path, _, _ = drafted
    with study.reading() as session:
        keys = set(participants(session, facilitators=True)["key"])
    everything = " ".join(zipfile.ZipFile(path).read(name).decode("utf-8", "ignore") for name in zipfile.ZipFile(path).namelist()
                          if name.endswith(".xml"))
    assert "Emma" not in everything and "Rodriguez" not in everything
    found = {k for k in keys if re.search(rf"\b{re.escape(k)}\b", everything)}
    assert not found, f"roster ids in the document: {sorted(found)}"


def test_bad_arguments_are_refused_before_anything_is_written(study, tmp_path: Path):
    code_demo(study)
    with pytest.raises(ChorusError, match="no roster column 'shoe_size'"):
        manuscript(study, tmp_path / "a.docx", characteristics=["shoe_size"])
    with pytest.raises(ChorusError, match="written as .docx"):
        manuscript(study, tmp_path / "a.pdf")
    assert not list(tmp_path.glob("a.*"))


def test_the_methods_say_the_studys_approach_and_how_long_only_the_timed_groups_lasted(study, tmp_path: Path):
    from chorus.study.settings import set_approach
    from tests.helpers import load_demo

    load_demo(study, ["FG01", "FG02"])  # FG02 comes as timed captions, FG01 as a Word file without times
    apply_code(study, "FG01", "Funding", "ann", turn=3)
    set_approach(study, "reflexive  thematic analysis")
    text = text_of(Document(str(manuscript(study, tmp_path / "a.docx"))))
    assert "Transcripts were coded by reflexive thematic analysis with a codebook" in text
    minutes = float(re.search(r"the one group with times lasted ([\d.]+) minutes\.", text).group(1))
    assert 1 < minutes < 15 and "1-1 minutes" not in text and "lasted" not in text.replace("the one group with times lasted", "")
    with pytest.raises(ChorusError, match="1 to 200 characters"):
        set_approach(study, "  ")


def test_the_methods_say_how_many_transcripts_were_heard_in_the_right_number(study, tmp_path: Path):
    from sqlalchemy import select

    from chorus.study.models import Transcript
    from tests.helpers import load_demo

    load_demo(study, ["FG01", "FG02", "FG03"])
    apply_code(study, "FG01", "Funding", "ann", turn=3)
    said = {}
    for heard in (["FG02"], ["FG02", "FG03"], ["FG01", "FG02", "FG03"]):
        with study.transaction() as session:  # as a transcription job stores what heard it
            for t in session.scalars(select(Transcript).where(Transcript.name.in_(heard))):
                t.media = {**(t.media or {}), "model": "tiny.en", "diarizer": "resemblyzer"}
        text = text_of(Document(str(manuscript(study, tmp_path / f"{len(heard)}.docx"))))
        said[len(heard)] = re.search(r"Discussions were audio-recorded\. (.*?)\n", text + "\n").group(1)
    assert said[1].startswith("1 of 3 transcripts was transcribed") and said[1].endswith("The rest were transcribed verbatim.")
    assert said[2].startswith("2 of 3 transcripts were transcribed") and said[2].endswith("The other was transcribed verbatim.")
    assert said[3].startswith("3 of 3 transcripts were transcribed") and said[3].endswith("corrected by hand.")
