"""The transcript editor: a misheard word or a wrong speaker fixed, codings kept on their words, the change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest.editing import edit_turn
from chorus.study import audit
from chorus.study.models import Coding, CodingTurn, Participant, Transcript, Turn
from tests.helpers import load_demo, unchanged


def coded_words(study) -> dict[int, str]:
    """Each coding's words, by id."""
    with study.reading() as session:
        text = session.scalar(select(Transcript.text).where(Transcript.name == "FG01"))
        return {c.id: text[c.start:c.end] for c in session.scalars(select(Coding))}


def turn_text(study, ordinal: int) -> str:
    with study.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == ordinal))
        return turn.transcript.text[turn.start:turn.end]


def test_a_misheard_word_is_fixed_and_every_coding_keeps_its_words(study):
    load_demo(study, transcripts=["FG01"])
    said = turn_text(study, 2)  # "For me it is symptom management and support for the whole family, ..."
    with study.reading() as session:
        start = session.scalar(select(Turn.start).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 2))

    def span(words: str) -> dict[str, int]:
        at = said.index(words)
        return {"start": start + at, "end": start + at + len(words)}

    unchanged_words = apply_code(study, "FG01", "Funding", "ann", **span("symptom management"))
    misheard = apply_code(study, "FG01", "Communication", "ann", **span("the whole family"))
    later = apply_code(study, "FG01", "Collaboration", "ben", turn=5)
    before = coded_words(study)
    assert edit_turn(study, "FG01", 2, text=said.replace("whole", "entire")) == 1
    assert turn_text(study, 2) == said.replace("whole", "entire")
    after = coded_words(study)
    assert after[unchanged_words] == "symptom management" and after[later] == before[later]
    assert after[misheard] == "the entire family"
    assert audit.log(study, entity="transcript").action.iloc[-1] == "update"


def test_words_the_recogniser_gave_the_next_turn_are_added_back_at_the_end_of_this_one(study):
    load_demo(study, transcripts=["FG01"])
    said, following = turn_text(study, 2), turn_text(study, 3)
    assert edit_turn(study, "FG01", 2, text=said + " Truly.") == 0
    assert turn_text(study, 2) == said + " Truly." and turn_text(study, 3) == following
    assert edit_turn(study, "FG01", 2, text="Well, " + said) == 0
    assert turn_text(study, 2) == "Well, " + said and turn_text(study, 1).endswith("?")


def test_a_turn_given_to_another_speaker_changes_its_name_and_attribution(study):
    load_demo(study, transcripts=["FG01"])
    coding = apply_code(study, "FG01", "Funding", "ann", turn=3)
    with study.reading() as session:
        bernard, camila = (session.scalar(select(Participant.id).where(Participant.pseudonym == n)) for n in ("Bernard", "Camila"))
    said = turn_text(study, 3)
    edit_turn(study, "FG01", 3, speaker="Camila")
    with study.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 3))
        assert turn.participant_id == camila != bernard
        assert turn.transcript.text[: turn.start].endswith("\nCamila: ")
        assert {r.participant_id for r in session.scalars(select(CodingTurn).where(CodingTurn.coding_id == coding))} == {camila}
    assert turn_text(study, 3) == said


@pytest.mark.parametrize(
    ("change", "message"),
    [({"text": "   "}, "not empty"), ({"text": "one\n\ntwo"}, "one paragraph"), ({"speaker": "Nobody"}, "no participant 'Nobody'")],
)
def test_edits_that_cannot_be_made_change_nothing(study, change, message):
    load_demo(study, transcripts=["FG01"])
    with unchanged(study), pytest.raises(ChorusError, match=message):
        edit_turn(study, "FG01", 2, **change)
    with unchanged(study), pytest.raises(ChorusError, match="has no turn 999"):
        edit_turn(study, "FG01", 999, text="x")
