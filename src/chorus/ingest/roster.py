"""The study roster (participants and facilitators) and the groups they met in.

A roster has one row per person: ``id, pseudonym, discipline, care_team, group,
role`` (role ``participant`` or ``facilitator``); a facilitator who ran several
groups lists them separated by ``;``. An optional ``aliases`` column gives other
names the person goes by in transcripts. Every other column becomes a free
attribute (years in practice, gender, ...). Rows for people already on the
roster update them, so a corrected roster can be imported again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError, InputError
from chorus.ingest.files import Row, read_table
from chorus.study.lookup import find_group, find_participant
from chorus.study.models import Group, Participant, SpeakerAlias, Turn
from chorus.study.store import Study

ROLES = ("participant", "facilitator")
ROSTER_FIELDS = ("id", "pseudonym", "discipline", "care_team", "group", "role", "aliases")
GROUP_FIELDS = ("group", "date", "recording")


@dataclass
class ImportSummary:
    """What an import added and changed, for the researcher to check."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0  # rows that hold what the study already holds: not written again
    warnings: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _split(value: Any) -> list[str]:
    return [part.strip() for part in _text(value).split(";") if part.strip()]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a roster or groups table: the file, the row and column it is in, and what."""

    file: str
    place: str  # "line 3", "row 3"; empty for the file as a whole
    column: str  # empty for the row as a whole
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.file, self.place, f"column {self.column}" if self.column else "") if part)
        return f"{where}: {self.message}"


class RosterProblems(InputError):
    """Everything wrong in the tables of an import that stored nothing, each problem in :attr:`problems`."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s), nothing stored: {shown}{more}")


def _read(path: Path, rename: dict[str, str] | None, problems: list[Problem]) -> list[Row]:
    """The table's rows, or none and a problem when the file cannot be read (encoding, format, empty)."""
    try:
        return read_table(path, rename)
    except InputError as exc:
        problems.append(Problem(path.name, exc.place or "", "", exc.reason))
        return []


def _duplicates(rows: list[Row], column: str, path: Path) -> list[Problem]:
    first: dict[str, str] = {}
    found = []
    for row in rows:
        value = _text(row.values.get(column, ""))
        if not value:
            continue
        if value in first:
            found.append(Problem(path.name, row.place, column, f"duplicate {column} {value!r} (first on {first[value]})"))
        else:
            first[value] = row.place
    return found


def _roster_problems(session: Session, rows: list[Row], path: Path) -> list[Problem]:
    found = []
    for row in rows:
        for required in ("id", "pseudonym"):
            if required not in row.values:
                found.append(Problem(path.name, row.place, required, f"no {required} given"))
        role = _text(row.values.get("role", "participant")).lower()
        if role not in ROLES:
            found.append(Problem(path.name, row.place, "role", f"role {role!r} is neither 'participant' nor 'facilitator'"))
        if role == "participant" and "discipline" not in row.values:
            found.append(Problem(path.name, row.place, "discipline", "a participant needs a discipline"))
        if "id" in row.values and "pseudonym" in row.values:
            key, pseudonym = _text(row.values["id"]), _text(row.values["pseudonym"])
            holder = session.scalar(select(Participant.key).where(Participant.pseudonym == pseudonym))
            if holder is not None and holder != key:
                found.append(Problem(path.name, row.place, "pseudonym", f"pseudonym {pseudonym!r} already belongs to participant {holder!r}"))
    return found + _duplicates(rows, "id", path) + _duplicates(rows, "pseudonym", path)


def _group_problems(rows: list[Row], path: Path) -> list[Problem]:
    found = []
    for row in rows:
        if "group" not in row.values:
            found.append(Problem(path.name, row.place, "group", "no group name given"))
        if "date" in row.values:
            try:
                _parse_date(row.values["date"], path, row.place)
            except InputError as exc:
                found.append(Problem(path.name, row.place, "date", exc.reason))
    return found + _duplicates(rows, "group", path)


def roster_problems(
    study: Study, roster: str | Path | None, groups: str | Path | None = None, rename: dict[str, str] | None = None
) -> list[Problem]:
    """Every problem that would stop importing ``roster`` and/or ``groups`` (either may be left out), found without storing anything.

    Besides each row's own problems: a file that cannot be read (format,
    encoding), and, with a groups table, each roster group that neither the
    table nor the study has.

    >>> roster_problems(study, "participants.csv", "groups.csv")     # doctest: +SKIP
    [Problem(file='participants.csv', place='line 4', column='discipline', message='a participant needs a discipline')]
    """
    if roster is None and groups is None:
        return [Problem("", "", "", "no table given: choose a roster, a groups table or both")]
    problems: list[Problem] = []
    people = _read(Path(roster), rename, problems) if roster is not None else []
    sessions = _read(Path(groups), rename, problems) if groups is not None else []
    with study.reading() as session:
        if roster is not None:
            problems += _roster_problems(session, people, Path(roster))
        if groups is not None:
            problems += _group_problems(sessions, Path(groups))
            known = {_text(r.values["group"]) for r in sessions if "group" in r.values}
            known |= set(session.scalars(select(Group.name)))
            for row in people:
                for name in _split(row.values.get("group", "")):
                    if name not in known:
                        problems.append(Problem(Path(roster).name, row.place, "group", f"group {name!r} has no row in {Path(groups).name}"))
    return problems


def roster_preview(
    study: Study, roster: str | Path | None, groups: str | Path | None = None, rename: dict[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What importing the tables would store: their rows, each marked ``new``, ``updated`` or ``unchanged`` (column ``change``).

    For tables :func:`roster_problems` finds nothing wrong with; shown before anything is stored.
    A row is ``unchanged`` when it holds what the study holds already (a table uploaded again).
    """
    people = read_table(Path(roster), rename) if roster is not None else []
    sessions = read_table(Path(groups), rename) if groups is not None else []
    with study.reading() as session:
        aliases: dict[int, list[str]] = {}
        for alias, person_id in session.execute(select(SpeakerAlias.alias, SpeakerAlias.participant_id)):
            aliases.setdefault(person_id, []).append(alias)
        stored_people = {p.key: _person_as_stored(p, aliases.get(p.id, [])) for p in session.scalars(select(Participant))}
        stored_groups = {g.name: _group_as_stored(g) for g in session.scalars(select(Group))}

    def table(rows: list[Row], key: str, stored: dict[str, dict[str, Any]], fields: Callable[[Row], dict[str, Any]]) -> pd.DataFrame:
        frame = pd.DataFrame([{k: _text(v) for k, v in r.values.items()} for r in rows]).fillna("")
        if frame.empty:
            return frame
        was = [stored.get(_text(r.values.get(key, ""))) for r in rows]
        change = ["new" if before is None else "unchanged" if _holds(before, fields(r)) else "updated" for r, before in zip(rows, was)]
        return frame.assign(change=change)[["change", *frame.columns]]

    return table(people, "id", stored_people, _person_fields), table(sessions, "group", stored_groups, _group_fields)


def _person_fields(row: Row) -> dict[str, Any]:
    """What a roster row sets on its person (groups and aliases by name, in order)."""
    values = row.values
    return {
        "pseudonym": _text(values["pseudonym"]),
        "discipline": _text(values["discipline"]) if "discipline" in values else None,
        "care_team": _text(values["care_team"]) if "care_team" in values else None,
        "role": _text(values.get("role", "participant")).lower(),
        "attributes": {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items() if k not in ROSTER_FIELDS},
        "groups": sorted(_split(values.get("group", ""))),
        "aliases": sorted(_split(values.get("aliases", ""))),
    }


def _person_as_stored(person: Participant, aliases: list[str]) -> dict[str, Any]:
    """A stored person in the shape of :func:`_person_fields`, to tell a row that changes nothing."""
    return {"pseudonym": person.pseudonym, "discipline": person.discipline, "care_team": person.care_team, "role": person.role,
            "attributes": person.attributes or {}, "groups": sorted(g.name for g in person.groups), "aliases": sorted(aliases)}


def _holds(stored: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Whether what is stored already holds every field a row sets."""
    return all(stored.get(name) == value for name, value in fields.items())


def _group_fields(row: Row, path: Path | None = None) -> dict[str, Any]:
    """What a groups row sets on its group (date and recording only where the table has the column)."""
    values = row.values
    fields: dict[str, Any] = {"attributes": {k: _text(v) for k, v in values.items() if k not in GROUP_FIELDS}}
    if "date" in values:
        fields["date"] = _parse_date(values["date"], path or Path(""), row.place)
    if "recording" in values:
        fields["recording"] = _text(values["recording"])
    return fields


def _group_as_stored(group: Group) -> dict[str, Any]:
    """A stored group in the shape of :func:`_group_fields` with every column."""
    return {"attributes": group.attributes or {}, "date": group.date, "recording": group.recording_path}


def _group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name, attributes={})
        session.add(group)
        session.flush()
    return group


def _refuse(problems: list[Problem], path: Path) -> None:
    """Stop an import at its first problem, named by file and place (the CLI's one-line error)."""
    if problems:
        first = problems[0]
        raise InputError(first.message, path=path, place=first.place or None)


def import_roster(
    study: Study, path: str | Path, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Add or update the participants and facilitators listed in a CSV or XLSX roster.

    Nothing is stored unless every row is valid: duplicate ids or pseudonyms, a
    missing discipline or an unknown role stop the import with the row named
    (:func:`roster_problems` lists them all).

    >>> import_roster(study, "participants.csv")                # doctest: +SKIP
    ImportSummary(added=32, updated=0, warnings=[])
    """
    path = Path(path)
    rows = read_table(path, rename)
    summary = ImportSummary()
    with study.transaction() as session:
        _refuse(_roster_problems(session, rows, path), path)
        _store_roster(session, rows, path, summary)
    return summary


def import_groups(
    study: Study, path: str | Path, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Add or update groups (sessions) from a table: ``group, date, recording`` and attributes.

    Dates order the groups for saturation; other columns (site, duration, ...)
    are kept as the group's attributes.
    """
    path = Path(path)
    rows = read_table(path, rename)
    _refuse(_group_problems(rows, path), path)
    summary = ImportSummary()
    with study.transaction() as session:
        _store_groups(session, rows, path, summary)
    return summary


def import_roster_and_groups(
    study: Study, roster: str | Path | None, groups: str | Path | None = None, rename: dict[str, str] | None = None
) -> ImportSummary:
    """Groups, then the roster (either may be left out), in one transaction; refused with every problem (:class:`RosterProblems`) if any.

    What the web app's roster upload stores after its preview. Returns the rows
    of both tables together that were added, updated and left unchanged.
    """
    problems = roster_problems(study, roster, groups, rename)
    if problems:
        raise RosterProblems(problems)
    summary = ImportSummary()
    with study.transaction() as session:
        if groups is not None:
            _store_groups(session, read_table(Path(groups), rename), Path(groups), summary)
        if roster is not None:
            _store_roster(session, read_table(Path(roster), rename), Path(roster), summary)
    return summary


def _store_roster(session: Session, rows: list[Row], path: Path, summary: ImportSummary) -> None:
    for row in rows:
        key = _text(row.values["id"])
        fields = _person_fields(row)
        person = session.scalar(select(Participant).where(Participant.key == key))
        if person is None:
            person = Participant(key=key)
            session.add(person)
            summary.added += 1
        else:
            aliases = list(session.scalars(select(SpeakerAlias.alias).where(SpeakerAlias.participant_id == person.id)))
            if _holds(_person_as_stored(person, aliases), fields):
                summary.unchanged += 1
                continue
            summary.updated += 1
        for name in ("pseudonym", "discipline", "care_team", "role", "attributes"):
            setattr(person, name, fields[name])
        person.groups = [_group(session, name) for name in _split(row.values.get("group", ""))]
        session.flush()
        session.execute(delete(SpeakerAlias).where(SpeakerAlias.participant_id == person.id))
        for alias in fields["aliases"]:
            session.add(SpeakerAlias(alias=alias, participant_id=person.id))
        if not person.groups:
            summary.warnings.append(f"{path.name}, {row.place}: {fields['pseudonym']} is in no group")
    session.flush()


def _parse_date(value: Any, path: Path, place: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        raise InputError(f"date {value!r} is not YYYY-MM-DD", path=path, place=place) from None


def _store_groups(session: Session, rows: list[Row], path: Path, summary: ImportSummary) -> None:
    for row in rows:
        name = _text(row.values["group"])
        fields = _group_fields(row, path)
        existing = session.scalar(select(Group).where(Group.name == name))
        if existing is not None and _holds(_group_as_stored(existing), fields):
            summary.unchanged += 1
            continue
        group = _group(session, name)
        summary.added += existing is None
        summary.updated += existing is not None
        if "date" in fields:
            group.date = fields["date"]
        if "recording" in fields:
            group.recording_path = fields["recording"]
        group.attributes = fields["attributes"]


def edit_participant(
    study: Study, who: str, pseudonym: str | None = None, discipline: str | None = None, care_team: str | None = None,
    role: str | None = None, groups: list[str] | None = None,
) -> None:
    """Change one person on the roster (by roster id or pseudonym), in one transaction, in the audit trail.

    Only what is given changes; ``""`` clears the care team. The pseudonym stays
    once the person speaks in a transcript, since transcripts show it before
    each of their turns: change it by importing the corrected transcript.
    """
    with study.transaction() as session:
        person = find_participant(session, who)
        if pseudonym is not None and pseudonym.strip() != person.pseudonym:
            pseudonym = pseudonym.strip()
            if not pseudonym or len(pseudonym) > 200:
                raise ChorusError("a pseudonym is 1 to 200 characters")
            if session.scalar(select(Participant.key).where(Participant.pseudonym == pseudonym)) is not None:
                raise ChorusError(f"pseudonym {pseudonym!r} already belongs to another participant")
            if session.scalar(select(Turn.id).where(Turn.participant_id == person.id).limit(1)) is not None:
                raise ChorusError(f"{person.pseudonym} speaks in a transcript under that name; the pseudonym cannot change here")
            person.pseudonym = pseudonym
        if role is not None:
            if role not in ROLES:
                raise ChorusError(f"role {role!r} is neither 'participant' nor 'facilitator'")
            person.role = role
        if discipline is not None:
            person.discipline = discipline.strip() or None
        if person.role == "participant" and not person.discipline:
            raise ChorusError("a participant needs a discipline")
        if care_team is not None:
            person.care_team = care_team.strip() or None
        if groups is not None:
            person.groups = [find_group(session, name.strip()) for name in groups if name.strip()]


def add_group(study: Study, name: str) -> str:
    """Add a focus group with nobody in it yet (a recording's, before its people are on the roster); returns its name.

    Refused when the name is empty, too long or taken, so a mistyped name of an existing group is not made twice.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("a group's name is 1 to 100 characters")
    with study.transaction() as session:
        if session.scalar(select(Group.id).where(Group.name == name)) is not None:
            raise InputError(f"there is a group {name!r} already: choose it from the list")
        _group(session, name)
    return name


def edit_group(study: Study, name: str, date: str | None = None, recording: str | None = None) -> None:
    """Change a group's date (YYYY-MM-DD; ``""`` clears it) or its recording's path, in the audit trail."""
    with study.transaction() as session:
        group = find_group(session, name)
        if date is not None:
            group.date = _parse_date(date, Path(name), "date") if date.strip() else None
        if recording is not None:
            group.recording_path = recording.strip() or None
