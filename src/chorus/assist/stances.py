"""Stance proposals: turns that open by agreeing, dissenting or adding, proposed to coders as ``Stance`` codings.

How a turn opens says much about its stance toward what was just said ("I
agree", "Exactly", "I'm not sure that...", "And also..."). Chorus proposes the
stance those openings signal, as suggestions in the same queue as the AI's
codings (``chorus suggest queue``, accept or reject), each naming the words it
is based on. A coder's decisions are counted per stance code by
:func:`chorus.assist.suggest.suggestion_summary`: how often coders kept them.
Nothing is coded until a coder accepts.

>>> propose_stances(study)                                    # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select

from chorus.coding.stances import stance_codes
from chorus.study.models import Coding, CodingTurn, Participant, Suggestion, Transcript, Turn
from chorus.study.store import Study

#: Openings that signal a stance, strongest first; the confidence says how reliably coders read them that way.
CUES: list[tuple[str, float, re.Pattern[str]]] = [
    ("Agrees", 0.9, re.compile(r"(i (completely |totally |fully )?agree|agreed|exactly|absolutely|same here|me too|that'?s (so )?(right|true)|that is (so )?(right|true))\b")),
    ("Dissents", 0.9, re.compile(r"(i (don'?t|do not) (agree|think so|see it that way)|i disagree|i'?d push back|i would push back|i see it differently)\b")),
    ("Dissents", 0.6, re.compile(r"(i'?m not (so )?sure|i am not (so )?sure|not (really|necessarily)|actually,? no|but\b|on the other hand|no,)")),
    ("Agrees", 0.6, re.compile(r"((yes|yeah|right|true)[,.!]|same (for|with|in)\b)")),  # "right," agrees; "right now" does not
    ("Adds", 0.6, re.compile(r"(and also|also,|to add|adding to|building on|on top of that|another thing)\b")),
]
OPENING = 60  # characters: a cue counts where the turn opens, not anywhere in it


def cue(text: str) -> tuple[str, float, str] | None:
    """The stance a turn's opening signals, the confidence, and the words it is based on; None if none."""
    opening = text.strip().lower()[:OPENING]
    for stance, confidence, pattern in CUES:
        found = pattern.match(opening)
        if found:
            return stance, confidence, found.group(0).strip(" ,")
    return None


def propose_stances(study: Study, transcripts: Sequence[str] | None = None) -> pd.DataFrame:
    """Propose a stance for every participant turn whose opening signals one and that has no stance coded yet.

    Creates the ``Stance`` code family if the codebook lacks it. Pending stance
    proposals from an earlier run are replaced; a proposal a coder rejected is
    not made again. Returns ``suggestion, transcript, turn, speaker, stance,
    confidence, based_on, text``.
    """
    columns = ["suggestion", "transcript", "turn", "speaker", "stance", "confidence", "based_on", "text"]
    rows = []
    with study.transaction() as session:
        codes = stance_codes(session)
        ids = [c.id for c in codes.values()]
        session.query(Suggestion).filter(Suggestion.code_id.in_(ids), Suggestion.status == "pending").delete(synchronize_session=False)
        rejected = set(session.execute(select(Suggestion.transcript_id, Suggestion.start, Suggestion.end)
                                       .where(Suggestion.code_id.in_(ids), Suggestion.status == "rejected")).all())
        have_stance = set(session.scalars(select(CodingTurn.turn_id).join(Coding, Coding.id == CodingTurn.coding_id).where(Coding.code_id.in_(ids))))
        query = select(Transcript).order_by(Transcript.name)
        if transcripts:
            query = query.where(Transcript.name.in_(list(transcripts)))
        for transcript in session.scalars(query):
            text = transcript.text
            turns = session.execute(select(Turn, Participant.pseudonym).join(Participant, Participant.id == Turn.participant_id)
                                    .where(Turn.transcript_id == transcript.id, Participant.role == "participant").order_by(Turn.ordinal)).all()
            for turn, speaker in turns:
                found = cue(text[turn.start:turn.end])
                if found is None or turn.id in have_stance or (transcript.id, turn.start, turn.end) in rejected:
                    continue
                stance, confidence, words = found
                proposal = Suggestion(code_id=codes[stance].id, transcript_id=transcript.id, start=turn.start, end=turn.end,
                                      confidence=confidence, method=f"stance cue: {words!r}"[:100])
                session.add(proposal)
                session.flush()
                rows.append((proposal.id, transcript.name, turn.ordinal, speaker, stance, confidence, words, text[turn.start:turn.end]))
    return pd.DataFrame(rows, columns=columns)
