"""Coding by turn and span: validation, attribution to speakers, removal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus.analysis import segments
from chorus.coding import apply_code, remove_code, remove_coding
from chorus.errors import ChorusError
from chorus.study.lookup import find_transcript
from chorus.study.models import Coding
from tests.helpers import load_demo, unchanged


@pytest.fixture
def fg01(study):
    return load_demo(study, transcripts=["FG01"])


def turn_span(study, ordinal: int) -> tuple[int, int, str]:
    with study.reading() as session:
        transcript = find_transcript(session, "FG01")
        turn = transcript.turns[ordinal - 1]
        return turn.start, turn.end, transcript.text


def test_a_whole_turn_is_coded_and_attributed_to_its_speaker(fg01):
    apply_code(fg01, "FG01", "Early integration", "ann", turn=7)
    found = segments(fg01, code="Early integration")
    assert found[["speaker", "discipline", "turn", "coder"]].values.tolist() == [["Dmitri", "physician", 7, "ann"]]
    start, end, text = turn_span(fg01, 7)
    assert found.at[0, "text"] == text[start:end]


def test_a_span_across_two_turns_counts_for_both_speakers(fg01):
    start, _, _ = turn_span(fg01, 8)
    _, end, _ = turn_span(fg01, 9)
    apply_code(fg01, "FG01", "Early integration", "ann", start=start + 10, end=end - 10)
    found = segments(fg01, code="Early integration")
    assert found["speaker"].tolist() == ["Elena", "Adaeze"]
    assert found["coding_id"].nunique() == 1


def test_unicode_offsets_are_code_points(study, tmp_path):
    load_demo(study, transcripts=[])
    path = tmp_path / "FG01.txt"
    path.write_text("Reyes: Welcome 👋 everyone.\nAdaeze: Ça va — très bien.\n", encoding="utf-8")
    from chorus.ingest import import_transcripts

    import_transcripts(study, [path])
    start, end, text = turn_span(study, 2)
    apply_code(study, "FG01", "Communication", "ann", start=start, end=start + 5)
    assert segments(study, code="Communication").at[0, "text"] == "Ça va"
    assert text[start:end] == "Ça va — très bien."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": 10, "end": 5}, "does not fit"),
        ({"start": 0, "end": 10**7}, "does not fit"),
        ({"start": -1, "end": 5}, "does not fit"),
        ({"turn": 400}, "there is no turn 400; the transcript has turns 1-40"),
        ({"turn": 3, "start": 1, "end": 2}, "either a turn or a span"),
        ({}, "give a turn"),
        ({"start": 0, "end": 5}, "only a speaker's name"),
    ],
)
def test_bad_spans_are_refused_and_store_nothing(fg01, kwargs, message):
    with unchanged(fg01), pytest.raises(ChorusError, match=message):
        apply_code(fg01, "FG01", "Funding", "ann", **kwargs)


def test_overlapping_codings_of_one_code_by_one_coder_are_refused(fg01):
    start, end, _ = turn_span(fg01, 12)
    apply_code(fg01, "FG01", "Funding", "ann", turn=12)
    with unchanged(fg01), pytest.raises(ChorusError, match="overlaps coding #"):
        apply_code(fg01, "FG01", "Funding", "ann", start=start + 3, end=end)
    apply_code(fg01, "FG01", "Funding", "bob", start=start + 3, end=end)  # another coder may
    apply_code(fg01, "FG01", "Communication", "ann", turn=12)  # and another code


def test_unknown_code_or_transcript_suggests_names(fg01):
    with pytest.raises(ChorusError, match="no code 'Fundng'.*did you mean 'Challenges/Funding'"):
        apply_code(fg01, "FG01", "Fundng", "ann", turn=2)
    with pytest.raises(ChorusError, match="no transcript 'FG1'.*'FG01'"):
        apply_code(fg01, "FG1", "Funding", "ann", turn=2)


def test_codings_are_removed_by_turn_or_id(fg01):
    apply_code(fg01, "FG01", "Funding", "ann", turn=12)
    second = apply_code(fg01, "FG01", "Funding", "ann", turn=13)
    assert remove_code(fg01, "FG01", "Funding", "ann", turn=12) == 1
    with pytest.raises(ChorusError, match="no coding of 'Funding' there"):
        remove_code(fg01, "FG01", "Funding", "ann", turn=12)
    remove_coding(fg01, second)
    with fg01.reading() as session:
        assert session.scalar(select(func.count(Coding.id))) == 0
