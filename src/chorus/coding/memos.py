"""Memos: the analyst's notes on codes, transcripts, codings, or the study as a whole."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from chorus.errors import ChorusError, NotFound
from chorus.study.lookup import code_path, find_code, find_transcript
from chorus.study.lookup import coder as get_coder
from chorus.study.models import Code, Coding, Memo, Transcript
from chorus.study.store import Study


def add_memo(
    study: Study,
    text: str,
    coder: str,
    code: str | None = None,
    transcript: str | None = None,
    coding: int | None = None,
    title: str | None = None,
) -> int:
    """Write a memo (with a ``title`` if given) on at most one of a code, a transcript or a coding; returns its id.

    >>> add_memo(study, "Nurses link this to moral distress", "ann", code="Funding")  # doctest: +SKIP
    """
    if sum(x is not None for x in (code, transcript, coding)) > 1:
        raise ChorusError("a memo is about one thing: a code, a transcript or a coding")
    if not text.strip():
        raise ChorusError("the memo is empty")
    with study.transaction() as session:
        memo = Memo(text=text, coder=get_coder(session, coder), title=(title or "").strip()[:200] or None)
        if code is not None:
            memo.code_id = find_code(session, code).id
        if transcript is not None:
            memo.transcript_id = find_transcript(session, transcript).id
        if coding is not None:
            if session.get(Coding, coding) is None:
                raise NotFound(f"there is no coding #{coding}")
            memo.coding_id = coding
        session.add(memo)
        session.flush()
        return memo.id


def memos(study: Study) -> pd.DataFrame:
    """Every memo: id, what it is about, its author, when, its title (imported notes have one), and its text."""
    with study.reading() as session:
        rows = []
        for memo in session.scalars(select(Memo).order_by(Memo.id)):
            if memo.code_id is not None:
                about = "code " + code_path(session.get(Code, memo.code_id))
            elif memo.transcript_id is not None:
                about = "transcript " + session.get(Transcript, memo.transcript_id).name
            elif memo.coding_id is not None:
                about = f"coding #{memo.coding_id}"
            else:
                about = "study"
            rows.append(
                {"id": memo.id, "about": about, "coder": memo.coder.name, "created_at": memo.created_at, "title": memo.title, "text": memo.text}
            )
    return pd.DataFrame(rows, columns=["id", "about", "coder", "created_at", "title", "text"])
