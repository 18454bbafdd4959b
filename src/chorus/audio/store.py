"""A machine transcript into the study, like an imported one: turns, speakers, times, word times.

Named speakers become turns of their participants; a speaker no one named
becomes an *unidentified speaker* of the group (role ``unidentified``, key
``FG01-S3``), kept out of analysis by discipline until someone names them and
the recording is stored again. Re-storing a recording that changed replaces the
old transcript only when asked, keeping every coding whose text is unchanged.

>>> stored = store_transcript(study, audio.recording, result, "FG01", naming)    # doctest: +SKIP
>>> stored.status, stored.unidentified                                 # doctest: +SKIP
('added', ['S5'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from chorus.audio.media import Recording
from chorus.audio.speakers import Naming
from chorus.audio.transcribe import MachineTranscript, SpokenTurn
from chorus.errors import ChorusError, InputError, NotFound
from chorus.ingest.transcripts import RawTurn, SpeakerMatcher, build_transcript, replace_transcript
from chorus.study.models import Group, Participant, Transcript
from chorus.study.store import Study

UNIDENTIFIED = "unidentified"


@dataclass
class Stored:
    """What storing did: ``added``, ``replaced`` or ``unchanged``, with codings kept and lost."""

    name: str
    status: str
    turns: int = 0
    unidentified: list[str] = field(default_factory=list)
    kept: int = 0
    lost: list[tuple[int, str, str]] = field(default_factory=list)


def _participant(session: Session, group: Group, naming: Naming, speaker: str) -> Participant:
    who = naming.participant
    member = SpeakerMatcher(session, group).match(who) or next((p for p in group.members if p.key == who), None)
    if member is None:
        raise InputError(f"speaker {speaker} is named {who!r} ({naming.how}), who is not a member of group {group.name}")
    return member


def _unidentified(session: Session, group: Group, speaker: str) -> Participant:
    key = f"{group.name}-{speaker}"
    person = session.scalar(select(Participant).where(Participant.key == key))
    if person is None:
        person = Participant(key=key, pseudonym=f"{group.name} {speaker} (unidentified)", role=UNIDENTIFIED)
        session.add(person)
    if person not in group.members:
        group.members.append(person)
    return person


def _word_offsets(turn: SpokenTurn, start: int) -> list[list[float]]:
    """[start, end, start_time, end_time] of each word, offsets into the transcript text."""
    joined = "".join(w.text for w in turn.words)
    lead = len(joined) - len(joined.lstrip())
    rows, position = [], 0
    for word in turn.words:
        inner = word.text.strip()
        if inner:
            at = position + word.text.index(inner[0]) - lead + start
            rows.append([at, at + len(inner), round(word.start, 3), round(word.end, 3)])
        position += len(word.text)
    return rows


def store_transcript(
    study: Study,
    recording: Recording,
    result: MachineTranscript,
    group: str,
    naming: dict[str, Naming] | None = None,
    name: str | None = None,
    replace: bool = False,
) -> Stored:
    """Store ``result`` as transcript ``name`` (default: the recording's file name) of ``group``, in one transaction.

    A transcript of that name made from the same recording is left as it is
    (``unchanged``: how a batch resumes). One made from a different recording, or
    imported from text, is replaced only with ``replace``.
    """
    name = name or recording.path.stem
    naming = naming or {}
    where, folder = recording.path.resolve(), study.folder.resolve()  # inside the study folder: relative, so it can move
    media = {
        "path": str(where.relative_to(folder) if where.is_relative_to(folder) else where),
        "sha256": recording.sha256,
        "duration": round(recording.duration, 3),
        **result.settings,
        "speakers": {s: {"participant": n.participant, "how": n.how} for s, n in naming.items()},
        "overlap": [[round(a, 3), round(b, 3)] for a, b in result.overlaps],  # two voices at once, as the diarizer heard
    }
    with study.transaction() as session:
        the_group = session.scalar(select(Group).where(Group.name == group))
        if the_group is None:
            raise NotFound(f"no group {group!r} on the roster")
        existing = session.scalar(select(Transcript).where(Transcript.name == name))
        if existing is not None and not replace:
            if (existing.media or {}).get("sha256") == recording.sha256:
                return Stored(name, "unchanged")
            raise ChorusError(
                f"transcript {name!r} is already in the study from another recording or file; "
                "replace it (--replace: codings whose text is unchanged are kept) or give another --name"
            )
        people = {s: _participant(session, the_group, n, s) for s, n in naming.items() if s in result.speakers}
        unidentified = [s for s in result.speakers if s not in people]
        for speaker in unidentified:
            people[speaker] = _unidentified(session, the_group, speaker)
        raw = [
            RawTurn(people[t.speaker].pseudonym, t.text, f"{t.start:.2f} s", round(t.start, 3), round(t.end, 3))
            for t in result.turns
        ]
        new = build_transcript(name, the_group, raw, SpeakerMatcher(session, the_group), recording.path)
        new.media = media
        for turn, spoken in zip(new.turns, result.turns):
            turn.speaker_label = spoken.speaker
            turn.words = _word_offsets(spoken, turn.start)
        if existing is None:
            session.add(new)
            return Stored(name, "added", len(raw), unidentified)
        replaced = replace_transcript(session, existing, new)
        existing.group = the_group
        return Stored(name, "replaced", len(raw), unidentified, replaced.kept, replaced.lost)

