"""Saturation: new codes per group in the order held, per discipline, and Guest, Namey & Chen's base/run/threshold."""

from __future__ import annotations

import pytest

from chorus.analysis.saturation import guest_saturation, saturation
from chorus.coding import apply_code
from chorus.errors import ChorusError
from tests.helpers import load_demo


@pytest.fixture
def coded(study):
    load_demo(study, transcripts=["FG01", "FG02", "FG03", "FG04"])
    for transcript, code in [
        ("FG01", "Funding"), ("FG01", "Collaboration"), ("FG02", "Funding"), ("FG02", "Communication"),
        ("FG03", "Funding"), ("FG04", "Medical opposition"),
    ]:
        apply_code(study, transcript, code, "ann", turn=2)
    apply_code(study, "FG02", "Collaboration", "ann", turn=1)  # the facilitator's words do not count
    return study


def test_new_codes_per_group_in_the_order_held(coded):
    curve = saturation(coded)
    assert list(curve.group) == ["FG01", "FG02", "FG03", "FG04"]  # by date; FG05-FG08 have no transcript here
    assert list(curve.new_codes) == [2, 1, 0, 1]
    assert list(curve.cumulative_codes) == [2, 3, 3, 4]
    assert curve.codes.iloc[1] == "Benefits/Communication"


def test_per_discipline_each_curve_covers_the_groups_it_spoke_in(coded):
    by = saturation(coded, by="discipline")
    assert set(by.discipline) == {"physician", "nurse", "APP", "psychosocial clinician"}
    nurses = by[by.discipline == "nurse"]
    assert list(nurses.group) == ["FG02"] and nurses.new_codes.iloc[0] == 2


def test_guest_base_run_threshold(coded):
    runs = guest_saturation(coded, base=2, run=1, threshold=0.0)
    assert list(runs.run_start) == ["FG03", "FG04"]
    assert list(runs.new_in_run) == [0, 1] and runs.base_codes.iloc[0] == 3
    assert runs.ratio.iloc[1] == pytest.approx(1 / 3)
    assert list(runs.saturated) == [True, False] and runs.groups_needed.iloc[0] == 2
    with pytest.raises(ChorusError, match="at least base \\+ run = 5 groups"):
        guest_saturation(coded, base=4, run=1)
