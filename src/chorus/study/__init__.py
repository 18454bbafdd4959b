"""The study: domain model and storage (SQLite file by default, PostgreSQL for a team).

>>> import chorus
>>> study = chorus.init("pc-study")          # doctest: +SKIP
>>> study = chorus.open("pc-study")          # doctest: +SKIP
"""

from chorus.study.models import (
    Code,
    Coder,
    Coding,
    CodingTurn,
    Group,
    Memo,
    Participant,
    SpeakerAlias,
    Transcript,
    Turn,
)
from chorus.study.store import Study, init, open

__all__ = [
    "Code",
    "Coder",
    "Coding",
    "CodingTurn",
    "Group",
    "Memo",
    "Participant",
    "SpeakerAlias",
    "Study",
    "Transcript",
    "Turn",
    "init",
    "open",
]
