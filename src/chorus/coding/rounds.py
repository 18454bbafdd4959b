"""Blind rounds of independent coding, so agreement between coders is honest.

An owner opens a round naming its coders and the transcripts they code; while it
is open each of them sees and counts only their own codings, everywhere the
web app reads codings (:func:`chorus.study.seeing.seeing_only` narrows every query
of their requests). Closing the round lifts that; agreement between the coders
is then computed on what they coded apart. One round is open at a time.

>>> open_round(study, ["ann", "ben"], ["FG01", "FG02"], "pilot")      # doctest: +SKIP
1
>>> blind(study, "ann")                                              # doctest: +SKIP
True
>>> close_round(study)                                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import ScalarSelect, select

from chorus.errors import ChorusError
from chorus.study.lookup import find_transcript
from chorus.study.models import BlindRound, utcnow
from chorus.study.store import Study


def open_round(study: Study, coders: Sequence[str], transcripts: Sequence[str], label: str | None = None) -> int:
    """Open a blind round for ``coders`` (two or more) on ``transcripts``; its number."""
    coders = sorted({c.strip() for c in coders if c.strip()})
    if len(coders) < 2:
        raise ChorusError("a blind round needs at least two coders")
    if not transcripts:
        raise ChorusError("name the transcripts the round's coders code")
    with study.transaction() as session:
        if session.scalar(select(BlindRound.id).where(BlindRound.closed_at.is_(None))) is not None:
            raise ChorusError("a blind round is open already; close it first")
        names = [find_transcript(session, name, text=False).name for name in transcripts]
        opened = BlindRound(label=label or None, coders=coders, transcripts=names, opened_by=session.info.get("actor") or study.actor)
        session.add(opened)
        session.flush()
        return opened.id


def close_round(study: Study) -> dict[str, object]:
    """Close the open round: its coders see everyone's codings again. Returns its ``id, label, coders, transcripts``."""
    with study.transaction() as session:
        found = session.scalar(select(BlindRound).where(BlindRound.closed_at.is_(None)))
        if found is None:
            raise ChorusError("no blind round is open")
        found.closed_at = utcnow()
        return {"id": found.id, "label": found.label or "", "coders": list(found.coders), "transcripts": list(found.transcripts)}


def rounds(study: Study) -> pd.DataFrame:
    """Every round, newest first: ``id, label, coders, transcripts, opened_by, opened_at, closed_at``."""
    with study.reading() as session:
        rows = [
            {"id": r.id, "label": r.label or "", "coders": list(r.coders), "transcripts": list(r.transcripts),
             "opened_by": r.opened_by, "opened_at": r.opened_at, "closed_at": r.closed_at}
            for r in session.scalars(select(BlindRound).order_by(BlindRound.id.desc()))
        ]
    return pd.DataFrame(rows, columns=["id", "label", "coders", "transcripts", "opened_by", "opened_at", "closed_at"])


def blind(study: Study, coder: str) -> bool:
    """Whether ``coder`` is in the open round, and so sees only their own codings."""
    with study.reading() as session:
        return blind_among(session.scalar(select(open_round_coders())), coder)


def open_round_coders() -> ScalarSelect[list[str] | None]:
    """The open round's coders (None when no round is open), as a column to read beside others in one query.

    The web app reads it with the person asking, in its one per-request query of who that is.
    """
    return select(BlindRound.coders).where(BlindRound.closed_at.is_(None)).limit(1).scalar_subquery()


def blind_among(coders: list[str] | None, coder: str) -> bool:
    """Whether ``coder`` is one of an open round's ``coders`` (as :func:`open_round_coders` reads them)."""
    return bool(coders) and coder in coders
