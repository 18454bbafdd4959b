"""Matrices, talk share, co-occurrence and the sample, checked against the segments themselves."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from chorus.analysis import cooccurrence, frames, matrix, query, sample, segments, talk_share
from chorus.errors import ChorusError
from chorus.study.models import Coding
from tests.helpers import code_demo


@pytest.fixture
def coded(study):
    return code_demo(study)


def test_demo_rules_are_read_from_the_demo_script():
    from tests.helpers import demo_rules

    assert len(demo_rules()) == 10


def test_segment_matrix_sums_to_the_codings_in_the_store(coded):
    table = matrix(coded, by="discipline", count="segments")
    with coded.reading() as session:
        codings = session.scalar(select(func.count(Coding.id)))
    assert int(table.to_numpy().sum()) == codings  # sentence codings lie in one turn each
    assert list(table.columns) == ["APP", "nurse", "physician", "psychosocial clinician"]


@pytest.mark.parametrize("by", ["discipline", "care_team", "profession", "group"])
def test_matrices_agree_with_the_segments_they_count(coded, by):
    found = segments(coded)
    if by not in ("discipline", "care_team", "group"):
        with coded.reading() as session:
            roster = frames.participants(session)[["pseudonym", by]]
        found = found.merge(roster, left_on="speaker", right_on="pseudonym")
    expected = {
        "segments": found.groupby(["code", by]).size(),
        "participants": found.groupby(["code", by])["speaker"].nunique(),
        "groups": found.groupby(["code", by])["group"].nunique(),
    }
    for count, series in expected.items():
        table = matrix(coded, by=by, count=count)
        for (code, value), number in series.items():
            assert table.at[code, str(value)] == number, (count, code, value)
        assert int(table.to_numpy().sum()) == int(series.sum())


def test_share_is_participants_over_the_discipline_size(coded):
    share = matrix(coded, count="share")
    participants = matrix(coded, count="participants")
    sizes = {"APP": 8, "nurse": 10, "physician": 9, "psychosocial clinician": 10}
    for discipline, size in sizes.items():
        assert share[discipline].round(4).tolist() == (participants[discipline] / size).round(4).tolist()


def test_subcodes_roll_up_into_their_parent(coded):
    rolled = matrix(coded, count="participants", subcodes=True)
    found = segments(coded, code="Challenges")
    assert rolled.loc["Challenges"].to_dict() == {
        d: found.loc[found["discipline"] == d, "speaker"].nunique() for d in rolled.columns
    }


def test_unknown_attributes_are_named(coded):
    with pytest.raises(ChorusError, match="cannot split by 'shoe_size'"):
        matrix(coded, by="shoe_size")
    with pytest.raises(ChorusError, match="count 'words'"):
        matrix(coded, count="words")  # type: ignore[arg-type]


def test_talk_share_covers_every_participant_word(coded):
    table = talk_share(coded).set_index("discipline")
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-3)
    assert table.at["physician", "speakers"] == 9


def test_cooccurrence_is_symmetric_with_turn_counts_on_the_diagonal(coded):
    table = cooccurrence(coded)
    assert (table.to_numpy() == table.to_numpy().T).all()
    funding_turns = segments(coded, code="Challenges/Funding", subcodes=False)[["group", "turn"]].drop_duplicates()
    assert table.at["Challenges/Funding", "Challenges/Funding"] == len(funding_turns)
    both = query(coded, "Challenges/Funding AND Communication")
    assert table.at["Challenges/Funding", "Benefits/Communication"] == len(both)


def test_boolean_queries(coded):
    funding = query(coded, "Funding")
    not_comm = query(coded, "Funding AND NOT Communication")
    both = query(coded, '"Funding" AND Communication')
    assert len(not_comm) + len(both) == len(funding)
    either = query(coded, "Funding OR (Communication AND NOT Funding)")
    assert len(either) == len(query(coded, "Funding OR Communication"))
    with pytest.raises(ChorusError, match="not closed"):
        query(coded, "(Funding OR Communication")


def test_sample_tables(coded):
    tables = sample(coded)
    people = tables["participants"].set_index("discipline")
    assert people.at["total", "total"] == 37 and people.at["nurse", "Leukemia/Lymphoma"] == 5
    groups = tables["groups"]
    assert groups["group"].tolist() == [f"FG0{i}" for i in range(1, 9)]
    assert (groups["turns"] >= 40).all()
    assert pd.notna(groups.set_index("group").at["FG03", "minutes"])
