"""Naming the anonymous speakers of a machine transcript: S1..Sn to the group's participants.

Three ways, which combine (a mapping file wins over a voice match, which wins
over the question count):

- a **mapping file** (CSV or XLSX with columns ``speaker`` and ``participant``,
  optionally ``group`` when one file serves a whole folder);
- **enrolment clips**: a short recording per participant in a folder, named by
  their roster id or pseudonym (``P07.wav``); a speaker is that participant when
  their voices are closer than ``threshold`` (cosine similarity of GE2E voice
  prints) and no other speaker is closer;
- the **facilitator** is the speaker who asks the most questions, when the group
  has exactly one facilitator on the roster.

The CLI asks about the rest, showing each speaker's first lines. A speaker no one
names stays an *unidentified speaker* of that group, never silently assigned.

>>> guess_facilitator(result)        # doctest: +SKIP
'S1'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chorus.audio.media import FORMATS, SAMPLE_RATE, Audio, load_audio
from chorus.audio.transcribe import MachineTranscript
from chorus.errors import InputError
from chorus.ingest.files import read_table

VOICE_THRESHOLD = 0.75


@dataclass(frozen=True)
class Naming:
    """A speaker named as a participant (roster id or pseudonym), and how it was decided."""

    participant: str
    how: str


def read_mapping(path: str | Path, group: str | None = None) -> dict[str, Naming]:
    """Speaker -> participant from a CSV/XLSX mapping file, each naming its row; other groups' rows are skipped."""
    path = Path(path)
    mapping: dict[str, Naming] = {}
    for row in read_table(path):
        if "speaker" not in row.values:
            raise InputError("a mapping row needs a 'speaker' column (S1, S2, ...)", path=path, place=row.place)
        row_group = str(row.values.get("group") or "").strip()
        if group is not None and row_group and row_group != group:
            continue
        speaker, participant = str(row.values["speaker"]).strip(), str(row.values.get("participant", "")).strip()
        if speaker in mapping and mapping[speaker].participant != participant:
            raise InputError(f"speaker {speaker!r} is mapped twice", path=path, place=row.place)
        if participant:
            mapping[speaker] = Naming(participant, f"{path.name}, {row.place}")
    return mapping


def guess_facilitator(result: MachineTranscript) -> str | None:
    """The speaker who asks the most questions, or None when no one asks any."""
    questions: dict[str, int] = {}
    for turn in result.turns:
        questions[turn.speaker] = questions.get(turn.speaker, 0) + turn.text.count("?")
    best = max(questions.items(), key=lambda kv: kv[1], default=(None, 0))
    return best[0] if best[1] > 0 else None


def _speaker_audio(audio: Audio, result: MachineTranscript, speaker: str) -> Audio:
    """The speaker's worded turns end to end: an inaudible turn (mostly under another voice) would blur the print."""
    pieces = [
        audio.samples[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)]
        for t in result.turns
        if t.speaker == speaker and t.words
    ]
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return Audio(audio.path, samples, audio.sha256).with_all_speech()


def enrolment_clips(folder: str | Path) -> dict[str, Path]:
    """Participant (file stem) -> enrolment clip, for every recording in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder of enrolment clips", path=folder)
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in FORMATS}


def match_voices(
    audio: Audio, result: MachineTranscript, clips: dict[str, Path], threshold: float = VOICE_THRESHOLD
) -> dict[str, Naming]:
    """Speakers whose voice matches a participant's enrolment clip, one to one."""
    from scipy.optimize import linear_sum_assignment

    from chorus.audio.diarize import voice_print

    if not clips:
        return {}
    people = list(clips)
    enrolled = np.stack([voice_print(load_audio(clips[p], require_speech=False)) for p in people])
    speakers = [s for s in result.speakers if sum(t.end - t.start for t in result.turns if t.speaker == s and t.words) >= 1.0]
    if not speakers:
        return {}
    heard = np.stack([voice_print(_speaker_audio(audio, result, s)) for s in speakers])
    similarity = heard @ enrolled.T
    rows, cols = linear_sum_assignment(-similarity)
    return {
        speakers[i]: Naming(people[j], f"voice {similarity[i, j]:.2f}")
        for i, j in zip(rows, cols)
        if similarity[i, j] >= threshold
    }


def name_speakers(
    result: MachineTranscript,
    mapping: dict[str, Naming] | None = None,
    voices: dict[str, Naming] | None = None,
    facilitator: str | None = None,
) -> dict[str, Naming]:
    """Every speaker that can be named without asking: mapping file, then voices, then questions.

    ``mapping`` is what :func:`read_mapping` read; ``voices`` what :func:`match_voices` found; ``facilitator`` the group's
    one facilitator (roster id), when it has exactly one.
    """
    named = {**(voices or {}), **(mapping or {})}
    if facilitator is not None and facilitator not in {n.participant for n in named.values()}:
        asker = guess_facilitator(result)
        if asker is not None and asker not in named:
            named[asker] = Naming(facilitator, "asks the most questions")
    return named
