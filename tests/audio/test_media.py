"""Recordings in every common format load; broken, empty, silent and wrong files are refused by name."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from chorus.audio.media import SAMPLE_RATE, AudioError, load_audio, speech_regions
from tests.audio.conftest import DATA


def _write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((samples * 32767).astype(np.int16).tobytes())
    return path


def _encode(source: Path, target: Path, codec: str) -> Path:
    """Re-encode a recording with PyAV, as a phone or recorder would have written it."""
    samples = load_audio(source).samples
    with av.open(str(target), "w") as container:
        stream = container.add_stream(codec, rate=SAMPLE_RATE if codec != "libopus" else 48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray((samples[None, :] * 32767).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        if codec == "libopus":
            resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
            frames = resampler.resample(frame) + resampler.resample(None)
        else:
            frames = [frame]
        for piece in frames:
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return target


@pytest.mark.parametrize(("suffix", "codec"), [(".flac", "flac"), (".mp3", "mp3"), (".m4a", "aac"), (".ogg", "libopus"), (".mp4", "aac")])
def test_common_formats_load_at_16_khz_with_their_speech(tmp_path: Path, suffix: str, codec: str) -> None:
    original = load_audio(DATA / "sample.wav")
    audio = load_audio(_encode(DATA / "sample.wav", tmp_path / f"sample{suffix}", codec))
    assert audio.duration == pytest.approx(original.duration, abs=0.1)
    speech = sum(b - a for a, b in speech_regions(audio))
    assert speech == pytest.approx(sum(b - a for a, b in speech_regions(original)), rel=0.1)


def test_a_24_bit_wav_loads(tmp_path: Path) -> None:
    audio = load_audio(DATA / "tst00.wav")  # AMI's 32-bit samples
    assert audio.duration == pytest.approx(30.0, abs=0.01)
    assert audio.samples.dtype == np.float32 and np.abs(audio.samples).max() <= 1.0


def test_missing_and_empty_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nowhere\.wav: no such recording"):
        load_audio(tmp_path / "nowhere.wav")
    (tmp_path / "empty.m4a").write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.m4a: the file is empty \(0 bytes\)"):
        load_audio(tmp_path / "empty.m4a")


def test_corrupt_and_wrong_format_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    with pytest.raises(AudioError, match=r"broken\.wav: cannot be read as audio"):
        load_audio(tmp_path / "broken.wav")
    (tmp_path / "notes.mp3").write_text("Facilitator: this is a transcript, not a recording\n" * 50)
    with pytest.raises(AudioError, match=r"notes\.mp3: (cannot be read as audio|the file holds no sound track)"):
        load_audio(tmp_path / "notes.mp3")
    (tmp_path / "roster.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 2000)
    with pytest.raises(AudioError, match=r"roster\.xlsx: .*recordings are read as"):
        load_audio(tmp_path / "roster.xlsx")


def test_a_truncated_recording_keeps_what_is_there(tmp_path: Path) -> None:
    data = (DATA / "sample.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    assert load_audio(tmp_path / "cut.wav").duration == pytest.approx(15.0, abs=0.1)


def test_silence_and_hum_are_not_speech(tmp_path: Path) -> None:
    silent = _write_wav(tmp_path / "silent.wav", np.zeros(SAMPLE_RATE * 5))
    with pytest.raises(AudioError, match=r"silent\.wav: no speech found in 5\.0 s of audio \(peak level 0\.000\)"):
        load_audio(silent)
    t = np.arange(SAMPLE_RATE * 5) / SAMPLE_RATE
    hum = _write_wav(tmp_path / "hum.wav", 0.3 * np.sin(2 * np.pi * 50 * t))
    with pytest.raises(AudioError, match=r"hum\.wav: no speech found"):
        load_audio(hum)
    assert load_audio(silent, require_speech=False).regions == ()
