"""Scoring transcription of one recording against a reference: WER, cpWER, DER and speed.

>>> evaluate_recording("tst00.wav", ["tst00.rttm"])      # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chorus.audio.evaluate import cp_wer, der, in_order, read_reference, words_by_speaker, wer
from chorus.audio.media import load_audio
from chorus.audio.transcribe import transcribe_audio, warm_up
from chorus.errors import ChorusError


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
    audio, model loading excluded), and per reference ``wer`` and ``cp_wer``
    (STM/JSON) or ``der`` and ``der_skip_overlap`` (RTTM, ``collar`` seconds).
    The number of speakers is the reference's unless ``speakers`` is given.
    """
    if not references:
        raise ChorusError("give at least one reference (.stm, .json or .rttm)")
    refs = {Path(r): read_reference(r) for r in references}
    count = speakers or max(len({t.speaker for t in turns}) for turns in refs.values())
    audio = load_audio(recording)
    warm_up(model, device, diarizer)
    started = time.perf_counter()
    result = transcribe_audio(audio, model, device, count, count, diarizer)
    elapsed = time.perf_counter() - started
    rows = [{"measure": "real_time_factor", "reference": "", "value": elapsed / audio.duration}]
    for path, turns in refs.items():
        if any(t.words for t in turns):
            hypothesis = result.speaker_turns()
            rows.append({"measure": "wer", "reference": path.name, "value": wer(in_order(turns), in_order(hypothesis)).rate})
            scored = cp_wer(words_by_speaker(turns), words_by_speaker(hypothesis))
            rows.append({"measure": "cp_wer", "reference": path.name, "value": scored.rate})
        rows.append({"measure": "der", "reference": path.name, "value": der(turns, result.diarization, collar).rate})
        rows.append({"measure": "der_skip_overlap", "reference": path.name, "value": der(turns, result.diarization, collar, skip_overlap=True).rate})
    return pd.DataFrame(rows)
