"""The coding of record: two coders who code alike count as one, a consensus is followed, and what it dropped leaves every finding.

The oracle is the store: one coder's figures, computed before anyone else coded, and counts of that coder's
coded segments read from the store with plain SQL.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from sqlalchemy import func, select

from chorus import analysis
from chorus.analysis.agreement import consensus, decide, disagreements
from chorus.analysis.guide import codes_by_question
from chorus.assist.guide import align_guide
from chorus.coding import apply_code, autocode
from chorus.coding.codings import add_coding
from chorus.errors import ChorusError
from chorus.ingest.guide import import_guide
from chorus.report import manuscript, tables
from chorus.study.counting import Basis, choices, counting
from chorus.study.lookup import coder as get_coder
from chorus.study.models import Code, Coder, Coding, CodingTurn, Participant, Transcript, Turn
from tests.helpers import DEMO, demo_rules, load_demo

ROOT = Path(__file__).resolve().parents[2]
#: The report's tables that are findings (the rest describe the study, its coders or its trail).
FINDINGS = ["themes", "theme_share_by_discipline", "themes_by_unit", "matrix_segments", "matrix_participants", "matrix_groups",
            "quotes", "saturation", "saturation_runs", "questions", "stances_by_theme", "stances_by_group"]


@pytest.fixture
def coded_once(study, tmp_path):
    """Three demo groups coded by ann alone (by pattern, sentence by sentence, and three stances), the guide aligned."""
    load_demo(study, ["FG01", "FG02", "FG03"])
    for code, pattern in demo_rules():
        autocode(study, code, "ann", pattern=pattern, scope="sentence")
    for transcript, turn, stance in [("FG01", 4, "Agrees"), ("FG02", 6, "Dissents"), ("FG03", 5, "Agrees")]:
        apply_code(study, transcript, f"Stance/{stance}", "ann", turn=turn)
    import_guide(study, DEMO / "guide.csv")
    align_guide(study)
    return study


def copy_codings(study, source: str, target: str) -> None:
    """Give ``target`` exactly the codings of ``source``, span for span."""
    with study.transaction() as session:
        copied = get_coder(session, target)
        for coding in session.scalars(select(Coding).join(Coder).where(Coder.name == source)).all():
            add_coding(session, coding.transcript, coding.code, copied, coding.start, coding.end)


def word_tables(study, path: Path) -> list[list[list[str]]]:
    """The cell texts of the Word draft's Tables 1-4."""
    manuscript(study, path)
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in Document(str(path)).tables[:4]]


def findings(study, folder: Path, basis: str = "auto") -> dict[str, object]:
    """Every table a finding is read from, as the study counts it under ``basis``."""
    named, _ = tables(study, basis=basis)
    found: dict[str, object] = {name: named[name] for name in FINDINGS}
    found["segments"] = analysis.segments(study, basis=basis).drop(columns=["coding_id", "coder"])
    found["cooccurrence"] = analysis.cooccurrence(study, basis=basis)
    found["codes_by_question"] = codes_by_question(study, basis)
    found["matrix_share"] = analysis.matrix(study, count="share", basis=basis)
    found["query"] = analysis.query(study, "Funding OR Collaboration", basis=basis)
    if basis == "auto":
        found["word"] = word_tables(study, folder / "findings.docx")
    return found


def assert_same(found: dict[str, object], expected: dict[str, object], when: str) -> None:
    for name, table in expected.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(found[name].reset_index(drop=True), table.reset_index(drop=True), obj=f"{name} {when}")
        else:
            assert found[name] == table, f"{name} {when}"


def test_two_coders_who_code_alike_and_their_consensus_give_one_coders_figures_in_every_table(coded_once, tmp_path):
    study = coded_once
    alone = findings(study, tmp_path)
    assert not alone["segments"].empty and not alone["stances_by_theme"].empty and not alone["questions"].empty
    with study.reading() as session:  # the store's own count of ann's segments, by discipline
        by_hand = dict(session.execute(
            select(Participant.discipline, func.count()).select_from(CodingTurn).join(Coding, Coding.id == CodingTurn.coding_id)
            .join(Participant, Participant.id == CodingTurn.participant_id).join(Code, Code.id == Coding.code_id)
            .where(Participant.role == "participant", Code.parent_id.is_not(None) | Code.name.not_in(["Benefits", "Challenges"]))
            .group_by(Participant.discipline)).all())
    matrix = alone["matrix_segments"].set_index("code")
    assert {d: int(matrix[d].sum()) for d in by_hand} == by_hand

    copy_codings(study, "ann", "ben")
    assert_same(findings(study, tmp_path), alone, "with a second coder who coded alike")
    assert_same(findings(study, tmp_path, "everyone"), {k: v for k, v in alone.items() if k != "word"}, "counting everyone")

    summary = consensus(study, ["ann", "ben"])
    assert summary["agreed"] > 0 and summary["unresolved"] == 0
    assert_same(findings(study, tmp_path), alone, "following their consensus")
    with study.reading() as session:
        line = counting(session).line
    assert line.startswith("Findings count the consensus coding of ann and ben (written ") and "coder 'consensus'" in line
    named, _ = tables(study)
    assert "consensus" not in named["agreement"]["coders"].str.cat(sep=" "), "agreement pairs coders, never a consensus"
    assert "consensus" not in named["methods"].set_index("item").at["Coders", "value"]


def test_a_dropped_coding_leaves_every_finding_and_a_recode_with_a_keep_writes_one_coding(coded_once, tmp_path):
    study = coded_once
    copy_codings(study, "ann", "ben")
    ann = analysis.segments(study, basis="ann")
    collaboration = set(zip(ann.transcript[ann.code.str.endswith("Collaboration")], ann.turn[ann.code.str.endswith("Collaboration")]))
    with study.reading() as session:  # ben's Funding codings, each with the turn it is in
        funding = session.execute(select(Transcript.name, Turn.ordinal, Coding.start, Coding.end, Coding.id)
                                  .join(Coding, Coding.transcript_id == Transcript.id).join(Coder).join(Code)
                                  .join(Turn, (Turn.transcript_id == Transcript.id) & (Turn.start <= Coding.start) & (Turn.end >= Coding.end))
                                  .where(Coder.name == "ben", Code.name == "Funding").order_by(Transcript.name, Turn.ordinal)).all()
    recoded = next((t, n) for t, n, *_ in funding if (t, n) not in collaboration)
    dropped = next((t, n) for t, n, *_ in reversed(funding) if (t, n) != recoded)
    dropped_text = next(text for t, n, text in zip(ann.transcript, ann.turn, ann.text) if (t, n) == dropped)
    from chorus.coding import remove_coding
    for transcript, turn, _, _, coding_id in funding:
        if (transcript, turn) in (recoded, dropped):
            remove_coding(study, coding_id)  # ben did not code Funding there...
    apply_code(study, *recoded[:1], "Collaboration", "ben", turn=recoded[1])  # ...and gave this turn Collaboration instead
    listed = disagreements(study, ["ann", "ben"])
    assert {(*dropped, "Funding"), (*recoded, "Funding"), (*recoded, "Collaboration")} <= set(zip(listed.transcript, listed.turn, listed.code))
    decide(study, ["ben", "ann"], *dropped, 0, "Funding", "drop")  # the order coders are named in does not matter
    decide(study, ["ann", "ben"], *recoded, 0, "Funding", "recode", "Collaboration")  # ann's Funding was Collaboration...
    decide(study, ["ann", "ben"], *recoded, 0, "Collaboration", "keep")  # ...as ben coded it
    assert set(disagreements(study, ["ann", "ben"])["decision"]) >= {"drop", "recode", "keep"}, "the decisions stored show in the list"
    consensus(study, ["ann", "ben"])

    kept = analysis.segments(study)
    assert not ((kept.transcript == dropped[0]) & (kept.turn == dropped[1]) & kept.code.str.endswith("Funding")).any()
    assert dropped_text not in " ".join(q["text"] for t in analysis.themes(study, quotes=50).itertuples() for q in t.quotes if "Funding" in t.code)
    everyone = analysis.matrix(study, count="segments", basis="everyone")
    agreed = analysis.matrix(study, count="segments")
    assert agreed.loc["Challenges/Funding"].sum() < everyone.loc["Challenges/Funding"].sum()
    with study.reading() as session:
        turn = session.scalar(select(Turn).join(Transcript).where(Transcript.name == recoded[0], Turn.ordinal == recoded[1]))
        here = [name for name, s, e in session.execute(select(Code.name, Coding.start, Coding.end).join(Code).join(Coder).join(Transcript)
                                                       .where(Coder.name == "consensus", Transcript.name == recoded[0])) if s < turn.end and e > turn.start]
    assert here.count("Collaboration") == 1 and "Funding" not in here, "keep plus recode to the same code: one coding of it"


def test_writing_the_consensus_again_replaces_it_and_a_coder_named_is_counted_alone(coded_once):
    study = coded_once
    copy_codings(study, "ann", "ben")
    consensus(study, ["ann", "ben"])
    with study.reading() as session:
        first = session.scalar(select(func.count()).select_from(Coding).join(Coder).where(Coder.name == "consensus"))
    consensus(study, ["ann", "ben"])
    with study.reading() as session:
        assert session.scalar(select(func.count()).select_from(Coding).join(Coder).where(Coder.name == "consensus")) == first
    assert analysis.matrix(study, basis="ann").equals(analysis.matrix(study, basis="consensus"))
    with pytest.raises(ChorusError, match="no coder called 'zed'.*coders: ann, ben, consensus"):
        analysis.matrix(study, basis="zed")
    with pytest.raises(ChorusError, match="of the coders compared"):
        consensus(study, ["ann", "ben"], into="ann")
    assert str(Basis.of(" ann , ben ")) == "ann,ben" and Basis.of("") == Basis.of("AUTO") == Basis()
    with study.reading() as session:  # a consensus named is said as one, not as a person called "consensus"
        assert counting(session, "consensus").line == "Findings count the consensus coding of ann and ben (coder 'consensus')."
        assert counting(session, "consensus").sentence == "Findings count the consensus coding of ann and ben."
        assert counting(session, "ann").line == "Findings count the codings of ann."
        assert ("consensus", "the consensus of ann and ben (consensus)") in choices(session) and ("ann", "ann's codings") in choices(session)


def test_only_the_door_reads_coded_segments_in_the_analysis_and_report_stages():
    """An analysis added later reads codings through frames.coded (or segments, which applies the same counting):
    a module that queries the coding tables itself would count every coder's pile again."""
    allowed = {"analysis/frames.py", "analysis/segments.py", "analysis/agreement.py"}  # agreement compares coders by design
    offenders = []
    for stage in ("analysis", "report"):
        for path in sorted((ROOT / "src" / "chorus" / stage).glob("*.py")):
            names = {node.id for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Name)}
            if names & {"Coding", "CodingTurn"} and f"{stage}/{path.name}" not in allowed:
                offenders.append(f"{stage}/{path.name}")
    assert offenders == [], f"{offenders} query codings without the study's counting: read them through chorus.analysis.frames.coded"


def test_a_coder_the_consensus_did_not_compare_still_counts_where_it_settled_a_code(coded_once):
    """The consensus settles its coders' disagreement; a third coder's codings of the same code nobody compared stay counted."""
    study = coded_once
    copy_codings(study, "ann", "ben")
    consensus(study, ["ann", "ben"], codes=["Funding"])
    ann = analysis.segments(study, basis="ann")
    funded = set(zip(ann.transcript[ann.code.str.endswith("Funding")], ann.turn[ann.code.str.endswith("Funding")]))
    turns = analysis.turn_table(study)
    spoken = turns[(turns.role == "participant") & (turns.transcript == "FG01")]
    fresh = next(n for n in spoken.turn if ("FG01", n) not in funded)
    apply_code(study, "FG01", "Funding", "cy", turn=fresh)  # cy coded a turn nobody else did...
    apply_code(study, "FG01", "Funding", "cy", turn=min(n for t, n in funded if t == "FG01"))  # ...and one the consensus holds
    counted = analysis.segments(study, code="Funding")
    assert ((counted.transcript == "FG01") & (counted.turn == fresh)).sum() == 1, "cy's own passage counts"
    assert len(counted) == len(ann[ann.code.str.endswith("Funding")]) + 1, "the passage cy shares with the consensus counts once"
    with study.reading() as session:
        assert "in place of their own for the 1 code they compared" in counting(session).line
