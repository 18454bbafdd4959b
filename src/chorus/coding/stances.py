"""The built-in ``Stance`` code family: a turn's stance toward the view being discussed.

Coders code a turn with one of these on the same turn as the theme it takes a
stance on; micro-interlocutor analysis (:mod:`chorus.analysis.stances`) reads
them, and the assist proposes them from how turns open (:mod:`chorus.assist.stances`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from chorus.study.codebook import add_code, sibling
from chorus.study.models import Code

FAMILY = "Stance"
#: The stance codes (children of :data:`FAMILY`), the mark each prints in the matrix, and what each means.
STANCES = {
    "Agrees": ("A", "Agrees with, confirms or repeats the view just voiced."),
    "Dissents": ("D", "Contests, qualifies or rejects the view just voiced."),
    "Adds": ("+", "Builds on the view with something new, neither agreeing nor contesting."),
    "Unclear": ("?", "Takes part, but the stance cannot be told."),
}


def stance_codes(session: Session) -> dict[str, Code]:
    """The family's codes by stance name, created where the codebook lacks them."""
    family = sibling(session, None, FAMILY) or add_code(
        session, FAMILY, None, definition="The speaker's stance toward the view being discussed, coded on the same turn as the theme it is about.")
    return {name: sibling(session, family, name) or add_code(session, name, family, definition=meaning)
            for name, (_, meaning) in STANCES.items()}


def stance_of(path: str) -> str | None:
    """The stance a code (by path) records, ``"Dissents"`` for ``Stance/Dissents``; None for any other code."""
    family, _, name = path.partition("/")
    return name if family == FAMILY and name in STANCES else None


def is_stance(path: str) -> bool:
    """Whether a code (by path) is in the Stance family: how a theme was held, not a theme."""
    return path.split("/")[0] == FAMILY
