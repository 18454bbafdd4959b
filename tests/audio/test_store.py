"""A machine transcript stored like an imported one: named speakers, unidentified ones, word times,
codable, exported and read back, and replaced without losing codings whose text is unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.audio.export import export_transcript
from chorus.audio.media import Recording
from chorus.audio.speakers import Naming, guess_facilitator, name_speakers, read_mapping
from chorus.audio.store import store_transcript
from chorus.coding import codes
from chorus.coding.codings import apply_code
from chorus.errors import ChorusError, InputError
from chorus.ingest.transcripts import parse
from chorus.study.models import Coding, Participant, Transcript
from tests.audio.conftest import CAST, roster_study
from tests.helpers import unchanged


def _recording(conversation, sha: str = "a" * 64) -> Recording:
    return Recording(conversation.path, sha, conversation.reference[-1].end)


@pytest.fixture
def naming(heard) -> dict[str, Naming]:
    order = ["Facilitator", "Nurse", "Physician", "Social worker"]  # S1.. by first speech
    return {f"S{n}": Naming(CAST[who], "mapping file") for n, who in enumerate(order, start=1)}


def test_named_speakers_become_their_participants_with_word_times(study, tmp_path, conversation, heard, naming) -> None:
    roster_study(study, tmp_path)
    stored = store_transcript(study, _recording(conversation), heard, "FG01", naming)
    assert (stored.status, stored.unidentified) == ("added", [])
    with study.reading() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.name == "FG01"))
        assert [t.participant.key for t in transcript.turns][:4] == ["F1", "P01", "P02", "P03"]
        assert transcript.text.startswith("Reyes: Thank you all for coming.")
        assert transcript.media["sha256"] == "a" * 64 and transcript.media["model"] == "tiny.en"
        assert transcript.media["speaker_count"] == [4, 4] and transcript.media["speakers"]["S2"]["participant"] == "P01"
        assert transcript.media["path"] == str(conversation.path.resolve())  # outside the study folder: absolute
        for turn, spoken in zip(transcript.turns, heard.turns):
            assert turn.speaker_label == spoken.speaker
            assert (turn.start_time, turn.end_time) == (round(spoken.start, 3), round(spoken.end, 3))
            said = [transcript.text[int(a):int(b)] for a, b, _, _ in turn.words]
            assert said == [w.text.strip() for w in spoken.words if w.text.strip()]
            assert turn.start <= turn.words[0][0] and turn.words[-1][1] <= turn.end
    # codable like an imported transcript
    codes.add(study, "Funding")
    coding = apply_code(study, "FG01", "Funding", "ann", turn=6)
    assert coding > 0


def test_unnamed_speakers_stay_marked_never_assigned(study, tmp_path, conversation, heard, naming) -> None:
    roster_study(study, tmp_path)
    partial = {s: n for s, n in naming.items() if s in ("S1", "S2")}
    stored = store_transcript(study, _recording(conversation), heard, "FG01", partial)
    assert stored.unidentified == ["S3", "S4"]
    with study.reading() as session:
        marked = session.scalars(select(Participant).where(Participant.role == "unidentified")).all()
        assert sorted(p.key for p in marked) == ["FG01-S3", "FG01-S4"]
        assert all(p.discipline is None for p in marked)
        assert "FG01 S3 (unidentified): " in session.scalar(select(Transcript.text))


def test_a_speaker_named_as_someone_outside_the_group_is_refused(study, tmp_path, conversation, heard, naming) -> None:
    roster_study(study, tmp_path)
    with unchanged(study), pytest.raises(InputError, match=r"speaker S2 is named 'P99' \(speakers\.csv, line 3\), who is not a member of group FG01"):
        store_transcript(study, _recording(conversation), heard, "FG01", {**naming, "S2": Naming("P99", "speakers.csv, line 3")})


def test_rerunning_the_same_recording_changes_nothing(study, tmp_path, conversation, heard, naming) -> None:
    roster_study(study, tmp_path)
    store_transcript(study, _recording(conversation), heard, "FG01", naming)
    with unchanged(study):
        assert store_transcript(study, _recording(conversation), heard, "FG01", naming).status == "unchanged"
    with unchanged(study), pytest.raises(ChorusError, match="already in the study from another recording"):
        store_transcript(study, _recording(conversation, "b" * 64), heard, "FG01", naming)


def test_replacing_keeps_codings_whose_text_is_unchanged(study, tmp_path, conversation, heard, naming) -> None:
    # spans come from the stored word offsets, not from words tiny.en is expected to hear: its int8 kernels
    # hear the same audio a little differently on different CPUs
    roster_study(study, tmp_path)
    store_transcript(study, _recording(conversation), heard, "FG01", naming)
    codes.add(study, "Funding")
    codes.add(study, "Communication")
    with study.reading() as session:
        transcript = session.scalar(select(Transcript))
        physician = next(t for t in transcript.turns if t.participant.key == "P02")
        kept_span = (physician.words[0][0], physician.words[1][1])
        last = transcript.turns[-1]
        lost_span = (last.words[0][0], last.words[-1][1])
        kept_text, lost_text = (transcript.text[a:b] for a, b in (kept_span, lost_span))
        assert transcript.text.count(lost_text) == 1
    kept = apply_code(study, "FG01", "Funding", "ann", start=kept_span[0], end=kept_span[1])
    lost = apply_code(study, "FG01", "Communication", "ann", start=lost_span[0], end=lost_span[1])
    # a re-run with a better model hears the last word of the last turn differently
    changed = dataclasses.replace(heard, turns=[dataclasses.replace(t, words=list(t.words)) for t in heard.turns])
    final = changed.turns[-1]
    assert final.words[-1].text.strip() != "patients."
    final.words[-1] = dataclasses.replace(final.words[-1], text=" patients.")
    stored = store_transcript(study, _recording(conversation, "b" * 64), changed, "FG01", naming, replace=True)
    assert (stored.status, stored.kept, [c[0] for c in stored.lost]) == ("replaced", 1, [lost])
    with study.reading() as session:
        transcript = session.scalar(select(Transcript))
        (coding,) = session.scalars(select(Coding)).all()
        assert coding.id == kept and transcript.text[coding.start : coding.end] == kept_text
        assert [t.participant.key for t in coding.turns] == ["P02"]
        assert transcript.media["sha256"] == "b" * 64


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".txt", ".docx"])
def test_exports_read_back_with_speakers_and_times(study, tmp_path, conversation, heard, naming, suffix) -> None:
    roster_study(study, tmp_path)
    store_transcript(study, _recording(conversation), heard, "FG01", naming)
    path = export_transcript(study, "FG01", tmp_path / f"FG01{suffix}")
    turns, _ = parse(path)
    assert [t.speaker for t in turns] == [
        {"F1": "Reyes", "P01": "Nina", "P02": "Omar", "P03": "Priya"}[naming[s.speaker].participant] for s in heard.turns
    ]
    assert [t.text for t in turns] == [s.text for s in heard.turns]
    tolerance = 0.06 if suffix in (".txt", ".docx") else 0.002  # MAXQDA stamps are in tenths
    for read, spoken in zip(turns, heard.turns):
        assert read.start_time == pytest.approx(spoken.start, abs=tolerance)
        assert read.end_time == pytest.approx(spoken.end, abs=tolerance)
    if suffix == ".vtt":
        assert "<v Reyes>Thank you all for coming." in path.read_text()


def test_speakers_are_named_from_a_mapping_file_and_the_questions_they_ask(tmp_path, heard) -> None:
    assert guess_facilitator(heard) == "S1"
    (tmp_path / "map.csv").write_text("group,speaker,participant\nFG01,S2,P01\nFG02,S2,P02\nFG01,S3,\n")
    mapping = read_mapping(tmp_path / "map.csv", "FG01")
    assert mapping == {"S2": Naming("P01", "map.csv, line 2")}
    named = name_speakers(heard, mapping, {"S4": Naming("P03", "voice 0.81")}, facilitator="F1")
    assert {s: (n.participant, n.how) for s, n in named.items()} == {
        "S1": ("F1", "asks the most questions"), "S2": ("P01", "map.csv, line 2"), "S4": ("P03", "voice 0.81")
    }
    (tmp_path / "bad.csv").write_text("who,participant\nS1,P01\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 2: a mapping row needs a 'speaker' column"):
        read_mapping(tmp_path / "bad.csv")


def test_subtitles_need_times(study, tmp_path) -> None:
    from tests.helpers import load_demo

    load_demo(study, ["FG01"])
    if all(t.start_time is not None for t in parse(Path(__file__).parents[2] / "examples/pc-study/transcripts/FG01.docx")[0]):
        pytest.skip("the demo transcript is timed")
    with pytest.raises(ChorusError, match="subtitles need times"):
        export_transcript(study, "FG01", tmp_path / "FG01.vtt")


def test_de_identification_keeps_word_times_on_their_words(study, tmp_path, conversation, heard, naming) -> None:
    import pandas as pd

    from chorus.privacy import apply, restore

    def spans_of(session) -> tuple[str, list[tuple[int, int]]]:
        transcript = session.scalar(select(Transcript))
        return transcript.text, [(int(a), int(b)) for turn in transcript.turns for a, b, _, _ in turn.words]

    def words_of(session) -> list[str]:
        text, spans = spans_of(session)
        return [text[a:b] for a, b in spans]

    roster_study(study, tmp_path)
    store_transcript(study, _recording(conversation), heard, "FG01", naming)
    with study.reading() as session:  # a word heard once, whatever tiny.en heard
        text, spans = spans_of(session)
        said = words_of(session)
        at, end = next((a, b) for (a, b), w in zip(spans, said) if len(w) >= 6 and said.count(w) == 1)
        word = text[at:end]
    findings = pd.DataFrame([{"transcript": "FG01", "start": at, "end": end, "tag": "[PLACE-1]", "text": word, "decision": "accept"}])
    apply(study, findings, tmp_path / "locked" / "key.json")

    with study.reading() as session:
        said = words_of(session)
    assert "[PLACE-1]" in said and word not in said
    restore(study, tmp_path / "locked" / "key.json")
    with study.reading() as session:
        assert word in words_of(session)


def test_turns_spoken_over_another_voice_are_marked_overlap(study, tmp_path, conversation, heard, naming) -> None:
    """A diarizer that hears overlapped speech (a pyannote pipeline) gives turns that overlap: the stretch is
    stored with the transcript and the turns in it are exported marked ``[overlap]``, their text unchanged."""
    from chorus.audio.evaluate import SpeakerTurn
    from chorus.audio.transcribe import MachineTranscript

    roster_study(study, tmp_path)
    third = heard.turns[2]  # the physician; the nurse is heard over their first second
    over = SpeakerTurn("S2", third.start, third.start + 1.0)
    one_at_a_time = [SpeakerTurn(t.speaker, t.start, t.end) for t in heard.turns]  # no overlap but the one made here
    result = MachineTranscript(heard.turns, heard.duration, heard.settings, [*one_at_a_time, over])
    assert result.overlaps and result.overlaps[0][0] == pytest.approx(third.start)
    store_transcript(study, _recording(conversation), result, "FG01", naming)
    with study.reading() as session:
        transcript = session.scalar(select(Transcript))
        assert transcript.media["overlap"] == [[round(a, 3), round(b, 3)] for a, b in result.overlaps]
        assert "[overlap]" not in transcript.text
    exported = export_transcript(study, "FG01", tmp_path / "FG01.txt")
    assert [n for n, line in enumerate(exported.read_text().splitlines()) if "[overlap] " in line] == [2]
    turns, _ = parse(exported)  # the mark reads back as the turn's overlap, not as its words
    assert [n for n, t in enumerate(turns) if t.overlap] == [2]
    assert turns[2].text == third.text
    assert "<v Omar>[overlap] " in export_transcript(study, "FG01", tmp_path / "FG01.vtt").read_text()
