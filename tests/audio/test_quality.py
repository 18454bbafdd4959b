"""A reference scores what it holds: word error rates when it has words, DER when it has times."""

from __future__ import annotations

import dataclasses

import pytest

from chorus.audio.evaluate import read_reference
from chorus.audio.quality import score


def test_a_reference_scores_what_it_holds(tmp_path, conversation, heard) -> None:
    both = score(conversation.reference, heard)
    assert set(both) == {"wer", "cp_wer", "der", "der_skip_overlap", "der_diarizer"}
    assert both["cp_wer"] < 0.40 and both["der"] < 0.15 and both["der_diarizer"] < 0.15
    # the same words as a transcript without times: no DER (every heard second would count as a false alarm)
    (tmp_path / "FG01.txt").write_text("".join(f"{t.speaker}: {t.words}\n" for t in conversation.reference))
    assert score(read_reference(tmp_path / "FG01.txt"), heard) == pytest.approx({"wer": both["wer"], "cp_wer": both["cp_wer"]})
    # who spoke when, without words (an RTTM): DER only
    when = [dataclasses.replace(t, words="") for t in conversation.reference]
    assert score(when, heard, collar=0.0) == pytest.approx({k: v for k, v in score(conversation.reference, heard, 0.0).items() if k.startswith("der")})
    assert score(when, heard, collar=0.0)["der"] >= both["der"]  # no collar: more of the boundaries are scored
