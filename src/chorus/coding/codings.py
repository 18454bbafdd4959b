"""Applying and removing codings on spans of text or whole turns.

A coding is attributed to the speakers of every turn it overlaps; that link is
stored with it, so analysis by discipline never has to re-derive who said what.
Spans are validated on write: inside the text, not empty, covering someone's
words, and not overlapping a coding of the same code by the same coder.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from sqlalchemy import bindparam, func, insert, inspect, select
from sqlalchemy.orm import Session

from chorus.coding.stances import stance_codes, stance_of
from chorus.errors import ChorusError, InputError, NotFound, Refused
from chorus.study.lookup import coder as get_coder
from chorus.study.lookup import coding_targets, find_code, find_transcript
from chorus.study.models import Code, Coder, Coding, CodingTurn, Transcript, Turn
from chorus.study.store import Study


class TurnIndex:
    """Finds the turns a span overlaps in one transcript, by binary search over all its turns, loaded once.

    For coding many spans of a transcript at once (autocoding, imports); a single
    coding asks the database for its few turns instead (:func:`overlapping_turns`).
    """

    def __init__(self, transcript: Transcript):
        self.turns: list[Turn] = list(transcript.turns)
        self.starts = [t.start for t in self.turns]

    def overlapping(self, start: int, end: int) -> list[Turn]:
        """Turns whose words intersect ``[start, end)``."""
        first = max(bisect.bisect_right(self.starts, start) - 1, 0)
        found = []
        for turn in self.turns[first:]:
            if turn.start >= end:
                break
            if turn.end > start:
                found.append(turn)
        return found


# The statements of a single coding and removal, built once with their values as parameters: building one (and the key
# its compiled form is cached under) took longer than running it on SQLite (overlapping_turns: 460-570 µs built each
# time, 210-225 µs built once).
_START, _END = bindparam("start"), bindparam("end")
_OVERLAPPING_TURNS = (
    select(Turn).where(Turn.transcript_id == bindparam("transcript"), Turn.start < _END, Turn.end > _START).order_by(Turn.start)
)
_OVERLAPPING_CODINGS = select(Coding).where(
    Coding.transcript_id == bindparam("transcript"), Coding.code_id == bindparam("code"), Coding.coder_id == bindparam("coder"),
    Coding.start < _END, Coding.end > _START,
)
_ATTRIBUTE = insert(CodingTurn.__table__)
_CODING_AND_CODER = select(Coding, Coder.name).join(Coder, Coding.coder_id == Coder.id).where(Coding.id == bindparam("coding"))


def overlapping_turns(session: Session, transcript: Transcript, start: int, end: int) -> list[Turn]:
    """The turns whose words intersect ``[start, end)``, found by the turn index: the other turns are not loaded."""
    return list(session.scalars(_OVERLAPPING_TURNS, {"transcript": transcript.id, "start": start, "end": end}))


def numbered_turn(session: Session, transcript: Transcript, ordinal: int) -> Turn:
    """The turn numbered ``ordinal`` (1 is the first), loaded alone."""
    turn = session.scalar(select(Turn).where(Turn.transcript_id == transcript.id, Turn.ordinal == ordinal))
    if turn is None:
        count = session.scalar(select(func.count()).select_from(Turn).where(Turn.transcript_id == transcript.id))
        raise ChorusError(f"there is no turn {ordinal}; the transcript has turns 1-{count}")
    return turn


def text_length(session: Session, transcript: Transcript) -> int:
    """How many characters the transcript's text has, counted by the database when the text is not loaded."""
    if "text" not in inspect(transcript).unloaded:
        return len(transcript.text)
    if transcript.length is not None:  # counted when it was read (find_transcript with text=False)
        return transcript.length
    return int(session.scalar(select(func.length(Transcript.text)).where(Transcript.id == transcript.id)))


def check_span(session: Session, transcript: Transcript, start: int, end: int) -> None:
    """Refuse spans outside the text or empty, naming the transcript and its length."""
    length = text_length(session, transcript)
    if not (isinstance(start, int) and isinstance(end, int)):
        raise ChorusError("span start and end must be whole numbers (character offsets)")
    if not 0 <= start < end <= length:
        raise ChorusError(
            f"span [{start}, {end}) does not fit transcript {transcript.name!r}, "
            f"which has characters 0-{length}; start must be before end"
        )


def overlapping_codings(session: Session, transcript: Transcript, code: Code, coder: Coder, start: int, end: int) -> list[Coding]:
    """Codings of ``code`` by ``coder`` in the transcript that intersect ``[start, end)``."""
    return list(session.scalars(_OVERLAPPING_CODINGS, {"transcript": transcript.id, "code": code.id, "coder": coder.id, "start": start, "end": end}))


def add_coding(
    session: Session,
    transcript: Transcript,
    code: Code,
    coder: Coder,
    start: int,
    end: int,
    index: TurnIndex | None = None,
) -> Coding:
    """Store one validated coding with its speaker attribution, in the caller's transaction.

    ``index`` serves many codings of one transcript; without it, only the turns the
    span overlaps are read, so one coding costs the same in a short or a long transcript.
    """
    check_span(session, transcript, start, end)
    clash = overlapping_codings(session, transcript, code, coder, start, end)
    if clash:
        other = clash[0]
        raise ChorusError(
            f"span [{start}, {end}) overlaps coding #{other.id} [{other.start}, {other.end}) of "
            f"{code.name!r} by {coder.name} in {transcript.name!r}; remove that coding or code one span"
        )
    turns = index.overlapping(start, end) if index else overlapping_turns(session, transcript, start, end)
    if not turns:
        raise ChorusError(f"span [{start}, {end}) holds only a speaker's name, no one's words")
    coding = Coding(transcript=transcript, code=code, coder=coder, start=start, end=end)
    session.add(coding)
    session.flush()
    # attribution rows are not audited (the coding is) and nothing reads them as objects: inserted as rows, not through the unit of work
    session.connection().execute(_ATTRIBUTE, CodingTurn.rows(coding, turns))
    return coding


def _span(session: Session, transcript: Transcript, turn: int | None, start: int | None, end: int | None) -> tuple[int, int]:
    if turn is not None:
        if start is not None or end is not None:
            raise ChorusError("give either a turn or a span (start and end), not both")
        chosen = numbered_turn(session, transcript, turn)
        return chosen.start, chosen.end
    if start is None or end is None:
        raise ChorusError("give a turn (--turn N) or a span (--start and --end)")
    return start, end


def apply_code(
    study: Study,
    transcript: str,
    code: str,
    coder: str,
    turn: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> int:
    """Code a whole turn (numbered from 1) or the span ``[start, end)``; returns the coding's id.

    A stance (``Stance/Agrees``, ...) needs no code made first: the built-in
    family (:mod:`chorus.coding.stances`) is added to the codebook when it is used.

    >>> apply_code(study, "FG03", "Early integration", "ann", turn=17)      # doctest: +SKIP
    412
    """
    with study.transaction() as session:
        if stance_of(code):
            stance_codes(session)
        the_transcript, the_code, the_coder = coding_targets(session, transcript, code, coder)
        first, last = _span(session, the_transcript, turn, start, end)
        return add_coding(session, the_transcript, the_code, the_coder, first, last).id


def import_codings(study: Study, path: str | Path) -> int:
    """Store codings from a table (CSV or XLSX): ``transcript, code, coder`` and ``turn`` or ``start, end``.

    Coding done elsewhere (a spreadsheet, another tool's export) comes in as one
    transaction: a row with an unknown transcript or code, no coder, or a turn
    the transcript lacks stops the import with its file and row, and nothing
    is stored. Returns how many codings were stored.

    >>> import_codings(study, "codings.csv")                   # doctest: +SKIP
    82
    """
    from chorus.ingest.files import read_table

    rows = read_table(path)
    with study.transaction() as session:
        transcripts: dict[str, tuple[Transcript, TurnIndex]] = {}
        for row in rows:
            values = row.values
            try:
                missing = [c for c in ("transcript", "code", "coder") if not str(values.get(c, "")).strip()]
                if missing:
                    raise ChorusError(f"no {' or '.join(missing)}")
                name = str(values["transcript"]).strip()
                if name not in transcripts:
                    found = find_transcript(session, name, text=True)
                    transcripts[name] = (found, TurnIndex(found))
                transcript, index = transcripts[name]
                turn = int(values["turn"]) if "turn" in values else None
                start = int(values["start"]) if "start" in values else None
                end = int(values["end"]) if "end" in values else None
                first, last = _span(session, transcript, turn, start, end)
                add_coding(session, transcript, find_code(session, str(values["code"]).strip()),
                           get_coder(session, str(values["coder"]).strip()), first, last, index)
            except (ChorusError, ValueError) as problem:
                raise InputError(str(problem), path=path, place=row.place) from None
        return len(rows)


def remove_code(
    study: Study,
    transcript: str,
    code: str,
    coder: str,
    turn: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> int:
    """Remove the coder's codings of ``code`` that intersect a turn or span; returns how many."""
    with study.transaction() as session:
        the_transcript, the_code, the_coder = coding_targets(session, transcript, code, coder)
        first, last = _span(session, the_transcript, turn, start, end)
        check_span(session, the_transcript, first, last)
        found = overlapping_codings(session, the_transcript, the_code, the_coder, first, last)
        if not found:
            raise ChorusError(f"{coder} has no coding of {code!r} there to remove")
        for coding in found:
            session.delete(coding)
        return len(found)


def remove_coding(study: Study, coding_id: int, only_by: str | None = None) -> None:
    """Remove one coding by its id (as listed by ``chorus segments``).

    ``only_by``: remove it only if that coder made it, else :class:`~chorus.errors.Refused`
    (the web app's coders remove only their own codings). The check and the
    removal are one transaction, so the coding cannot change hands in between.
    """
    with study.transaction() as session:
        found = session.execute(_CODING_AND_CODER, {"coding": coding_id}).first()
        if found is None:
            raise NotFound(f"there is no coding #{coding_id}")
        coding, made_by = found
        if only_by is not None and made_by != only_by:
            raise Refused(f"coding #{coding_id} is {made_by}'s; coders remove only their own")
        session.delete(coding)
