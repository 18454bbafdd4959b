"""Whose codings a reader sees: everyone's, or (a coder in an open blind round) only their own.

:func:`seeing_only` sets it for a context (a web request); every ORM query of a
study's sessions is then narrowed (:func:`only_seen`, hooked in by
:class:`chorus.study.store.Study`), and the fast readers that skip the ORM narrow
their queries with :func:`narrowed`; the audit trail hides others' coding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from chorus.study.models import Coder, Coding, CodingTurn

#: The coder whose codings alone are seen in this context (a coder in an open blind round), or None: everyone's.
SEEING: ContextVar[str | None] = ContextVar("chorus_seeing", default=None)
#: Records whose audit entries would tell a blind coder what others coded, or who else is at work; they see their own only.
CODING_RECORDS = ("coding", "coder", "suggestion", "sign_in")


@contextmanager
def seeing_only(coder: str | None) -> Iterator[None]:
    """Reads inside see only ``coder``'s codings (None: everyone's), wherever they are read: a blind round's view.

    Every ORM query of a study's sessions is narrowed, so transcript margins,
    segments, matrices, themes, exports and suggestions all count the same codings.
    """
    token = SEEING.set(coder)
    try:
        yield
    finally:
        SEEING.reset(token)


def _seen_codings(name: str) -> tuple[Any, Any]:
    """The conditions that keep only ``name``'s codings: on ``coding``, and on ``coding_turn``."""
    mine = select(Coder.id).where(Coder.name == name).scalar_subquery()
    return Coding.coder_id == mine, CodingTurn.coding_id.in_(select(Coding.id).where(Coding.coder_id == mine))


def only_seen(state: ORMExecuteState) -> None:
    """Narrow an ORM query to the codings :data:`SEEING` names (a ``do_orm_execute`` hook)."""
    name = SEEING.get()
    if name is None or not state.is_select:
        return
    on_coding, on_turns = _seen_codings(name)
    state.statement = state.statement.options(
        with_loader_criteria(Coding, on_coding, include_aliases=True), with_loader_criteria(CodingTurn, on_turns, include_aliases=True)
    )


def narrowed(query: Select) -> Select:
    """``query`` narrowed as :func:`seeing_only` narrows ORM queries, for a query run on the connection itself.

    The fast readers of :mod:`chorus.analysis.frames` skip the ORM (a Row object
    per row costs more than the query), so they narrow their queries here.
    """
    name = SEEING.get()
    if name is None:
        return query
    tables = {table.name for table in find_tables(query, include_joins=True)}
    on_coding, on_turns = _seen_codings(name)
    if "coding" in tables:
        query = query.where(on_coding)
    if "coding_turn" in tables:
        query = query.where(on_turns)
    return query
