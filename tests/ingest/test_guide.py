"""Importing a discussion guide: tables and Word documents, and bad guides refused with nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chorus.errors import InputError
from chorus.ingest.guide import import_guide
from chorus.study.models import GuideQuestion
from tests.helpers import DEMO, unchanged


def stored(study) -> list[tuple]:
    with study.reading() as session:
        return session.execute(select(GuideQuestion.key, GuideQuestion.ordinal, GuideQuestion.section).order_by(GuideQuestion.ordinal)).all()


def test_the_demo_guide_is_stored_in_order_with_probes_and_sections(study):
    assert import_guide(study, DEMO / "guide.csv") == 10
    assert [k for k, _, _ in stored(study)] == [f"Q{n}" for n in range(1, 11)]
    with study.reading() as session:
        barriers = session.execute(select(GuideQuestion.probes, GuideQuestion.section).where(GuideQuestion.key == "Q3")).one()
    assert barriers.probes == "What stands in the way?; Any other barriers?; What about within the medical team?" and barriers.section == "Challenges"


def test_a_word_guide_reads_numbered_questions_probes_and_headings(study, tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Opening", level=1)
    document.add_paragraph("1. What does palliative care mean to you?")
    document.add_paragraph("Probe: what comes to mind first?")
    document.add_heading("Challenges", level=1)
    document.add_paragraph("Q2) What makes it hard?")
    document.add_paragraph("- Any other barriers?")
    document.add_paragraph("Thank the group.")  # a note to the facilitator, not a question
    document.save(tmp_path / "guide.docx")
    assert import_guide(study, tmp_path / "guide.docx") == 2
    assert stored(study) == [("1", 1, "Opening"), ("Q2", 2, "Challenges")]


@pytest.mark.parametrize("text, message, place", [
    ("id,question\nQ1,What does it mean?\nQ2,What is hard?\nQ1,Anything else?\n", r"question id 'Q1' appears twice \(first at line 2\)", "line 4"),
    ("id,question\nQ1,What does it mean?\nQ2,\n", "question 'Q2' has no wording", "line 3"),
    ("id,wording\nQ1,What?\n", "no 'question' column", "line 1"),
    ("id,question\n", "the table is empty|no questions", None),
])
def test_a_bad_guide_is_refused_naming_the_place_and_nothing_is_stored(study, tmp_path, text, message, place):
    import_guide(study, DEMO / "guide.csv")
    path = tmp_path / "guide.csv"
    path.write_text(text, encoding="utf-8")
    with unchanged(study), pytest.raises(InputError, match=message) as refused:
        import_guide(study, path)
    assert refused.value.path == str(path) and (place is None or refused.value.place == place)
