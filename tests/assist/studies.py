"""The assist's labelled studies: the demo and the second study (checks), and the ICU sepsis-alert study (the evaluation).

The ICU study was written, coded and guide-labelled outside the project
(``tests/assist/data/icu-sepsis-alert/SOURCE.md``); nobody who set the assist's
methods wrote it, so its figures are the ones that say how the assist does on a
researcher's own study.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pandas as pd

from chorus.ingest import import_codebook, import_roster, import_transcripts
from chorus.study.store import Study

ICU = Path(__file__).resolve().parent / "data" / "icu-sepsis-alert"


def load_icu_study(study: Study, guide: bool = False) -> Study:
    """The ICU sepsis-alert study: roster, codebook, six transcripts, its coder's codings (and its guide, if asked)."""
    from chorus.coding import import_codings
    from chorus.ingest.guide import import_guide

    import_roster(study, ICU / "participants.csv")
    import_codebook(study, ICU / "codebook.csv")
    import_transcripts(study, sorted(ICU.glob("H?.txt")))
    with tempfile.TemporaryDirectory() as folder:
        codings = Path(folder) / "codings.csv"
        with (ICU / "codings.csv").open(encoding="utf-8") as source, codings.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["transcript", "turn", "code", "coder"])
            for row in csv.DictReader(source):
                writer.writerow([row["group"], row["turn"], row["code"], "icu-coder"])
        import_codings(study, codings)
    if guide:
        import_guide(study, ICU / "guide" / "guide.csv")
    return study


def icu_guide_truth() -> dict[tuple[str, int], str]:
    """Each turn's guide question by the study's reader: (transcript, turn) -> question ('' for a closing thanks)."""
    truth = pd.read_csv(ICU / "guide" / "truth.csv", dtype=str, keep_default_na=False)
    return {(row.group, int(row.turn)): row.question for row in truth.itertuples()}


def placed_questions(study: Study) -> pd.DataFrame:
    """Every turn with its speaker's role and the guide question it sits under: ``transcript, turn, role, question``."""
    from sqlalchemy import select

    from chorus.study.models import GuideQuestion, Participant, Transcript, Turn, TurnQuestion

    with study.reading() as session:
        rows = session.execute(
            select(Transcript.name, Turn.ordinal, Participant.role, GuideQuestion.key).select_from(Turn)
            .join(Transcript).join(Participant, Participant.id == Turn.participant_id)
            .outerjoin(TurnQuestion, TurnQuestion.turn_id == Turn.id).outerjoin(GuideQuestion, GuideQuestion.id == TurnQuestion.question_id)
            .order_by(Transcript.name, Turn.ordinal)
        ).all()
    return pd.DataFrame(rows, columns=["transcript", "turn", "role", "question"])


def icu_guide_accuracy(study: Study) -> tuple[int, int]:
    """How many of the ICU study's participant turns sit under the reader's question, of how many (after ``align_guide``)."""
    truth = icu_guide_truth()
    found = placed_questions(study)
    return _right(found, [truth[(t, n)] for t, n in zip(found.transcript, found.turn)])


def demo_guide_accuracy(study: Study) -> tuple[int, int]:
    """How many of the demo's participant turns sit under its reader's question, of how many (after ``align_guide``)."""
    found = placed_questions(study)
    return _right(found, demo_guide_truth(found))


def demo_guide_by_turn(study: Study) -> dict[tuple[str, int], str | None]:
    """Each of the demo's turns' question by its reader: (transcript, turn) -> question (None before the first)."""
    found = placed_questions(study)
    return dict(zip(zip(found.transcript, found.turn), demo_guide_truth(found)))


def _right(found: pd.DataFrame, truth: list[str | None]) -> tuple[int, int]:
    """Participant turns whose question is the reader's (no question and an empty one agree), and how many there are."""
    pairs = [(q or "", t or "") for q, t, role in zip(found.question, truth, found.role) if role == "participant"]
    return sum(q == t for q, t in pairs), len(pairs)


def demo_guide_truth(found: pd.DataFrame) -> list[str | None]:
    """The demo's turns' questions by its reader: each turn under the question the last labelled facilitator turn opened.

    ``found`` is :func:`placed_questions`'s table; ``tests/data/guide/truth.csv``
    labels only the facilitator turns that open a question.
    """
    truth = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "guide" / "truth.csv")
    marks = {(t.transcript, t.turn): t.question for t in truth.itertuples()}
    expected, current = [], None
    for transcript, turn in zip(found.transcript, found.turn):
        if turn == 1:
            current = None
        current = marks.get((transcript, turn), current)
        expected.append(current)
    return expected
