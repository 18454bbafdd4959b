"""Theme attribution by rule, tests of discipline differences, quotes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from chorus.analysis import Rule, segments, themes
from chorus.analysis.themes import difference_test, format_p, plural
from chorus.errors import ChorusError
from tests.helpers import code_demo

SIZES = {"APP": 8, "nurse": 10, "physician": 9, "psychosocial clinician": 10}


def expected_disciplines(found: pd.DataFrame, rule: Rule) -> set[str]:
    """The rule applied by hand to a theme's segments."""
    raised = set()
    for discipline, size in SIZES.items():
        mine = found[found["discipline"] == discipline]
        groups, share = mine["group"].nunique(), mine["speaker"].nunique() / size
        if (groups >= rule.min_groups or share >= rule.min_share) if rule.combine == "or" else (groups >= rule.min_groups and share >= rule.min_share):
            raised.add(discipline)
    return raised


@pytest.mark.parametrize("rule", [Rule(), Rule(min_groups=2, min_share=0.5, combine="and"), Rule(min_groups=3, min_share=0.3)])
def test_each_theme_lists_the_disciplines_the_rule_gives(study, rule):
    coded = code_demo(study)
    found = themes(coded, rule)
    assert "Benefits" not in set(found["code"])  # a heading only
    for theme in found.itertuples():
        assert set(theme.disciplines) == expected_disciplines(segments(coded, code=theme.code), rule), theme.code
        assert theme.label.startswith(theme.theme + " (")
        quoted = [q["discipline"] in theme.disciplines for q in theme.quotes]
        assert quoted == sorted(quoted, reverse=True)  # those who raised it come first
        raisers = segments(coded, code=theme.code).query("discipline in @theme.disciplines")["speaker"].nunique()
        assert sum(quoted) == min(raisers, 3)


def test_demo_themes_come_out_as_designed(study):
    """The demo mirrors the reference study: these themes were raised by these disciplines and no others."""
    raised = {theme.theme: set(theme.disciplines) for theme in themes(code_demo(study)).itertuples()}
    assert raised["Early integration"] == {"physician", "APP"}
    assert raised["Funding"] == {"psychosocial clinician", "physician"}
    assert raised["Unclear interdisciplinary roles"] == {"APP", "nurse"}


def test_two_disciplines_use_fisher_exact_as_scipy_computes_it():
    p, test = difference_test(pd.Series({"a": 3, "b": 9}), pd.Series({"a": 10, "b": 12}))
    assert test == "Fisher exact"
    assert p == pytest.approx(stats.fisher_exact([[3, 7], [9, 3]])[1], abs=1e-12)


def test_large_tables_use_chi_square_and_small_ones_a_permutation():
    raised, sizes = pd.Series({"a": 30, "b": 10, "c": 25}), pd.Series({"a": 50, "b": 50, "c": 50})
    p, test = difference_test(raised, sizes)
    assert test == "chi-square"
    table = np.array([[30, 20], [10, 40], [25, 25]])
    assert p == pytest.approx(stats.chi2_contingency(table, correction=False)[1], abs=1e-12)
    small_p, small_test = difference_test(pd.Series({"a": 4, "b": 0, "c": 1}), pd.Series({"a": 5, "b": 5, "c": 5}))
    assert small_test == "chi-square (Monte Carlo)" and 0 < small_p < 0.1
    assert difference_test(pd.Series({"a": 0, "b": 0}), pd.Series({"a": 5, "b": 5}))[1] == "not testable"


def test_rule_and_wording():
    assert Rule().holds(groups=2, share=0.0) and Rule().holds(groups=0, share=0.1)
    assert not Rule(combine="and").holds(groups=2, share=0.05)
    with pytest.raises(ChorusError):
        Rule(combine="xor")
    assert plural("APP") == "APPs" and plural("nurse") == "nurses" and plural("psychosocial clinicians") == "psychosocial clinicians"
    assert format_p(0.0001) == "< 0.001" and format_p(0.04) == "= 0.040"
    assert str(Rule(1, 0.5, "and")) == "raised in at least 1 group and by at least 50% of the discipline's participants"
    assert str(Rule()) == "raised in at least 2 groups or by at least 10% of the discipline's participants"


@pytest.mark.parametrize(("raised", "sizes"), [((4, 0, 1), (5, 5, 5)), ((3, 5, 2, 1), (9, 8, 10, 10)), ((1, 0, 2), (3, 4, 6))])
def test_the_monte_carlo_p_value_is_the_exact_permutation_p_value_within_its_error(raised, sizes):
    """Under shuffling, each discipline's count of raisers is multivariate hypergeometric: enumerate it exactly."""
    names = [f"d{i}" for i in range(len(sizes))]
    p, test = difference_test(pd.Series(dict(zip(names, raised))), pd.Series(dict(zip(names, sizes))))
    assert test == "chi-square (Monte Carlo)"
    totals, observed = np.array(sizes), np.array(raised)
    expected = totals * observed.sum() / totals.sum()

    def statistic(o: np.ndarray) -> float:
        return float((((o - expected) ** 2) / expected).sum() + ((((totals - o) - (totals - expected)) ** 2) / (totals - expected)).sum())

    outcomes = [np.array(o) for o in np.ndindex(*(n + 1 for n in sizes)) if sum(o) == observed.sum()]
    exact = sum(
        stats.multivariate_hypergeom.pmf(x=o, m=totals, n=observed.sum()) for o in outcomes if statistic(o) >= statistic(observed) - 1e-12
    )
    assert p == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 10_000) + 1e-4)  # four standard errors of 10,000 draws


def test_the_unit_of_analysis_changes_a_theme_s_disciplines_where_it_should(study):
    """One talkative physician (four segments) and one nurse (one segment), each in one group."""
    from sqlalchemy import select

    from chorus.analysis import by_unit, themes
    from chorus.coding import apply_code
    from chorus.study.models import Participant, Transcript, Turn
    from tests.helpers import load_demo

    load_demo(study, transcripts=["FG01", "FG02"])

    def turns_of(speaker: str) -> list[tuple[str, int]]:
        with study.reading() as session:
            return session.execute(select(Transcript.name, Turn.ordinal).join(Transcript).join(Participant, Participant.id == Turn.participant_id)
                                   .where(Participant.pseudonym == speaker).order_by(Turn.ordinal)).all()

    for transcript, turn in turns_of("Dmitri")[:4]:
        apply_code(study, transcript, "Funding", "ann", turn=turn)
    transcript, turn = turns_of("Fatima")[0]
    apply_code(study, transcript, "Funding", "ann", turn=turn)
    compared = by_unit(themes(study), min_segments=3).set_index("theme").loc["Funding"]
    # the demo roster: 9 physicians and 10 nurses; the rule's defaults: 10% of participants, 2 groups
    assert compared["participants"] == "nurse, physician"  # 1/10 and 1/9 of each discipline's participants
    assert compared["groups"] == ""  # each came up in one group only
    assert compared["segments"] == "physician"  # four segments against one
    assert compared["rule"] == "nurse, physician" and compared["differs"]
