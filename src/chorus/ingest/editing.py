"""Changing a transcript's text after it is stored, keeping turns and codings on the words they were on.

De-identification replaces names with tags, and the transcript editor fixes
what the recogniser misheard or who said it; both go through
:func:`replace_spans` and :func:`reanchor`, so codings on unchanged text stay
exactly where they were and the audit trail records the change.

>>> edit_turn(study, "FG01", 12, text="We call palliative care at diagnosis.")   # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from chorus.errors import ChorusError
from chorus.study.lookup import find_transcript
from chorus.study.models import Coding, CodingTurn, Participant, Transcript, Turn
from chorus.study.store import Study


def replace_spans(text: str, edits: list[tuple[int, int, str]]) -> tuple[str, Callable[[int, str], int]]:
    """The text with each span ``[start, end)`` replaced (edits in order, not overlapping), and a map from old offsets to new.

    ``moved(at, side)`` is where old offset ``at`` is now; one inside a replaced
    span snaps to the replacement's start or end (``side``), so a coding that
    covered changed words still covers what replaced them.

    >>> text, moved = replace_spans("Ask Dr Lee today", [(4, 10, "[PERSON-1]")])
    >>> text, moved(11, "start")
    ('Ask [PERSON-1] today', 15)
    """
    pieces, position = [], 0
    shifts: list[tuple[int, int, int, int]] = []  # old start, old end, new start, new end
    offset = 0
    for start, end, tag in edits:
        pieces.append(text[position:start])
        pieces.append(tag)
        shifts.append((start, end, start + offset, start + offset + len(tag)))
        offset += len(tag) - (end - start)
        position = end
    pieces.append(text[position:])

    def moved(at: int, side: str) -> int:
        delta = 0
        for old_start, old_end, new_start, new_end in shifts:
            if at <= old_start:
                break
            if at < old_end:  # inside a replaced span: snap to the tag's edge
                return new_start if side == "start" else new_end
            delta = new_end - old_end
        return at + delta

    return "".join(pieces), moved


def reanchor(session: Any, transcript: Transcript, moved: Callable[[int, str], int]) -> None:
    """Move the transcript's turns, word times and codings to where ``moved`` says their text went."""
    for turn in session.scalars(select(Turn).where(Turn.transcript_id == transcript.id)):
        turn.start, turn.end = moved(turn.start, "start"), moved(turn.end, "end")
        if turn.words:  # word times of a transcribed recording: a replaced name's words become its tag
            turn.words = [[moved(int(a), "start"), moved(int(b), "end"), s, e] for a, b, s, e in turn.words]
    for coding in session.scalars(select(Coding).where(Coding.transcript_id == transcript.id)):
        coding.start, coding.end = moved(coding.start, "start"), moved(coding.end, "end")


def edit_turn(study: Study, transcript: str, turn: int, text: str | None = None, speaker: str | None = None) -> int:
    """Change what turn ``turn`` (numbered from 1) says, or who said it (roster id or pseudonym), in one transaction.

    Only the characters that differ are replaced, so codings on the rest of the
    turn, and on every other turn, keep their words. A new speaker's name also
    replaces the ``Name:`` the text shows before the turn. Returns how many
    codings overlap the changed characters (they now cover the new words).
    """
    if text is not None and (not text.strip() or "\n" in text.strip()):
        raise ChorusError("a turn's text is one paragraph, not empty; split or join turns in the transcript file")
    with study.transaction() as session:
        the_transcript = find_transcript(session, transcript)
        the_turn = session.scalar(select(Turn).where(Turn.transcript_id == the_transcript.id, Turn.ordinal == turn))
        if the_turn is None:
            raise ChorusError(f"{the_transcript.name} has no turn {turn} (it has {len(the_transcript.turns)})")
        edits: list[tuple[int, int, str]] = []
        person = None
        if speaker is not None:
            person = session.scalar(select(Participant).where((Participant.key == speaker) | (Participant.pseudonym == speaker)))
            if person is None:
                raise ChorusError(f"no participant {speaker!r} on the roster")
            old = f"{the_turn.participant.pseudonym}: "
            at = the_turn.start - len(old)
            if at >= 0 and the_transcript.text[at:the_turn.start] == old and person.id != the_turn.participant_id:
                edits.append((at, the_turn.start, f"{person.pseudonym}: "))
        if text is not None:
            before = the_transcript.text[the_turn.start:the_turn.end]
            after = text.strip()
            matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
            edits += [
                (the_turn.start + a1, the_turn.start + a2, after[b1:b2])
                for op, a1, a2, b1, b2 in matcher.get_opcodes() if op != "equal"
            ]
        touched = 0
        if edits:
            edits.sort()
            changed = [(s, e) for s, e, _ in edits]
            touched = sum(
                1 for start, end in session.execute(select(Coding.start, Coding.end).where(Coding.transcript_id == the_transcript.id))
                if any(start < e and s < end or (s == e and start < s < end) for s, e in changed)
            )
            new_text, moved = replace_spans(the_transcript.text, edits)
            reanchor(session, the_transcript, moved)
            if text is not None:  # words added at its very end are the turn's too, not the gap after it
                the_turn.end = the_turn.start + len(text.strip())
            the_transcript.text = new_text
            the_transcript.sha256 = hashlib.sha256(new_text.encode("utf-8")).hexdigest()
        if person is not None and person.id != the_turn.participant_id:
            the_turn.participant_id, the_turn.speaker_label = person.id, person.pseudonym
            session.execute(update(CodingTurn).where(CodingTurn.turn_id == the_turn.id).values(participant_id=person.id))
        return touched
