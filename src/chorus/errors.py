"""Errors that teach: each names the file and the place, and says what to do.

Every failure caused by the researcher's input is a :class:`ChorusError`; the CLI
prints its message on one line and exits with status 2. Anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ChorusError(Exception):
    """A problem with the researcher's input or request, explained in plain words.

    When the way out is an argument the caller can give, the message names it as
    ``{name}`` and ``arguments`` holds the value to give, so each caller reads its
    own spelling: Python ``include_coded=True``, the command line ``--include-coded``
    (:meth:`for_command_line`). A value of ``None`` names the argument alone. A
    way out that is a whole step rather than an argument (remove a transcript
    first) is a :class:`Way`, spelled as each caller takes that step.

    >>> error = ChorusError("no uncoded segments left; cluster them all with {include_coded}",
    ...                     arguments={"include_coded": True})
    >>> str(error)
    'no uncoded segments left; cluster them all with include_coded=True'
    >>> error.for_command_line()
    'no uncoded segments left; cluster them all with --include-coded'
    """

    def __init__(self, message: str, *, arguments: Mapping[str, Any] | None = None):
        self.template = message
        self.arguments = dict(arguments or {})
        super().__init__(self._spelled(python=True))

    def _spelled(self, python: bool) -> str:
        if not self.arguments:
            return self.template
        names = {}
        for name, value in self.arguments.items():
            if isinstance(value, Way):
                names[name] = value.python if python else value.command
            elif python:
                names[name] = name if value is None else f"{name}={value!r}"
            else:
                option = "--" + name.replace("_", "-")
                names[name] = option if value is None or value is True else f"{option} {value}"
        return self.template.format(**names)

    def for_command_line(self) -> str:
        """The message with arguments spelled as the ``chorus`` command's options."""
        return self._spelled(python=False)


def literal(text: str) -> str:
    """``text`` (a name, a file's path) inside a message template with arguments: its braces are braces.

    >>> literal("FG{1}")
    'FG{{1}}'
    """
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class Way:
    """A step a message tells the researcher to take, as each caller takes it: a Python call, a ``chorus`` command, a place in the web app.

    >>> way = Way("remove_transcript()", "chorus transcripts remove FG01", "the Remove link beside it on the study's home page")
    >>> ChorusError("remove it first ({remove})", arguments={"remove": way}).for_command_line()
    'remove it first (chorus transcripts remove FG01)'
    """

    python: str
    command: str
    browser: str


class InputError(ChorusError):
    """Bad input in a file, located by file name and place (line, paragraph, row, cue).

    >>> str(InputError("unknown speaker 'Dr X'", path="FG03.txt", place="line 12"))
    "FG03.txt, line 12: unknown speaker 'Dr X'"
    """

    def __init__(self, message: str, *, path: str | Path | None = None, place: str | None = None,
                 arguments: Mapping[str, Any] | None = None):
        self.path = str(path) if path is not None else None
        self.place = place
        self.reason = message
        where = ", ".join(p for p in (self.path, place) if p)
        if arguments:  # the message is a template of arguments: braces in a file's name are text
            where = literal(where)
        super().__init__(f"{where}: {message}" if where else message, arguments=arguments)


class NotFound(ChorusError):
    """A named thing (code, group, transcript, participant) is not in the study."""


class Refused(ChorusError):
    """The person asking may not do this: another coder's coding is theirs to remove."""


class StudyError(ChorusError):
    """The study folder or its store cannot be used as asked."""


class EditConflict(ChorusError):
    """Someone else changed the object since it was read; the edit was not made."""
