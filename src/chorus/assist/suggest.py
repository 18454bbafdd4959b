"""Coding suggestions: where else a code seems to apply, with a confidence and the example it resembles.

For each code with enough coded examples, a logistic regression on segment
embeddings (the code's segments against the other coded segments) scores the
segments the code is not on yet. Those at or above the threshold become
*suggestions*, stored with their confidence and their closest coded example,
until a coder accepts (a coding is made, under that coder) or rejects them.
Every decision is stored with who and when, so a report can say how much of the
coding was machine-suggested (:func:`suggestion_summary`).

>>> suggest(study, code="Funding")                            # doctest: +SKIP
>>> decide(study, [12, 13], "accept", coder="ann")            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from chorus.assist.embeddings import MODEL, embed, segment_table
from chorus.coding.codings import TurnIndex, add_coding
from chorus.errors import ChorusError
from chorus.study.lookup import coder as get_coder
from chorus.study.lookup import code_path, find_code
from chorus.study.models import Code, Coding, Suggestion, Transcript, utcnow
from chorus.study.store import Study

MIN_EXAMPLES = 5
THRESHOLD = 0.7  # on the demo, 0.5 recalls more but suggests five wrong segments for each right one
METHOD = f"{MODEL} + logistic regression"


@dataclass
class _Training:
    segments: pd.DataFrame
    vectors: np.ndarray
    labels: dict[int, np.ndarray]  # code id -> which segments it covers
    examples: dict[int, list[int | None]]  # code id -> per segment, the coding id that covers it


def _training(study: Study, hidden: set[int] | frozenset[int] = frozenset()) -> _Training:
    table = segment_table(study)
    with study.reading() as session:
        query = select(Coding.id, Coding.code_id, Transcript.name, Coding.start, Coding.end).join(Transcript, Transcript.id == Coding.transcript_id)
        rows = [r for r in session.execute(query).all() if r[0] not in hidden]
    by_transcript: dict[str, list[tuple[int, int, int, int]]] = {}
    for coding_id, code_id, name, start, end in rows:
        by_transcript.setdefault(name, []).append((coding_id, code_id, start, end))
    labels: dict[int, np.ndarray] = {}
    examples: dict[int, list[int | None]] = {}
    for index, segment in enumerate(table.itertuples()):
        for coding_id, code_id, start, end in by_transcript.get(segment.transcript, []):
            if start < segment.end and end > segment.start:
                labels.setdefault(code_id, np.zeros(len(table), dtype=bool))[index] = True
                examples.setdefault(code_id, [None] * len(table))[index] = coding_id
    return _Training(table, embed(study, table["text"].tolist()), labels, examples)


def _scores(training: _Training, code_id: int) -> np.ndarray:
    """Probability that each segment belongs to the code, from its coded and other coded segments."""
    from sklearn.linear_model import LogisticRegression

    positive = training.labels[code_id]
    coded_elsewhere = np.zeros(len(positive), dtype=bool)
    for other, covered in training.labels.items():
        if other != code_id:
            coded_elsewhere |= covered
    negative = coded_elsewhere & ~positive
    if negative.sum() < MIN_EXAMPLES:  # few other codes yet: uncoded text stands in as negatives
        negative = ~positive
    train = positive | negative
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, random_state=0)
    model.fit(training.vectors[train], positive[train].astype(int))
    return model.predict_proba(training.vectors)[:, 1]


def suggest(
    study: Study, code: str | None = None, threshold: float = THRESHOLD, min_examples: int = MIN_EXAMPLES, limit: int = 50
) -> pd.DataFrame:
    """Propose codings for ``code`` (or every code with at least ``min_examples`` coded segments) and store them.

    Returns the new suggestions, most confident first: ``suggestion, code,
    confidence, transcript, turn, speaker, discipline, text, example`` (the
    closest coded segment's text). Pending suggestions of the code from an
    earlier run are replaced; accepted and rejected ones are kept, and a segment
    someone rejected is not proposed again.
    """
    with study.reading() as session:
        wanted = [find_code(session, code)] if code else list(session.scalars(select(Code)))
        names = {c.id: code_path(c) for c in wanted}
    training = _training(study)
    table, vectors = training.segments, training.vectors
    results = []
    with study.transaction() as session:
        transcripts = {t.name: t.id for t in session.scalars(select(Transcript))}
        for code_id, name in names.items():
            positive = training.labels.get(code_id)
            if positive is None or positive.sum() < min_examples:
                if code:
                    have = 0 if positive is None else int(positive.sum())
                    raise ChorusError(f"{name!r} has {have} coded segments; suggestions need at least {min_examples}")
                continue
            rejected = {(t, s, e) for t, s, e in session.execute(
                select(Transcript.name, Suggestion.start, Suggestion.end).join(Transcript)
                .where(Suggestion.code_id == code_id, Suggestion.status == "rejected"))}
            session.query(Suggestion).filter(Suggestion.code_id == code_id, Suggestion.status == "pending").delete(synchronize_session=False)
            scores = _scores(training, code_id)
            order = [i for i in np.argsort(-scores) if not positive[i] and scores[i] >= threshold]
            order = [i for i in order if (table.at[i, "transcript"], table.at[i, "start"], table.at[i, "end"]) not in rejected][:limit]
            examples = np.flatnonzero(positive)
            for i in order:
                nearest = examples[np.argmax(vectors[examples] @ vectors[i])]
                row = table.iloc[i]
                stored = Suggestion(
                    code_id=code_id, transcript_id=transcripts[row.transcript], start=int(row.start), end=int(row.end),
                    confidence=float(scores[i]), example_coding_id=training.examples[code_id][nearest], method=METHOD,
                )
                session.add(stored)
                session.flush()
                results.append({
                    "suggestion": stored.id, "code": name, "confidence": round(float(scores[i]), 3), "transcript": row.transcript,
                    "turn": row.turn, "speaker": row.speaker, "discipline": row.discipline, "text": row.text,
                    "example": table.at[nearest, "text"],
                })
    columns = ["suggestion", "code", "confidence", "transcript", "turn", "speaker", "discipline", "text", "example"]
    return pd.DataFrame(results, columns=columns).sort_values("confidence", ascending=False, ignore_index=True)


def decide(study: Study, suggestions: Sequence[int], decision: Literal["accept", "reject"], coder: str) -> int:
    """Accept (code the segment, as ``coder``) or reject suggestions by number; the decision is stored with who and when."""
    if decision not in ("accept", "reject"):
        raise ChorusError(f"decide 'accept' or 'reject', not {decision!r}")
    with study.transaction() as session:
        who = get_coder(session, coder)
        for number in suggestions:
            found = session.get(Suggestion, int(number))
            if found is None:
                raise ChorusError(f"there is no suggestion {number}")
            if found.status != "pending":
                raise ChorusError(f"suggestion {number} was already {found.status} by {found.decided_by}")
            if decision == "accept":
                coding = add_coding(session, found.transcript, found.code, who, found.start, found.end, TurnIndex(found.transcript))
                found.coding_id = coding.id
            found.status = "accepted" if decision == "accept" else "rejected"
            found.decided_by, found.decided_at = who.name, utcnow()
    return len(suggestions)


def pending(study: Study, code: str | None = None) -> pd.DataFrame:
    """The suggestions waiting for a decision, most confident first: the queue a coder works through.

    Columns as :func:`suggest` returns them (``example`` is the closest coded
    segment's text when it was proposed, empty if that coding is gone).
    """
    with study.reading() as session:
        query = select(Suggestion).where(Suggestion.status == "pending").order_by(Suggestion.confidence.desc(), Suggestion.id)
        if code:
            query = query.where(Suggestion.code_id == find_code(session, code).id)
        rows = []
        indexes: dict[int, TurnIndex] = {}  # each transcript's turns read once, not once per suggestion
        for found in session.scalars(query):
            text = found.transcript.text
            if found.transcript_id not in indexes:
                indexes[found.transcript_id] = TurnIndex(found.transcript)
            turn = next(iter(indexes[found.transcript_id].overlapping(found.start, found.start + 1)), None)  # the turn it starts in
            example = session.get(Coding, found.example_coding_id) if found.example_coding_id else None
            rows.append({
                "suggestion": found.id, "code": code_path(found.code), "confidence": round(found.confidence, 3),
                "transcript": found.transcript.name, "turn": turn.ordinal if turn else None,
                "speaker": turn.participant.pseudonym if turn else "", "discipline": (turn.participant.discipline or "") if turn else "",
                "text": text[found.start : found.end], "example": example.transcript.text[example.start : example.end] if example else "",
            })
    return pd.DataFrame(rows, columns=["suggestion", "code", "confidence", "transcript", "turn", "speaker", "discipline", "text", "example"])


def suggestion_summary(study: Study) -> pd.DataFrame:
    """How much of the coding was machine-suggested, per code: ``code, codings, suggested, accepted, rejected, pending``."""
    with study.reading() as session:
        codings = dict(session.execute(select(Coding.code_id, func.count()).group_by(Coding.code_id)).all())
        counts = session.execute(select(Suggestion.code_id, Suggestion.status, func.count()).group_by(Suggestion.code_id, Suggestion.status)).all()
        names = {c.id: code_path(c) for c in session.scalars(select(Code))}
    by_code: dict[int, dict[str, int]] = {}
    for code_id, status, n in counts:
        by_code.setdefault(code_id, {})[status] = n
    rows = [
        {"code": names[c], "codings": codings.get(c, 0), "suggested": sum(s.values()), "accepted": s.get("accepted", 0),
         "rejected": s.get("rejected", 0), "pending": s.get("pending", 0)}
        for c, s in sorted(by_code.items(), key=lambda item: names[item[0]])
    ]
    return pd.DataFrame(rows, columns=["code", "codings", "suggested", "accepted", "rejected", "pending"])


def evaluate(study: Study, hide: float = 0.3, threshold: float = THRESHOLD, seed: int = 0, min_examples: int = MIN_EXAMPLES) -> pd.DataFrame:
    """Precision and recall of suggestions against held-out human codings; the store is not changed.

    A share ``hide`` of each code's codings is hidden; the model learns from the
    rest and scores every segment; a hidden coding is recalled when a segment
    it covers scores at or above ``threshold``. Precision counts suggested
    segments (not coded by the visible codings) that a hidden coding covers.
    """
    rng = np.random.default_rng(seed)
    with study.reading() as session:
        codings = session.execute(select(Coding.id, Coding.code_id)).all()
        names = {c.id: code_path(c) for c in session.scalars(select(Code))}
    by_code: dict[int, list[int]] = {}
    for coding_id, code_id in codings:
        by_code.setdefault(code_id, []).append(coding_id)
    hidden = {c for ids in by_code.values() for c in rng.permutation(ids)[: int(round(len(ids) * hide))].tolist()}
    visible = _training(study, hidden)
    truth = _training(study)
    rows = []
    for code_id, positive in sorted(visible.labels.items(), key=lambda item: names[item[0]]):
        if positive.sum() < min_examples:
            continue
        held_out = truth.labels[code_id] & ~positive
        candidates = ~positive
        predicted = (_scores(visible, code_id) >= threshold) & candidates
        hits = int((predicted & held_out).sum())
        rows.append({
            "code": names[code_id], "examples": int(positive.sum()), "held_out": int(held_out.sum()), "suggested": int(predicted.sum()),
            "correct": hits, "precision": hits / predicted.sum() if predicted.sum() else float("nan"),
            "recall": hits / held_out.sum() if held_out.sum() else float("nan"),
        })
    return pd.DataFrame(rows, columns=["code", "examples", "held_out", "suggested", "correct", "precision", "recall"])
