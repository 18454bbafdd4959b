"""Intercoder agreement: the statistics equal reference implementations; units, segments, disagreements, consensus."""

from __future__ import annotations

import importlib
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from chorus.analysis import segments
from chorus.coding import apply_code
from chorus.errors import ChorusError, InputError
from chorus.study.models import Code, Coder, Coding, Participant, Transcript, Turn
from tests.helpers import code_demo, load_demo

ag = importlib.import_module("chorus.analysis.agreement")  # the module (chorus.analysis.agreement is also the function)

TOLERANCE = 1e-9


def reference_alpha(ratings: np.ndarray) -> float:
    return krippendorff.alpha(reliability_data=ratings.T, level_of_measurement="nominal")


def reference_fleiss(ratings: np.ndarray) -> float:
    return sm_fleiss(aggregate_raters(ratings)[0])


# Shared test data: Fleiss (1971)-style classification of 10 subjects by 5 raters into 3 categories,
# the krippendorff package's complete-data example shape, and seeded random tables of every size used.
CLASSIC = np.array([
    [1, 1, 1, 1, 1], [1, 1, 1, 2, 2], [2, 2, 2, 2, 3], [3, 3, 3, 3, 3], [1, 2, 2, 2, 2],
    [1, 1, 3, 3, 3], [2, 2, 2, 2, 2], [1, 1, 1, 1, 2], [3, 3, 3, 1, 1], [2, 2, 3, 3, 3],
])


def tables() -> list[np.ndarray]:
    rng = np.random.default_rng(20261124)
    found = [CLASSIC, CLASSIC[:, :2], CLASSIC[:, :3]]
    for units, coders, categories in [(40, 2, 2), (200, 2, 2), (57, 3, 2), (120, 4, 3), (300, 5, 4), (25, 2, 5)]:
        truth = rng.integers(0, categories, size=units)
        noise = rng.random((units, coders)) < 0.25
        found.append(np.where(noise, rng.integers(0, categories, size=(units, coders)), truth[:, None]))
    return found


@pytest.mark.parametrize("ratings", tables(), ids=lambda r: f"{r.shape[0]}x{r.shape[1]}")
def test_the_statistics_equal_the_reference_implementations(ratings: np.ndarray):
    assert abs(ag.krippendorff_alpha(ratings) - reference_alpha(ratings)) < TOLERANCE
    assert abs(ag.fleiss_kappa(ratings) - reference_fleiss(ratings)) < TOLERANCE
    if ratings.shape[1] == 2:
        assert abs(ag.cohen_kappa(ratings) - cohen_kappa_score(ratings[:, 0], ratings[:, 1])) < TOLERANCE
    agreed = np.mean([len(set(row)) == 1 for row in ratings.tolist()])
    assert abs(ag.percent_agreement(ratings) - agreed) < TOLERANCE
    categories = len(np.unique(ratings))
    assert abs(ag.brennan_prediger(ratings, categories) - (agreed - 1 / categories) / (1 - 1 / categories)) < TOLERANCE


@pytest.mark.parametrize("ratings", tables(), ids=lambda r: f"{r.shape[0]}x{r.shape[1]}")
def test_the_statistics_of_distinct_patterns_and_their_counts_equal_those_of_every_unit(ratings: np.ndarray):
    rows, counts = ag.patterns(ratings)
    assert counts.sum() == len(ratings) and len(rows) == len(np.unique(ratings, axis=0))
    assert sorted(map(tuple, np.repeat(rows, counts, axis=0).tolist())) == sorted(map(tuple, ratings.tolist()))
    for statistic in (ag.krippendorff_alpha, ag.fleiss_kappa, ag.percent_agreement, ag.brennan_prediger) + (
        (ag.cohen_kappa,) if ratings.shape[1] == 2 else ()
    ):
        assert abs(statistic(rows, weights=counts) - statistic(ratings)) < TOLERANCE, statistic.__name__
    labelled = np.array(["yes", "no"])[ratings % 2]  # labels that are not small numbers are counted too
    assert ag.patterns(labelled)[1].sum() == len(ratings)


def test_undefined_statistics_are_nan_not_errors():
    nobody = np.zeros((10, 2), dtype=int)
    assert ag.percent_agreement(nobody) == 1.0
    assert np.isnan(ag.cohen_kappa(nobody)) and np.isnan(ag.fleiss_kappa(nobody)) and np.isnan(ag.krippendorff_alpha(nobody))
    with pytest.raises(ChorusError, match="exactly two coders"):
        ag.cohen_kappa(np.zeros((3, 3)))


@pytest.fixture
def two_coders(study):
    """The demo coded by pattern (autocoder), and a second coder who applied half the same codes by turn."""
    code_demo(study)
    with study.reading() as session:
        rows = session.execute(
            select(Transcript.name, Turn.ordinal, Code.name)
            .join(Coding, Coding.transcript_id == Transcript.id).join(Code, Code.id == Coding.code_id)
            .join(Turn, (Turn.transcript_id == Coding.transcript_id) & (Turn.start <= Coding.start) & (Turn.end >= Coding.end))
            .where(Transcript.name.in_(["FG01", "FG02"]))
            .distinct().order_by(Transcript.name, Turn.ordinal, Code.name)
        ).all()
    for n, (transcript, ordinal, code) in enumerate(rows):
        if n % 3:  # ben agrees on two in three; and codes one turn autocoder did not
            apply_code(study, transcript, code, "ben", turn=ordinal)
    apply_code(study, "FG01", "Funding", "ben", turn=uncoded_participant_turn(study, "FG01", "Funding"))
    return study


def uncoded_participant_turn(study, transcript: str, code: str) -> int:
    """The first participant's turn of ``transcript`` that nobody coded ``code``."""
    with study.reading() as session:
        coded = {o for o, s, e, cs, ce in session.execute(
            select(Turn.ordinal, Turn.start, Turn.end, Coding.start, Coding.end).join(Transcript, Transcript.id == Turn.transcript_id)
            .join(Coding, Coding.transcript_id == Transcript.id).join(Code, Code.id == Coding.code_id)
            .where(Transcript.name == transcript, Code.name == code)) if cs < e and ce > s}
        ordinals = session.scalars(select(Turn.ordinal).join(Transcript).join(Participant, Participant.id == Turn.participant_id)
                                   .where(Transcript.name == transcript, Participant.role == "participant").order_by(Turn.ordinal))
        return next(o for o in ordinals if o not in coded)


def independent_ratings(study, coders: list[str], code: str) -> np.ndarray:
    """Units x coders for one code, read from the store without Chorus's agreement code: the units are participants' turns."""
    with study.reading() as session:
        shared = set.intersection(*[
            set(session.scalars(select(Coding.transcript_id).join(Coder).where(Coder.name == c))) for c in coders
        ])
        turns = session.execute(select(Turn.id, Turn.transcript_id, Turn.start, Turn.end).join(Participant)
                                .where(Turn.transcript_id.in_(shared), Participant.role == "participant")
                                .order_by(Turn.transcript_id, Turn.start)).all()
        spans = session.execute(
            select(Coder.name, Coding.transcript_id, Coding.start, Coding.end).join(Coder).join(Code).where(Code.name == code, Coder.name.in_(coders))
        ).all()
    return np.array([
        [int(any(c == coder and t == tid and s < end and e > start for c, t, s, e in spans)) for coder in coders]
        for _, tid, start, end in turns
    ])


def test_agreement_by_turn_matches_the_references_on_the_study(two_coders):
    coders = ["autocoder", "ben"]
    table = ag.agreement(two_coders, coders, unit="turn")
    assert table["code"].iloc[-1] == ag.OVERALL
    pooled = []
    for row in table.iloc[:-1].itertuples():
        ratings = independent_ratings(two_coders, coders, row.code)
        pooled.append(ratings)
        assert row.units == len(ratings)
        assert row.percent_agreement == pytest.approx(np.mean(ratings[:, 0] == ratings[:, 1]), abs=TOLERANCE)
        if len(np.unique(ratings)) > 1:
            assert abs(row.kappa - cohen_kappa_score(ratings[:, 0], ratings[:, 1])) < TOLERANCE
            assert abs(row.alpha - reference_alpha(ratings)) < TOLERANCE
            assert abs(row.fleiss_kappa - reference_fleiss(ratings)) < TOLERANCE
    overall = np.concatenate(pooled)
    assert abs(table["alpha"].iloc[-1] - reference_alpha(overall)) < TOLERANCE
    assert 0.3 < table["kappa"].iloc[-1] < 0.95  # they agree, not perfectly
    bp = ag.agreement(two_coders, coders, chance="brennan-prediger")
    assert (bp["kappa"] == bp["brennan_prediger"]).all()


def test_sentence_units_and_three_coders(two_coders):
    apply_code(two_coders, "FG01", "Funding", "cleo", turn=1)
    table = ag.agreement(two_coders, ["autocoder", "ben", "cleo"], unit="sentence")
    assert table["cohen_kappa"].isna().all()  # two coders only
    assert (table["kappa"].dropna() == table["fleiss_kappa"].dropna()).all()
    by_turn = ag.agreement(two_coders, ["autocoder", "ben", "cleo"], unit="turn")
    assert table["units"].iloc[0] > by_turn["units"].iloc[0]  # turns hold several sentences


def test_segment_agreement_counts_overlap_as_maxqda_does(study):
    load_demo(study, transcripts=["FG01"])
    with study.reading() as session:
        turn = session.scalars(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == 2)).one()
        a, b = turn.start, turn.start + 100
    apply_code(study, "FG01", "Funding", "ann", start=a, end=b)
    apply_code(study, "FG01", "Funding", "ben", start=a + 5, end=b)  # overlap 95 of 100
    apply_code(study, "FG01", "Collaboration", "ann", start=a, end=b)
    table = ag.segment_agreement(study, ["ann", "ben"], overlap=0.9)
    funding = table.set_index("code").loc["Funding"]
    assert (funding.agree, funding.disagree) == (2, 0)
    strict = ag.segment_agreement(study, ["ann", "ben"], overlap=0.96).set_index("code")
    assert (strict.loc["Funding"].agree, strict.loc["Funding"].disagree) == (0, 2)
    overall = table.iloc[-1]
    assert (overall.agree, overall.disagree) == (2, 1)
    observed, chance = 2 / 3, 1 / 2  # two codes compared
    assert overall.kappa == pytest.approx((observed - chance) / (1 - chance), abs=TOLERANCE)


def test_disagreements_list_the_text_and_consensus_writes_the_resolution(two_coders, tmp_path: Path):
    coders = ["autocoder", "ben"]
    listed = ag.disagreements(two_coders, coders)
    assert len(listed) > 0 and set(listed.columns) >= {"transcript", "turn", "code", "coded_by", "not_coded_by", "text", "decision"}
    row = listed[(listed.transcript == "FG01") & (listed.code == "Funding") & (listed.coded_by == "ben")].iloc[0]
    with two_coders.reading() as session:
        bens_turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == "FG01", Turn.ordinal == int(row.turn)))
        text = bens_turn.transcript.text[bens_turn.start:bens_turn.end]
    assert row.text == text and row.coded_by == "ben" and row.not_coded_by == "autocoder"
    listed["decision"] = ["keep" if i == 0 else "drop" if i == 1 else "" for i in range(len(listed))]
    decisions = tmp_path / "decisions.csv"
    listed.to_csv(decisions, index=False)
    summary = ag.consensus(two_coders, coders, into="consensus", decisions=decisions)
    agreed = int(ag.agreement(two_coders, coders).iloc[:-1].eval("coded").sum())  # sanity: agreed <= coded
    assert summary["kept"] == 1 and summary["dropped"] == 1 and summary["unresolved"] == len(listed) - 2
    assert 0 < summary["agreed"] <= agreed
    with two_coders.reading() as session:
        stored = session.scalar(select(Coder.id).where(Coder.name == "consensus"))
        assert len(session.scalars(select(Coding).where(Coding.coder_id == stored)).all()) >= summary["agreed"] + 1
    with two_coders.reading() as session:
        before = sorted(session.execute(select(Coding.transcript_id, Coding.code_id, Coding.start, Coding.end).where(Coding.coder_id == stored)).all())
    again = ag.consensus(two_coders, coders, into="consensus")  # the decisions were stored with the first write
    assert again == summary
    with two_coders.reading() as session:  # written again: the earlier consensus of those transcripts replaced, not added to
        assert sorted(session.execute(select(Coding.transcript_id, Coding.code_id, Coding.start, Coding.end).where(Coding.coder_id == stored)).all()) == before
    apply_code(two_coders, "FG01", "Funding", "cy", turn=int(row.turn))
    with pytest.raises(ChorusError, match="'cy' has codings of their own"):
        ag.consensus(two_coders, coders, into="cy")
    bad = tmp_path / "bad.csv"
    bad.write_text("transcript,turn,sentence,code,decision\nFG01,1,0,Funding,maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        ag.consensus(two_coders, coders, into="other", decisions=bad)


def test_a_disagreement_recoded_is_coded_with_the_other_code_and_unknown_codes_store_nothing(two_coders, tmp_path: Path):
    coders = ["autocoder", "ben"]
    listed = ag.disagreements(two_coders, coders)
    first = listed.iloc[0]
    other = "Collaboration" if first.code != "Collaboration" else "Funding"
    decisions = tmp_path / "decisions.csv"
    for edited, message in [
        ({"code": "Hope"}, "code 'Hope' is not one the coders were compared on"),
        ({"decision": "recode", "recode_to": "No such code"}, "No such code"),
        ({"decision": "recode", "recode_to": ""}, "names the code in 'recode_to'"),
    ]:
        bad = listed.head(1).assign(**{"decision": "keep", **{k: [v] for k, v in edited.items()}})
        bad.to_csv(decisions, index=False)
        with pytest.raises(InputError, match="decisions.csv, line 2") as caught:
            ag.consensus(two_coders, coders, into="consensus", decisions=decisions)
        assert message in str(caught.value)
    with two_coders.reading() as session:
        assert session.scalar(select(Coder).where(Coder.name == "consensus")) is None or not session.scalars(
            select(Coding).join(Coder).where(Coder.name == "consensus")).all()
    listed.head(1).assign(decision="recode", recode_to=other).to_csv(decisions, index=False)
    summary = ag.consensus(two_coders, coders, into="consensus", decisions=decisions)
    assert summary["recoded"] == 1 and summary["kept"] == 0
    consensus = segments(two_coders, coder="consensus", transcript=first.transcript)
    recoded = consensus[(consensus["turn"] == first.turn) & consensus["code"].str.endswith(other)]
    assert first.text.strip() in " ".join(recoded["text"])


def test_a_kept_or_recoded_disagreement_keeps_the_words_its_coder_coded_not_the_whole_turn(study):
    load_demo(study, transcripts=["FG01"])
    with study.reading() as session:
        turns = {t.ordinal: (t.start, t.end) for t in session.scalars(select(Turn).join(Transcript).where(Transcript.name == "FG01"))}
    apply_code(study, "FG01", "Funding", "ann", turn=12)  # they agree on turn 12 ...
    apply_code(study, "FG01", "Funding", "ben", turn=12)
    (a, _), (b, _) = turns[8], turns[9]
    apply_code(study, "FG01", "Early integration", "ann", start=a, end=a + 17)  # ... and ann alone marks a few words of 8 and 9
    apply_code(study, "FG01", "Early integration", "ann", start=b + 3, end=b + 22)
    for turn, decision, recode_to in ((8, "keep", ""), (9, "recode", "Education and training")):
        ag.decide(study, ["ann", "ben"], "FG01", turn, 0, "Early integration", decision, recode_to)
    assert ag.consensus(study, ["ann", "ben"])["kept"] == 1
    with study.reading() as session:
        written = sorted((c.code.name, c.start, c.end) for c in session.scalars(select(Coding).join(Coder).where(Coder.name == "consensus")))
    assert written == sorted([("Funding", *turns[12]), ("Early integration", a, a + 17), ("Education and training", b + 3, b + 22)])


def test_coders_without_common_transcripts_are_told_so(study):
    load_demo(study, transcripts=["FG01", "FG02"])
    apply_code(study, "FG01", "Funding", "ann", turn=2)
    apply_code(study, "FG02", "Funding", "ben", turn=2)
    with pytest.raises(ChorusError, match="not coded any transcript in common"):
        ag.agreement(study, ["ann", "ben"])
    with pytest.raises(ChorusError, match="no coder called 'zed'"):
        ag.agreement(study, ["ann", "zed"])
