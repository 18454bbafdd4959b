"""Errors that teach: each names the file and the place, and says what to do.

Every failure caused by the researcher's input is a :class:`ChorusError`; the CLI
prints its message on one line and exits with status 2. Anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class ChorusError(Exception):
    """A problem with the researcher's input or request, explained in plain words."""


class InputError(ChorusError):
    """Bad input in a file, located by file name and place (line, paragraph, row, cue).

    >>> str(InputError("unknown speaker 'Dr X'", path="FG03.txt", place="line 12"))
    "FG03.txt, line 12: unknown speaker 'Dr X'"
    """

    def __init__(self, message: str, *, path: str | Path | None = None, place: str | None = None):
        self.path = str(path) if path is not None else None
        self.place = place
        self.reason = message
        where = ", ".join(p for p in (self.path, place) if p)
        super().__init__(f"{where}: {message}" if where else message)


class NotFound(ChorusError):
    """A named thing (code, group, transcript, participant) is not in the study."""


class StudyError(ChorusError):
    """The study folder or its store cannot be used as asked."""


class EditConflict(ChorusError):
    """Someone else changed the object since it was read; the edit was not made."""
