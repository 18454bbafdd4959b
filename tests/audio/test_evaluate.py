"""WER, cpWER and DER, checked against meeteval's cpWER and pyannote.metrics' DER."""

from __future__ import annotations

import random

import pytest

from chorus.audio.evaluate import SpeakerTurn, cp_wer, der, read_reference, read_rttm, wer, write_stm
from chorus.errors import InputError
from tests.audio.conftest import DATA


def _annotation(turns):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for t in turns:
        annotation[Segment(t.start, t.end)] = t.speaker
    return annotation.support()  # a speaker's own overlapping turns are one stretch of speech, as in ours


def _random_turns(rng: random.Random, speakers: list[str], length: float) -> list[SpeakerTurn]:
    turns, at = [], 0.0
    while at < length:
        duration = rng.uniform(0.3, 4.0)
        turns.append(SpeakerTurn(rng.choice(speakers), round(at, 2), round(at + duration, 2)))
        at += duration + rng.uniform(-0.5, 1.0)  # some overlap, some silence
    return turns


@pytest.mark.parametrize("skip_overlap", [False, True])
@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_der_matches_pyannote_metrics(collar: float, skip_overlap: bool) -> None:
    from pyannote.metrics.diarization import DiarizationErrorRate

    rng = random.Random(7)
    cases = [(read_rttm(DATA / "tst00.rttm"), _random_turns(rng, ["S1", "S2", "S3"], 30))]
    cases += [(_random_turns(rng, list("ABCD"), 60), _random_turns(rng, ["x", "y", "z", "w", "v"], 60)) for _ in range(5)]
    for reference, hypothesis in cases:
        theirs = DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)(_annotation(reference), _annotation(hypothesis))
        ours = der(reference, hypothesis, collar=collar, skip_overlap=skip_overlap).rate
        assert ours == pytest.approx(theirs, abs=2e-3)  # ours is on a 10 ms grid, theirs exact


def test_der_of_a_perfect_and_a_one_speaker_hypothesis() -> None:
    reference = read_rttm(DATA / "sample.rttm")
    renamed = [SpeakerTurn({"speaker90": "S2", "speaker91": "S1"}[t.speaker], t.start, t.end) for t in reference]
    assert der(reference, renamed).rate == pytest.approx(0.0, abs=1e-9)
    one = [SpeakerTurn("S1", 0, 30)]
    result = der(reference, one, collar=0)
    assert result.confusion > 0 and result.false_alarm > 0


def test_cp_wer_matches_meeteval() -> None:
    from meeteval.wer.wer.cp import cp_word_error_rate

    rng = random.Random(3)
    vocabulary = "palliative care team family goals comfort hope funding roles early the a we they".split()
    for _ in range(6):
        reference = {s: " ".join(rng.choices(vocabulary, k=rng.randint(0, 30))) for s in ["A", "B", "C"][: rng.randint(1, 3)]}
        hypothesis = {s: " ".join(rng.choices(vocabulary, k=rng.randint(0, 30))) for s in ["S1", "S2", "S3", "S4"][: rng.randint(1, 4)]}
        theirs = cp_word_error_rate(reference, hypothesis)
        ours = cp_wer(reference, hypothesis)
        assert ours.errors == theirs.errors
        assert ours.reference_words == theirs.length


def test_cp_wer_charges_words_given_to_the_wrong_speaker() -> None:
    reference = {"A": "we should call the palliative team", "B": "I agree completely"}
    swapped = {"S1": "we should call the palliative team I agree", "S2": "completely"}
    assert wer(" ".join(reference.values()), " ".join(swapped.values())).errors == 0
    assert cp_wer(reference, swapped).errors == 4  # two words inserted for one speaker, two deleted for the other


def test_references_round_trip_and_errors_name_the_place(tmp_path) -> None:
    turns = [SpeakerTurn("A", 0.5, 2.0, "Hello, team."), SpeakerTurn("B", 2.2, 3.1, "Hi")]
    write_stm(turns, tmp_path / "ref.stm", "talk")
    assert read_reference(tmp_path / "ref.stm") == turns
    (tmp_path / "ref.txt").write_text("A: Hello, team.\nB: Hi\n")  # any transcript Chorus imports
    assert [(t.speaker, t.words) for t in read_reference(tmp_path / "ref.txt")] == [("A", "Hello, team."), ("B", "Hi")]
    (tmp_path / "bad.rttm").write_text("SPEAKER talk 1 0.5 oops <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(InputError, match=r"bad\.rttm, line 1: expected a number of seconds, found 'oops'"):
        read_rttm(tmp_path / "bad.rttm")
    (tmp_path / "bad.json").write_text('[{"speaker": "A"}]')
    with pytest.raises(InputError, match=r"bad\.json: not a SegLST"):
        read_reference(tmp_path / "bad.json")
