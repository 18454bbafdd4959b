"""chorus transcribe, chorus transcripts export and chorus audio evaluate, as a researcher runs them."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

from sqlalchemy import select

import chorus
from chorus.study.models import Transcript
from tests.audio.conftest import DATA, GROUPS, ROSTER
from tests.test_cli import run


def _study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    run("chorus", "init", str(folder), cwd=tmp_path)
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "groups.csv").write_text(GROUPS)
    run("chorus", "roster", "import", str(tmp_path / "roster.csv"), cwd=folder)
    run("chorus", "groups", "import", str(tmp_path / "groups.csv"), cwd=folder)
    return folder


def test_transcribe_names_speakers_from_a_mapping_and_writes_webvtt(tmp_path: Path, conversation) -> None:
    folder = _study(tmp_path)
    recording = shutil.copy(conversation.path, folder / "FG01.wav")
    (tmp_path / "speakers.csv").write_text("speaker,participant\nS2,Nina\nS3,Omar\nS4,P03\n")
    done = run("chorus", "transcribe", recording, "--mapping", str(tmp_path / "speakers.csv"), "--out", "FG01.vtt", cwd=folder)
    assert "FG01: added, " in done.stderr and "unidentified" not in done.stderr
    vtt = (folder / "FG01.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "<v Reyes>Thank you all for coming." in vtt and "<v Omar>" in vtt
    with chorus.open(folder).reading() as session:  # the recording is inside the study folder: kept relative
        assert session.scalar(select(Transcript.media))["path"] == "FG01.wav"
    shown = run("chorus", "transcripts", "show", "FG01", cwd=folder).stdout
    assert "nurse" in shown and "physician" in shown
    again = run("chorus", "transcribe", recording, cwd=folder)
    assert "1 recording(s) already transcribed from the same file: skipped (FG01)" in again.stdout
    run("chorus", "transcripts", "export", "FG01", "--out", "FG01.srt", cwd=folder)
    assert "Priya: " in (folder / "FG01.srt").read_text()


def test_unreadable_recordings_end_with_one_line_naming_the_file(tmp_path: Path) -> None:
    folder = _study(tmp_path)
    silent = tmp_path / "FG02.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000), out.writeframes(b"\x00\x00" * 32000)
    failed = run("chorus", "transcribe", str(silent), cwd=folder, check=False)
    assert failed.returncode == 2
    assert f"error: {silent}: no speech found in 2.0 s of audio" in failed.stderr
    listed = run("chorus", "transcripts", "list", cwd=folder).stdout
    assert "FG02" not in listed


def test_audio_evaluate_scores_a_recording_against_its_reference(tmp_path: Path) -> None:
    result = run("chorus", "audio", "evaluate", str(DATA / "sample.wav"), "--reference", str(DATA / "sample.rttm"), cwd=tmp_path)
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") >= 3}
    assert {"real_time_factor", "der", "der_skip_overlap"} <= set(rows)
    der = float(rows["der"].split("│")[3])
    assert der < 0.10


def test_the_prompt_names_speakers_one_by_one_and_leaves_blank_ones_unidentified(heard, monkeypatch, capsys) -> None:
    import typer

    from chorus.audio.batch import Heard, Job
    from chorus.audio.media import Recording
    from chorus.audio.speakers import Naming
    from chorus.cli import transcripts as cli

    answers = {"S2": "Nina", "S3": ""}
    asked: list[str] = []

    def answer(question: str, **_: object) -> str:
        speaker = question.split()[2].rstrip("?")
        asked.append(speaker)
        return answers.get(speaker, "")

    monkeypatch.setattr(typer, "prompt", answer)
    job = Job(Path("FG01.wav"), "FG01", "FG01", (4, 4), "F1")
    named = cli._ask_names(Heard(job, Recording(Path("FG01.wav"), "a" * 64, 56.0), heard), {"S1": Naming("F1", "asks the most questions")})
    assert asked == ["S2", "S3", "S4"]
    assert {s: n.participant for s, n in named.items()} == {"S1": "F1", "S2": "Nina"}
    shown = capsys.readouterr().err
    first_words = " ".join(next(t for t in heard.turns if t.speaker == "S2").text.split()[:3])
    assert "S1 = F1 (asks the most questions)" in shown and "S2 said:" in shown and first_words in shown
