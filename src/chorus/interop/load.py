"""Reading REFI-QDA projects (QDPX) and codebooks (QDC) written by Chorus, MAXQDA, NVivo, ATLAS.ti, QualCoder.

The whole import is one transaction: a file that cannot be read, or that would
leave the study half written, changes nothing. What can be read but not kept
(a selection whose positions do not fit its text, a PDF without a text
rendition, a picture) is skipped and listed in the report, never silently.

How a project becomes a study:

- ``Users`` become coders; ``CodeBook`` codes (by GUID, else by path) the codebook;
- ``Cases`` become participants; which case variable is the discipline (care
  team, role, id) comes from ``variables`` or from the variable's name; the rest
  become roster attributes;
- each text source becomes a transcript (its text from the plain-text rendition,
  else from the ``.docx`` one, as NVivo for Mac leaves the first empty). Its
  speaker turns are the selections the cases point to (as Chorus writes them);
  else a source one case points to is all that person's; else each line is a
  turn, ``Name: ...`` lines matched to the cases, others marked unattributed (a
  source with no one's turns: a turn per line, or one passage);
- a source's group is its ``group`` variable, else the ``Set`` it is in (or, by
  choice, none), else a group of its own named after it; a ``Set`` of codes
  (MAXQDA's code sets, ATLAS.ti's code groups, empty ones too) becomes a code
  set, in a QDC codebook too; what a set holds that Chorus does not keep (notes,
  sources already in a group) is listed in the report;
- codings keep their coder, time and GUIDs; notes become memos (with their
  title and description) on what refers to them;
- a source already in the study under its GUID (the project imported again)
  gains the codings it did not have; nothing is removed.

What the import made of what the file leaves open is said in the report's
``made``, beside what it ``skipped``.

Positions: REFI-QDA counts characters. Tools written on .NET or Qt (NVivo,
MAXQDA, ATLAS.ti) count UTF-16 code units, which differ from code points after
any emoji; ``positions="auto"`` goes by the file's ``origin``.

>>> import_qdpx(study, "from-nvivo.qdpx")                  # doctest: +SKIP
ImportReport(codes=152, sources=2, codings=330, cases=0, variables=0, notes=0, ...)
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import multiprocessing
import pickle
import queue
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from multiprocessing.connection import Connection
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError, InputError, Way, literal
from chorus.ingest.files import decode
from chorus.ingest.transcripts import removing
from chorus.interop.qdaxml import (
    CASE_FIELDS,
    CONSENSUS_LINE,
    CONSENSUS_NOTE,
    GROUP_DATE_VARIABLE,
    GROUP_PREFIX,
    GROUP_VARIABLE,
    UTF16_ORIGINS,
    checked_guid,
    parse_stamp,
    parse_value,
    turns_from_lines,
)
from chorus.interop.safety import DEFAULT_LIMITS, Element, Limits, QdpxArchive, local, parse_events
from chorus.study.codebook import add_code, sibling, split_description
from chorus.study.lookup import coder as get_coder
from chorus.study.models import (
    Code,
    Coder,
    CodeSet,
    Coding,
    CodingTurn,
    Consensus,
    Group,
    Membership,
    Memo,
    Participant,
    Transcript,
    Turn,
)
from chorus.study.store import Study, bulk_insert, reserve_ids

Positions = Literal["auto", "codepoints", "utf16"]
#: What a source without speaker turns becomes: a turn per line, unattributed, or one unattributed passage.
Speakerless = Literal["lines", "passage"]
#: What a set of sources becomes: the focus group its transcripts met in, or nothing (each source its own group).
DocumentSets = Literal["groups", "ignore"]
Progress = Callable[[int, int], None]
UNATTRIBUTED = "(unattributed)"
FIELDS = set(CASE_FIELDS)  # the case variables that are participant fields, not attributes


@dataclass
class ImportReport:
    """What an import kept, each thing it skipped with the reason, and what it made of what the file leaves open."""

    codes: int = 0
    sources: int = 0
    codings: int = 0
    cases: int = 0
    variables: int = 0
    notes: int = 0
    users: int = 0
    code_sets: int = 0
    skipped: list[str] = field(default_factory=list)
    #: What the import made of what the file leaves open (text read from a .docx rendition, a set taken as a focus group).
    made: list[str] = field(default_factory=list)


#: A selection as the file gives it: guid, start, end (positions still text).
_SelectionRow = tuple[str, str, str]
#: A coding with its selection: selection guid, start, end, coding guid, code guid, user, time.
_CodingRow = tuple[str, str, str, str, str, str, str]
#: A source's selections, codings, and (owner guid, note guid) for notes on either.
_Rows = tuple[list[_SelectionRow], list[_CodingRow], list[tuple[str, str]]]


@dataclass
class _Source:
    guid: str
    name: str
    text: str
    selections: list[_SelectionRow]
    codings: list[_CodingRow]  # consecutive rows of one selection share its guid
    notes: list[str]
    note_refs: dict[str, list[str]]  # selection or coding guid -> notes on it
    variables: dict[str, Any]
    plain_path: str | None


@dataclass
class _Event:
    """One element the importer reads, with what it needs from around it."""

    tag: str
    parent: str | None
    element: Element
    origin: str  # the root's origin attribute: which tool wrote the file
    done: int  # bytes of project.qde inflated so far
    rows: _Rows | None = None  # a text source's selections, codings and their notes
    holder: tuple[str | None, str] | None = None  # name and GUID of the PDF a text rendition belongs to


class _Importer:
    """The state of one project import, fed element by element."""

    def __init__(
        self, session: Session, archive: QdpxArchive | None, path: Path, variables: Mapping[str, str] | None,
        positions: Positions, sources_folder: Path, speakerless: Speakerless = "lines", document_sets: DocumentSets = "groups",
    ):
        self.session, self.archive, self.path = session, archive, path
        self.speakerless, self.document_sets = speakerless, document_sets
        self.mapping = dict(variables) if variables is not None else None
        self.positions, self.sources_folder = positions, sources_folder.resolve()
        self.origin: str | None = None  # the tool that wrote the file, read from the root
        self.report = ImportReport()
        self.users: dict[str, Coder] = {}
        self.codes: dict[str, Code] = {}
        self.variables: dict[str, tuple[str, str]] = {}  # guid -> (name, type)
        self.people: dict[str, Participant] = {}  # case guid -> participant
        self.turn_owner: dict[str, Participant] = {}  # selection guid -> speaker
        self.sole_case: dict[str, list[Participant]] = defaultdict(list)  # source guid -> cases pointing at it
        self.transcripts: dict[str, Transcript] = {}  # source guid -> transcript
        self.source_paths: dict[str, Transcript] = {}  # plainTextPath -> transcript
        self.grouped: set[str] = set()  # sources whose group came from their own variable
        self.set_for: dict[int, str] = {}  # transcript id -> the set that made its focus group
        self.note_targets: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
        self.notes: list[tuple[str, str, str | None, datetime | None, str | None, str | None]] = []  # ... title, description
        self.names = set(session.scalars(select(Transcript.name)))  # already in the study
        self.added: set[str] = set()
        self.fallback_coder: Coder | None = None
        self.nobody: Participant | None = None
        self.roster: dict[str, dict[str, Participant]] = {}  # existing participants by guid, key, pseudonym

    # -- helpers -----------------------------------------------------------------
    def skip(self, what: str) -> None:
        self.report.skipped.append(what)

    def made(self, what: str) -> None:
        self.report.made.append(what)

    def coder(self, guid: str | None) -> Coder:
        if guid and guid.lower() in self.users:
            return self.users[guid.lower()]
        if self.fallback_coder is None:
            self.fallback_coder = get_coder(self.session, f"imported from {self.origin or self.path.name}"[:100])
        return self.fallback_coder

    def read_source_file(self, reference: str, what: str) -> str | None:
        """The text behind a ``plainTextPath`` (``internal://``, relative or absolute), or None if absent."""
        data = self.source_bytes(reference, what)
        if data is None:
            return None
        text, _ = decode(data, f"{self.path}!{reference}")
        return text.removeprefix("\ufeff")

    def source_bytes(self, reference: str, what: str) -> bytes | None:
        """The bytes behind a source path (``internal://``: in the archive; else under the sources folder), or None."""
        if reference.startswith("internal://"):
            name = unquote(reference[len("internal://"):])
            if self.archive is None:
                return None
            info = self.archive.find(f"sources/{name}")
            return None if info is None else self.archive.read(info.filename)
        parsed = urlparse(reference)
        raw = unquote(parsed.path) if parsed.scheme in ("file", "relative") else reference
        candidate = Path(raw.replace("\\", "/"))
        resolved = (self.sources_folder / candidate.name if candidate.is_absolute() else self.sources_folder / candidate).resolve()
        if not resolved.is_relative_to(self.sources_folder):
            raise InputError(f"{what} points outside {self.sources_folder} ({reference!r}); refusing it", path=self.path)
        return resolved.read_bytes() if resolved.is_file() else None

    def rich_text(self, reference: str, what: str) -> str | None:
        """The text of a ``.docx`` rendition (``richTextPath``), its paragraphs as lines; None if absent or not a .docx."""
        if Path(urlparse(reference).path or reference).suffix.lower() != ".docx":
            return None
        data = self.source_bytes(reference, what)
        if data is None:
            return None
        import docx

        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - python-docx raises several kinds for a file that is not a document
            raise InputError(f"{what}: its rich-text rendition {reference!r} is not a readable .docx ({exc})", path=self.path) from None
        return "\n".join(paragraph.text for paragraph in document.paragraphs)

    # -- users, codes, variables, cases -------------------------------------------
    def on_user(self, element: Element) -> None:
        guid = element.get("guid", "").lower()
        name = (element.get("name") or element.get("id") or guid)[:100]
        taken = {c.name for c in self.users.values()}
        base, n = name, 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
        found = self.session.scalar(select(Coder).where(Coder.guid == guid)) or self.session.scalar(select(Coder).where(Coder.name == name))
        if found is None:
            found = Coder(name=name)
            self.session.add(found)
        found.guid = found.guid or checked_guid(guid)
        self.users[guid] = found
        self.report.users += 1

    def on_codes(self, codes: Element, parent: Code | None = None) -> None:
        for element in codes:
            if local(element.tag) != "Code":
                continue
            guid = element.get("guid", "").lower()
            name = (element.get("name") or "").strip() or "(unnamed)"
            if "/" in name:
                self.skip(f"code {name!r}: '/' separates code paths in Chorus, stored as '∕'")
                name = name.replace("/", "∕")
            description = next((c.text for c in element if local(c.tag) == "Description"), None)
            code = self.session.scalar(select(Code).where(Code.guid == guid)) or sibling(self.session, parent, name)
            if code is None:
                colour = element.get("color")
                if colour and len(colour) == 4:
                    colour = "#" + "".join(ch * 2 for ch in colour[1:])
                code = add_code(self.session, name, parent, colour=colour, **split_description(description))
            code.guid = code.guid or checked_guid(guid)
            self.codes[guid] = code
            self.report.codes += 1
            for ref in element:
                if local(ref.tag) == "NoteRef":
                    self.note_targets[ref.get("targetGUID", "").lower()].append(("code", code.id))
            self.on_codes(element, code)

    def on_variables(self, element: Element) -> None:
        for variable in element:
            if local(variable.tag) == "Variable":
                self.variables[variable.get("guid", "").lower()] = (variable.get("name", ""), variable.get("typeOfVariable", "Text"))
                self.report.variables += 1

    def field_of(self, variable: str) -> str:
        """The participant field (or attribute name) a case variable goes to."""
        if self.mapping is not None and variable in self.mapping:
            return self.mapping[variable]
        folded = variable.casefold().replace(" ", "_")
        aliases = {"key": "id", "participant_id": "id", "careteam": "care_team", "team": "care_team"}
        folded = aliases.get(folded, folded)
        return folded if folded in FIELDS else variable

    def check_discipline(self, case_variables: set[str]) -> None:
        """Refuse to guess which variable is the discipline when none says so."""
        if self.mapping is not None:
            return
        fields = {self.field_of(v) for v in case_variables}
        if "discipline" in fields or not fields - FIELDS:
            return
        raise NeedsDiscipline(sorted(case_variables))

    def on_cases(self, element: Element) -> None:
        """All cases at once: which variable is the discipline is a question about all of them."""
        cases = [c for c in element if local(c.tag) == "Case"]
        read = [self.case_values(c) for c in cases]
        self.check_discipline({name for values, _, _ in read for name in values})
        known = list(self.session.scalars(select(Participant)))
        self.roster = {
            "guid": {p.guid: p for p in known if p.guid},
            "key": {p.key: p for p in known},
            "pseudonym": {p.pseudonym: p for p in known},
        }
        for case, (values, sources, selections) in zip(cases, read):
            self.on_case(case, values, sources, selections)
        self.session.flush()

    def case_values(self, element: Element) -> tuple[dict[str, Any], list[str], list[str]]:
        values: dict[str, Any] = {}
        sources, selections = [], []
        for child in element:
            tag = local(child.tag)
            if tag == "VariableValue":
                name, value = self.variable_value(child)
                if name is not None:
                    values[name] = value
            elif tag == "SourceRef":
                sources.append(child.get("targetGUID", "").lower())
            elif tag == "SelectionRef":
                selections.append(child.get("targetGUID", "").lower())
        return values, sources, selections

    def on_case(self, element: Element, values: dict[str, Any], sources: list[str], selections: list[str]) -> None:
        fields = {"discipline": None, "care_team": None, "role": "participant", "id": None}
        attributes = {}
        for name, value in values.items():
            target = self.field_of(name)
            if target in fields:
                fields[target] = None if value is None else str(value) if not isinstance(value, date) else value.isoformat()
            elif target:
                attributes[target] = value.isoformat() if isinstance(value, date) else value
        guid = element.get("guid", "").lower()
        pseudonym = (element.get("name") or guid)[:200]
        key = (fields["id"] or pseudonym)[:100]
        person = self.roster["guid"].get(guid) or self.roster["key"].get(key) or self.roster["pseudonym"].get(pseudonym)
        if person is None:
            role = (fields["role"] or "participant").lower()
            person = Participant(
                key=key, pseudonym=pseudonym, discipline=fields["discipline"], care_team=fields["care_team"],
                role=role if role in ("participant", "facilitator") else "participant", attributes=attributes,
            )
            self.session.add(person)
            self.roster["key"][key], self.roster["pseudonym"][pseudonym] = person, person
        person.guid = person.guid or checked_guid(guid)
        self.people[guid] = person
        for selection in selections:
            self.turn_owner[selection] = person
        for source in sources:
            self.sole_case[source].append(person)
        self.report.cases += 1

    def variable_value(self, element: Element) -> tuple[str | None, Any]:
        name, value = None, None
        for child in element:
            tag = local(child.tag)
            if tag == "VariableRef":
                name = self.variables.get(child.get("targetGUID", "").lower(), (None, None))[0]
            elif tag.endswith("Value"):
                value = parse_value(child.text, tag)
        return name, value

    # -- sources -------------------------------------------------------------------
    def text_source(self, element: Element, rows: _Rows, name: str | None = None) -> _Source | None:
        """A text source (or a PDF's text rendition) with its selections, read whole: one source at a time."""
        guid = element.get("guid", "").lower()
        name = name or element.get("name") or guid
        content = next((c.text or "" for c in element if local(c.tag) == "PlainTextContent"), None)
        plain, rich = element.get("plainTextPath"), element.get("richTextPath")
        text = content if content is not None else self.read_source_file(plain, f"source {name!r}") if plain else None
        if text is None or not text.strip():  # NVivo for Mac writes an empty .txt beside the .docx that holds the words
            from_rich = self.rich_text(rich, f"source {name!r}") if rich else None
            if from_rich is not None and from_rich.strip():
                self.made(
                    f"source {name!r}: its plain-text rendition is {'empty' if text is not None else 'missing'}; "
                    f"its text is taken from its .docx rendition {rich!r} (a paragraph a line)"
                )
                text = from_rich
            elif text is not None or from_rich is not None:
                self.skip(f"source {name!r}: neither its plain-text nor its rich-text rendition holds any text; no transcript is made of it")
                return None
        if text is None:
            self.skip(
                f"source {name!r}: no plain-text rendition"
                + (f" (only {Path(urlparse(rich).path or rich).suffix or 'rich text'} {rich!r})" if rich else "")
                + (f"; {plain!r} is not in the archive" if plain else "")
            )
            return None
        selections, codings, notes_on = rows
        refs: dict[str, list[str]] = defaultdict(list)
        for target, note in notes_on:
            refs[target].append(note)
        variables, notes, whole = {}, [], []
        for child in element.iterchildren("{*}VariableValue", "{*}NoteRef", "{*}Coding"):
            tag = local(child.tag)
            if tag == "VariableValue":
                key, value = self.variable_value(child)
                if key is not None:
                    variables[key] = value
            elif tag == "NoteRef":
                notes.append(child.get("targetGUID", "").lower())
            elif tag == "Coding":  # of the whole source
                coding = child.get("guid", "").lower()
                code = next((c.get("targetGUID", "") for c in child.iterchildren("{*}CodeRef")), "")
                whole.append((f"{guid}-whole", "0", str(self.width(text, len(text))), coding, code.lower(),
                              (child.get("creatingUser") or "").lower(), child.get("creationDateTime") or ""))
                refs[coding].extend(c.get("targetGUID", "").lower() for c in child.iterchildren("{*}NoteRef"))
        return _Source(guid, name, text, selections, codings + whole, notes, refs, variables, plain)

    def width(self, text: str, codepoints: int) -> int:
        """A code-point length in the file's position unit."""
        if self.unit() == "utf16":
            return codepoints + sum(1 for ch in text if ord(ch) > 0xFFFF)
        return codepoints

    def unit(self) -> str:
        if self.positions != "auto":
            return self.positions
        return "utf16" if any(tool in (self.origin or "").casefold() for tool in UTF16_ORIGINS) else "codepoints"

    def store_source(self, source: _Source) -> None:
        name = source.name[:200]
        guid = checked_guid(source.guid)
        known = self.session.scalar(select(Transcript).where(Transcript.guid == guid)) if guid else None
        if known is not None:
            self.update_source(known, source)
            return
        if name in self.names:
            raise InputError(
                f"a transcript called {literal(repr(name))} is already in the study, and it is not this project's source (its GUID differs); "
                "remove it first ({remove})",
                path=self.path, arguments={"remove": removing(name)},
            )
        if name in self.added:
            n = 2
            while f"{name} ({n})" in self.added or f"{name} ({n})" in self.names:
                n += 1
            name = f"{name} ({n})"
        self.added.add(name)
        group_name = source.variables.get(GROUP_VARIABLE)
        if group_name:
            self.grouped.add(source.guid)
        group = self.group(str(group_name or name), source.variables.get(GROUP_DATE_VARIABLE))
        extra = {  # a source's other variables describe its group (sources of one group agree)
            key.removeprefix(GROUP_PREFIX): value.isoformat() if isinstance(value, date) else value
            for key, value in source.variables.items()
            if key not in (GROUP_VARIABLE, GROUP_DATE_VARIABLE)
        }
        if extra:
            group.attributes = {**extra, **(group.attributes or {})}
        transcript = Transcript(name=name, group=group, text=source.text, sha256=hashlib.sha256(source.text.encode("utf-8")).hexdigest(), guid=checked_guid(source.guid), source_path=str(self.path))
        self.session.add(transcript)
        self.session.flush()
        self.transcripts[source.guid] = transcript
        if source.plain_path:
            self.source_paths[source.plain_path] = transcript
        to_points = _code_point_map(source.text) if self.unit() == "utf16" else None
        turns = self.store_turns(transcript, source, to_points, group)
        self.store_codings(transcript, source, turns, to_points)
        for note in source.notes:
            self.note_targets[note].append(("transcript", transcript.id))
        self.report.sources += 1

    def update_source(self, transcript: Transcript, source: _Source) -> None:
        """A source already in the study (the same GUID: a second import of the project): its new codings added, none removed."""
        self.transcripts[source.guid] = transcript
        if source.plain_path:
            self.source_paths[source.plain_path] = transcript
        if transcript.sha256 != hashlib.sha256(source.text.encode("utf-8")).hexdigest():
            self.skip(f"source {source.name!r}: already in the study (the same GUID) with other text; not updated, since its codings' "
                      "positions would not fit (remove the transcript first to replace it)")
            return
        turns = [(t.start, t.end, t.id, t.participant_id)
                 for t in self.session.scalars(select(Turn).where(Turn.transcript_id == transcript.id).order_by(Turn.start))]
        stored = self.session.execute(
            select(Coding.guid, Coding.code_id, Coding.coder_id, Coding.start, Coding.end).where(Coding.transcript_id == transcript.id)
        ).all()
        there = {row.guid for row in stored if row.guid}
        fresh = [row for row in source.codings if checked_guid(row[3]) not in there]
        before = self.report.codings
        self.store_codings(transcript, replace(source, codings=fresh), turns,
                           _code_point_map(source.text) if self.unit() == "utf16" else None, {tuple(row[1:]) for row in stored})
        added = self.report.codings - before
        in_file = {checked_guid(row[3]) for row in source.codings}
        kept = sum(1 for row in stored if row.guid not in in_file)
        self.made(
            f"source {source.name!r}: already in the study (the same GUID and text); {added} new coding(s) added, "
            f"{len(source.codings) - len(fresh)} already there" + (f"; {kept} coding(s) the file no longer has are kept" if kept else "")
        )

    def group(self, name: str, when: Any) -> Group:
        found = self.session.scalar(select(Group).where(Group.name == name[:100]))
        if found is None:
            found = Group(name=name[:100], attributes={})
            self.session.add(found)
        if isinstance(when, date) and found.date is None:
            found.date = when
        self.session.flush()
        return found

    def store_turns(self, transcript: Transcript, source: _Source, to_points: list[int] | None, group: Group) -> list[tuple[int, int, int, int]]:
        """The transcript's turns as (start, end, turn id, speaker id), in order."""
        spans: list[tuple[int, int, Participant]] = []
        for guid, start_at, end_at in source.selections:
            owner = self.turn_owner.get(guid)
            if owner is not None:
                start, end = _convert(start_at, to_points), _convert(end_at, to_points)
                if start is not None and end is not None and 0 <= start < end <= len(source.text):
                    spans.append((start, end, owner))
        spans.sort(key=lambda s: (s[0], s[1]))
        if any(b[0] < a[1] for a, b in zip(spans, spans[1:])):
            self.skip(f"source {source.name!r}: its cases' selections overlap, so its turns are its lines")
            spans = []
        if not spans:
            sole = self.sole_case.get(source.guid, [])
            by_name = {p.pseudonym.casefold(): p for p in self.people.values()}
            lines = turns_from_lines(source.text, by_name, sole[0] if len(sole) == 1 else None)
            if lines and all(person is None for _, _, person in lines):  # no one's turns: an article, field notes, an essay
                if self.speakerless == "passage":
                    lines = [(lines[0][0], lines[-1][1], None)]
                    self.made(f"source {source.name!r}: no speaker turns (no case's selections, no 'Name:' lines); "
                              "kept as one unattributed passage (speakerless='lines' cuts it into a turn per line)")
                else:
                    self.made(f"source {source.name!r}: no speaker turns (no case's selections, no 'Name:' lines); "
                              f"cut into {len(lines)} unattributed turns, one per line (speakerless='passage' keeps it as one passage)")
            spans = [(start, end, person or self.unattributed()) for start, end, person in lines]
        ids = reserve_ids(self.session, Turn.__table__, len(spans))
        bulk_insert(
            self.session, Turn.__table__, ("id", "transcript_id", "ordinal", "participant_id", "speaker_label", "start", "end"),
            [(i, transcript.id, n, p.id, p.pseudonym, s, e) for n, (i, (s, e, p)) in enumerate(zip(ids, spans), start=1)],
        )
        speakers = {p.id for _, _, p in spans if p.role != "unattributed"}
        known = set(self.session.scalars(select(Membership.participant_id).where(Membership.group_id == group.id)))
        for person in speakers - known:
            self.session.add(Membership(participant_id=person, group_id=group.id))
        return [(s, e, turn_id, p.id) for (s, e, p), turn_id in zip(spans, ids)]

    def unattributed(self) -> Participant:
        """The stand-in speaker of text no case claims; analysis leaves it out, like facilitators."""
        if self.nobody is None:
            self.nobody = self.session.scalar(select(Participant).where(Participant.key == UNATTRIBUTED))
        if self.nobody is None:
            self.nobody = Participant(key=UNATTRIBUTED, pseudonym=UNATTRIBUTED, role="unattributed", attributes={})
            self.session.add(self.nobody)
            self.session.flush()
        return self.nobody

    def store_codings(
        self, transcript: Transcript, source: _Source, turns: list[tuple[int, int, int, int]], to_points: list[int] | None,
        already: set[tuple[int, int, int, int]] | None = None,
    ) -> None:
        """The source's codings, checked and attributed to the turns they overlap, in bulk; those ``already`` stored are left."""
        starts = [t[0] for t in turns]
        length = len(source.text)
        code_ids = {guid: code.id for guid, code in self.codes.items()}
        coder_ids: dict[str, int] = {}
        candidates = []
        selection: tuple[str, str, str] | None = None
        fits, over, start, end = False, [], 0, 0
        for row in source.codings:
            if row[:3] != selection:  # a new selection: where it is, and whose turns it overlaps
                selection = row[:3]
                start, end = _convert(row[1], to_points), _convert(row[2], to_points)
                fits = start is not None and end is not None and 0 <= start < end <= length
                if not fits:
                    self.skip(f"{_where(source, selection)}: positions do not fit a text of {length:,} characters")
                    continue
                first = max(bisect.bisect_right(starts, start) - 1, 0)
                over = []
                for turn in turns[first:]:
                    if turn[0] >= end:
                        break
                    if turn[1] > start:
                        over.append(turn)
            if not fits:
                continue
            code_id = code_ids.get(row[4])
            if code_id is None:
                self.skip(f"{_where(source, selection)}: coding {row[3]} refers to no code of the codebook")
            elif not over:
                self.skip(f"{_where(source, selection)}: holds no one's words (only spaces or a speaker's name)")
            else:
                coder_id = coder_ids.get(row[5])
                if coder_id is None:
                    coder_id = coder_ids[row[5]] = self.coder(row[5]).id
                if not already or (code_id, coder_id, start, end) not in already:
                    candidates.append((code_id, coder_id, start, end, row, over))
        candidates.sort(key=itemgetter(0, 1, 2, 3))
        kept = []
        reach: tuple[int, int, int] = (-1, -1, -1)  # (code, coder, furthest end so far)
        for candidate in candidates:
            code_id, coder_id, start, end = candidate[:4]
            if reach[0] == code_id and reach[1] == coder_id:
                if start < reach[2]:
                    name = next(c.name for c in self.codes.values() if c.id == code_id)
                    self.skip(f"{_where(source, candidate[4][:3])}: overlaps another coding of {name!r} by the same coder")
                    continue
                reach = (code_id, coder_id, max(end, reach[2]))
            else:
                reach = (code_id, coder_id, end)
            kept.append(candidate)
        if not kept:
            return
        ids = reserve_ids(self.session, Coding.__table__, len(kept))
        transcript_id, fallback = transcript.id, transcript.imported_at
        bulk_insert(
            self.session, Coding.__table__,
            ("id", "transcript_id", "code_id", "coder_id", "start", "end", "created_at", "guid", "selection_guid"),
            [
                (i, transcript_id, code_id, coder_id, start, end, parse_stamp(row[6]) or fallback, checked_guid(row[3]), checked_guid(row[0]))
                for i, (code_id, coder_id, start, end, row, _) in zip(ids, kept)
            ],
        )
        bulk_insert(
            self.session, CodingTurn.__table__, ("coding_id", "turn_id", "code_id", "participant_id", "transcript_id"),
            [(i, t[2], c[0], t[3], transcript_id) for i, c in zip(ids, kept) for t in c[5]],
        )
        if source.note_refs:
            for coding_id, candidate in zip(ids, kept):
                row = candidate[4]
                for note in source.note_refs.get(row[3], []) + source.note_refs.get(row[0], []):
                    self.note_targets[note].append(("coding", coding_id))
        self.report.codings += len(ids)

    # -- audio, notes, sets ---------------------------------------------------------------
    def on_audio(self, element: Element) -> None:
        name = element.get("name") or element.get("path") or element.get("guid")
        linked = False
        for child in element:
            if local(child.tag) != "Transcript":
                continue
            transcript = self.source_paths.get(child.get("plainTextPath") or "")
            if transcript is None:
                continue
            linked = True
            recording = element.get("path") or element.get("currentPath")
            if recording:
                transcript.group.recording_path = recording
            points = sorted(
                (int(p.get("position", -1)), int(p.get("timeStamp", -1)) / 1000)
                for p in child if local(p.tag) == "SyncPoint" and p.get("position") and p.get("timeStamp")
            )
            at = dict(points)
            for turn in self.session.scalars(select(Turn).where(Turn.transcript_id == transcript.id)):
                turn.start_time = at.get(turn.start, turn.start_time)
                turn.end_time = at.get(turn.end, turn.end_time)
        if not linked:
            self.skip(f"audio source {name!r}: no transcript of it among the text sources; its selections are not kept")

    def on_note(self, element: Element) -> None:
        content = next((c.text or "" for c in element if local(c.tag) == "PlainTextContent"), None)
        if content is None and element.get("plainTextPath"):
            content = self.read_source_file(element.get("plainTextPath"), f"note {element.get('name')!r}")
        if content is None:
            self.skip(f"note {element.get('name')!r}: no text")
            return
        description = next((c.text for c in element if local(c.tag) == "Description" and (c.text or "").strip()), None)
        title = (element.get("name") or "").strip()[:200] or None
        self.notes.append(
            (element.get("guid", "").lower(), content, element.get("creatingUser"), parse_stamp(element.get("creationDateTime")), title, description)
        )

    def on_set(self, element: Element) -> None:
        name = element.get("name") or element.get("guid", "")
        # a project's MemberCode says targetGUID; the codebook schema's says guid
        members = [(local(c.tag), (c.get("targetGUID") or c.get("guid") or "").lower()) for c in element]
        codes = [guid for tag, guid in members if tag == "MemberCode"]
        if codes:
            self.on_code_set(element, name, codes)
        elif not members:  # ATLAS.ti writes an empty code group as a set with no members: a set of codes still to fill
            self.on_code_set(element, name, [])
            self.made(f"set {name!r}: it has no members; kept as an empty code set")
        notes = sum(tag == "MemberNote" for tag, _ in members)
        if notes:
            self.skip(f"set {name!r}: its {notes} note(s) are kept as memos, but not as members of a set")
        sources = [guid for tag, guid in members if tag == "MemberSource"]
        moving = [self.transcripts[m] for m in sources if m in self.transcripts and m not in self.grouped]
        grouped = [self.transcripts[m] for m in sources if m in self.grouped and m in self.transcripts]
        for transcript in grouped:
            if transcript.group.name == name:  # the set is the focus group its sources' variables name: keep its identity
                transcript.group.guid = transcript.group.guid or checked_guid(element.get("guid"))
        elsewhere = sorted(t.name for t in grouped if t.group.name != name)
        if elsewhere:
            self.skip(
                f"set {name!r}: {', '.join(elsewhere)} stay(s) in the focus group the source variables name; "
                "a transcript belongs to one group, so the set is not kept"
            )
        earlier = sorted(t.name for t in moving if t.id in self.set_for)
        if earlier:
            self.skip(f"set {name!r}: {', '.join(earlier)} stay(s) in the focus group of the set before it; a transcript belongs to one group")
            moving = [t for t in moving if t.id not in self.set_for]
        if not moving:
            return
        if self.document_sets == "ignore":
            self.made(f"set {name!r}: a set of {len(moving)} source(s), not taken as a focus group (document_sets='ignore'): "
                      "each stays in a group of its own")
            return
        self.made(f"set {name!r}: taken as the focus group of {len(moving)} transcript(s) ({', '.join(sorted(t.name for t in moving))}); "
                  "document_sets='ignore' leaves each source in a group of its own")
        group = self.group(name, None)
        group.guid = group.guid or checked_guid(element.get("guid"))
        for transcript in moving:
            self.set_for[transcript.id] = name
            old = transcript.group
            if old.id == group.id:
                continue
            transcript.group = group
            self.session.flush()
            for link in self.session.scalars(select(Membership).where(Membership.group_id == old.id)):
                if self.session.get(Membership, (link.participant_id, group.id)) is None:
                    self.session.add(Membership(participant_id=link.participant_id, group_id=group.id))
                self.session.delete(link)
            self.session.flush()
            if not self.session.scalar(select(Transcript.id).where(Transcript.group_id == old.id)):
                self.session.delete(old)
        self.session.flush()

    def on_code_set(self, element: Element, name: str, guids: list[str]) -> None:
        """A set of codes: kept as a code set (matched by GUID, else by name), its members the codes it names."""
        guid = (element.get("guid") or "").lower()
        code_set = self.session.scalar(select(CodeSet).where(CodeSet.guid == guid)) if guid else None
        code_set = code_set or self.session.scalar(select(CodeSet).where(CodeSet.name == name))
        if code_set is None:
            code_set = CodeSet(name=name)
            self.session.add(code_set)
        code_set.guid = code_set.guid or checked_guid(guid)
        description = next((c.text for c in element if local(c.tag) == "Description"), None)
        if description:
            code_set.description = description
        unknown = [g for g in guids if g not in self.codes]
        if unknown:
            self.skip(f"set {name!r}: {len(unknown)} member code(s) not in the codebook ({', '.join(unknown[:3])}) are not kept")
        for code in dict.fromkeys(self.codes[g] for g in guids if g in self.codes):
            if code not in code_set.codes:
                code_set.codes.append(code)
        self.report.code_sets += 1

    def on_consensus(self, title: str, content: str, user: str | None, created: datetime | None) -> bool:
        """Keep a consensus note Chorus wrote as the study's consensus record (not a memo); False if the note is not one."""
        line = next((ln for ln in content.splitlines() if ln.startswith(CONSENSUS_LINE)), None)
        if not title.startswith(CONSENSUS_NOTE) or line is None:
            return False
        try:
            said = json.loads(line.removeprefix(CONSENSUS_LINE))
            coders, unit, cells = [str(c) for c in said["coders"]], str(said["unit"]), said["cells"]
        except (ValueError, KeyError, TypeError):
            self.skip(f"note {title!r}: its consensus line cannot be read; kept as a memo")
            return False
        coder = self.coder(user)
        self.session.flush()
        if self.session.scalar(select(Consensus.id).where(Consensus.coder_id == coder.id)) is not None:
            return True  # a second import of the project: the record is in the study already
        kept = [[self.transcripts[s.lower()].id, self.codes[c.lower()].id] for s, c in cells
                if s.lower() in self.transcripts and c.lower() in self.codes]
        record = Consensus(coder_id=coder.id, coders=coders, cells=kept, unit=unit, written_by=str(said.get("written_by") or coder.name))
        if created:
            record.written_at = created
        self.session.add(record)
        self.made(f"note {title!r}: {coder.name}'s codings kept as the consensus of {' and '.join(coders)}, which the findings count")
        return True

    def finish(self) -> None:
        for guid, content, user, created, title, description in self.notes:
            if title and self.on_consensus(title, content, user, created):
                self.note_targets.pop(guid, None)
                continue
            targets = self.note_targets.pop(guid, None) or [("project", None)]
            if checked_guid(guid) and self.session.scalar(select(Memo.id).where(Memo.guid == checked_guid(guid))):
                continue  # a second import of the project: the memo is in the study already
            for n, (kind, key) in enumerate(targets):  # one memo per target; the first keeps the GUID
                memo = Memo(text=content, coder=self.coder(user), guid=checked_guid(guid) if n == 0 else None, title=title, description=description)
                if created:
                    memo.created_at = created
                if kind == "code":
                    memo.code_id = key
                elif kind == "transcript":
                    memo.transcript_id = key
                elif kind == "coding":
                    memo.coding_id = key
                self.session.add(memo)
            self.report.notes += 1
        for guid in self.note_targets:
            self.skip(f"note reference {guid}: no such note in the project")


class NeedsDiscipline(ChorusError):
    """The cases have variables but none is named as the discipline; the user must say which."""

    def __init__(self, variables: list[str]):
        self.variables = variables
        super().__init__(
            "which case variable holds the participants' discipline? The project has "
            + literal(", ".join(repr(v) for v in variables)) + "; {say}",
            arguments={"say": Way("say variables={'NAME': 'discipline'} (or {'NAME': None} to keep it as an attribute)",
                                  "say --variable 'NAME=discipline' (or --variable 'NAME=' to keep it as an attribute)",
                                  "name it in the discipline variable field (or leave the field empty if there is none)")},
        )


def _where(source: _Source, selection: tuple[str, str, str]) -> str:
    guid, start, end = selection
    return f"source {source.name!r}, selection {guid} [{start}, {end})"


def _code_point_map(text: str) -> list[int]:
    """For each UTF-16 code unit offset, the code point offset (one past the end included)."""
    points: list[int] = []
    for index, ch in enumerate(text):
        points.append(index)
        if ord(ch) > 0xFFFF:
            points.append(index)
    points.append(len(text))
    return points


def _convert(position: str, to_points: list[int] | None) -> int | None:
    """A position as the file writes it, in code points; None if it is not a usable number."""
    try:
        at = int(position)
    except ValueError:
        return None
    if to_points is None:
        return at
    return to_points[at] if 0 <= at < len(to_points) else None


#: A source's selections as lines, made in C by libxslt so that a million codings
#: need no Python object per element: ``S guid start end`` for each selection,
#: ``C`` with the selection's three and the coding's ``guid code user time`` for
#: each coding, ``N owner note`` for each note on a selection or coding, and a last
#: ``T`` line with how many of each there are. (XPath's translate() to take tabs
#: and line breaks out of values would cost more than the whole transform; instead
#: :func:`_selection_rows` checks the lines against those counts, so a value
#: holding a line break cannot forge a selection.)
_SELECTION_ROWS = etree.XSLT(
    etree.XML(
        """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:q="urn:QDA-XML:project:1.0">
  <xsl:output method="text" encoding="utf-8"/>
  <xsl:template match="/*">
    <xsl:for-each select="q:PlainTextSelection">
      <xsl:text>S&#9;</xsl:text><xsl:value-of select="@guid"/>
      <xsl:text>&#9;</xsl:text><xsl:value-of select="@startPosition"/>
      <xsl:text>&#9;</xsl:text><xsl:value-of select="@endPosition"/>
      <xsl:text>&#10;</xsl:text>
      <xsl:for-each select="q:NoteRef">
        <xsl:text>N&#9;</xsl:text><xsl:value-of select="../@guid"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="@targetGUID"/><xsl:text>&#10;</xsl:text>
      </xsl:for-each>
      <xsl:for-each select="q:Coding">
        <xsl:text>C&#9;</xsl:text><xsl:value-of select="../@guid"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="../@startPosition"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="../@endPosition"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="@guid"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="q:CodeRef/@targetGUID"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="@creatingUser"/>
        <xsl:text>&#9;</xsl:text><xsl:value-of select="@creationDateTime"/>
        <xsl:text>&#10;</xsl:text>
        <xsl:for-each select="q:NoteRef">
          <xsl:text>N&#9;</xsl:text><xsl:value-of select="../@guid"/>
          <xsl:text>&#9;</xsl:text><xsl:value-of select="@targetGUID"/><xsl:text>&#10;</xsl:text>
        </xsl:for-each>
      </xsl:for-each>
    </xsl:for-each>
    <xsl:text>T&#9;</xsl:text><xsl:value-of select="count(q:PlainTextSelection)"/>
    <xsl:text>&#9;</xsl:text><xsl:value-of select="count(q:PlainTextSelection/q:Coding)"/>
    <xsl:text>&#9;</xsl:text><xsl:value-of select="count(q:PlainTextSelection/q:NoteRef | q:PlainTextSelection/q:Coding/q:NoteRef)"/>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>"""
    ),
    access_control=etree.XSLTAccessControl.DENY_ALL,
)
_VALUE = "\\t([^\\t\\n]*)"
_ROW_S = re.compile(f"^s{_VALUE * 3}$", re.M)  # matched after the rows are lower-cased
_ROW_C = re.compile(f"^c{_VALUE * 7}$", re.M)
_ROW_N = re.compile(f"^n{_VALUE * 2}$", re.M)
_ROW_T = re.compile(r"^t\t(\d+)\t(\d+)\t(\d+)$", re.M)


def _selection_rows(element: Element, where: str) -> _Rows:
    """A text source's selections, codings and notes on them, read in C (see :data:`_SELECTION_ROWS`)."""
    rows = str(_SELECTION_ROWS(element)).lower().replace("{", "").replace("}", "")  # GUIDs as Chorus keeps them
    found = _ROW_S.findall(rows), _ROW_C.findall(rows), _ROW_N.findall(rows)
    counts = _ROW_T.findall(rows)
    if len(counts) != 1 or tuple(map(int, counts[0])) != tuple(map(len, found)) or sum(map(len, found)) + 1 != rows.count("\n"):
        raise InputError(f"{where}: a selection's attribute in source {element.get('name')!r} holds a tab or a line break")
    return found


_SKIPPED_SOURCES = {"PictureSource": "a picture", "VideoSource": "a video"}


#: The elements the importer reads; the parser reports only these, and only when they end.
PROJECT_TAGS = (
    "User", "Codes", "Variables", "Cases", "TextSource", "Representation", "PDFSource",
    "PictureSource", "VideoSource", "AudioSource", "Note", "Set", "NoteRef", "Link", "Graph",
)
#: A ``project.qde`` bigger than this is parsed in a second process while this one stores.
PARALLEL_BYTES = 64 * 1024 * 1024


def _wanted(tag: str, parent: str | None) -> bool:
    """Whether the importer reads this element itself (others are read with their parent)."""
    if tag == "Codes":
        return parent == "CodeBook"
    if tag in ("TextSource", "Representation"):
        return parent in ("Sources", "PDFSource")
    if tag == "Note":
        return parent == "Notes"
    if tag == "NoteRef":
        return parent == "Project"
    return True


def _events(archive: QdpxArchive, name: str) -> Iterator[_Event]:
    """The project's elements the importer reads, in document order, each dropped once used."""
    origin = None
    for _, element in archive.iterparse(name, PROJECT_TAGS):
        holder = element.getparent()
        tag, parent = local(element.tag), local(holder.tag) if holder is not None else None
        if not _wanted(tag, parent):
            continue
        if origin is None:
            origin = element.getroottree().getroot().get("origin", "")
        event = _Event(tag, parent, element, origin, archive.total)
        if tag in ("TextSource", "Representation"):
            event.rows = _selection_rows(element, f"{archive.path}!{name}")
            if tag == "Representation":
                event.holder = (holder.get("name"), holder.get("guid", "").lower())
        yield event
        if holder is not None:
            element.clear()  # frees the subtree in C; remove() alone would walk it to fix namespaces
            holder.remove(element)


def _parse_elsewhere(path: Path, limits: Limits, sender: Connection) -> None:
    """In a second process: parse ``project.qde`` and send its events, each element as XML without its selections.

    A thread writes to the pipe, so parsing runs ahead of the importer by up to
    a few batches instead of waiting for each to be taken.
    """
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=8)

    def post() -> None:
        try:
            while (data := outbox.get()) is not None:
                sender.send_bytes(data)
        except OSError:  # the importer stopped reading (it failed, or was interrupted) and ends this process
            return

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    batch: list[tuple[Any, ...]] = []
    size = 0
    try:
        with QdpxArchive(path, limits) as archive:
            for event in _events(archive, "project.qde"):
                element = event.element
                if event.rows is not None:  # the selections travel as rows
                    element = etree.Element(element.tag, dict(element.attrib))
                    element.extend(deepcopy(c) for c in event.element.iterchildren("{*}PlainTextContent", *_SOURCE_PARTS))
                data = etree.tostring(element)
                batch.append((event.tag, event.parent, data, event.origin, event.done, event.rows, event.holder))
                size += len(data) + (sum(map(len, event.rows)) if event.rows else 0)
                if size > 20_000:  # elements and rows: small batches keep both processes' memory flat
                    outbox.put(pickle.dumps(("events", batch), pickle.HIGHEST_PROTOCOL))
                    batch, size = [], 0
        outbox.put(pickle.dumps(("events", batch), pickle.HIGHEST_PROTOCOL))
        outbox.put(pickle.dumps(("done", None)))
    except ChorusError as exc:
        outbox.put(pickle.dumps(("error", str(exc))))
    finally:
        outbox.put(None)
        poster.join()
        sender.close()


def _events_elsewhere(archive: QdpxArchive, name: str) -> Iterator[_Event]:
    """:func:`_events`, parsed in a second process so that parsing and storing overlap on two cores."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_parse_elsewhere, args=(archive.path, archive.limits, sender), daemon=True)
    worker.start()
    sender.close()
    info, done = archive.find(name), 0
    try:
        while True:
            try:
                kind, payload = pickle.loads(receiver.recv_bytes())
            except EOFError:
                raise InputError("the process reading project.qde stopped unexpectedly", path=archive.path) from None
            if kind == "error":
                raise InputError(payload)
            if kind == "done":
                return
            for tag, parent, data, origin, at, rows, holder in payload:
                archive.account(info, at, at - done)  # the other process's bytes count against the limits too
                done = at
                yield _Event(tag, parent, etree.fromstring(data, _TRUSTED), origin, at, rows, holder)
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join()


_SOURCE_PARTS = ("{*}VariableValue", "{*}NoteRef", "{*}Coding")
#: For elements this process wrote itself from a checked parse: still no entities, no network.
_TRUSTED = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def _walk(importer: _Importer, events: Iterator[_Event], progress: Callable[[int], None] | None) -> None:
    """Feed the project's elements to the importer."""
    read_pdfs: set[str] = set()
    for event in events:
        tag, element = event.tag, event.element
        importer.origin = event.origin
        if tag == "User":
            importer.on_user(element)
        elif tag == "Codes":
            importer.on_codes(element)
        elif tag == "Variables":
            importer.on_variables(element)
        elif tag == "Cases":
            importer.on_cases(element)
        elif tag in ("TextSource", "Representation"):
            source = importer.text_source(element, event.rows or ([], [], []), name=event.holder[0] if event.holder else None)
            if source is not None:
                importer.store_source(source)
            if event.holder:  # read, or reported skipped with its reason: the PDF is not reported again
                read_pdfs.add(event.holder[1])
            if progress:
                progress(event.done)
        elif tag == "PDFSource":
            if element.get("guid", "").lower() not in read_pdfs:
                importer.skip(f"source {element.get('name')!r}: a PDF without a text rendition")
        elif tag in _SKIPPED_SOURCES:
            importer.skip(f"source {element.get('name')!r}: {_SKIPPED_SOURCES[tag]}; Chorus keeps text and audio transcripts")
        elif tag == "AudioSource":
            importer.on_audio(element)
        elif tag == "Note":
            importer.on_note(element)
        elif tag == "Set":
            importer.on_set(element)
        elif tag == "NoteRef":
            importer.note_targets[element.get("targetGUID", "").lower()].append(("project", None))
        elif tag in ("Link", "Graph"):
            importer.skip(f"{tag.lower()} {element.get('name') or element.get('guid')!r}: links and graphs are not kept")


def import_qdpx(
    study: Study,
    path: str | Path,
    variables: Mapping[str, str] | None = None,
    positions: Positions = "auto",
    sources_folder: str | Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress | None = None,
    speakerless: Speakerless = "lines",
    document_sets: DocumentSets = "groups",
) -> ImportReport:
    """Import a REFI-QDA project into the study, all or nothing.

    ``variables`` maps case variable names to ``discipline``, ``care_team``,
    ``role`` or ``id`` (any other value: the attribute name to keep it under); without it,
    variables named so are used and Chorus asks (:class:`NeedsDiscipline`) when
    none is the discipline. Sources outside the archive are looked up under
    ``sources_folder`` (by default the QDPX file's folder) and never outside it.
    ``progress(done, total)`` counts bytes of ``project.qde``.

    What the file leaves open is decided and said in the report's ``made``: a
    source with no speaker turns (an article, field notes) is cut into a turn per
    line or, with ``speakerless="passage"``, kept as one passage, both
    unattributed; a set of sources is taken as their focus group, or with
    ``document_sets="ignore"`` each source keeps a group of its own. A source
    already in the study under the same GUID (a second import of the project)
    gains the codings it did not have; nothing in the study is removed.
    """
    if speakerless not in ("lines", "passage"):
        raise ChorusError(f"{{speakerless}} must be 'lines' or 'passage', not {speakerless!r}", arguments={"speakerless": None})
    if document_sets not in ("groups", "ignore"):
        raise ChorusError(f"{{document_sets}} must be 'groups' or 'ignore', not {document_sets!r}", arguments={"document_sets": None})
    path = Path(path)
    with QdpxArchive(path, limits) as archive:
        info = archive.find("project.qde")
        if info is None:
            raise InputError("no project.qde in the archive; is this a REFI-QDA project (.qdpx)?", path=path)
        with study.transaction() as session:
            importer = _Importer(session, archive, path, variables, positions, Path(sources_folder or path.parent), speakerless, document_sets)
            tick = (lambda done: progress(min(done, info.file_size), info.file_size)) if progress else None
            events = _events_elsewhere if info.file_size > PARALLEL_BYTES else _events
            _walk(importer, events(archive, info.filename), tick)
            importer.finish()
            if importer.report.codings == 0 and importer.report.sources == 0 and importer.report.codes == 0:
                raise InputError("the project holds no codes and no text sources Chorus can keep", path=path)
    return importer.report


def import_qdc(study: Study, path: str | Path, limits: Limits = DEFAULT_LIMITS) -> ImportReport:
    """Import a REFI-QDA codebook (QDC): codes matched by GUID, then by path; all or nothing."""
    path = Path(path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=path) from None
    with stream, study.transaction() as session:
        importer = _Importer(session, None, path, None, "codepoints", path.parent)
        for _, element in parse_events(stream, str(path), limits):  # a codebook is small: every element
            root = element.getroottree().getroot()
            if local(root.tag) != "CodeBook":
                raise InputError(f"the root element is <{local(root.tag)}>, not <CodeBook>; is this a QDC codebook?", path=path)
            if element.getparent() is root and local(element.tag) == "Codes":
                importer.on_codes(element)
            elif element.getparent() is root and local(element.tag) == "Sets":
                for child in element:
                    if local(child.tag) == "Set":
                        importer.on_set(child)
        if importer.report.codes == 0:
            raise InputError("the codebook holds no codes", path=path)
    return importer.report
