"""Transcript import from every format, speaker matching, and bad transcripts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from chorus.errors import InputError
from chorus.ingest import import_groups, import_roster, import_transcripts, parse, remove_transcript
from chorus.study.models import Transcript
from tests.helpers import DEMO, load_demo, unchanged

FILES = DEMO / "transcripts"


@pytest.fixture
def roster(study):
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    return study


def source_turns(name: str) -> int:
    """Turns in a demo file, counted independently of the parser."""
    path = next(FILES.glob(f"{name}.*"))
    if path.suffix == ".docx":
        return sum(1 for p in docx.Document(str(path)).paragraphs if p.runs and p.runs[0].bold)
    if path.suffix == ".vtt":
        speakers = [line.split(">")[0] for line in path.read_text().splitlines() if line.startswith("<v ")]
        return sum(1 for i, s in enumerate(speakers) if i == 0 or s != speakers[i - 1])
    speaker = re.compile(r"^(\[[\d:]+\] )?\**[A-Z][a-z]+:\**\s")
    return sum(1 for line in path.read_text().splitlines() if speaker.match(line))


@pytest.mark.parametrize("name", ["FG01", "FG02", "FG03", "FG04", "FG05", "FG06", "FG07", "FG08"])
def test_each_demo_format_gives_all_its_turns(name: str):
    turns, _ = parse(next(FILES.glob(f"{name}.*")))
    assert len(turns) == source_turns(name) >= 40
    assert all(t.text and ":" not in t.speaker for t in turns)


def test_time_stamps_are_read_from_every_style():
    maxqda, _ = parse(FILES / "FG03.txt")  # "#00:00:15-1#" at the end: end time
    assert maxqda[0].end_time == pytest.approx(15.1) and "#" not in maxqda[0].text
    bracket, _ = parse(FILES / "FG06.txt")  # "[00:00:04]" at the start: start time
    assert bracket[0].start_time == 4.0 and "[" not in bracket[0].text
    in_docx, _ = parse(FILES / "FG04.docx")  # after the speaker's name
    assert in_docx[1].start_time is not None and "[" not in in_docx[1].text
    cues, _ = parse(FILES / "FG02.vtt")  # cues of one speaker merged, times spanning them
    assert cues[0].start_time == 4.0 and cues[0].end_time > cues[0].start_time + 5
    assert cues[0].text.startswith("Welcome, and thank you") and cues[0].text.endswith("on your unit?")


def test_demo_transcripts_are_stored_with_turn_offsets_into_the_text(roster):
    load_demo(roster)
    with roster.reading() as session:
        transcripts = session.scalars(select(Transcript)).all()
        assert len(transcripts) == 8
        for transcript in transcripts:
            for turn in transcript.turns:
                line = transcript.text[turn.start - len(turn.participant.pseudonym) - 2 : turn.end]
                assert line.startswith(turn.participant.pseudonym + ": ")
        fg07 = next(t for t in transcripts if t.name == "FG07")
        assert fg07.turns[0].participant.pseudonym == "Chen" and fg07.turns[0].participant.is_facilitator


def test_srt_and_aliases_and_case_are_matched(roster, tmp_path: Path):
    path = tmp_path / "FG01.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:03,500\nModerator Reyes: Welcome.\n\n"
        "2\n00:00:04,000 --> 00:00:06,000\nADAEZE: Thank you.\n\n"
        "3\n00:00:06,000 --> 00:00:08,000\nIt is good to be here.\n"
    )
    import_transcripts(roster, [path])
    with roster.reading() as session:
        transcript = session.scalar(select(Transcript))
        assert [t.participant.pseudonym for t in transcript.turns] == ["Reyes", "Adaeze"]
        assert transcript.turns[1].end_time == 8.0
        assert transcript.text == "Reyes: Welcome.\nAdaeze: Thank you. It is good to be here."


def test_unknown_speakers_are_all_listed_with_lines_and_closest_names(roster, tmp_path: Path):
    load_demo(roster, transcripts=["FG01"])
    path = tmp_path / "FG02.txt"
    path.write_text("Reyes: Welcome.\nFatma: Hello.\nGwen: Hi.\nDr Who: Hmm.\n")
    with unchanged(roster), pytest.raises(InputError) as caught:
        import_transcripts(roster, [path])
    message = str(caught.value)
    assert "FG02.txt" in message and "2 turn(s)" in message
    assert "line 2: unknown speaker 'Fatma' (closest roster names: Fatima" in message
    assert "line 4: unknown speaker 'Dr Who'" in message


def test_a_roster_member_of_another_group_is_not_taken(roster, tmp_path: Path):
    path = tmp_path / "FG02.txt"
    path.write_text("Reyes: Welcome.\nKavya: I am in group 3.\n")
    with unchanged(roster), pytest.raises(InputError, match="'Kavya' is on the roster but not in group FG02 \\(in FG03\\)"):
        import_transcripts(roster, [path])


def test_a_broken_docx_stops_the_whole_batch(roster, tmp_path: Path):
    shutil.copy(FILES / "FG03.txt", tmp_path / "FG03.txt")
    broken = tmp_path / "FG01.docx"
    broken.write_bytes((FILES / "FG01.docx").read_bytes()[:5000])
    with unchanged(roster), pytest.raises(InputError, match="FG01.docx: not a readable .docx"):
        import_transcripts(roster, [tmp_path / "FG03.txt", broken])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("FG01.vtt", "00:00:01.000 --> 00:00:02.000\n<v Reyes>Hi</v>\n", "must begin with 'WEBVTT'"),
        ("FG01.txt", "just some notes\nwithout speakers\n", "no speaker turns found"),
        ("notes.txt", "Reyes: Hello.\n", "cannot tell which group"),
        ("FG01.pdf", "Reyes: Hello.\n", "unsupported transcript format '.pdf'"),
    ],
)
def test_other_bad_transcripts_are_refused_by_name(roster, tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    with unchanged(roster), pytest.raises(InputError, match=f"{name}.*{message}"):
        import_transcripts(roster, [path])


def test_a_transcript_is_not_imported_twice_and_can_be_removed(roster):
    load_demo(roster, transcripts=["FG03"])
    with unchanged(roster), pytest.raises(InputError, match="already in the study"):
        import_transcripts(roster, [FILES / "FG03.txt"])
    assert remove_transcript(roster, "FG03") == 0
    import_transcripts(roster, [FILES / "FG03.txt"])


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".txt", ".docx"])
def test_an_exported_overlap_mark_reads_back_as_the_turns_overlap_not_its_words(roster, tmp_path: Path, suffix: str):
    """Exports begin a turn spoken over another voice with ``[overlap]`` (as noScribe does); importing the
    file again gives the same turn marked overlapped, its words without the mark, and exports it marked again."""
    from chorus.audio.export import export_transcript
    from chorus.ingest.transcripts import overlapped_turn

    path = tmp_path / "FG01.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\n<v Reyes>Welcome.\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Adaeze>[overlap] Right.\n\n"
        "00:00:04.500 --> 00:00:06.000\n<v Reyes>Shall we begin?\n"
    )
    import_transcripts(roster, [path])
    exported = export_transcript(roster, "FG01", tmp_path / f"again{suffix}")
    if suffix != ".docx":
        assert f"{'<v Adaeze>' if suffix == '.vtt' else 'Adaeze: '}[overlap] Right." in exported.read_text()
    import_transcripts(roster, [exported], group="FG01")
    with roster.reading() as session:
        for transcript in session.scalars(select(Transcript)):
            assert "[overlap]" not in transcript.text
            assert transcript.text.split("\n")[1] == "Adaeze: Right."
            marked = [t.ordinal for t in transcript.turns if overlapped_turn(transcript.media, t.ordinal, t.start_time, t.end_time)]
            assert marked == [2], transcript.name
    assert "[overlap] Right." in export_transcript(roster, "again", tmp_path / "twice.srt").read_text()
