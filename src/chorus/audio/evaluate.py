"""How good a machine transcript is: word error rate, cpWER and diarization error rate.

A speaker-attributed transcript is scored the way CHiME-6 scores one: **cpWER**,
the concatenated minimum-permutation word error rate. Each speaker's words are
joined in time order, hypothesis speakers are matched one-to-one to reference
speakers so that the errors are fewest, and the errors are summed over the
reference words. It punishes both misheard words and words given to the wrong
person, which is what matters for analysis by discipline.

**DER** (diarization error rate, NIST) is missed speech + false alarm + speaker
confusion over the reference speech time, after the best one-to-one mapping of
hypothesis to reference speakers, not scoring a ``collar`` either side of every
reference boundary. Overlapping speech counts as it does in NIST's md-eval: a
frame with two reference speakers and one hypothesis speaker has one miss.

References are read from RTTM (who spoke when) and STM (who said what, when)
files, the formats of NIST and CHiME; a JSON list of ``{"speaker", "start_time",
"end_time", "words"}`` (meeteval's SegLST) is read too.

>>> cp_wer({"A": "hello there", "B": "yes"}, {"S1": "yes", "S2": "hello their"}).errors
1
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chorus.errors import InputError
from chorus.ingest.transcripts import FORMATS as TRANSCRIPT_FORMATS
from chorus.ingest.transcripts import parse as parse_transcript


@dataclass(frozen=True)
class SpeakerTurn:
    """Someone speaking from ``start`` to ``end`` seconds, with the words said when known."""

    speaker: str
    start: float
    end: float
    words: str = ""


@dataclass(frozen=True)
class WordErrors:
    """Word errors against a reference: substitutions + deletions + insertions over reference words."""

    errors: int
    reference_words: int
    assignment: dict[str, str]  # hypothesis speaker -> reference speaker (cpWER), empty for plain WER

    @property
    def rate(self) -> float:
        return self.errors / self.reference_words if self.reference_words else float(self.errors > 0)


@dataclass(frozen=True)
class DiarizationErrors:
    """Seconds of scored reference speech and of each kind of error in it."""

    speech: float
    missed: float
    false_alarm: float
    confusion: float
    assignment: dict[str, str]  # hypothesis speaker -> reference speaker

    @property
    def rate(self) -> float:
        errors = self.missed + self.false_alarm + self.confusion
        return errors / self.speech if self.speech else float(errors > 0)


# --- words ---------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[^\w']+")



def _least_cost_pairs(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one pairing of rows and columns with the least total cost (the Hungarian method).

    SciPy is loaded here, not when the module is: it is a good part of every command's start.
    """
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(cost)

def normalise(text: str) -> list[str]:
    """The words of ``text`` as scored: lower case, punctuation and hyphens as spaces.

    >>> normalise("Well -- palliative care, I'd say: early-ish.")
    ['well', 'palliative', 'care', "i'd", 'say', 'early', 'ish']
    """
    return [w.strip("'") for w in _NOT_WORD.split(text.casefold()) if w.strip("'")]


def _distance(reference: list[str], hypothesis: list[str]) -> int:
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(reference, hypothesis))


def wer(reference: str, hypothesis: str) -> WordErrors:
    """Word error rate of ``hypothesis`` against ``reference``, speakers ignored.

    >>> round(wer("we talk about goals of care", "we talked about goals care").rate, 3)
    0.333
    """
    ref = normalise(reference)
    return WordErrors(_distance(ref, normalise(hypothesis)), len(ref), {})


def cp_wer(reference: Mapping[str, str], hypothesis: Mapping[str, str]) -> WordErrors:
    """cpWER: each speaker's words concatenated, speakers matched to give the fewest errors.

    ``reference`` and ``hypothesis`` map a speaker to all their words in time order.
    A hypothesis speaker with no reference partner counts all its words as
    insertions; a reference speaker with none, all theirs as deletions.
    """
    refs = {s: normalise(t) for s, t in reference.items()}
    hyps = {s: normalise(t) for s, t in hypothesis.items()}
    ref_names, hyp_names = list(refs), list(hyps)
    size = max(len(ref_names), len(hyp_names))
    cost = np.zeros((size, size), dtype=np.int64)
    for i in range(size):
        ref = refs[ref_names[i]] if i < len(ref_names) else []
        for j in range(size):
            hyp = hyps[hyp_names[j]] if j < len(hyp_names) else []
            cost[i, j] = _distance(ref, hyp)
    rows, cols = _least_cost_pairs(cost)
    assignment = {
        hyp_names[j]: ref_names[i] for i, j in zip(rows, cols) if i < len(ref_names) and j < len(hyp_names)
    }
    return WordErrors(int(cost[rows, cols].sum()), sum(len(w) for w in refs.values()), assignment)


def in_order(turns: Iterable[SpeakerTurn]) -> str:
    """All the words in time order, speakers ignored: the input of plain :func:`wer`."""
    return " ".join(t.words for t in sorted(turns, key=lambda t: (t.start, t.end)))


def timed(turns: Iterable[SpeakerTurn]) -> bool:
    """Whether ``turns`` say when each speaker spoke (so DER can be scored), not only what was said."""
    return any(t.end > t.start for t in turns)


def words_by_speaker(turns: Iterable[SpeakerTurn]) -> dict[str, str]:
    """Each speaker's words in time order, the input :func:`cp_wer` takes."""
    joined: dict[str, list[str]] = defaultdict(list)
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        joined[turn.speaker].append(turn.words)
    return {speaker: " ".join(parts) for speaker, parts in joined.items()}


# --- who spoke when -----------------------------------------------------------------------

FRAME = 0.01  # seconds; DER is computed on a 10 ms grid


def _activity(turns: list[SpeakerTurn], speakers: list[str], frames: int) -> np.ndarray:
    active = np.zeros((frames, len(speakers)), dtype=bool)
    index = {s: i for i, s in enumerate(speakers)}
    for t in turns:
        active[int(round(t.start / FRAME)) : int(round(t.end / FRAME)), index[t.speaker]] = True
    return active


def der(
    reference: Iterable[SpeakerTurn],
    hypothesis: Iterable[SpeakerTurn],
    collar: float = 0.25,
    skip_overlap: bool = False,
) -> DiarizationErrors:
    """Diarization error rate of ``hypothesis`` against ``reference``, not scoring ``collar`` s around boundaries.

    With ``skip_overlap``, stretches where two or more reference speakers talk at
    once are not scored either (the convention of pyannote's ``skip_overlap`` and of
    many CALLHOME results): a diarizer that gives one speaker at a time is then
    judged on what it can get right.

    >>> ref = [SpeakerTurn("A", 0, 10), SpeakerTurn("B", 10, 20)]
    >>> round(der(ref, [SpeakerTurn("S1", 0, 15), SpeakerTurn("S2", 15, 20)], collar=0).rate, 2)
    0.25
    """
    ref, hyp = list(reference), list(hypothesis)
    end = max([t.end for t in ref + hyp], default=0.0)
    frames = int(round(end / FRAME)) + 1
    ref_names = sorted({t.speaker for t in ref})
    hyp_names = sorted({t.speaker for t in hyp})
    r = _activity(ref, ref_names, frames)
    h = _activity(hyp, hyp_names, frames)
    scored = np.ones(frames, dtype=bool)
    if collar > 0:
        width = int(round(collar / FRAME))
        changes = np.diff(r.astype(np.int8), axis=0, prepend=0, append=0)  # a speaker starts or stops
        for edge in np.flatnonzero(np.any(changes != 0, axis=1)):
            scored[max(edge - width, 0) : edge + width] = False
    if skip_overlap:
        scored &= r.sum(axis=1) <= 1
    r, h = r[scored], h[scored]
    overlap = r.T.astype(np.int64) @ h.astype(np.int64)  # frames where ref i and hyp j both speak
    rows, cols = _least_cost_pairs(-overlap) if overlap.size else ([], [])
    correct = int(sum(overlap[i, j] for i, j in zip(rows, cols)))
    n_ref, n_hyp = r.sum(axis=1), h.sum(axis=1)
    missed = np.maximum(n_ref - n_hyp, 0).sum()
    false_alarm = np.maximum(n_hyp - n_ref, 0).sum()
    confusion = np.minimum(n_ref, n_hyp).sum() - correct
    return DiarizationErrors(
        speech=float(n_ref.sum() * FRAME),
        missed=float(missed * FRAME),
        false_alarm=float(false_alarm * FRAME),
        confusion=float(confusion * FRAME),
        assignment={hyp_names[j]: ref_names[i] for i, j in zip(rows, cols)},
    )


# --- reference files -----------------------------------------------------------------------


def _number(value: str, path: Path, line: int) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"expected a number of seconds, found {value!r}", path=path, place=f"line {line}") from None


def read_rttm(path: str | Path) -> list[SpeakerTurn]:
    """Speaker turns from an RTTM file (``SPEAKER file 1 start duration <NA> <NA> speaker <NA> <NA>``)."""
    path = Path(path)
    turns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise InputError("an RTTM SPEAKER line has at least 8 fields", path=path, place=f"line {number}")
        start, duration = _number(fields[3], path, number), _number(fields[4], path, number)
        turns.append(SpeakerTurn(fields[7], start, start + duration))
    return turns


def read_reference(path: str | Path) -> list[SpeakerTurn]:
    """Speaker turns with words from an STM file, a SegLST JSON file, or (no words) an RTTM file.

    A transcript in any format Chorus imports (.vtt, .srt, .txt, .md, .docx with
    ``Name: text`` turns) is a reference too: for cpWER its times are not needed,
    and unless every turn has a start and an end it is read without times.
    """
    path = Path(path)
    if path.suffix.lower() == ".rttm":
        return read_rttm(path)
    if path.suffix.lower() in TRANSCRIPT_FORMATS:
        turns, _ = parse_transcript(path)
        timed = all(t.start_time is not None and t.end_time is not None for t in turns)  # else no times at all: no DER
        return [SpeakerTurn(t.speaker, t.start_time if timed else 0.0, t.end_time if timed else 0.0, t.text) for t in turns]
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
            return [
                SpeakerTurn(str(i["speaker"]), float(i["start_time"]), float(i["end_time"]), str(i["words"]))
                for i in items
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"not a SegLST list of speaker/start_time/end_time/words: {error}", path=path) from None
    turns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise InputError("an STM line is: file channel speaker start end [<label>] words", path=path, place=f"line {number}")
        words = fields[5] if len(fields) > 5 else ""
        words = re.sub(r"^<[^>]*>\s*", "", words)
        turns.append(SpeakerTurn(fields[2], _number(fields[3], path, number), _number(fields[4], path, number), words))
    return turns


def write_stm(turns: Iterable[SpeakerTurn], path: str | Path, name: str) -> None:
    """Write speaker turns with words as an STM file, the reference format :func:`read_reference` reads."""
    lines = [f"{name} 1 {t.speaker} {t.start:.3f} {t.end:.3f} {t.words}" for t in turns]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
