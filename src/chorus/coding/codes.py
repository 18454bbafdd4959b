"""Editing the codebook: add, update, rename, move, merge and delete codes without losing codings."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select, update

from chorus.errors import ChorusError, EditConflict
from chorus.study.codebook import CODE_FIELDS, add_code, check_colour, code_description, sibling
from chorus.study.lookup import all_codes, code_path, descendants, find_code, in_codebook_order
from chorus.study.models import Code, CodeSet, Coding, Memo
from chorus.study.store import Study


def add(study: Study, name: str, parent: str | None = None, **fields: str | None) -> str:
    """Add a code (under ``parent``, a name or path); returns its path.

    >>> add(study, "Funding", parent="Challenges", definition="Money for PC services")  # doctest: +SKIP
    'Challenges/Funding'
    """
    with study.transaction() as session:
        the_parent = find_code(session, parent) if parent else None
        return code_path(add_code(session, name, the_parent, **fields))


def _check_version(code: Code, version: int | None) -> None:
    if version is not None and code.version != version:
        raise EditConflict(
            f"code {code.name!r} was changed by someone else since you opened it (version {version}, now {code.version}); "
            "reload and make your change again"
        )


def _describe(code: Code, fields: dict[str, str | None]) -> None:
    unknown = set(fields) - set(CODE_FIELDS)
    if unknown:
        raise ChorusError(f"unknown code fields: {', '.join(sorted(unknown))}")
    for key, value in fields.items():
        setattr(code, key, check_colour(value) if key == "colour" else value)


def _rename(session, code: Code, new_name: str) -> None:  # noqa: ANN001 - Session
    new_name = new_name.strip()
    if not new_name or "/" in new_name:
        raise ChorusError(f"code name {new_name!r} must be non-empty and contain no '/'")
    if sibling(session, code.parent, new_name) is not None:
        raise ChorusError(f"a code {new_name!r} already sits beside {code.name!r}")
    code.name = new_name


def _move(session, code: Code, parent: str | None) -> None:  # noqa: ANN001 - Session
    new_parent = find_code(session, parent) if parent else None
    if new_parent is not None and new_parent in descendants(code):
        raise ChorusError(f"cannot move {code.name!r} under itself or one of its subcodes")
    if sibling(session, new_parent, code.name) not in (None, code):
        raise ChorusError(f"there is already a code {code.name!r} there; rename one first")
    code.parent = new_parent


def describe(study: Study, name: str, version: int | None = None, **fields: str | None) -> None:
    """Change a code's colour, definition, inclusion or exclusion criteria, or example.

    With ``version`` (as read with the code), the change is refused with
    :class:`EditConflict` if someone changed the code in between.
    """
    edit(study, name, version, **fields)


def rename(study: Study, name: str, new_name: str, version: int | None = None) -> None:
    """Give a code a new name; its codings and subcodes stay with it (``version``: as in :func:`describe`)."""
    edit(study, name, version, new_name=new_name)


def move(study: Study, name: str, parent: str | None) -> None:
    """Put a code (with its subcodes and codings) under another parent, or at the top."""
    edit(study, name, parent=parent or "")


def edit(
    study: Study,
    name: str,
    version: int | None = None,
    new_name: str | None = None,
    parent: str | None = None,
    **fields: str | None,
) -> None:
    """Describe, rename and move a code in one transaction: all of it is done, or none.

    ``parent`` is the code to move it under (``""``: the top level; ``None``: where
    it is). With ``version``, the edit is refused with :class:`EditConflict` if
    someone changed the code since it was read.

    >>> edit(study, "Challenges/Funding", version=3, new_name="Money", parent="", colour="#e15759")  # doctest: +SKIP
    """
    with study.transaction() as session:
        code = find_code(session, name)
        _check_version(code, version)
        _describe(code, fields)
        if new_name is not None:
            _rename(session, code, new_name)
        if parent is not None:
            _move(session, code, parent)


def _fold_into(session, source: Code, target: Code) -> int:  # noqa: ANN001 - Session
    """Move the source's codings, memos and subcodes to the target; returns codings moved."""
    moved = 0
    for coding in session.scalars(select(Coding).where(Coding.code_id == source.id)):
        twin = session.scalar(
            select(Coding.id).where(
                Coding.code_id == target.id,
                Coding.transcript_id == coding.transcript_id,
                Coding.coder_id == coding.coder_id,
                Coding.start == coding.start,
                Coding.end == coding.end,
            )
        )
        if twin is None:
            coding.code = target
            moved += 1
        else:
            session.delete(coding)
    session.execute(update(Memo).where(Memo.code_id == source.id).values(code_id=target.id))
    for child in list(source.children):
        if sibling(session, target, child.name) is not None:
            raise ChorusError(f"both codes have a subcode {child.name!r}; merge or rename those first")
        child.parent = target
    session.flush()
    return moved


def merge(study: Study, source: str, target: str) -> int:
    """Merge ``source`` into ``target``: its codings, memos and subcodes join the target.

    Identical codings (same span, coder) are kept once. Returns the codings moved.
    """
    with study.transaction() as session:
        the_source, the_target = find_code(session, source), find_code(session, target)
        if the_target in descendants(the_source):
            raise ChorusError(f"cannot merge {source!r} into itself or one of its subcodes")
        moved = _fold_into(session, the_source, the_target)
        session.delete(the_source)
        return moved


def delete(study: Study, name: str, discard_codings: bool = False) -> int:
    """Delete a code. Its subcodes move up to its parent; so do its codings.

    A top-level code with codings keeps them unless ``discard_codings`` is set:
    nothing is lost by accident. Returns the number of codings discarded.
    """
    with study.transaction() as session:
        code = find_code(session, name)
        codings = session.scalars(select(Coding).where(Coding.code_id == code.id)).all()
        if code.parent is not None:
            _fold_into(session, code, code.parent)
            discarded = 0
        else:
            if codings and not discard_codings:
                raise ChorusError(
                    f"{code.name!r} has {len(codings)} codings and no parent to pass them to; "
                    "merge it into another code, or delete with --discard-codings"
                )
            for child in list(code.children):
                if sibling(session, None, child.name) is not None:
                    raise ChorusError(f"a top-level code {child.name!r} exists already; rename the subcode first")
                child.parent = None
            for coding in codings:
                session.delete(coding)
            discarded = len(codings)
        session.flush()
        session.delete(code)
        return discarded


def code_sets(study: Study) -> pd.DataFrame:
    """The code sets (MAXQDA's code sets, ATLAS.ti's code groups): one row per set and member code, in code order.

    >>> code_sets(study)                                       # doctest: +SKIP
              set                   code  description
    0  Barriers  Challenges/Funding           ...
    """
    with study.reading() as session:
        codebook = all_codes(session)
        rows = [
            {"set": code_set.name, "code": code_path(code), "description": code_set.description or ""}
            for code_set in session.scalars(select(CodeSet).order_by(CodeSet.name))
            for code in in_codebook_order(code_set.codes, codebook)
        ]
    return pd.DataFrame(rows, columns=["set", "code", "description"])


def codebook(study: Study) -> pd.DataFrame:
    """The codebook as a table: path, name, parent, colour, definition, criteria, example, codings, version.

    ``description`` holds the definition and criteria in one text, as REFI-QDA
    writes them, for tools with one description field (Taguette reads the
    saved table as a codebook by its ``path`` and ``description`` columns).
    """
    with study.reading() as session:
        counts = dict(session.execute(select(Coding.code_id, func.count()).group_by(Coding.code_id)).all())
        rows = [
            {
                "path": code_path(c),
                "code": c.name,
                "parent": code_path(c.parent) if c.parent else "",
                **{k: getattr(c, k) or "" for k in CODE_FIELDS},
                "description": code_description(c.definition, c.inclusion, c.exclusion, c.example),
                "codings": counts.get(c.id, 0),
                "version": c.version,
            }
            for c in all_codes(session)
        ]
    return pd.DataFrame(rows, columns=["path", "code", "parent", *CODE_FIELDS, "description", "codings", "version"])
