"""Retrieving coded segments, and boolean code queries over turns.

>>> segments(study, code="Collaboration", discipline="nurse")       # doctest: +SKIP
>>> query(study, "Funding AND NOT (Collaboration OR Communication)")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from chorus.analysis import frames
from chorus.errors import ChorusError
from chorus.study.counting import Basis, Counting, counting
from chorus.study.lookup import code_paths, descendants, find_code
from chorus.study.models import Coder, Coding, CodingTurn, Group, Participant, Transcript, Turn
from chorus.study.store import Study

SEGMENT_COLUMNS = [
    "coding_id", "code", "coder", "transcript", "group", "turn", "speaker", "discipline",
    "care_team", "start", "end", "start_time", "text",
]


def segments(
    study: Study,
    code: str | Sequence[str] | None = None,
    discipline: str | None = None,
    group: str | None = None,
    coder: str | None = None,
    transcript: str | None = None,
    subcodes: bool = True,
    facilitators: bool = False,
    limit: int | None = None,
    basis: Basis | str | None = None,
) -> pd.DataFrame:
    """Coded segments with their code, coder, speaker, discipline, group and text.

    One row per coding and turn it overlaps (its ``start``/``end`` clipped to that
    turn), of the codings the findings count (``basis``, :mod:`chorus.study.counting`:
    by default the consensus where one is written, a passage several coders gave
    the same code once). ``code`` includes the code's subcodes unless ``subcodes``
    is False. ``limit`` keeps the first rows only (a page shows 500;
    :func:`count_segments` says how many there are in all).
    """
    with study.reading() as session:
        counted = counting(session, basis)
        query = _segment_query(session, study, counted, code, discipline, group, coder, transcript, subcodes, facilitators)
        if limit is None or not counted.single:  # sorted here, which costs less than the database's sort of the whole join
            frame = frames.rows_frame(session, query.order_by(None).add_columns(
                Coding.start.label("coding_start"), CodingTurn.turn_id, Coding.coder_id))
            if not counted.single:
                frame = frame[frames.once_per_passage(frame)]
            frame = frame.sort_values(["transcript", "coding_start", "coding_id", "turn"], kind="stable").head(limit)
        else:
            frame = frames.rows_frame(session, query.limit(limit))
        if frame.empty:
            return pd.DataFrame(columns=SEGMENT_COLUMNS)
        paths = code_paths(session)
        frame["code"] = frame["code_id"].map(paths)
        frame["text"] = frames.span_texts(session, frame["transcript_id"], frame["start"], frame["end"])
    frame["start_time"] = frame["start_time"].astype(float)  # seconds, NaN where untimed, whichever rows came back
    return frame[SEGMENT_COLUMNS].reset_index(drop=True)


def count_segments(
    study: Study,
    code: str | Sequence[str] | None = None,
    discipline: str | None = None,
    group: str | None = None,
    coder: str | None = None,
    transcript: str | None = None,
    subcodes: bool = True,
    facilitators: bool = False,
    basis: Basis | str | None = None,
) -> int:
    """How many rows :func:`segments` gives for the same filters and basis, counted in the database where it can be."""
    with study.reading() as session:
        counted = counting(session, basis)
        if not counted.single:
            return len(segments(study, code, discipline, group, coder, transcript, subcodes, facilitators, basis=counted.basis))
        query = _segment_query(session, study, counted, code, discipline, group, coder, transcript, subcodes, facilitators)
        return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())))


def _segment_query(
    session: Session, study: Study, counted: Counting, code: str | Sequence[str] | None, discipline: str | None, group: str | None,
    coder: str | None, transcript: str | None, subcodes: bool, facilitators: bool,
) -> Select:
    """The query behind :func:`segments` and :func:`count_segments`: the codings ``counted``, filters applied."""
    query = (
        select(
            Coding.id.label("coding_id"),
            Coding.code_id,
            Coder.name.label("coder"),
            Transcript.name.label("transcript"),
            Group.name.label("group"),
            Turn.ordinal.label("turn"),
            Participant.pseudonym.label("speaker"),
            Participant.discipline,
            Participant.care_team,
            func.max(Coding.start, Turn.start).label("start")
            if study.dialect == "sqlite"
            else func.greatest(Coding.start, Turn.start).label("start"),
            func.min(Coding.end, Turn.end).label("end")
            if study.dialect == "sqlite"
            else func.least(Coding.end, Turn.end).label("end"),
            Turn.start_time,
            Coding.transcript_id,
        )
        .select_from(CodingTurn)
        .join(Coding, Coding.id == CodingTurn.coding_id)
        .join(Turn, Turn.id == CodingTurn.turn_id)
        .join(Participant, Participant.id == Turn.participant_id)
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Group, Group.id == Transcript.group_id)
        .join(Coder, Coder.id == Coding.coder_id)
        .order_by(Transcript.name, Coding.start, Coding.id, Turn.ordinal)
    )
    clause = counted.clause()
    if clause is not None:
        query = query.where(clause)
    if code is not None:
        names = [code] if isinstance(code, str) else list(code)
        ids: set[int] = set()
        for name in names:
            found = find_code(session, name)
            ids.update(c.id for c in (descendants(found) if subcodes else [found]))
        query = query.where(Coding.code_id.in_(ids))
    if discipline is not None:
        query = query.where(func.lower(Participant.discipline) == discipline.lower())
    if group is not None:
        query = query.where(Group.name == group)
    if coder is not None:
        query = query.where(Coder.name == coder)
    if transcript is not None:
        query = query.where(Transcript.name == transcript)
    if not facilitators:
        query = query.where(Participant.role == "participant")
    return query


# --- boolean queries ----------------------------------------------------------------------

_PIECE = re.compile(r'\s*(\(|\)|"[^"]*"|[^()"\s]+)')
_OPERATORS = ("(", ")", "AND", "OR", "NOT")


def _tokens(expression: str) -> list[str]:
    """Operators, parentheses and code names (several words make one name; quotes allowed)."""
    tokens: list[str] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            tokens.append("code:" + " ".join(words))
            words.clear()

    position = 0
    while expression[position:].strip():
        match = _PIECE.match(expression, position)
        if match is None:
            raise ChorusError(f"cannot read the query at {expression[position:]!r}")
        piece = match[1]
        position = match.end()
        if piece in _OPERATORS:
            flush()
            tokens.append(piece)
        elif piece.startswith('"'):
            flush()
            tokens.append("code:" + piece.strip('"'))
        else:
            words.append(piece)
    flush()
    return tokens


class _Parser:
    """Recursive descent over ``OR`` of ``AND`` of ``NOT``/atoms, evaluated on sets of turn ids."""

    def __init__(self, tokens: list[str], lookup, universe: set[int]):  # noqa: ANN001 - callable
        self.tokens, self.lookup, self.universe, self.at = tokens, lookup, universe, 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ChorusError("the query ends too early")
        self.at += 1
        return token

    def disjunction(self) -> set[int]:
        result = self.conjunction()
        while self.peek() == "OR":
            self.take()
            result = result | self.conjunction()
        return result

    def conjunction(self) -> set[int]:
        result = self.negation()
        while self.peek() == "AND":
            self.take()
            result = result & self.negation()
        return result

    def negation(self) -> set[int]:
        if self.peek() == "NOT":
            self.take()
            return self.universe - self.negation()
        token = self.take()
        if token == "(":
            result = self.disjunction()
            if self.peek() != ")":
                raise ChorusError("a '(' in the query is not closed")
            self.take()
            return result
        if token.startswith("code:"):
            return self.lookup(token[5:])
        raise ChorusError(f"unexpected {token!r} in the query")


def query(study: Study, expression: str, facilitators: bool = False, basis: Basis | str | None = None) -> pd.DataFrame:
    """Turns where a boolean combination of codes holds: ``A AND (B OR NOT C)``.

    Codes co-occur when they are applied in the same turn (in the coding the
    findings count, ``basis``: :mod:`chorus.study.counting`); a code includes its
    subcodes. Names with spaces need no quotes; quotes are allowed.
    """
    with study.reading() as session:
        turn_table = frames.turns(session, facilitators)
        universe = set(turn_table["turn_id"])
        pairs = frames.coded_turns(session, counting(session, basis), facilitators)

        def lookup(name: str) -> set[int]:
            ids = [c.id for c in descendants(find_code(session, name))]
            return set(pairs.loc[pairs["code_id"].isin(ids), "turn_id"].tolist()) & universe

        parser = _Parser(_tokens(expression), lookup, universe)
        matched = parser.disjunction()
        if parser.peek() is not None:
            raise ChorusError(f"unexpected {parser.peek()!r} in the query")
    columns = ["transcript", "group", "turn", "speaker", "discipline", "text"]
    return turn_table[turn_table["turn_id"].isin(matched)][columns].reset_index(drop=True)
