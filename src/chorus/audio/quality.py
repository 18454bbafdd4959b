"""Scoring transcription of one recording against a reference: WER, cpWER, DER and speed.

>>> evaluate_recording("tst00.wav", ["tst00.rttm"])      # doctest: +SKIP
>>> score(read_reference("FG01.stm"), transcribe_audio(load_audio("FG01.wav")))  # doctest: +SKIP
{'wer': 0.107, 'cp_wer': 0.107, 'der': 0.045, 'der_skip_overlap': 0.045}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chorus.audio.evaluate import SpeakerTurn, cp_wer, der, in_order, read_reference, timed, wer, words_by_speaker
from chorus.audio.media import load_audio
from chorus.audio.transcribe import MachineTranscript, transcribe_audio, warm_up
from chorus.errors import ChorusError


def score(reference: Sequence[SpeakerTurn], result: MachineTranscript, collar: float = 0.25) -> dict[str, float]:
    """What ``reference`` can measure of ``result``, as error rates.

    ``wer`` (speakers ignored) and ``cp_wer`` (each reference speaker paired with
    one heard speaker) when the reference has words; ``der`` (overlapped speech
    scored) and ``der_skip_overlap`` when it has times, ``collar`` seconds around
    its boundaries left out. A transcript reference without times gives no DER:
    scoring it would count every heard second as a false alarm.
    """
    found: dict[str, float] = {}
    if any(t.words for t in reference):
        heard = result.speaker_turns()
        found["wer"] = wer(in_order(reference), in_order(heard)).rate
        found["cp_wer"] = cp_wer(words_by_speaker(reference), words_by_speaker(heard)).rate
    if timed(reference):
        found["der"] = der(reference, result.diarization, collar).rate
        found["der_skip_overlap"] = der(reference, result.diarization, collar, skip_overlap=True).rate
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
    """Transcribe ``recording`` (nothing stored) and score it against each reference file.

    One row per measure: ``real_time_factor`` (seconds of work per second of
    audio, model loading excluded), and per reference what :func:`score` can
    measure with it (WER and cpWER with words, DER with times).
    The number of speakers is the reference's unless ``speakers`` is given.
    """
    if not references:
        raise ChorusError("give at least one reference (.stm, .json, .rttm or a transcript)")
    refs = {Path(r): read_reference(r) for r in references}
    count = speakers or max(len({t.speaker for t in turns}) for turns in refs.values())
    audio = load_audio(recording)
    warm_up(model, device, diarizer)
    started = time.perf_counter()
    result = transcribe_audio(audio, model, device, count, count, diarizer)
    elapsed = time.perf_counter() - started
    rows = [{"measure": "real_time_factor", "reference": "", "value": elapsed / audio.duration}]
    for path, turns in refs.items():
        rows += [{"measure": measure, "reference": path.name, "value": value} for measure, value in score(turns, result, collar).items()]
    return pd.DataFrame(rows)
