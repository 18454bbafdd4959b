"""The second voice under the first: pyannote's segmentation model, matched to the diarizer's voices and stored.

Thresholds: measured on this project's machine (2 CPU cores, tiny.en, the packaged
GE2E encoder and segmentation-3.0) with a margin; the measured values are in the
comments and in benchmarks/bench_audio.py's output.
"""

from __future__ import annotations

import numpy as np

from chorus.audio.diarize import diarize
from chorus.audio.evaluate import SpeakerTurn, der, read_rttm
from chorus.audio.media import load_audio
from chorus.audio.segmentation import chunk_starts, local_activity, match_local, second_voices
from chorus.audio.transcribe import INAUDIBLE, SpokenTurn, Word, transcribe_audio, with_inaudible
from tests.audio.conftest import DATA


def test_chunks_cover_the_recording_to_its_end() -> None:
    assert chunk_starts(25.0, step=1.0).tolist() == [float(s) for s in range(16)]
    assert chunk_starts(25.5).tolist()[-2:] == [14.0, 15.5]  # every 2 s, and the last chunk ends at the end
    assert chunk_starts(3.0).tolist() == [0.0]  # shorter than a chunk: one, padded with silence


def test_local_speakers_are_matched_to_the_voices_they_are_heard_alone_with() -> None:
    # local 0 talks alone where the diarizer heard voice 2, local 1 alone where it heard voice 0; local 2 only over
    # others (never alone): it is no voice the diarizer knows, so it is not matched
    active = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 1], [1, 1, 0]], dtype=bool)
    heard = np.array([[0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]], dtype=bool)
    assert match_local(active, heard) == {0: 2, 1: 0}
    assert match_local(active, heard, least=2) == {}  # each talks alone in one frame only


def test_the_packaged_model_hears_overlap_in_the_meeting_and_little_in_the_call() -> None:
    """AMI's tst00 holds 61 s of speech in 30 s; the 2-speaker call almost none."""
    meeting = load_audio(DATA / "tst00.wav")
    _, active = local_activity(meeting)
    assert active.shape[1:] == (589, 3)  # 589 frames of 17 ms per 10 s chunk, 3 local speakers
    assert (active.sum(axis=2) == 2).mean() > 0.2  # measured 0.33 of the frames hear two voices
    call = load_audio(DATA / "sample.wav")
    _, active = local_activity(call)
    assert (active.sum(axis=2) == 2).mean() < 0.1  # measured 0.03


def test_second_voices_bring_the_meeting_below_the_one_voice_floor_and_leave_the_call_as_it_was() -> None:
    meeting, reference = load_audio(DATA / "tst00.wav"), read_rttm(DATA / "tst00.rttm")
    one_at_a_time = diarize(meeting, 4, 4)
    extra = second_voices(meeting, one_at_a_time)
    assert all(t.end - t.start >= 0.1 for t in extra)
    assert der(reference, one_at_a_time).rate > 0.6  # measured 0.64; one voice at a time cannot go below 0.55 here
    assert der(reference, one_at_a_time + extra).rate < 0.55  # measured 0.51
    call, reference = load_audio(DATA / "sample.wav"), read_rttm(DATA / "sample.rttm")
    one_at_a_time = diarize(call, 2, 2)
    assert der(reference, one_at_a_time + second_voices(call, one_at_a_time)).rate < 0.08  # measured 0.043 (0.052 without)


def test_one_voice_gets_no_second() -> None:
    call = load_audio(DATA / "sample.wav")
    assert second_voices(call, [SpeakerTurn("S1", 0.0, call.duration)]) == []


def test_a_voice_heard_under_another_gets_an_inaudible_turn_or_widens_its_own() -> None:
    said = [Word(" We", 0.0, 0.5, 1), Word(" agree.", 0.5, 3.0, 1)]
    turns = [SpokenTurn("S1", said), SpokenTurn("S2", [Word(" Yes.", 3.4, 3.8, 1)])]
    voices = [
        SpeakerTurn("S2", 1.0, 2.5),  # under S1, apart from S2's own turn: a turn of its own
        SpeakerTurn("S1", 2.8, 3.6),  # S1 goes on under S2's "Yes.": S1's turn widens
        SpeakerTurn("S3", 2.0, 2.3),  # too short for a turn
    ]
    stored = with_inaudible(turns, voices)
    assert [(t.speaker, t.start, t.end, t.text) for t in stored] == [
        ("S1", 0.0, 3.6, "We agree."),
        ("S2", 1.0, 2.5, INAUDIBLE),
        ("S2", 3.4, 3.8, "Yes."),
    ]
    assert not stored[1].words and stored[1].said == ""
    assert turns[0].end == 3.0  # the turns given are not changed


def test_the_meeting_is_stored_with_overlap_marked_and_every_voice_heard() -> None:
    """What ``chorus transcribe`` stores for tst00: turns of all four voices, some at once, and the overlap recorded."""
    from chorus.audio.transcribe import MachineTranscript

    meeting, reference = load_audio(DATA / "tst00.wav"), read_rttm(DATA / "tst00.rttm")
    result: MachineTranscript = transcribe_audio(meeting, min_speakers=4, max_speakers=4, device="cpu")
    assert result.settings["overlap"] == "segmentation-3.0"
    assert len(result.speakers) == 4 and result.overlaps
    assert any(not t.words for t in result.turns)  # voices heard under another, with no words of their own
    assert der(reference, result.speaker_turns()).rate < 0.58  # measured 0.538 (0.633 one voice at a time)
    assert INAUDIBLE not in " ".join(t.words for t in result.speaker_turns())  # cpWER scores words, not the mark
    without = transcribe_audio(meeting, min_speakers=4, max_speakers=4, device="cpu", overlap=False)
    assert without.settings["overlap"] is None and all(t.words for t in without.turns)
    assert der(reference, without.speaker_turns()).rate > der(reference, result.speaker_turns()).rate
