"""Coding by turn and span: validation, attribution to speakers, removal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from chorus.analysis import segments
from chorus.coding import apply_code, remove_code, remove_coding
from chorus.errors import ChorusError, NotFound, Refused
from chorus.study.lookup import find_transcript
from chorus.study.models import Coding, Transcript, Turn
from tests.helpers import load_demo, long_transcript, statements, unchanged


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
    with pytest.raises(Refused, match=f"coding #{second} is ann's; coders remove only their own"):
        remove_coding(fg01, second, only_by="ben")  # ben may not remove ann's: it stays
    with statements(fg01) as sent:
        remove_coding(fg01, second, only_by="ann")
    read = [s for s in sent if s.lstrip().upper().startswith("SELECT") and "FROM coding" in s]
    assert len(read) == 1 and "JOIN coder" in read[0]  # the coding and who made it, read together
    with fg01.reading() as session:
        assert session.scalar(select(func.count(Coding.id))) == 0
    with pytest.raises(NotFound, match=f"there is no coding #{second}"):
        remove_coding(fg01, second)


@contextmanager
def counted(study) -> Iterator[tuple[list[str], set[int]]]:
    """The SQL statements sent, and the ordinals of the turns read as objects, while the block runs."""
    turns: set[int] = set()

    def turn(target: Turn, _: object) -> None:
        turns.add(target.ordinal)

    event.listen(Turn, "load", turn)
    try:
        with statements(study) as sent:
            yield sent, turns
    finally:
        event.remove(Turn, "load", turn)


def test_one_coding_costs_the_same_in_a_short_and_a_90_minute_transcript(study, tmp_path):
    load_demo(study, transcripts=[])
    sizes = {"short": 40, "long": 900}
    for name, turns in sizes.items():
        long_transcript(study, tmp_path, name, turns)
    apply_code(study, "short", "Education and training", "ann", turn=1)  # the coder's first coding also records the coder
    costs = {}
    for name, turns in sizes.items():
        with study.reading() as session:
            middle = session.scalar(select(Turn).join(Transcript).where(Transcript.name == name, Turn.ordinal == turns // 2))
            following = session.scalar(select(Turn).join(Transcript).where(Transcript.name == name, Turn.ordinal == turns // 2 + 1))
            across = (middle.end - 10, following.start + 10)
        with counted(study) as by_turn:
            apply_code(study, name, "Funding", "ann", turn=turns // 2)
        with counted(study) as by_span:
            coding_id = apply_code(study, name, "Collaboration", "ann", start=across[0], end=across[1])
        costs[name] = (len(by_turn[0]), len(by_span[0]))
        assert by_turn[1] == {turns // 2} and by_span[1] == {turns // 2, turns // 2 + 1}  # only the turns covered are read
        found = segments(study, code="Collaboration", transcript=name)
        assert list(found["coding_id"]) == [coding_id, coding_id] and list(found["turn"]) == [turns // 2, turns // 2 + 1]
    assert costs["short"] == costs["long"]
    with pytest.raises(ChorusError, match="there is no turn 901; the transcript has turns 1-900"):
        apply_code(study, "long", "Funding", "ann", turn=901)


def test_codings_come_in_from_a_table_all_or_none(study, tmp_path):
    from chorus.coding import import_codings

    load_demo(study, transcripts=["FG01"])
    good = tmp_path / "codings.csv"
    good.write_text("transcript,turn,code,coder\nFG01,2,Funding,ann\nFG01,3,Challenges/Medical opposition,ben\n", encoding="utf-8")
    assert import_codings(study, good) == 2
    found = segments(study)
    assert set(zip(found.code, found.coder, found.turn)) == {("Challenges/Funding", "ann", 2), ("Challenges/Medical opposition", "ben", 3)}
    spans = tmp_path / "spans.csv"
    with study.reading() as session:
        turn = session.scalars(select(Turn).join(Transcript).where(Transcript.name == "FG01").order_by(Turn.start)).all()[4]
        start, end = turn.start, turn.end
    spans.write_text(f"transcript,start,end,code,coder\nFG01,{start},{end},Funding,ann\n", encoding="utf-8")
    assert import_codings(study, spans) == 1
    for line, problem in [("FG01,2,Funding,", "no coder"), ("FG01,999,Funding,ann", "turn 999"), ("FG01,2,Hope,ann", "Hope"),
                          ("FG77,2,Funding,ann", "FG77"), ("FG01,two,Funding,ann", "two")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(f"transcript,turn,code,coder\nFG01,4,Funding,ann\n{line}\n", encoding="utf-8")
        with unchanged(study), pytest.raises(ChorusError, match=f"bad.csv, line 3: .*{problem}"):
            import_codings(study, bad)


def test_the_demos_hand_pass_codes_only_participants_turns_the_patterns_left_uncoded(study):
    """examples/pc-study/coded-by-hand.csv is the demo's second pass: themes said without the patterns' words."""
    from tests.helpers import DEMO_BY_HAND, code_demo

    code_demo(study)
    rows = DEMO_BY_HAND.read_text(encoding="utf-8").splitlines()[1:]
    by_hand = segments(study, coder="analyst", facilitators=True)
    assert len(by_hand) == len(rows) and by_hand.discipline.notna().all()  # every one a participant's turn, none a facilitator's
    by_pattern = segments(study, coder="autocoder")
    assert not set(zip(by_hand.transcript, by_hand.turn)) & set(zip(by_pattern.transcript, by_pattern.turn))
