"""Micro-interlocutor analysis: the members x questions matrix against one worked by hand, and themes held or contested."""

from __future__ import annotations

import pandas as pd
import pytest

from chorus.analysis.stances import interlocutor_matrix, theme_stances
from chorus.assist.guide import align_guide, set_question
from chorus.assist.stances import cue, propose_stances
from chorus.assist.suggest import decide, suggestion_summary
from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from chorus.ingest.guide import import_guide
from tests.helpers import DEMO

TRANSCRIPT = """Reyes: What does palliative care mean to you?

Adaeze: Symptom control from the first week, for every child.

Bernard: I agree. Pain and nausea first, and the family's questions.

Camila: And also the siblings, who nobody asks about.

Reyes: Who pays for the palliative team?

Bernard: The budget is donations, nothing more.

Dmitri: I'm not sure that is the whole story. The hospital pays two of the posts.

Adaeze: Right, two posts, but not the nurses.
"""


@pytest.fixture
def session_with_stances(study, tmp_path):
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    import_codebook(study, DEMO / "codebook.csv")
    (tmp_path / "FG01.txt").write_text(TRANSCRIPT, encoding="utf-8")
    import_transcripts(study, [tmp_path / "FG01.txt"], group="FG01")
    (tmp_path / "guide.csv").write_text("id,question\nQ1,What does palliative care mean to you?\nQ2,Who pays for the palliative team?\n"
                                        "Q3,What would you change?\n", encoding="utf-8")
    import_guide(study, tmp_path / "guide.csv")
    align_guide(study)
    set_question(study, "FG01", 1, "Q1")
    set_question(study, "FG01", 5, "Q2")
    return study


def test_the_matrix_is_the_one_worked_by_hand(session_with_stances):
    study = session_with_stances
    proposed = propose_stances(study)
    assert list(zip(proposed.turn, proposed.stance, proposed.based_on)) == [
        (3, "Agrees", "i agree"), (4, "Adds", "and also"), (7, "Dissents", "i'm not sure"), (8, "Agrees", "right")]
    by_turn = dict(zip(proposed.turn, proposed.suggestion))
    decide(study, [by_turn[3], by_turn[4], by_turn[7]], "accept", "ann")
    decide(study, [by_turn[8]], "reject", "ann")  # "Right, ... but not the nurses": the coder reads it otherwise
    apply_code(study, "FG01", "Stance/Dissents", "ann", turn=8)
    expected = pd.DataFrame(
        [["•", "D", ""], ["A", "•", ""], ["+", "–", ""], ["–", "D", ""], ["–", "–", ""]],  # Q3 was never asked: blank
        index=pd.Index(["Adaeze (physician)", "Bernard (physician)", "Camila (physician)", "Dmitri (physician)", "Elena (physician)"], name="member"),
        columns=["Q1", "Q2", "Q3"],
    )
    pd.testing.assert_frame_equal(interlocutor_matrix(study, "FG01"), expected)
    kept = suggestion_summary(study).set_index("code")
    assert kept.loc["Stance/Agrees", "accepted"] == 1 and kept.loc["Stance/Agrees", "rejected"] == 1
    assert kept.loc["Stance/Dissents", "accepted"] == 1 and kept.loc["Stance/Adds", "accepted"] == 1
    assert propose_stances(study).empty  # decided turns and rejected proposals are not proposed again


def test_a_theme_is_consensual_contested_or_carried_by_one_voice(session_with_stances):
    study = session_with_stances
    propose_stances(study)  # the Stance family joins the codebook
    for turn in (6, 7, 8):
        apply_code(study, "FG01", "Funding", "ann", turn=turn)
    apply_code(study, "FG01", "Stance/Dissents", "ann", turn=7)
    for turn in (2, 3):
        apply_code(study, "FG01", "Early integration", "ann", turn=turn)
    apply_code(study, "FG01", "Stance/Agrees", "ann", turn=3)
    apply_code(study, "FG01", "Family perceptions of palliative care", "ann", turn=4)
    held = theme_stances(study)
    verdicts = held.by_group.set_index("theme")
    assert verdicts.loc["Challenges/Funding", "verdict"] == "contested" and verdicts.loc["Challenges/Funding", "dissenting"] == 1
    assert verdicts.loc["Benefits/Early integration", "verdict"] == "consensual" and verdicts.loc["Benefits/Early integration", "agreeing"] == 1
    assert verdicts.loc["Family perceptions of palliative care", "verdict"] == "one voice"
    assert not held.by_group.theme.str.startswith("Stance").any()  # stances are how a theme was held, not themes
    summary = held.summary.set_index("theme")
    assert summary.loc["Challenges/Funding"].to_dict() == {"consensual": 0, "contested": 1, "one voice": 0, "groups": 1}


def test_cues_read_the_opening_only_and_the_matrix_needs_the_guide(study):
    assert cue("Right now it feels like a special event.") is None  # "right now" is not agreement
    assert cue("Exactly, make it standard care.")[:2] == ("Agrees", 0.9)
    assert cue("The plan was fine. But I agree with you.") is None
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    with pytest.raises(ChorusError, match="chorus guide import, then chorus guide align"):
        interlocutor_matrix(study, "FG01")


def test_the_report_shows_how_each_theme_was_held(session_with_stances, tmp_path):
    import re

    from chorus.report.build import build

    study = session_with_stances
    propose_stances(study)
    apply_code(study, "FG01", "Funding", "ann", turn=6)
    apply_code(study, "FG01", "Early integration", "ann", turn=2)
    apply_code(study, "FG01", "Early integration", "ann", turn=3)
    apply_code(study, "FG01", "Early integration", "ann", turn=7)
    apply_code(study, "FG01", "Stance/Dissents", "ann", turn=7)
    page = build(study, tmp_path / "findings.html").html.read_text(encoding="utf-8")
    section = page[page.index('<section id="stances">'):].split("</table>")[0]  # the summary table
    rows = {cells[0]: cells[1:] for cells in (re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in section.split("<tr>")) if cells}
    assert rows["Challenges/Funding"][:4] == ["0", "0", "1", "1"]  # consensual, contested, one voice, groups
    assert rows["Benefits/Early integration"][:4] == ["0", "1", "0", "1"]
