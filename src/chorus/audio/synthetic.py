"""Spoken test conversations made on this machine, with their exact reference.

A script of turns is spoken by espeak-ng, one distinct voice per speaker, and
joined with pauses into one 16 kHz recording; the reference (who said what,
when) is known exactly, as STM and RTTM. Chorus uses them to check transcription
and diarization on a new machine (``make test``, ``make bench``) and in the demo
study, with no recordings of real people. Needs the Debian packages
``espeak-ng`` and ``sox``.

>>> recording = speak([("Nina", "Shall we begin?"), ("Omar", "Yes, please.")], "talk.wav")   # doctest: +SKIP
>>> recording.reference[1]                                                                   # doctest: +SKIP
SpeakerTurn(speaker='Omar', start=1.62, end=2.51, words='Yes, please.')
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chorus.audio.evaluate import SpeakerTurn, write_stm
from chorus.audio.media import SAMPLE_RATE
from chorus.errors import ChorusError

# distinct voices: espeak-ng variants differ in pitch, formants and breathiness
VOICES = ("en-us+m3", "en-gb+f3", "en-us+m7", "en-gb-x-rp+f4", "en-us+m1", "en-gb+f2")
PAUSE = 0.6  # seconds of silence between turns


@dataclass(frozen=True)
class SpokenConversation:
    """A made recording and its exact reference: who said what, when."""

    path: Path
    reference: list[SpeakerTurn]

    def write_reference(self, stem: str | Path) -> tuple[Path, Path]:
        """Write the reference as ``stem.stm`` (words) and ``stem.rttm`` (who spoke when)."""
        stm, rttm = Path(f"{stem}.stm"), Path(f"{stem}.rttm")
        write_stm(self.reference, stm, self.path.stem)
        rttm.write_text(
            "".join(
                f"SPEAKER {self.path.stem} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                for t in self.reference
            ),
            encoding="utf-8",
        )
        return stm, rttm


def missing_tools() -> list[str]:
    """The Debian packages :func:`speak` needs that are not installed."""
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)


def speak(
    script: Sequence[tuple[str, str]],
    path: str | Path,
    voices: dict[str, str] | None = None,
    words_per_minute: int = 160,
    pause: float = PAUSE,
) -> SpokenConversation:
    """Speak ``script`` (speaker, words) into a 16 kHz mono WAV at ``path``; each speaker keeps one voice."""
    if missing := missing_tools():
        raise ChorusError(f"making spoken test audio needs {' and '.join(missing)}: apt-get install {' '.join(missing)}")
    path = Path(path)
    chosen = dict(voices or {})
    for speaker, _ in script:
        if speaker not in chosen:
            chosen[speaker] = VOICES[len(chosen) % len(VOICES)]
    gap = np.zeros(int(pause * SAMPLE_RATE), dtype=np.int16)
    pieces: list[np.ndarray] = [gap]
    reference: list[SpeakerTurn] = []
    at = pause
    with tempfile.TemporaryDirectory() as folder:
        for n, (speaker, words) in enumerate(script):
            raw, resampled = Path(folder, f"{n}.wav"), Path(folder, f"{n}-16k.wav")
            subprocess.run(
                ["espeak-ng", "-v", chosen[speaker], "-s", str(words_per_minute), "-w", str(raw), words],
                check=True, capture_output=True,
            )
            # no dither (-D): sox dithers with fresh noise each run, and the same script must give the same audio
            subprocess.run(["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", str(resampled)], check=True, capture_output=True)
            samples = np.trim_zeros(_read_wav(resampled))
            reference.append(SpeakerTurn(speaker, round(at, 3), round(at + len(samples) / SAMPLE_RATE, 3), words))
            pieces += [samples, gap]
            at += (len(samples) + len(gap)) / SAMPLE_RATE
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.concatenate(pieces).tobytes())
    return SpokenConversation(path, reference)


# A short focus-group exchange in the study's own words, for tests, the benchmark and the demo.
FOCUS_GROUP = (
    ("Facilitator", "Thank you all for coming. What does palliative care mean in your daily work?"),
    ("Nurse", "For me it means we talk with families about comfort and goals of care early, not only at the end."),
    ("Physician", "I agree. When the palliative team joins at diagnosis, the family trusts them later."),
    ("Social worker", "We see parents who think palliative means giving up, so the word itself is a barrier."),
    ("Facilitator", "What gets in the way of bringing the team in earlier?"),
    ("Physician", "Honestly, funding. There are not enough positions, and the consult service is stretched thin."),
    ("Nurse", "And the roles are unclear. Nobody knows who should start the conversation with the family."),
    ("Social worker", "Some oncologists still oppose it. They worry it takes away hope."),
    ("Facilitator", "Thank you. Is there anything else you would like to add?"),
    ("Nurse", "Only that good communication between our teams makes the biggest difference for the children."),
)
