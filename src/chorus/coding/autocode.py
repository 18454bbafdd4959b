"""Lexical autocoding: code every match of a pattern or keyword list, by match, sentence or turn.

Autocoding is a first pass a researcher checks, so a dry run shows exactly what
would be coded, and a real run skips places the coder has already coded with the
same code rather than failing. Facilitators' turns are left out unless asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

import pandas as pd
from sqlalchemy import select

from chorus.coding.codings import TurnIndex, add_coding, overlapping_codings
from chorus.errors import ChorusError
from chorus.study.lookup import coder as get_coder
from chorus.study.lookup import find_code, find_transcript
from chorus.study.models import Transcript
from chorus.study.store import Study

Scope = Literal["match", "sentence", "turn"]
SCOPES: tuple[str, ...] = ("match", "sentence", "turn")
#: Characters of the turn shown before and after each unit found (a preview reads the unit in its context).
CONTEXT = 80
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


def compile_pattern(pattern: str | None = None, keywords: Sequence[str] | None = None, ignore_case: bool = True) -> re.Pattern[str]:
    """One regular expression from a pattern or from keywords (matched as whole words)."""
    keywords = [k.strip() for k in keywords or [] if k.strip()]
    if (pattern is None) == (not keywords):
        raise ChorusError("give either a pattern or a keyword list, not both or neither")
    source = pattern if pattern is not None else r"\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b"
    try:
        compiled = re.compile(source, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ChorusError(f"pattern {source!r} is not a valid regular expression: {exc}") from None
    if any(m.end() == m.start() for m in compiled.finditer("a word, and another.")):  # "", "x?", a lone word boundary
        raise ChorusError(f"pattern {source!r} matches empty text and would code everything")
    return compiled


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as absolute spans."""
    spans = []
    position = start
    for boundary in _SENTENCE_END.finditer(text, start, end):
        spans.append((position, boundary.start()))
        position = boundary.end()
    if position < end:
        spans.append((position, end))
    return [(a, b) for a, b in spans if b > a]


def _units(text: str, turn_start: int, turn_end: int, match: re.Match[str], scope: str) -> tuple[int, int]:
    if scope == "match":
        return match.start(), match.end()
    if scope == "turn":
        return turn_start, turn_end
    for a, b in sentence_spans(text, turn_start, turn_end):
        if a <= match.start() < b:
            return a, b
    return match.start(), match.end()


def autocode(
    study: Study,
    code: str,
    coder: str,
    pattern: str | None = None,
    keywords: Sequence[str] | None = None,
    scope: Scope = "turn",
    transcripts: Sequence[str] | None = None,
    include_facilitators: bool = False,
    ignore_case: bool = True,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Code the units (match, sentence or turn) where the pattern or keywords occur.

    Returns one row per unit found: transcript, turn, speaker, start, end, text,
    ``status`` (``coded``, ``already coded``, or ``would code`` in a dry run),
    and up to :data:`CONTEXT` characters of the turn ``before`` and ``after`` it.

    >>> autocode(study, "Funding", "ann", pattern=r"fund|budget|reimburs")   # doctest: +SKIP
    """
    if scope not in SCOPES:
        raise ChorusError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    regex = compile_pattern(pattern, keywords, ignore_case)
    rows = []
    with study.transaction() as session:
        the_code = find_code(session, code)
        the_coder = get_coder(session, coder)
        chosen = (
            [find_transcript(session, name) for name in transcripts]
            if transcripts
            else list(session.scalars(select(Transcript).order_by(Transcript.name)))
        )
        for done, transcript in enumerate(chosen, start=1):
            index = TurnIndex(transcript)
            text = transcript.text
            for turn in index.turns:
                if turn.participant.is_facilitator and not include_facilitators:
                    continue
                units: list[tuple[int, int]] = []
                for match in regex.finditer(text, turn.start, turn.end):
                    unit = _units(text, turn.start, turn.end, match, scope)
                    if unit not in units:
                        units.append(unit)
                for start, end in units:
                    taken = overlapping_codings(session, transcript, the_code, the_coder, start, end)
                    status = "already coded" if taken else ("would code" if dry_run else "coded")
                    if status == "coded":
                        add_coding(session, transcript, the_code, the_coder, start, end, index)
                    rows.append(
                        {
                            "transcript": transcript.name,
                            "turn": turn.ordinal,
                            "speaker": turn.participant.pseudonym,
                            "start": start,
                            "end": end,
                            "text": text[start:end],
                            "status": status,
                            "before": text[max(turn.start, start - CONTEXT) : start],
                            "after": text[end : min(turn.end, end + CONTEXT)],
                        }
                    )
            if progress is not None:
                progress(done, len(chosen))
        if dry_run:
            session.rollback()
    return pd.DataFrame(rows, columns=["transcript", "turn", "speaker", "start", "end", "text", "status"])
