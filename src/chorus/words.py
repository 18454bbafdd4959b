"""How Chorus says a count in English, on pages, in reports and in the Word draft: "1 group", "2 groups", "3 people"."""

from __future__ import annotations

#: Plurals that are not the word and an s.
PLURALS = {"person": "people", "analysis": "analyses", "psychosocial clinician": "psychosocial clinicians"}


def counted(number: int, thing: str) -> str:
    """``number`` and ``thing``, plural unless it is one: "1 coding", "2 codings", "3 people".

    >>> counted(1, "group"), counted(0, "coding"), counted(2, "person")
    ('1 group', '0 codings', '2 people')
    """
    return f"{number} {thing if number == 1 else PLURALS.get(thing, thing + 's')}"
