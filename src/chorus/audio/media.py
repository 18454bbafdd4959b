"""Recordings read into memory, checked, with where the speech is.

Any format FFmpeg reads through PyAV works (wav, mp3, m4a, flac, ogg, and the
sound of mp4/mov video); the samples are 16 kHz mono float32, what the speech
and speaker models take. A file that is missing, empty, unreadable, holds no
sound, or holds no speech raises :class:`AudioError` naming it, before any model
runs.

>>> audio = load_audio("recordings/FG01.m4a")          # doctest: +SKIP
>>> round(audio.duration), speech_regions(audio)[:1]  # doctest: +SKIP
(3540, [(0.27, 5.57)])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chorus.errors import InputError
from chorus.study.files import file_sha256

SAMPLE_RATE = 16000
FORMATS = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac", ".wma", ".mp4", ".mov", ".webm", ".mkv")
MIN_SPEECH = 0.5  # seconds of speech below which a recording counts as silent


class AudioError(InputError):
    """A recording that cannot be transcribed, named with the reason."""


@dataclass(frozen=True)
class Recording:
    """Which recording a transcript was made from: its file, sha256 and length in seconds."""

    path: Path
    sha256: str
    duration: float


@dataclass(frozen=True)
class Audio:
    """A recording as 16 kHz mono samples, with the file it came from and its sha256."""

    path: Path
    samples: np.ndarray
    sha256: str
    regions: tuple[tuple[float, float], ...] | None = field(default=None, compare=False)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def recording(self) -> Recording:
        return Recording(self.path, self.sha256, self.duration)

    def with_all_speech(self) -> Audio:
        """The same recording, all of it treated as speech (an enrolment clip, say)."""
        return replace(self, regions=((0.0, self.duration),))


def _unreadable(path: Path, error: Exception) -> AudioError:
    hint = "" if path.suffix.lower() in FORMATS else f"; recordings are read as {', '.join(FORMATS)}"
    return AudioError(f"cannot be read as audio ({error}){hint}", path=path)


def probe(path: str | Path) -> None:
    """Refuse at once a file that is missing, empty, not a media file, or without a sound track.

    Reads only the file's header, so an upload is answered in a moment; what only
    decoding finds (a truncated or silent recording) :func:`load_audio` reports.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError("no such recording", path=path)
    if path.stat().st_size == 0:
        raise AudioError("the file is empty (0 bytes)", path=path)
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("the file holds no sound track (is it a recording?)", path=path)
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as error:
        raise _unreadable(path, error) from None


def load_audio(path: str | Path, require_speech: bool = True) -> Audio:
    """The recording at ``path`` as 16 kHz mono samples, with its speech regions found.

    Raises :class:`AudioError` for a missing, empty, corrupt, soundless or (with
    ``require_speech``) silent file.
    """
    path = Path(path)
    probe(path)
    import av
    from faster_whisper.audio import decode_audio

    try:
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, ValueError, OSError, IndexError) as error:
        raise _unreadable(path, error) from None
    if len(samples) < SAMPLE_RATE // 10:
        raise AudioError(f"the recording is too short to hold speech ({len(samples) / SAMPLE_RATE:.2f} s)", path=path)
    audio = Audio(path, samples.astype(np.float32, copy=False), file_sha256(path))
    audio = replace(audio, regions=tuple(_find_speech(audio)))
    if require_speech and sum(b - a for a, b in audio.regions or ()) < MIN_SPEECH:
        loudest = float(np.abs(audio.samples).max())
        raise AudioError(
            f"no speech found in {audio.duration:.1f} s of audio (peak level {loudest:.3f}); "
            "is it silent, or the wrong channel?",
            path=path,
        )
    return audio


def _find_speech(audio: Audio) -> list[tuple[float, float]]:
    """Speech regions by the Silero voice activity detector that faster-whisper ships."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)
    stamps = get_speech_timestamps(audio.samples, options, sampling_rate=SAMPLE_RATE)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def speech_regions(audio: Audio) -> list[tuple[float, float]]:
    """Where ``audio`` holds speech, in seconds."""
    return list(audio.regions) if audio.regions is not None else _find_speech(audio)
