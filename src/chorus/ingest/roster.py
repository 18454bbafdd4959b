"""The study roster (participants and facilitators) and the groups they met in.

A roster has one row per person: ``id, pseudonym, discipline, care_team, group,
role`` (role ``participant`` or ``facilitator``); a facilitator who ran several
groups lists them separated by ``;``. An optional ``aliases`` column gives other
names the person goes by in transcripts. Every other column becomes a free
attribute (years in practice, gender, ...). Rows for people already on the
roster update them, so a corrected roster can be imported again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chorus.errors import InputError
from chorus.ingest.files import Row, read_table
from chorus.study.models import Group, Participant, SpeakerAlias
from chorus.study.store import Study

ROLES = ("participant", "facilitator")
ROSTER_FIELDS = ("id", "pseudonym", "discipline", "care_team", "group", "role", "aliases")
GROUP_FIELDS = ("group", "date", "recording")


@dataclass
class ImportSummary:
    """What an import added and changed, for the researcher to check."""

    added: int = 0
    updated: int = 0
    warnings: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _split(value: Any) -> list[str]:
    return [part.strip() for part in _text(value).split(";") if part.strip()]


def _check_unique(rows: list[Row], column: str, path: Path) -> None:
    first: dict[str, str] = {}
    for row in rows:
        value = _text(row.values.get(column, ""))
        if not value:
            continue
        if value in first:
            raise InputError(
                f"duplicate {column} {value!r} (first on {first[value]})", path=path, place=row.place
            )
        first[value] = row.place


def _group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name, attributes={})
        session.add(group)
        session.flush()
    return group


def import_roster(
    study: Study, path: str | Path, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Add or update the participants and facilitators listed in a CSV or XLSX roster.

    Nothing is stored unless every row is valid: duplicate ids or pseudonyms, a
    missing discipline or an unknown role stop the import with the row named.

    >>> import_roster(study, "participants.csv")                # doctest: +SKIP
    ImportSummary(added=32, updated=0, warnings=[])
    """
    path = Path(path)
    rows = read_table(path, rename)
    for row in rows:
        for required in ("id", "pseudonym"):
            if required not in row.values:
                raise InputError(f"no {required} given", path=path, place=row.place)
        role = _text(row.values.get("role", "participant")).lower()
        if role not in ROLES:
            raise InputError(
                f"role {role!r} is neither 'participant' nor 'facilitator'", path=path, place=row.place
            )
        if role == "participant" and "discipline" not in row.values:
            raise InputError("a participant needs a discipline", path=path, place=row.place)
    _check_unique(rows, "id", path)
    _check_unique(rows, "pseudonym", path)

    summary = ImportSummary()
    with study.transaction() as session:
        for row in rows:
            values = row.values
            key = _text(values["id"])
            pseudonym = _text(values["pseudonym"])
            person = session.scalar(select(Participant).where(Participant.key == key))
            holder = session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))
            if holder is not None and holder.key != key:
                raise InputError(
                    f"pseudonym {pseudonym!r} already belongs to participant {holder.key!r}",
                    path=path,
                    place=row.place,
                )
            if person is None:
                person = Participant(key=key)
                session.add(person)
                summary.added += 1
            else:
                summary.updated += 1
            person.pseudonym = pseudonym
            person.discipline = _text(values["discipline"]) if "discipline" in values else None
            person.care_team = _text(values["care_team"]) if "care_team" in values else None
            person.role = _text(values.get("role", "participant")).lower()
            person.attributes = {
                k: v.isoformat() if isinstance(v, (date, datetime)) else v
                for k, v in values.items()
                if k not in ROSTER_FIELDS
            }
            person.groups = [_group(session, name) for name in _split(values.get("group", ""))]
            session.flush()
            session.execute(delete(SpeakerAlias).where(SpeakerAlias.participant_id == person.id))
            for alias in _split(values.get("aliases", "")):
                session.add(SpeakerAlias(alias=alias, participant_id=person.id))
            if not person.groups:
                summary.warnings.append(f"{path.name}, {row.place}: {pseudonym} is in no group")
        session.flush()
    return summary


def _parse_date(value: Any, path: Path, place: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        raise InputError(f"date {value!r} is not YYYY-MM-DD", path=path, place=place) from None


def import_groups(
    study: Study, path: str | Path, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Add or update groups (sessions) from a table: ``group, date, recording`` and attributes.

    Dates order the groups for saturation; other columns (site, duration, ...)
    are kept as the group's attributes.
    """
    path = Path(path)
    rows = read_table(path, rename)
    _check_unique(rows, "group", path)
    summary = ImportSummary()
    with study.transaction() as session:
        for row in rows:
            if "group" not in row.values:
                raise InputError("no group name given", path=path, place=row.place)
            name = _text(row.values["group"])
            existing = session.scalar(select(Group).where(Group.name == name))
            group = _group(session, name)
            summary.added += existing is None
            summary.updated += existing is not None
            if "date" in row.values:
                group.date = _parse_date(row.values["date"], path, row.place)
            if "recording" in row.values:
                group.recording_path = _text(row.values["recording"])
            group.attributes = {
                k: _text(v) for k, v in row.values.items() if k not in GROUP_FIELDS
            }
    return summary
