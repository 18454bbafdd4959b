"""Killed mid-way (kill -9): a REFI-QDA project import, a transcript import, a backup. The store opens, passes
SQLite's integrity check, its audit chain verifies, and nothing of the interrupted work is in it.

The project has 100,000 codings here (``CHORUS_CRASH_CODINGS`` sets another size; the closing note of
issue 18 gives the 1,000,000-coding run).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

import chorus
from chorus.errors import ChorusError
from chorus.interop import export_qdpx
from chorus.study import audit
from chorus.study.backup import restore
from chorus.study.models import Coding, Transcript
from tests.helpers import DEMO, load_demo

ROOT = Path(__file__).resolve().parents[2]


def killed_once_under_way(folder: Path, imports: str, call: str) -> None:
    """Open the study in ``folder`` in a Python of its own and run ``call`` (``progress`` at hand); kill -9 it once its work is under way."""
    script = textwrap.dedent(f"""
        import chorus
        {imports}
        study = chorus.open({str(folder)!r})
        def progress(done, total):
            print("under way", flush=True)
        {call}
        print("finished", flush=True)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = worker.stdout.readline()
    if "under way" not in line:
        worker.kill()
        raise AssertionError(f"the worker stopped before its work began: {line}{worker.stderr.read()[-2000:]}")
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=60) == -signal.SIGKILL


def sound(folder: Path) -> chorus.Study:
    """The study in ``folder``, checked: SQLite's integrity check passes and the audit chain verifies."""
    connection = sqlite3.connect(folder / "study.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()
    study = chorus.open(folder)
    assert audit.verify(study).intact
    return study


def test_a_project_import_killed_mid_way_leaves_nothing_of_it(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_matrix import build

    build(tmp_path / "big", transcripts=200, codings=int(os.environ.get("CHORUS_CRASH_CODINGS", "100000")))
    export_qdpx(chorus.open(tmp_path / "big"), tmp_path / "big.qdpx")
    target = load_demo(chorus.init(tmp_path / "target"), transcripts=["FG03"])
    before = audit.verify(target)
    target.close()
    killed_once_under_way(tmp_path / "target", "from chorus.interop import import_qdpx",
                          f"import_qdpx(study, {str(tmp_path / 'big.qdpx')!r}, progress=progress)")
    study = sound(tmp_path / "target")
    with study.reading() as session:
        assert session.scalar(select(func.count(Coding.id))) == 0 and session.scalar(select(func.count(Transcript.id))) == 1
    assert audit.verify(study).entries == before.entries, "no entry of the import either"


def test_a_transcript_import_killed_mid_way_leaves_nothing_of_it(tmp_path):
    study = load_demo(chorus.init(tmp_path / "study"), transcripts=[])
    study.close()
    files = []
    for name in ("FG03.txt", "FG06.txt", "FG07.md", "FG08.txt"):  # each group's own transcript, as a very long session
        path = tmp_path / name
        path.write_text("\n\n".join([(DEMO / "transcripts" / name).read_text(encoding="utf-8")] * 150), encoding="utf-8")
        files.append(str(path))
    killed_once_under_way(tmp_path / "study", "from chorus.ingest import import_transcripts", f"import_transcripts(study, {files!r}, progress=progress)")
    with sound(tmp_path / "study").reading() as session:
        assert session.scalar(select(func.count(Transcript.id))) == 0


def test_a_backup_killed_mid_way_leaves_the_study_sound_and_no_backup_to_restore(tmp_path):
    study = load_demo(chorus.init(tmp_path / "study"), transcripts=["FG03"])
    recordings = tmp_path / "study" / "recordings"
    recordings.mkdir()
    for n in range(40):
        (recordings / f"clip{n:02}.wav").write_bytes(os.urandom(4 << 20))
    study.close()
    killed_once_under_way(tmp_path / "study", "from chorus.study.backup import backup",
                          f"backup(study, {str(tmp_path / 'backup')!r}, progress=progress)")
    sound(tmp_path / "study")
    with pytest.raises(ChorusError, match="no manifest.json"):
        restore(tmp_path / "backup", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
