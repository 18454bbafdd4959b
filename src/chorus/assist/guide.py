"""Each turn under the discussion-guide question it answers: facilitators' turns aligned to the guide by meaning and order.

Facilitators paraphrase, skip and reorder the guide, so a question is matched by
meaning (the assist's word vectors, against the question and each of its
probes) and by order together: the guide's next question gets a head start, a
question already asked has to be clearly meant to be taken again, and a
facilitator's turn that asks nothing (a "Thank you"), follows up ("Can you say
more?", "Why is that?") or matches the current question best keeps it going. A short follow-up that shares a word with
another question ("Why is that, do you think?" and "What do families think it
means?") can jump to it: check the turns with a low confidence. Participants' turns belong to the question last
asked before them. Each aligned turn keeps a confidence (how far the chosen
question led the runner-up), so the researcher checks the uncertain ones first;
a turn the researcher confirmed or moved (:func:`set_question`) is kept by every
later alignment and steers the turns after it.

>>> align_guide(study)                                        # doctest: +SKIP
  transcript  turns  questions   not_asked  confidence
0       FG01     40          7  Q4, Q5, Q10       0.889
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select

from chorus.assist.embedders import WORD, glove
from chorus.errors import ChorusError
from chorus.study.lookup import find_transcript
from chorus.study.models import GuideQuestion, Participant, Transcript, Turn, TurnQuestion
from chorus.study.store import Study

#: A facilitator's follow-up that asks for more of the same rather than a question of the guide.
FOLLOW_UP = re.compile(
    r"^\W*(?:(?:can you )?(?:say|tell (?:me|us)) (?:a bit |a little )?more(?: about (?:that|this|it))?"
    r"|why (?:is that|do you think that is|do you think so)|how so|what do you mean|go on)\W*$",
    re.IGNORECASE,
)
#: A facilitator's prompt without a question mark that still asks ("Tell me more about roles.", "Describe a time ...").
PROMPT = re.compile(r"^\W*(?:tell (?:me|us)|describe|talk (?:to me |to us )?about|say more about|walk (?:me|us) through|share)\b", re.IGNORECASE)
#: Head start of the guide's next question over the others (cosine similarity units).
NEXT_BONUS = 0.12
#: How much better than the current question another must match a facilitator's question to open it (0: any better).
STAY = 0.0
#: Handicap of a question asked before in the group (taken up again only when clearly meant).
ASKED_AGAIN = 0.05


class _Matcher:
    """How well a facilitator's words match each guide question: meaning (word vectors) and shared words, half each.

    Meaning is the best cosine between the turn and the question or one of its
    probes; shared words are the share of the turn's words (weighted by rarity,
    as the vectors are, and cut to a stem of five letters) that the question or
    its probes use. Short probes ("What makes it hard?") are matched by the
    second; paraphrases by the first.
    """

    def __init__(self, questions: Sequence[GuideQuestion]):
        self.model = glove()  # its per-word weights say which shared words are rare; the alignment was tuned on it
        wordings = [[q.text, *[p.strip() for p in q.probes.split(";") if p.strip()]] for q in questions]
        self.vectors = [self.model.encode(w) for w in wordings]
        self.words = [set(self._stems(" ".join(w))) for w in wordings]

    def _stems(self, text: str) -> dict[str, float]:
        weights = {}
        for word in WORD.findall(text.lower()):
            index = self.model.vocabulary.get(word)
            weights[word[:5]] = max(weights.get(word[:5], 0.0), float(self.model.weights[index]) if index is not None else 1.0)
        return weights

    def similarity(self, text: str, vector: np.ndarray) -> np.ndarray:
        stems = self._stems(text)
        total = sum(stems.values()) or 1.0
        shared = np.array([sum(w for s, w in stems.items() if s in words) / total for words in self.words])
        meaning = np.array([float(np.max(v @ vector)) for v in self.vectors])
        return (meaning + shared) / 2


def _choose(similarity: np.ndarray, current: int | None, asked: set[int], asks: bool) -> tuple[int | None, float]:
    """The question a facilitator's turn opens (``current`` for one that goes on with it) and the confidence."""
    scores = similarity.copy()
    following = 0 if current is None else current + 1
    if following < len(scores):
        scores[following] += NEXT_BONUS
    for index in asked - {current}:
        scores[index] -= ASKED_AGAIN
    stay = -math.inf if current is None else (similarity[current] + STAY if asks else math.inf)
    best = int(np.argmax(scores))
    ranked = sorted([*scores, stay], reverse=True)
    margin = ranked[0] - ranked[1] if math.isfinite(ranked[1]) else 1.0
    confidence = round(1 / (1 + math.exp(-12 * margin)), 3) if math.isfinite(margin) else 1.0
    return (current, confidence) if stay >= scores[best] else (best, confidence)


def align_guide(study: Study, transcripts: Sequence[str] | None = None) -> pd.DataFrame:
    """Put every turn of ``transcripts`` (all by default) under a guide question, in one transaction.

    Turns a researcher confirmed keep their question. Returns per transcript the
    turns aligned, the questions found asked, the guide's questions never asked
    there (``not_asked``: facilitators skip some) and the facilitator turns' mean confidence.
    """
    with study.transaction() as session:
        questions = session.scalars(select(GuideQuestion).order_by(GuideQuestion.ordinal)).all()
        if not questions:
            raise ChorusError("the study has no discussion guide yet: chorus guide import guide.csv")
        matcher = _Matcher(questions)
        index_of = {q.id: i for i, q in enumerate(questions)}
        chosen = [find_transcript(session, name) for name in transcripts] if transcripts else session.scalars(
            select(Transcript).order_by(Transcript.name)).all()
        rows = []
        for transcript in chosen:
            turns = session.execute(
                select(Turn.id, Turn.start, Turn.end, Participant.role).join(Participant, Participant.id == Turn.participant_id)
                .where(Turn.transcript_id == transcript.id).order_by(Turn.ordinal)
            ).all()
            if not any(role != "participant" for *_, role in turns):
                raise ChorusError(f"{transcript.name}: no facilitator speaks in it, so there is no question to align its turns to; "
                                  "name the facilitator in the roster (role facilitator) and the transcript's speakers")
            kept = dict(session.execute(
                select(TurnQuestion.turn_id, TurnQuestion.question_id).join(Turn, Turn.id == TurnQuestion.turn_id)
                .where(Turn.transcript_id == transcript.id, TurnQuestion.confirmed)
            ).all())
            session.execute(delete(TurnQuestion).where(
                TurnQuestion.turn_id.in_(select(Turn.id).where(Turn.transcript_id == transcript.id)), TurnQuestion.confirmed.is_(False)))
            texts = [transcript.text[start:end] for _, start, end, _ in turns]
            encoded = matcher.model.encode(texts)
            current, confidence, asked, sure = None, 0.0, set(), []
            for (turn_id, _, _, role), text, vector in zip(turns, texts, encoded):
                if turn_id in kept:
                    current, confidence = index_of[kept[turn_id]], 1.0
                    asked.add(current)
                    continue
                if role != "participant":
                    asks = ("?" in text or bool(PROMPT.match(text))) and not FOLLOW_UP.match(text)
                    current, confidence = _choose(matcher.similarity(text, vector), current, asked, asks)
                    if current is not None:
                        asked.add(current)
                    sure.append(confidence)
                if current is not None:
                    session.add(TurnQuestion(turn_id=turn_id, question_id=questions[current].id, confidence=confidence, confirmed=False))
            rows.append({"transcript": transcript.name, "turns": len(turns), "questions": len(asked),
                         "not_asked": ", ".join(q.key for i, q in enumerate(questions) if i not in asked),
                         "confidence": round(float(np.mean(sure)), 3) if sure else 1.0})
    return pd.DataFrame(rows, columns=["transcript", "turns", "questions", "not_asked", "confidence"])


def set_question(study: Study, transcript: str, turn: int, question: str) -> int:
    """Confirm that ``turn`` of ``transcript`` opens ``question`` (a boundary moved or kept), and realign the transcript.

    The turns after it follow the confirmed question until the facilitator asks
    another; returns how many turns now sit under ``question``.
    """
    with study.transaction() as session:
        found = find_transcript(session, transcript)
        turn_id = session.scalar(select(Turn.id).where(Turn.transcript_id == found.id, Turn.ordinal == turn))
        if turn_id is None:
            raise ChorusError(f"{transcript} has no turn {turn}")
        question_id = session.scalar(select(GuideQuestion.id).where(GuideQuestion.key == question))
        if question_id is None:
            known = session.scalars(select(GuideQuestion.key).order_by(GuideQuestion.ordinal)).all()
            raise ChorusError(f"the guide has no question {question!r}; it has {', '.join(known) or 'none yet'}")
        session.merge(TurnQuestion(turn_id=turn_id, question_id=question_id, confidence=1.0, confirmed=True))
    align_guide(study, [transcript])
    with study.reading() as session:
        return session.scalar(
            select(func.count()).select_from(TurnQuestion).join(Turn, Turn.id == TurnQuestion.turn_id)
            .where(Turn.transcript_id == found.id, TurnQuestion.question_id == question_id)
        )
