"""Scoring transcription of one recording against a reference: WER, cpWER, DER and speed.

What is scored is what ``chorus transcribe`` stores: the recording goes through
the same call (:func:`chorus.audio.batch.hear`) and the turns scored are the
turns it would store, so DER is computed from those turns' times and speakers
and cpWER from their words. The diarizer's own segments are scored beside them
(``der_diarizer``), labelled as such: they say how well voices were told apart,
not what the researcher gets.

>>> evaluate_recording("tst00.wav", ["tst00.rttm"])      # doctest: +SKIP
>>> score(read_reference("FG01.stm"), transcribe_audio(load_audio("FG01.wav")))  # doctest: +SKIP
{'wer': 0.107, 'cp_wer': 0.107, 'der': 0.045, 'der_skip_overlap': 0.045, 'der_diarizer': 0.04}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chorus.audio.evaluate import SpeakerTurn, cp_wer, der, in_order, read_reference, timed, wer, words_by_speaker
from chorus.audio.batch import Job, Options, hear
from chorus.audio.transcribe import MachineTranscript, warm_up
from chorus.errors import ChorusError


def score(reference: Sequence[SpeakerTurn], result: MachineTranscript, collar: float = 0.25) -> dict[str, float]:
    """What ``reference`` can measure of ``result``, as error rates.

    ``wer`` (speakers ignored) and ``cp_wer`` (each reference speaker paired with
    one heard speaker) when the reference has words; when it has times, ``der``
    (overlapped speech scored) and ``der_skip_overlap`` of the turns as stored
    (each from its first word's start to its last word's end, under its speaker),
    and ``der_diarizer`` of the diarizer's segments alone, ``collar`` seconds
    around the reference's boundaries left out. A transcript reference without
    times gives no DER: scoring it would count every heard second as a false alarm.
    """
    found: dict[str, float] = {}
    heard = result.speaker_turns()
    if any(t.words for t in reference):
        found["wer"] = wer(in_order(reference), in_order(heard)).rate
        found["cp_wer"] = cp_wer(words_by_speaker(reference), words_by_speaker(heard)).rate
    if timed(reference):
        found["der"] = der(reference, heard, collar).rate
        found["der_skip_overlap"] = der(reference, heard, collar, skip_overlap=True).rate
        found["der_diarizer"] = der(reference, result.diarization, collar).rate
    return found


def evaluate_recording(
    recording: str | Path,
    references: Sequence[str | Path],
    model: str = "tiny.en",
    device: str = "auto",
    diarizer: str = "resemblyzer",
    speakers: int | None = None,
    collar: float = 0.25,
) -> pd.DataFrame:
    """Transcribe ``recording`` as ``chorus transcribe`` does (nothing stored) and score it against each reference.

    One row per measure: ``real_time_factor`` (seconds of work per second of
    audio, reading and decoding the file included, model loading excluded),
    ``speakers`` and ``turns`` (as they would be stored), and per reference what
    :func:`score` can measure with it (WER and cpWER with words, DER with times).
    The number of speakers is the reference's unless ``speakers`` is given, as
    ``chorus transcribe`` takes the group's size on the roster.
    """
    if not references:
        raise ChorusError("give at least one reference (.stm, .json, .rttm or a transcript)")
    refs = {Path(r): read_reference(r) for r in references}
    count = speakers or max(len({t.speaker for t in turns}) for turns in refs.values())
    path = Path(recording)
    warm_up(model, device, diarizer)
    started = time.perf_counter()
    heard = hear(Job(path, "", path.stem, (count, count), None), Options(model, device, diarizer))
    elapsed = time.perf_counter() - started
    result = heard.result
    rows = [
        {"measure": "real_time_factor", "reference": "", "value": elapsed / heard.recording.duration},
        {"measure": "speakers", "reference": "", "value": float(len(result.speakers))},
        {"measure": "turns", "reference": "", "value": float(len(result.turns))},
    ]
    for path, turns in refs.items():
        rows += [{"measure": measure, "reference": path.name, "value": value} for measure, value in score(turns, result, collar).items()]
    return pd.DataFrame(rows)
