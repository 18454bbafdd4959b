"""Transcripts from .txt/.md, .docx, WebVTT and SRT, with speakers matched to the roster.

Each format is read into the same shape, a list of :class:`RawTurn` (speaker as
written, text, optional times, place in the file). The importer then matches
every speaker to a member of the transcript's group (exact pseudonym, then
ignoring case and spacing, then the alias table) and stores the transcript with
its turns. One unknown speaker stops the whole import, listing each unknown name
with its place and the closest roster names; nothing is written.

Stored text is one line per turn, ``Pseudonym: what they said``; a turn's
``start``/``end`` cover what they said. A turn that begins ``[overlap]`` (as
Chorus's own exports and noScribe mark speech over another voice) is stored
without the mark, as an overlapped turn (:func:`overlapped_turn`).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError, InputError, Way, literal
from chorus.ingest.files import read_text
from chorus.study.lookup import find_transcript
from chorus.study.models import Coder, Coding, CodingTurn, Group, Memo, Participant, SpeakerAlias, Transcript, Turn
from chorus.study.store import Study
from chorus.words import counted

FORMATS = (".txt", ".md", ".docx", ".vtt", ".srt")


@dataclass
class RawTurn:
    """A turn as read from a file, before its speaker is matched to the roster."""

    speaker: str
    text: str
    place: str
    start_time: float | None = None
    end_time: float | None = None
    overlap: bool = False  # spoken while another voice was heard: the file began the turn with [overlap]


# --- overlapped speech ------------------------------------------------------------------

OVERLAP = "[overlap]"
OVERLAP_LEAST = 0.25  # seconds of a turn that must be overlapped speech for the turn to be marked


def overlapped(start: float | None, end: float | None, spans: list[list[float]], least: float = OVERLAP_LEAST) -> bool:
    """Whether the turn from ``start`` to ``end`` holds at least ``least`` seconds of the overlapped ``spans``.

    >>> overlapped(2.0, 5.0, [[4.5, 6.0]]), overlapped(2.0, 5.0, [[4.9, 6.0]]), overlapped(None, None, [[0, 1]])
    (True, False, False)
    """
    if start is None or end is None:
        return False
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans) >= least


def overlapped_turn(media: dict[str, Any] | None, ordinal: int, start: float | None, end: float | None) -> bool:
    """Whether a transcript's turn was spoken over another voice, as its ``media`` records it.

    Two records: the stretches where the diarizer heard two voices at once
    (``media["overlap"]``, seconds, stored by transcription) and the turns an
    imported file marked ``[overlap]`` (``media["overlap_turns"]``, ordinals).
    The exports and the transcript page mark the same turns.

    >>> overlapped_turn({"overlap_turns": [2]}, 2, None, None), overlapped_turn({"overlap": [[0, 1]]}, 1, 0.5, 3), overlapped_turn(None, 1, 0, 1)
    (True, True, False)
    """
    media = media or {}
    return ordinal in (media.get("overlap_turns") or ()) or overlapped(start, end, media.get("overlap") or [])


def _unmarked(said: str) -> tuple[str, bool]:
    """``said`` without a leading ``[overlap]``, and whether it had one.

    >>> _unmarked("[Overlap] Right."), _unmarked("Right [overlap]")
    (('Right.', True), ('Right [overlap]', False))
    """
    if said[: len(OVERLAP)].casefold() == OVERLAP:
        return said[len(OVERLAP) :].lstrip(), True
    return said, False


# --- time stamps -----------------------------------------------------------------------

_CLOCK = r"(\d{1,2}):(\d{2}):(\d{2})(?:[-.,](\d{1,3}))?"
_MAXQDA_STAMP = re.compile(r"#" + _CLOCK + r"#")
_BRACKET_STAMP = re.compile(r"[\[(]" + r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?" + r"[\])]")
_CUE_TIME = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return value + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def _cue_seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1])
    for unit, part in zip((60, 3600), reversed(parts[:-1])):
        seconds += unit * int(part)
    return seconds


def _strip_stamps(text: str) -> tuple[str, float | None, float | None]:
    """Text without its time stamps; a stamp before the text is a start, after it an end."""
    start = end = None
    for pattern in (_MAXQDA_STAMP, _BRACKET_STAMP):
        leading = pattern.match(text)
        if leading:
            start = _seconds(*leading.groups())
            text = text[leading.end() :].lstrip()
        trailing = None
        for trailing in pattern.finditer(text):
            pass
        if trailing and trailing.end() == len(text.rstrip()):
            end = _seconds(*trailing.groups())
            text = text[: trailing.start()].rstrip()
    return text.strip(), start, end


def _drop_stamps(text: str) -> str:
    """Text without time stamps left inside it."""
    for pattern in (_MAXQDA_STAMP, _BRACKET_STAMP):
        text = pattern.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# --- "Name: text" paragraphs (txt, md, docx, srt) ---------------------------------------

_SPEAKER = re.compile(r"^[*_]*(?P<label>[^\W\d][^:\n]{0,59}?)[*_]*\s*:[*_]*\s+(?P<text>\S.*)$", re.DOTALL)
_MARKUP = re.compile(r"^\s*(?:#{1,6}\s|---+\s*$|\*\*\*+\s*$)")


def _speaker_line(text: str) -> tuple[str, str] | None:
    match = _SPEAKER.match(text)
    if not match or len(match["label"].split()) > 6:
        return None
    return match["label"].strip(), match["text"].strip()


def parse_paragraphs(paragraphs: Iterable[tuple[str, str]], path: Path) -> tuple[list[RawTurn], list[str]]:
    """Turns from ``(place, paragraph)`` pairs: ``Name: text`` starts a turn, other text continues it.

    Returns the turns and warnings about paragraphs before the first turn
    (title lines), which are not part of the discussion and are left out.
    """
    turns: list[RawTurn] = []
    skipped: list[str] = []
    for place, paragraph in paragraphs:
        if not paragraph.strip() or _MARKUP.match(paragraph):
            continue
        text, start, end = _strip_stamps(paragraph.strip())
        found = _speaker_line(text)
        if found:
            speaker, said = found
            said, said_start, said_end = _strip_stamps(said)
            start = start if start is not None else said_start
            end = end if end is not None else said_end
            said, overlap = _unmarked(_drop_stamps(said))
            turns.append(RawTurn(speaker, said, place, start, end, overlap))
        elif turns:
            text = _drop_stamps(text)
            turns[-1].text = f"{turns[-1].text}\n{text}" if text else turns[-1].text
            turns[-1].end_time = end if end is not None else turns[-1].end_time
        else:
            skipped.append(place)
    warnings = [f"{path.name}: left out {len(skipped)} line(s) before the first speaker ({skipped[0]}...)"] if skipped else []
    return turns, warnings


def parse_text(path: Path, encoding: str | None = None) -> tuple[list[RawTurn], list[str]]:
    """Turns of a plain-text or Markdown transcript (``Name: text`` paragraphs)."""
    text, _ = read_text(path, encoding)
    return parse_paragraphs(((f"line {n}", line) for n, line in enumerate(text.split("\n"), 1)), path)


def parse_docx(path: Path) -> tuple[list[RawTurn], list[str]]:
    """Turns of a Word transcript: ``Name: text`` paragraphs, or table rows of speaker and text."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"not a readable .docx document ({exc})", path=path) from None
    paragraphs = [(f"paragraph {n}", p.text) for n, p in enumerate(document.paragraphs, 1)]
    for t, table in enumerate(document.tables, 1):
        for r, row in enumerate(table.rows, 1):
            cells = [c.text.strip() for c in row.cells]
            if len(cells) >= 2 and cells[-2] and cells[-1]:
                stamp = f"[{cells[0]}] " if len(cells) >= 3 and cells[0] else ""
                paragraphs.append((f"table {t} row {r}", f"{stamp}{cells[-2]}: {cells[-1]}"))
    return parse_paragraphs(paragraphs, path)


_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


def parse_cues(path: Path, encoding: str | None = None) -> tuple[list[RawTurn], list[str]]:
    """Turns of a WebVTT or SRT file; consecutive cues of one speaker form one turn.

    The speaker comes from a ``<v Name>`` voice tag or a ``Name:`` prefix; a cue
    with neither continues the previous speaker's turn.
    """
    text, _ = read_text(path, encoding)
    lines = text.split("\n")
    if path.suffix.lower() == ".vtt" and not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError("a WebVTT file must begin with 'WEBVTT'", path=path, place="line 1")
    turns: list[RawTurn] = []
    n = 0
    while n < len(lines):
        timing = _CUE_TIME.match(lines[n])
        if not timing:
            n += 1
            continue
        place = f"line {n + 1}"
        start, end = _cue_seconds(timing[1]), _cue_seconds(timing[2])
        n += 1
        body = []
        while n < len(lines) and lines[n].strip():
            body.append(lines[n].strip())
            n += 1
        cue = " ".join(body)
        voice = _VOICE.search(cue)
        said = _TAG.sub("", cue).strip()
        speaker = voice[1].strip() if voice else None
        if speaker is None and (found := _speaker_line(said)):
            speaker, said = found
        said, overlap = _unmarked(said)
        if not said:
            continue
        if speaker is None or (turns and turns[-1].speaker == speaker):
            if not turns:
                raise InputError("the first cue names no speaker (<v Name> or 'Name:')", path=path, place=place)
            turns[-1].text += " " + said
            turns[-1].end_time = end
            turns[-1].overlap |= overlap
        else:
            turns.append(RawTurn(speaker, said, place, start, end, overlap))
    return turns, []


def parse(path: str | Path, encoding: str | None = None) -> tuple[list[RawTurn], list[str]]:
    """Turns of a transcript file in any supported format, chosen by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".txt", ".md"):
        turns, warnings = parse_text(path, encoding)
    elif suffix == ".docx":
        turns, warnings = parse_docx(path)
    elif suffix in (".vtt", ".srt"):
        turns, warnings = parse_cues(path, encoding)
    else:
        raise InputError(f"unsupported transcript format {suffix!r}; use one of {', '.join(FORMATS)}", path=path)
    if not turns:
        raise InputError("no speaker turns found ('Name: text' lines, or cues with speakers)", path=path)
    return turns, warnings


# --- speakers ------------------------------------------------------------------------------


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


class SpeakerMatcher:
    """Matches speaker names to a group's members: exact, then case/space-insensitive, then alias."""

    def __init__(self, session: Session, group: Group):
        self.group = group
        self.members = list(group.members)
        self.exact = {p.pseudonym: p for p in self.members}
        self.folded = {_fold(p.pseudonym): p for p in self.members}
        member_ids = {p.id for p in self.members}
        aliases = session.scalars(select(SpeakerAlias).where(SpeakerAlias.participant_id.in_(member_ids)))
        self.aliases = {_fold(a.alias): a.participant for a in aliases}
        self.outsiders = {
            _fold(p.pseudonym): p for p in session.scalars(select(Participant)) if p.id not in member_ids
        }

    def match(self, speaker: str) -> Participant | None:
        """The member who is ``speaker``, or None."""
        return self.exact.get(speaker) or self.folded.get(_fold(speaker)) or self.aliases.get(_fold(speaker))

    def explain(self, speaker: str) -> str:
        """Why ``speaker`` did not match, with the closest roster names."""
        outsider = self.outsiders.get(_fold(speaker))
        if outsider is not None:
            groups = ", ".join(g.name for g in outsider.groups) or "no group"
            return f"{speaker!r} is on the roster but not in group {self.group.name} (in {groups})"
        names = sorted(self.exact) + sorted({a for a in self.aliases})
        close = difflib.get_close_matches(speaker, names, n=3, cutoff=0.3)
        hint = f"closest roster names: {', '.join(close)}" if close else "no similar roster name"
        return f"unknown speaker {speaker!r} ({hint})"


# --- import --------------------------------------------------------------------------------


def group_for(path: Path, groups: dict[str, Group]) -> Group:
    """The group a transcript file belongs to, from its name (``FG03.docx``, ``FG03_nurses.vtt``)."""
    stem = path.stem
    if stem in groups:
        return groups[stem]
    head = re.split(r"[\s_.\-]+", stem, maxsplit=1)[0]
    if head in groups:
        return groups[head]
    named = (", ".join(sorted(groups)[:5]) + (", ..." if len(groups) > 5 else "")) or "there are no groups yet: add them to the roster first"
    raise InputError(
        f"cannot tell which group this transcript is from; name the file after its group ({literal(named)}) or name its group with {{group}}",
        path=path, arguments={"group": None},
    )


def build_transcript(name: str, group: Group, raw: list[RawTurn], matcher: SpeakerMatcher, path: Path) -> Transcript:
    """A transcript with its turns, every speaker matched; unknown speakers are all reported at once."""
    unknown = [(t, matcher.explain(t.speaker)) for t in raw if matcher.match(t.speaker) is None]
    if unknown:
        lines = "; ".join(f"{t.place}: {why}" for t, why in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise InputError(f"{len(unknown)} turn(s) with speakers not in group {group.name}: {lines}{more}", path=path)
    pieces: list[str] = []
    turns: list[Turn] = []
    offset = 0
    previous_end: float | None = None
    for ordinal, item in enumerate(raw, start=1):
        person = matcher.match(item.speaker)
        assert person is not None
        prefix = f"{person.pseudonym}: "
        start = offset + len(prefix)
        end = start + len(item.text)
        start_time = item.start_time if item.start_time is not None else previous_end
        turns.append(
            Turn(
                ordinal=ordinal,
                participant=person,
                speaker_label=item.speaker,
                start=start,
                end=end,
                start_time=start_time,
                end_time=item.end_time,
            )
        )
        previous_end = item.end_time
        pieces.append(prefix + item.text)
        offset = end + 1
    text = "\n".join(pieces)
    marked = [n for n, item in enumerate(raw, start=1) if item.overlap]
    return Transcript(
        name=name,
        media={"overlap_turns": marked} if marked else None,
        group_id=group.id,  # by key, so a transcript built only to replace another's text never joins the group
        source_path=str(path),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        turns=turns,
    )


def import_transcripts(
    study: Study,
    paths: Iterable[str | Path],
    group: str | None = None,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Import transcript files into the study in one transaction; returns warnings.

    Each file's group comes from ``group`` or from the file name. ``progress`` is
    called with (files done, files in all) after each file.

    >>> import_transcripts(study, ["groups/FG01.docx", "groups/FG02.vtt"])   # doctest: +SKIP
    []
    """
    paths = [Path(p) for p in paths]
    warnings: list[str] = []
    with study.transaction() as session:
        groups = {g.name: g for g in session.scalars(select(Group))}
        if group is not None and group not in groups:
            raise InputError(f"no group {group!r} on the roster")
        existing = set(session.scalars(select(Transcript.name)))
        names: set[str] = set()
        for done, path in enumerate(paths, start=1):
            the_group = groups[group] if group is not None else group_for(path, groups)
            name = path.stem
            if name in existing or name in names:
                raise InputError(
                    f"a transcript called {literal(repr(name))} is already in the study; rename the file, or remove that transcript first ({{remove}})",
                    path=path, arguments={"remove": removing(name)},
                )
            names.add(name)
            raw, file_warnings = parse(path, encoding)
            warnings.extend(file_warnings)
            matcher = SpeakerMatcher(session, the_group)
            session.add(build_transcript(name, the_group, raw, matcher, path))
            session.flush()
            if progress is not None:
                progress(done, len(paths))
    return warnings


def removing(name: str) -> Way:
    """How to remove transcript ``name`` (to import another under its name), as each caller does it: what an error names."""
    return Way(f"remove_transcript(study, {name!r})", f"chorus transcripts remove {name}",
               "its Remove link on the study's home page, which says what goes with it")


@dataclass(frozen=True)
class Removal:
    """What removing a transcript takes with it: its turns, its codings by coder, and the memos on it or on its codings."""

    transcript: str
    group: str
    turns: int
    codings: dict[str, int]  # coder -> codings, most first
    memos: int

    @property
    def what(self) -> str:
        """What goes, in words: "40 turns, 12 codings (cora 9, cole 3) and 1 memo"."""
        by = " (" + ", ".join(f"{coder} {n}" for coder, n in self.codings.items()) + ")" if self.codings else ""
        return f"{counted(self.turns, 'turn')}, {counted(sum(self.codings.values()), 'coding')}{by} and {counted(self.memos, 'memo')}"

    def __str__(self) -> str:
        return f"{self.transcript}: {self.what}"


def removal(study: Study, name: str) -> Removal:
    """What :func:`remove_transcript` would take with it, read without changing anything (the confirm step)."""
    with study.reading() as session:
        return _removal(session, find_transcript(session, name, text=False))


def _removal(session: Session, transcript: Transcript) -> Removal:
    turns = session.scalar(select(func.count()).select_from(Turn).where(Turn.transcript_id == transcript.id))
    codings = session.execute(
        select(Coder.name, func.count()).select_from(Coding).join(Coder, Coder.id == Coding.coder_id)
        .where(Coding.transcript_id == transcript.id).group_by(Coder.name).order_by(func.count().desc(), Coder.name)
    ).all()
    memos = session.scalar(select(func.count()).select_from(Memo).where(_memos_of(transcript.id)))
    return Removal(transcript.name, transcript.group.name, turns, dict(codings), memos)


def _memos_of(transcript_id: int) -> object:
    """The memos on transcript ``transcript_id`` or on one of its codings (a query condition)."""
    return or_(Memo.transcript_id == transcript_id, Memo.coding_id.in_(select(Coding.id).where(Coding.transcript_id == transcript_id)))


def remove_transcript(study: Study, name: str, confirmed: str | None = None) -> int:
    """Remove a transcript with its turns, codings and their memos, in one transaction; returns how many codings went with it.

    Each row goes through the store, so the audit trail logs every one (a memo the database would have cascaded away would not be).
    With ``confirmed`` (a :class:`Removal` as the person read it), nothing is removed if what would go differs by then (a coder coded it meanwhile).
    """
    with study.transaction() as session:
        transcript = find_transcript(session, name)
        if confirmed is not None and str(now := _removal(session, transcript)) != confirmed:
            raise ChorusError(f"{transcript.name} changed since it was confirmed: removing it now would take {now.what}; confirm again")
        for memo in session.scalars(select(Memo).where(_memos_of(transcript.id))).all():
            session.delete(memo)
        codings = session.scalars(select(Coding).where(Coding.transcript_id == transcript.id)).all()
        for coding in codings:
            session.delete(coding)
        session.delete(transcript)
    return len(codings)


@dataclass(frozen=True)
class Replacement:
    """What replacing a transcript's text did to its codings: how many kept, and the ones lost."""

    kept: int
    lost: list[tuple[int, str, str]]  # coding id, code name, coder name


def _nearest(text: str, quote: str, guess: int) -> int | None:
    """Where ``quote`` occurs in ``text`` closest to ``guess``, or None."""
    best: int | None = None
    at = text.find(quote)
    while at != -1:
        if best is None or abs(at - guess) < abs(best - guess):
            best = at
        at = text.find(quote, at + 1)
    return best


def replace_transcript(session: Session, old: Transcript, new: Transcript) -> Replacement:
    """Give ``old`` the text and turns of ``new``, keeping each coding whose text is still there.

    A coding moves to the occurrence of its coded text nearest its old relative
    place; a coding whose text is gone is deleted and reported. ``old`` keeps its
    name, identity and memos; ``new`` is not added to the session.
    """
    scale = len(new.text) / max(len(old.text), 1)
    moved: dict[int, tuple[int, int]] = {}
    lost: list[tuple[int, str, str]] = []
    codings = session.scalars(select(Coding).where(Coding.transcript_id == old.id)).all()
    for coding in codings:
        quote = old.text[coding.start : coding.end]
        at = _nearest(new.text, quote, int(coding.start * scale)) if quote.strip() else None
        if at is None:
            lost.append((coding.id, coding.code.name, coding.coder.name))
            session.delete(coding)
        else:
            moved[coding.id] = (at, at + len(quote))
    turns = list(new.turns)
    new.turns = []
    old.turns.clear()
    session.flush()
    old.text, old.sha256, old.source_path, old.media = new.text, new.sha256, new.source_path, new.media
    old.turns.extend(turns)
    session.flush()
    for coding in codings:
        if coding.id not in moved:
            continue
        coding.start, coding.end = moved[coding.id]
        session.add_all(CodingTurn.linking(coding, [t for t in turns if t.start < coding.end and t.end > coding.start]))
    return Replacement(len(moved), lost)
