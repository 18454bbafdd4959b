"""What Chorus and REFI-QDA's QDA-XML agree on: namespaces, GUIDs, names and value formats.

Both directions (export and import) use these, so a round trip reads back exactly
what was written: the code description layout, the variable names and types of a
participant, the source variables that carry a transcript's group, and the GUIDs
derived for objects that never had one.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"

#: Participant fields exported as case variables (variable name -> participant field).
CASE_FIELDS = {"id": "key", "discipline": "discipline", "care_team": "care_team", "role": "role"}
#: Source variables that say which group (session) a transcript belongs to; the
#: group's other attributes travel as source variables named ``group_<attribute>``.
GROUP_VARIABLE, GROUP_DATE_VARIABLE, GROUP_PREFIX = "group", "group_date", "group_"
#: Tools that count positions in UTF-16 code units (.NET, Qt) rather than in code points.
UTF16_ORIGINS = ("nvivo", "maxqda", "atlas")

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LINE = re.compile(r"[^\r\n]+")
_SPEAKER = re.compile(r"^\s*([^:\r\n]{1,80}):\s*")
Speaker = TypeVar("Speaker")


def turns_from_lines(text: str, by_name: Mapping[str, Speaker], sole: Speaker | None) -> list[tuple[int, int, Speaker | None]]:
    """A source's speaker turns read from its lines: ``(start, end, speaker)``, ``None`` where nobody is known.

    A line ``Name: what was said`` is that person's turn when ``Name`` (any case)
    is in ``by_name``, its span starting after the name; any other line belongs
    to ``sole`` (the one case the source is about), else to nobody. This is how
    Chorus writes a transcript's text, and how plain focus-group transcripts from
    other tools read, so an export names no turn selections that other tools
    would take for codings; the export checks each text reads back this way.

    >>> turns_from_lines("Ana: Yes.\\nBo: No.", {"ana": "A", "bo": "B"}, None)
    [(5, 9, 'A'), (14, 17, 'B')]
    """
    turns: list[tuple[int, int, Speaker | None]] = []
    for line in _LINE.finditer(text):
        said = line.group()
        if not said.strip():
            continue
        start = line.start() + len(said) - len(said.lstrip())
        end = line.start() + len(said.rstrip())
        speaker = _SPEAKER.match(said)
        person = by_name.get(speaker.group(1).strip().casefold()) if speaker else None
        if person is not None:
            start = line.start() + speaker.end()  # type: ignore[union-attr]
        else:
            person = sole
        if start < end:
            turns.append((start, end, person))
    return turns


def schema_path(name: str) -> Path:
    """The shipped XSD (``Project.xsd`` or ``Codebook.xsd``)."""
    return Path(str(resources.files("chorus.interop") / "schemas" / name))


class Guids:
    """GUIDs for a study's objects: the stored one if imported, else one derived from the study's.

    Derived GUIDs (UUID 5 under the study's GUID) are the same in every export of
    the same study, so another tool sees an updated project, not a new one.

    >>> guids = Guids("0b6c1a34-5d0e-4a51-9d51-1f0b7a6e2c11")
    >>> guids.of("code", 3) == guids.of("code", 3) != guids.of("code", 4)
    True
    """

    def __init__(self, study_guid: str):
        self.namespace = uuid.UUID(study_guid.strip("{}"))
        self.prefixes: dict[str, str] = {}

    def of(self, kind: str, key: object, stored: str | None = None) -> str:
        """The GUID of object ``key`` of ``kind`` (e.g. ``"code", 3``).

        A row id becomes the last 12 hex digits under a per-kind UUID 5 prefix:
        as stable as hashing each one, and fast enough for a million codings.
        """
        if stored:
            return stored.strip("{}").lower()
        if isinstance(key, int) and 0 <= key < 16**12:
            prefix = self.prefixes.get(kind)
            if prefix is None:
                prefix = self.prefixes[kind] = str(uuid.uuid5(self.namespace, kind))[:24]
            return f"{prefix}{key:012x}"
        return str(uuid.uuid5(self.namespace, f"{kind}:{key}"))


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def checked_guid(value: str | None) -> str | None:
    """A GUID worth keeping (lower case, no braces), or None for anything that is not one.

    QDA-XML's GUIDType pattern, as one compiled expression: a big import checks
    two million of them.
    """
    if not value:
        return None
    if _GUID.fullmatch(value):  # most are already clean
        return value
    guid = value.strip("{}").lower()
    return guid if _GUID.fullmatch(guid) else None


def clean(text: str) -> str:
    """Text without the control characters XML 1.0 cannot hold."""
    return _INVALID_XML.sub("", text)


@functools.lru_cache(maxsize=4096)
def stamp(moment: datetime | None) -> str | None:
    """An xsd:dateTime in UTC (``2026-11-24T17:00:00Z``)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4096)
def parse_stamp(value: str | None) -> datetime | None:
    """An xsd:dateTime as an aware datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def variable_type(values: list[Any]) -> str:
    """The QDA-XML type that holds every one of the values."""
    present = [v for v in values if v is not None and v != ""]
    if present and all(isinstance(v, bool) for v in present):
        return "Boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Integer"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "Float"
    return "Text"


VALUE_ELEMENTS = {
    "Text": "TextValue",
    "Boolean": "BooleanValue",
    "Integer": "IntegerValue",
    "Float": "FloatValue",
    "Date": "DateValue",
    "DateTime": "DateTimeValue",
}


def format_value(value: Any, kind: str) -> str:
    """A value in the lexical form its QDA-XML type asks for."""
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Date" and isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_value(text: str | None, element: str) -> Any:
    """A VariableValue's content as a Python value (text if it does not parse)."""
    if text is None:
        return None
    try:
        if element == "IntegerValue":
            return int(text)
        if element == "FloatValue":
            return float(text)
        if element == "BooleanValue":
            return text.strip().lower() in ("true", "1")
        if element == "DateValue":
            return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return text
    return text


#: How a consensus note says, for Chorus to read back, what the consensus settles: the line's prefix, then JSON.
CONSENSUS_LINE = "chorus-consensus: "
#: The name of a note that says which user's codings are a consensus starts with this, then the user's name.
CONSENSUS_NOTE = "Consensus coding: "
