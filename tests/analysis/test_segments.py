"""Retrieving coded segments: filters, a page's worth at a time, and the count of all."""

from __future__ import annotations

import pandas as pd
import pytest

from chorus.analysis import count_segments, segments
from tests.helpers import code_demo


@pytest.fixture
def coded(study):
    return code_demo(study)


@pytest.mark.parametrize(
    "filters",
    [{}, {"code": "Funding"}, {"code": "Benefits"}, {"discipline": "nurse"}, {"group": "FG03", "coder": "autocoder"}, {"facilitators": True}],
)
def test_a_page_of_segments_is_the_head_of_all_and_the_count_is_all(coded, filters):
    every = segments(coded, **filters)
    assert len(every) > 0
    assert count_segments(coded, **filters) == len(every)
    first = segments(coded, **filters, limit=7)
    pd.testing.assert_frame_equal(first, every.head(7))


def test_each_segment_is_its_own_piece_of_its_transcript(coded):
    from chorus.study.models import Transcript

    every = segments(coded)
    with coded.reading() as session:
        texts = {t.name: t.text for t in session.query(Transcript)}
    assert all(texts[t][a:b] == text for t, a, b, text in zip(every["transcript"], every["start"], every["end"], every["text"]))
