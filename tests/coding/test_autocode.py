"""Lexical autocoding by match, sentence and turn."""

from __future__ import annotations

import pytest

from chorus.analysis import segments
from chorus.coding import autocode
from chorus.errors import ChorusError
from tests.helpers import load_demo, unchanged


@pytest.fixture
def fg01(study):
    return load_demo(study, transcripts=["FG01"])


def test_scopes_code_the_match_its_sentence_or_its_turn(fg01):
    match = autocode(fg01, "Funding", "m", pattern=r"reimburs\w*", scope="match")
    assert match["text"].tolist() == ["reimbursement"]
    sentence = autocode(fg01, "Funding", "s", pattern=r"reimburs", scope="sentence")
    assert sentence["text"].tolist() == [
        "A lot of what they do is long family meetings, and reimbursement for that time is poor, so administration sees them as a cost centre."
    ]
    turn = autocode(fg01, "Funding", "t", pattern=r"reimburs", scope="turn")
    assert turn["text"].iloc[0].startswith("The billing side is part of it.")
    assert (turn["speaker"] == "Dmitri").all()


def test_keywords_match_whole_words_only(fg01):
    found = autocode(fg01, "Funding", "ann", keywords=["pilot"], scope="match", dry_run=True)
    assert found["text"].tolist() == ["pilot", "pilot"]  # not "piloted"


def test_a_dry_run_stores_nothing(fg01):
    with unchanged(fg01):
        found = autocode(fg01, "Funding", "ann", pattern="fund", dry_run=True)
    assert set(found["status"]) == {"would code"} and len(found) > 0


def test_a_second_run_skips_what_is_already_coded(fg01):
    first = autocode(fg01, "Funding", "ann", pattern="fund|budget|reimburs|money")
    second = autocode(fg01, "Funding", "ann", pattern="fund|budget|reimburs|money")
    assert set(first["status"]) == {"coded"}
    assert set(second["status"]) == {"already coded"} and len(second) == len(first)
    assert len(segments(fg01, code="Funding")) == len(first)


def test_facilitator_turns_are_left_out_unless_asked(fg01):
    assert autocode(fg01, "Communication", "ann", pattern="palliative care mean", dry_run=True).empty
    asked = autocode(fg01, "Communication", "ann", pattern="palliative care mean", include_facilitators=True, dry_run=True)
    assert asked["speaker"].tolist() == ["Reyes"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "fund("}, "not a valid regular expression"),
        ({"pattern": "x*"}, "matches empty text"),
        ({"pattern": "fund", "keywords": ["x"]}, "either a pattern or a keyword list"),
        ({"pattern": "fund", "scope": "paragraph"}, "scope 'paragraph'"),
    ],
)
def test_bad_patterns_are_refused(fg01, kwargs, message):
    with unchanged(fg01), pytest.raises(ChorusError, match=message):
        autocode(fg01, "Funding", "ann", **kwargs)
