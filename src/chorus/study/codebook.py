"""The rules every code in a codebook obeys, shared by import, editing and exchange.

A code's name is unique among its siblings; its colour is ``#rrggbb`` (a
readable default is chosen from a palette when none is given).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study.models import Code

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#d62728",
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
CODE_FIELDS = ("colour", "definition", "inclusion", "exclusion", "example")
#: Description lines that carry the criteria where a tool has one description field.
CODE_SECTIONS = {"inclusion": "Inclusion: ", "exclusion": "Exclusion: ", "example": "Example: "}


def check_colour(colour: str | None) -> str | None:
    """The colour in ``#rrggbb`` form, or an error that shows the form."""
    if colour is None:
        return None
    colour = colour.strip()
    if not _COLOUR.match(colour):
        raise ChorusError(f"colour {colour!r} is not of the form #rrggbb (e.g. #4e79a7)")
    return colour.lower()


def sibling(session: Session, parent: Code | None, name: str) -> Code | None:
    """The code called ``name`` directly under ``parent`` (None: at the top)."""
    parent_id = parent.id if parent is not None else None
    query = select(Code).where(Code.name == name)
    query = query.where(Code.parent_id.is_(None) if parent_id is None else Code.parent_id == parent_id)
    return session.scalar(query)


def add_code(session: Session, name: str, parent: Code | None = None, **fields: str | None) -> Code:
    """A new code under ``parent`` with the given colour, definition, criteria and example."""
    name = name.strip()
    if not name or "/" in name:
        raise ChorusError(f"code name {name!r} must be non-empty and contain no '/'")
    unknown = set(fields) - set(CODE_FIELDS)
    if unknown:
        raise ChorusError(f"unknown code fields: {', '.join(sorted(unknown))}")
    if sibling(session, parent, name) is not None:
        where = f"under {parent.name!r}" if parent is not None else "at the top of the codebook"
        raise ChorusError(f"there is already a code {name!r} {where}")
    count = session.scalar(select(func.count(Code.id))) or 0
    code = Code(name=name, parent=parent, position=count)
    fields["colour"] = check_colour(fields.get("colour")) or PALETTE[count % len(PALETTE)]
    for key, value in fields.items():
        setattr(code, key, value)
    session.add(code)
    session.flush()
    return code


def code_description(definition: str | None, inclusion: str | None, exclusion: str | None, example: str | None) -> str:
    """A code's definition and criteria as one description: for QDA-XML, Taguette and any tool with one field."""
    parts = [definition or ""]
    for field, value in (("inclusion", inclusion), ("exclusion", exclusion), ("example", example)):
        if value:
            parts.append(CODE_SECTIONS[field] + value)
    return "\n".join(parts).strip("\n")


def split_description(text: str | None) -> dict[str, str | None]:
    """The fields of a Description written by :func:`code_description` (others: all definition)."""
    fields: dict[str, str | None] = {"definition": None, "inclusion": None, "exclusion": None, "example": None}
    definition: list[str] = []
    for line in (text or "").splitlines():
        for field, label in CODE_SECTIONS.items():
            if line.startswith(label):
                fields[field] = line[len(label):]
                break
        else:
            definition.append(line)
    fields["definition"] = "\n".join(definition).strip() or None
    return fields
