"""Finding study objects by the names researchers use for them.

Codes are named by their name when it is unique, or by their path in the
codebook (``"Challenges/Funding"``); groups and transcripts by name; coders by
name, created on first use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, func, select, true
from sqlalchemy.orm import Session, defer, with_expression

from chorus.errors import NotFound
from chorus.study.models import Code, Coder, Group, Participant, Transcript

PATH_SEPARATOR = "/"


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def code_path(code: Code) -> str:
    """The code's path from the top of the codebook, e.g. ``"Challenges/Funding"``."""
    names = []
    node: Code | None = code
    while node is not None:
        names.append(node.name)
        node = node.parent
    return PATH_SEPARATOR.join(reversed(names))


def code_paths(session: Session) -> dict[int, str]:
    """Every code's path (as :func:`code_path` gives it) by its id, from one query: the codebook is small, its rows many readers'."""
    rows = {code_id: (parent, name) for code_id, parent, name in session.execute(select(Code.id, Code.parent_id, Code.name))}
    paths: dict[int, str] = {}

    def path(code_id: int) -> str:
        if code_id not in paths:
            parent, name = rows[code_id]
            paths[code_id] = name if parent is None or parent not in rows else path(parent) + PATH_SEPARATOR + name
        return paths[code_id]

    for code_id in rows:
        path(code_id)
    return paths


def all_codes(session: Session) -> list[Code]:
    """Every code of the codebook, parents before children, siblings in their order."""
    codes = session.scalars(select(Code)).all()
    children: dict[int | None, list[Code]] = {}
    for code in codes:
        children.setdefault(code.parent_id, []).append(code)
    ordered: list[Code] = []

    def walk(parent_id: int | None) -> None:
        for code in sorted(children.get(parent_id, []), key=lambda c: (c.position, c.name)):
            ordered.append(code)
            walk(code.id)

    walk(None)
    return ordered


def in_codebook_order(codes: Iterable[Code], codebook: Sequence[Code]) -> list[Code]:
    """``codes`` (a code set's, say) in the order ``codebook`` (:func:`all_codes`) lists them: parents first."""
    place = {code.id: n for n, code in enumerate(codebook)}
    return sorted(codes, key=lambda code: place[code.id])


def find_code(session: Session, name: str) -> Code:
    """The code named ``name`` (a unique name or a full path); teaches when ambiguous."""
    if PATH_SEPARATOR not in name:  # a coding write names its code: one row read, not the codebook
        named = session.scalars(select(Code).where(Code.name == name).limit(2)).all()
        if len(named) == 1:
            return named[0]
    codes = all_codes(session)
    by_path = {code_path(c): c for c in codes}
    if name in by_path:
        return by_path[name]
    matches = [c for c in codes if c.name == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        paths = ", ".join(repr(code_path(c)) for c in matches)
        raise NotFound(f"code name {name!r} is used more than once; name it by its path: {paths}")
    raise NotFound(f"no code {name!r} in the codebook{_suggest(name, sorted(by_path))}")


def descendants(code: Code) -> list[Code]:
    """The code and every code below it."""
    found = [code]
    for child in code.children:
        found.extend(descendants(child))
    return found


def find_group(session: Session, name: str) -> Group:
    """The group (session) called ``name``."""
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        known = list(session.scalars(select(Group.name)))
        raise NotFound(f"no group {name!r} in the study{_suggest(name, known)}")
    return group


_TEXT_UNREAD = (defer(Transcript.text), with_expression(Transcript.length, func.length(Transcript.text)))


def find_transcript(session: Session, name: str, text: bool = True) -> Transcript:
    """The transcript called ``name``, or the only transcript of the group called ``name``.

    ``text=False`` leaves its text unread until it is used (a 90-minute group is ~100 KB),
    for writes that need only the transcript's identity and length (``Transcript.length``).
    """
    options = () if text else _TEXT_UNREAD
    transcript = session.scalar(select(Transcript).where(Transcript.name == name).options(*options))
    if transcript is not None:
        return transcript
    of_group = session.scalars(
        select(Transcript).join(Group).where(Group.name == name).options(*options)
    ).all()
    if len(of_group) == 1:
        return of_group[0]
    raise NotFound(f"no transcript {name!r} in the study{_suggest(name, transcript_names(session))}")


def transcript_names(session: Session) -> list[str]:
    """Every transcript's name, in order (for the choices a form offers, and the suggestions an error makes)."""
    return list(session.scalars(select(Transcript.name).order_by(Transcript.name)))


def find_participant(session: Session, key_or_pseudonym: str) -> Participant:
    """The participant with this roster id or pseudonym."""
    participant = session.scalar(
        select(Participant).where(
            (Participant.key == key_or_pseudonym) | (Participant.pseudonym == key_or_pseudonym)
        )
    )
    if participant is None:
        known = list(session.scalars(select(Participant.pseudonym)))
        raise NotFound(f"no participant {key_or_pseudonym!r}{_suggest(key_or_pseudonym, known)}")
    return participant


#: One row of each table, each by its name, joined as they are (ON true), not on a key; at most two rows, since two
#: would be a code name used twice. Built once: building a statement costs more than running it on SQLite.
_NAMED_TARGETS = (
    select(Transcript, Code, Coder).select_from(Transcript).join(Code, true()).join(Coder, true())
    .where(Transcript.name == bindparam("transcript"), Code.name == bindparam("code"), Coder.name == bindparam("coder"))
    .options(*_TEXT_UNREAD).limit(2)
)


def coding_targets(session: Session, transcript: str, code: str, coder_name: str) -> tuple[Transcript, Code, Coder]:
    """The transcript (its text unread, as ``find_transcript(text=False)``), code and coder that a coding names.

    A coding made in the web app names a transcript, a code by its unique name and
    a coder who has coded before: all three are read in one statement, one round
    trip to the database instead of three. Any other case (a code's path, a
    group's name, a new coder, a name not found) is answered by
    :func:`find_transcript`, :func:`find_code` and :func:`coder`, with their
    suggestions and errors.
    """
    if PATH_SEPARATOR not in code:
        found = session.execute(_NAMED_TARGETS, {"transcript": transcript, "code": code, "coder": coder_name}).all()
        if len(found) == 1:  # two would be a code name used twice in the codebook: find_code says which paths
            return tuple(found[0])
    return find_transcript(session, transcript, text=False), find_code(session, code), coder(session, coder_name)


def coder(session: Session, name: str) -> Coder:
    """The coder called ``name``, added to the study on first use."""
    found = session.scalar(select(Coder).where(Coder.name == name))
    if found is None:
        found = Coder(name=name)
        session.add(found)
        session.flush()
    return found
