"""Codebook editing keeps every coding; memos."""

from __future__ import annotations

import pytest

from chorus.analysis import segments
from chorus.coding import add_memo, apply_code, codes, memos
from chorus.errors import ChorusError, NotFound
from tests.helpers import load_demo, unchanged


@pytest.fixture
def coded(study):
    load_demo(study, transcripts=["FG01"])
    for turn in (12, 13, 14):
        apply_code(study, "FG01", "Funding", "ann", turn=turn)
    apply_code(study, "FG01", "Communication", "ann", turn=18)
    apply_code(study, "FG01", "Communication", "ann", turn=12)
    return study


def test_add_rename_and_move_keep_codings(coded):
    assert codes.add(coded, "Philanthropy", parent="Funding", colour="#123456") == "Challenges/Funding/Philanthropy"
    codes.rename(coded, "Funding", "Money")
    codes.move(coded, "Money", parent="Benefits")
    found = segments(coded, code="Benefits/Money", subcodes=False)
    assert len(found) == 3 and set(found["code"]) == {"Benefits/Money"}
    with pytest.raises(ChorusError, match="under itself"):
        codes.move(coded, "Money", parent="Philanthropy")


def test_merge_moves_codings_and_keeps_identical_ones_once(coded):
    apply_code(coded, "FG01", "Medical opposition", "ann", turn=13)
    add_memo(coded, "Money and pushback go together", "ann", code="Medical opposition")
    assert codes.merge(coded, "Medical opposition", "Funding") == 0
    assert len(segments(coded, code="Funding")) == 3
    codes.merge(coded, "Communication", "Funding")
    assert len(segments(coded, code="Funding")) == 4
    assert memos(coded)["about"].tolist() == ["code Challenges/Funding"]


def test_delete_passes_codings_to_the_parent(coded):
    assert codes.delete(coded, "Funding") == 0
    assert len(segments(coded, code="Challenges", subcodes=False)) == 3


def test_a_top_level_code_with_codings_is_not_deleted_by_accident(coded):
    codes.add(coded, "Other")
    apply_code(coded, "FG01", "Other", "ann", turn=20)
    with unchanged(coded), pytest.raises(ChorusError, match="--discard-codings"):
        codes.delete(coded, "Other")
    assert codes.delete(coded, "Other", discard_codings=True) == 1


def test_names_and_colours_are_checked(coded):
    with pytest.raises(ChorusError, match="already a code 'Funding'"):
        codes.add(coded, "Funding", parent="Challenges")
    with pytest.raises(ChorusError, match="#rrggbb"):
        codes.describe(coded, "Funding", colour="blue")
    with pytest.raises(ChorusError, match="already sits beside"):
        codes.rename(coded, "Funding", "Medical opposition")


def test_memos_on_a_code_a_transcript_and_a_coding(coded):
    coding_id = int(segments(coded, code="Funding").at[0, "coding_id"])
    add_memo(coded, "On the code", "ann", code="Funding")
    add_memo(coded, "On the group", "bob", transcript="FG01")
    add_memo(coded, "On this quote", "ann", coding=coding_id)
    add_memo(coded, "On the study", "ann")
    assert memos(coded)["about"].tolist() == ["code Challenges/Funding", "transcript FG01", f"coding #{coding_id}", "study"]
    with pytest.raises(ChorusError, match="about one thing"):
        add_memo(coded, "x", "ann", code="Funding", transcript="FG01")
    with pytest.raises(NotFound, match=f"there is no coding #{coding_id + 999}"):
        add_memo(coded, "On a coding that is not there", "ann", coding=coding_id + 999)


def _attribution_in_step(study) -> bool:
    """Every coding_turn row repeats its coding's code and its turn's speaker and transcript."""
    from sqlalchemy import text

    with study.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM coding_turn ct JOIN coding c ON c.id = ct.coding_id JOIN turn t ON t.id = ct.turn_id "
                "WHERE ct.code_id <> c.code_id OR ct.participant_id <> t.participant_id OR ct.transcript_id <> t.transcript_id"
            )
        ).scalar() == 0


def test_merged_codes_and_corrected_speakers_carry_through_to_the_matrix(coded):
    from sqlalchemy import select

    from chorus.analysis import matrix
    from chorus.study.models import Participant, Transcript, Turn

    codes.merge(coded, "Communication", "Funding")
    assert _attribution_in_step(coded)
    table = matrix(coded, by="discipline", count="segments")
    assert table.loc["Challenges/Funding"].sum() == 4
    assert "Benefits/Communication" not in table.index
    with coded.transaction() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 12))
        other = session.scalar(
            select(Participant).where(Participant.role == "participant", Participant.id != turn.participant_id)
        )
        turn.participant_id = other.id
        moved_to = other.discipline
    assert _attribution_in_step(coded)
    after = segments(coded, code="Funding")
    assert after.loc[after["turn"] == 12, "discipline"].unique().tolist() == [moved_to]
