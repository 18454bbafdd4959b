"""Coding suggestions: where else a code seems to apply, with a confidence and the example it resembles.

For each code with enough coded examples, a logistic regression on segment
embeddings (and, once the discussion guide is aligned, the question each
segment was said under) learns the coder's decisions: the code's segments are positives; the
other segments of the transcripts the coder has coded, and every suggestion of
the code a coder rejected, are negatives. Its threshold is calibrated per code
on those same decisions (cross-validated, the threshold with the best F1), so
a code coded sparingly asks for more evidence than one coded liberally. Scored
segments at or above it become *suggestions*, stored with their confidence, the
threshold and their closest coded example, until a coder accepts (a coding is
made, under that coder) or rejects them; either way the next run learns from it.
Every decision is stored with who and when, so a report can say how much of the
coding was machine-suggested (:func:`suggestion_summary`).

>>> suggest(study, code="Funding")                            # doctest: +SKIP
>>> decide(study, [12, 13], "accept", coder="ann")            # doctest: +SKIP
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from chorus.assist.embedders import DEFAULT
from chorus.assist.embeddings import embed, segment_table, segment_vectors
from chorus.coding.codings import TurnIndex, add_coding
from chorus.coding.stances import is_stance
from chorus.errors import ChorusError
from chorus.study.lookup import code_path, code_paths, find_code
from chorus.study.lookup import coder as get_coder
from chorus.study.models import Code, Coding, GuideQuestion, Participant, Suggestion, Transcript, Turn, TurnQuestion, utcnow
from chorus.study.store import Study

MIN_EXAMPLES = 5
#: How much each of a code's codebook texts (its definition, inclusion criteria and example) weighs as a coded example.
#: Issue 43, minilm, suggestion F1 without the codebook / weight 1 / 3 / 10: the ICU study written outside the project
#: 0.389 / 0.425 / 0.456 / 0.425, the demo 0.757 / 0.766 / 0.772 / 0.764, the second study 0.768 / 0.820 / 0.824 / 0.820.
CODEBOOK_WEIGHT = 3.0
#: How much the guide question a segment was said under weighs as a feature beside its meaning (a one-hot column per question).
#: Issue 43, minilm, suggestion F1 without it / at 0.2 / 0.3 / 0.4 / 0.7: the ICU study written outside the project
#: 0.456 / 0.495 / 0.494 / 0.520 / 0.530, the demo 0.772 / 0.802 / 0.810 / 0.782 / 0.755 (the second study has no guide: unchanged);
#: 0.3 is inside the range where both gain, not the ICU study's best.
QUESTION_WEIGHT = 0.3
#: The lowest and highest threshold calibration may choose: below, a code would be suggested everywhere; above, nowhere.
THRESHOLD_RANGE = (0.1, 0.95)
#: The queue's orders: most confident first, or most informative first (nearest its code's threshold: active learning).
ORDERS = ("confidence", "informative")
COLUMNS = ["suggestion", "code", "confidence", "threshold", "transcript", "turn", "speaker", "discipline", "text", "example"]


@dataclass
class Training:
    """What the per-code classifiers learn from: the segments, their vectors, and the coders' decisions on them."""

    segments: pd.DataFrame
    vectors: np.ndarray
    labels: dict[int, np.ndarray]  # code id -> which segments it covers
    examples: dict[int, list[int | None]]  # code id -> per segment, the coding id that covers it
    judged: np.ndarray  # segments of transcripts with a (visible) coding: what the coder has read and decided on
    rejected: dict[int, np.ndarray]  # code id -> segments a coder rejected a suggestion of it on
    embedder: str | None
    codebook: dict[int, np.ndarray] = field(default_factory=dict)  # code id -> its definition, inclusion and example, embedded
    questions: np.ndarray | None = None  # per segment, the guide question it was said under (one-hot, QUESTION_WEIGHT); None: no guide


def _overlaps(table: pd.DataFrame, spans: dict[str, list[tuple[int, int, int, int]]]) -> dict[int, tuple[np.ndarray, list[int | None]]]:
    """Per key (a code), which segments one of its spans (id, key, start, end) overlaps, and the first such span's id."""
    found: dict[int, tuple[np.ndarray, list[int | None]]] = {}
    for index, (transcript, a, b) in enumerate(zip(table["transcript"], table["start"], table["end"])):
        for span_id, key, start, end in spans.get(transcript, []):
            if start < b and end > a:
                covered, ids = found.setdefault(key, (np.zeros(len(table), dtype=bool), [None] * len(table)))
                covered[index] = True
                ids[index] = ids[index] or span_id
    return found


def learned_from(
    study: Study, embedder: str | None = DEFAULT, hidden: frozenset[int] = frozenset(), unjudged: frozenset[str] = frozenset(),
    reading: Callable[[int, int], None] | None = None,
) -> Training:
    """What the classifiers learn from; ``hidden`` codings and the ``unjudged`` transcripts' codings are left out.

    ``embedder=None`` leaves the vectors out (a language model reads the text itself); ``reading(done, total)``
    follows the passages embedded (none when the study's cache has them all).
    """
    table = segment_table(study)
    with study.reading() as session:
        query = select(Coding.id, Coding.code_id, Transcript.name, Coding.start, Coding.end).join(Transcript, Transcript.id == Coding.transcript_id)
        codings = [r for r in session.execute(query).all() if r[0] not in hidden and r[2] not in unjudged]
        query = (select(Suggestion.id, Suggestion.code_id, Transcript.name, Suggestion.start, Suggestion.end)
                 .join(Transcript, Transcript.id == Suggestion.transcript_id).where(Suggestion.status == "rejected"))
        rejections = [r for r in session.execute(query).all() if r[2] not in unjudged]
    by_transcript: dict[str, list[tuple[int, int, int, int]]] = {}
    for coding_id, code_id, name, start, end in codings:
        by_transcript.setdefault(name, []).append((coding_id, code_id, start, end))
    rejected: dict[str, list[tuple[int, int, int, int]]] = {}
    for suggestion_id, code_id, name, start, end in rejections:
        rejected.setdefault(name, []).append((suggestion_id, code_id, start, end))
    covered = _overlaps(table, by_transcript)
    return Training(
        codebook=codebook_vectors(study, embedder) if embedder else {}, questions=_question_features(study, table) if embedder else None,
        segments=table, vectors=segment_vectors(study, table, embedder, reading) if embedder else np.empty((len(table), 0)),
        labels={c: found[0] for c, found in covered.items()}, examples={c: found[1] for c, found in covered.items()},
        judged=table["transcript"].isin(list(by_transcript)).to_numpy(),
        rejected={c: found[0] for c, found in _overlaps(table, rejected).items()}, embedder=embedder,
    )


def codebook_vectors(study: Study, embedder: str) -> dict[int, np.ndarray]:
    """Each code's codebook texts by ``embedder``: its name with its definition, its inclusion criteria, its example.

    The codebook says what the code means in other words than the coded
    passages do; as labelled evidence it lifts suggestions on a study whose
    themes are rarely named in their own words (see :data:`CODEBOOK_WEIGHT`).
    """
    with study.reading() as session:
        texts = {c.id: [t.strip() for t in (f"{c.name}: {c.definition}" if c.definition else c.name, c.inclusion or "", c.example or "") if t.strip()]
                 for c in session.scalars(select(Code))}
    wanted = sorted({t for said in texts.values() for t in said})
    if not wanted:
        return {}
    vectors = dict(zip(wanted, embed(study, wanted, embedder=embedder)))
    return {code_id: np.vstack([vectors[t] for t in said]) for code_id, said in texts.items() if said}


def _question_features(study: Study, table: pd.DataFrame) -> np.ndarray | None:
    """Per segment of ``table``, the guide question its turn sits under, one-hot at :data:`QUESTION_WEIGHT`; None before any alignment.

    A focus group's codes follow its questions (what was said about training
    comes when training is asked about), so where the guide is aligned
    (:func:`chorus.assist.guide.align_guide`) the question is read beside the
    passage's meaning; a coder whose codes do not follow the questions teaches
    the classifier to give it no weight.
    """
    with study.reading() as session:
        placed = session.execute(
            select(Transcript.name, Turn.ordinal, TurnQuestion.question_id).join(Turn, Turn.transcript_id == Transcript.id)
            .join(TurnQuestion, TurnQuestion.turn_id == Turn.id)
        ).all()
        questions = session.scalars(select(GuideQuestion.id).order_by(GuideQuestion.ordinal)).all()
    if not placed or not questions:
        return None
    column = {question: k for k, question in enumerate(questions)}
    under = {(transcript, turn): column[question] for transcript, turn, question in placed}
    features = np.zeros((len(table), len(questions)), dtype=np.float32)
    for row, key in enumerate(zip(table["transcript"].tolist(), table["turn"].tolist())):
        if key in under:
            features[row, under[key]] = QUESTION_WEIGHT
    return features


def _classifier() -> object:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=0)


def _fitted(vectors: np.ndarray, labels: np.ndarray, evidence: np.ndarray) -> object:
    """The classifier fitted on the segments' ``labels`` and the code's codebook ``evidence`` (positives, weighted)."""
    weights = np.concatenate([np.ones(len(vectors)), np.full(len(evidence), CODEBOOK_WEIGHT)])
    model = _classifier()
    model.fit(np.vstack([vectors, evidence]), np.concatenate([labels.astype(int), np.ones(len(evidence), dtype=int)]), sample_weight=weights)
    return model


def _calibrated(vectors: np.ndarray, labels: np.ndarray, evidence: np.ndarray) -> float:
    """The threshold with the best F1 on out-of-fold predictions of the coder's own decisions (the codebook always learned from)."""
    from sklearn.metrics import precision_recall_curve
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(5, labels.sum(), (~labels).sum()))
    if folds < 2:
        return 0.5
    scores = np.zeros(len(labels))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(vectors, labels):
        scores[held] = _fitted(vectors[train], labels[train], evidence).predict_proba(vectors[held])[:, 1]
    precision, recall, thresholds = precision_recall_curve(labels.astype(int), scores)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=(precision + recall) > 0)[:-1]
    return float(np.clip(thresholds[int(np.argmax(f1))], *THRESHOLD_RANGE))


def code_scores(training: Training, code_id: int, threshold: float | None = None) -> tuple[np.ndarray, float]:
    """Probability that each segment belongs to the code, and the threshold to suggest at (calibrated unless given)."""
    positive = training.labels[code_id]
    negative = (training.judged & ~positive) | training.rejected.get(code_id, np.zeros_like(positive))
    negative &= ~positive
    if negative.sum() < MIN_EXAMPLES:  # hardly anything judged yet: unjudged text stands in as negatives
        negative = ~positive
    train = positive | negative
    evidence = training.codebook.get(code_id, np.empty((0, training.vectors.shape[1]), dtype=training.vectors.dtype))
    features = training.vectors
    if training.questions is not None:  # the codebook's texts were said under no question
        features = np.hstack([features, training.questions])
        evidence = np.hstack([evidence, np.zeros((len(evidence), training.questions.shape[1]), dtype=evidence.dtype)])
    if threshold is None:
        threshold = _calibrated(features[train], positive[train], evidence)
    model = _fitted(features[train], positive[train], evidence)
    return model.predict_proba(features)[:, 1], threshold


#: The share of a suggestion run's progress bar that reading the passages takes (the first run embeds every one).
READING = 0.6


def suggest(
    study: Study, code: str | None = None, threshold: float | None = None, min_examples: int = MIN_EXAMPLES, limit: int = 50,
    embedder: str = DEFAULT, progress: Callable[[str, float], None] | None = None,
) -> pd.DataFrame:
    """Propose codings for ``code`` (or every code with at least ``min_examples`` coded segments) and store them.

    ``threshold`` is the lowest confidence to suggest; by default each code's is
    calibrated on the coder's decisions. Returns the new suggestions, most
    confident first: ``suggestion, code, confidence, threshold, transcript,
    turn, speaker, discipline, text, example`` (the closest coded segment's
    text). Pending suggestions of the code from an earlier run are replaced;
    accepted and rejected ones are kept, and a segment someone rejected is not
    proposed again. ``progress(stage, fraction done)`` follows the work, as a
    background job reports it (:mod:`chorus.assist.jobs`).
    """
    said = progress or (lambda stage, fraction: None)
    with study.reading() as session:
        wanted = [find_code(session, code)] if code else list(session.scalars(select(Code)))
        names = {c.id: code_path(c) for c in wanted}
    if not code:  # stances are proposed from how turns open (chorus stances propose), not learned as themes are
        names = {c: name for c, name in names.items() if not is_stance(name)}
    said(f"reading every passage with {embedder}", 0.0)
    training = learned_from(study, embedder, reading=lambda done, total: said(
        f"reading every passage with {embedder}: {done} of {total}", READING * done / total))
    table, vectors = training.segments, training.vectors
    learned = []  # every code's scores first, so the progress a job reports is written while nothing holds the store
    for number, (code_id, name) in enumerate(names.items()):
        said(f"learning {name} ({number + 1} of {len(names)} codes)", READING + (1 - READING) * number / len(names))
        positive = training.labels.get(code_id)
        if positive is None or positive.sum() < min_examples:
            if code:
                have = 0 if positive is None else int(positive.sum())
                raise ChorusError(f"{name!r} has {have} coded segments; suggestions need at least {min_examples}")
            continue
        scores, cut = code_scores(training, code_id, threshold)
        rejected = training.rejected.get(code_id, np.zeros_like(positive))
        order = [i for i in np.argsort(-scores) if not positive[i] and not rejected[i] and scores[i] >= cut][:limit]
        learned.append((code_id, name, positive, scores, cut, order))
    results = []
    with study.transaction() as session:
        transcripts = {t.name: t.id for t in session.scalars(select(Transcript))}
        for code_id, name, positive, scores, cut, order in learned:
            session.query(Suggestion).filter(Suggestion.code_id == code_id, Suggestion.status == "pending").delete(synchronize_session=False)
            examples = np.flatnonzero(positive)
            for i in order:
                nearest = examples[np.argmax(vectors[examples] @ vectors[i])]
                row = table.iloc[i]
                stored = Suggestion(
                    code_id=code_id, transcript_id=transcripts[row.transcript], start=int(row.start), end=int(row.end),
                    confidence=float(scores[i]), threshold=cut, example_coding_id=training.examples[code_id][nearest],
                    method=f"{embedder} + logistic regression",
                )
                session.add(stored)
                session.flush()
                results.append({
                    "suggestion": stored.id, "code": name, "confidence": round(float(scores[i]), 3), "threshold": round(cut, 3),
                    "transcript": row.transcript, "turn": row.turn, "speaker": row.speaker, "discipline": row.discipline,
                    "text": row.text, "example": table.at[nearest, "text"],
                })
    return pd.DataFrame(results, columns=COLUMNS).sort_values("confidence", ascending=False, ignore_index=True)


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


def pending(study: Study, code: str | None = None, order: str = "confidence") -> pd.DataFrame:
    """The suggestions waiting for a decision: the queue a coder works through.

    ``order`` is ``confidence`` (most confident first: quick accepts) or
    ``informative`` (nearest its code's threshold first: the decisions that
    teach the classifier most, as in active learning). Columns as
    :func:`suggest` returns them (``example`` is the closest coded segment's
    text when it was proposed, empty if that coding is gone).
    """
    if order not in ORDERS:
        raise ChorusError(f"order the queue by {' or '.join(ORDERS)}, not {order!r}")
    with study.reading() as session:
        ranking = (
            (Suggestion.confidence.desc(),) if order == "confidence"
            else (func.abs(Suggestion.confidence - func.coalesce(Suggestion.threshold, 0.5)), Suggestion.confidence.desc())
        )
        query = (select(Suggestion.id, Suggestion.code_id, Suggestion.confidence, Suggestion.threshold, Suggestion.transcript_id,
                        Suggestion.start, Suggestion.end, Suggestion.example_coding_id)
                 .where(Suggestion.status == "pending").order_by(*ranking, Suggestion.id))
        if code:
            query = query.where(Suggestion.code_id == find_code(session, code).id)
        found = session.execute(query).all()
        # rows, not objects: a queue of hundreds over 24 transcripts of 900 turns read in a tenth of a second, not 1.5 s
        examples = {r.id: r for r in session.execute(select(Coding.id, Coding.transcript_id, Coding.start, Coding.end)
                                                     .where(Coding.id.in_({f.example_coding_id for f in found if f.example_coding_id})))}
        wanted = {f.transcript_id for f in found} | {e.transcript_id for e in examples.values()}
        texts = {t.id: (t.name, t.text) for t in session.execute(select(Transcript.id, Transcript.name, Transcript.text).where(Transcript.id.in_(wanted)))}
        turns: dict[int, list[tuple[int, int, int, str, str]]] = {}
        for t in session.execute(select(Turn.transcript_id, Turn.start, Turn.end, Turn.ordinal, Participant.pseudonym, Participant.discipline)
                                 .join(Participant, Participant.id == Turn.participant_id)
                                 .where(Turn.transcript_id.in_({f.transcript_id for f in found})).order_by(Turn.transcript_id, Turn.start)):
            turns.setdefault(t.transcript_id, []).append((t.start, t.end, t.ordinal, t.pseudonym, t.discipline or ""))
        paths = code_paths(session)
    starts = {transcript: [t[0] for t in mine] for transcript, mine in turns.items()}
    rows = []
    for f in found:
        name, text = texts[f.transcript_id]
        turn = _turn_at(turns.get(f.transcript_id, []), starts.get(f.transcript_id, []), f.start)
        example = examples.get(f.example_coding_id)
        rows.append({
            "suggestion": f.id, "code": paths[f.code_id], "confidence": round(f.confidence, 3),
            "threshold": None if f.threshold is None else round(f.threshold, 3), "transcript": name, "turn": turn[2] if turn else None,
            "speaker": turn[3] if turn else "", "discipline": turn[4] if turn else "",
            "text": text[f.start : f.end], "example": texts[example.transcript_id][1][example.start : example.end] if example else "",
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _turn_at(turns: list[tuple[int, int, int, str, str]], starts: list[int], at: int) -> tuple[int, int, int, str, str] | None:
    """The turn (start, end, ordinal, speaker, discipline) of a transcript's ``turns`` (by start) that character ``at`` is in."""
    for turn in turns[max(bisect.bisect_right(starts, at) - 1, 0):]:
        if turn[0] > at:
            break
        if turn[1] > at:
            return turn
    return None


def suggestion_summary(study: Study) -> pd.DataFrame:
    """How much of the coding was machine-suggested, per code: ``code, codings, suggested, accepted, rejected, pending``."""
    with study.reading() as session:
        codings = dict(session.execute(select(Coding.code_id, func.count()).group_by(Coding.code_id)).all())
        counts = session.execute(select(Suggestion.code_id, Suggestion.status, func.count()).group_by(Suggestion.code_id, Suggestion.status)).all()
        names = code_paths(session)
    by_code: dict[int, dict[str, int]] = {}
    for code_id, status, n in counts:
        by_code.setdefault(code_id, {})[status] = n
    rows = [
        {"code": names[c], "codings": codings.get(c, 0), "suggested": sum(s.values()), "accepted": s.get("accepted", 0),
         "rejected": s.get("rejected", 0), "pending": s.get("pending", 0)}
        for c, s in sorted(by_code.items(), key=lambda item: names[item[0]])
    ]
    return pd.DataFrame(rows, columns=["code", "codings", "suggested", "accepted", "rejected", "pending"])
