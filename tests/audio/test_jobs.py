"""Background transcription jobs: queued, run by a worker, named, stored once; cancelled or failed jobs store nothing."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chorus.audio import jobs
from chorus.errors import ChorusError
from chorus.study import jobs as queue
from chorus.study.models import Job, Transcript
from tests.audio.conftest import dask_cluster, roster_study

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def recorded(study, tmp_path, conversation):
    roster_study(study, tmp_path)
    (study.folder / "recordings").mkdir()
    shutil.copy(conversation.path, study.folder / "recordings" / "FG01.wav")
    return study


def transcripts(study) -> int:
    with study.reading() as session:
        return session.scalar(select(func.count()).select_from(Transcript))


def test_a_job_is_heard_then_stored_once_its_speakers_are_named(recorded):
    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    assert [j["state"] for j in queue.jobs(recorded)] == ["queued"]
    assert jobs.run_next(recorded, "test:1") == job and transcripts(recorded) == 0  # nothing stored before the names
    [shown] = queue.jobs(recorded)
    assert shown["state"] == "naming" and shown["fraction"] == 1.0
    heard = jobs.heard_of(recorded, job)
    speakers = sorted({t.speaker for t in heard.result.turns})
    assert len(speakers) == 4
    names = dict(zip(speakers, ["F1", "P01", "P02", None]))  # one speaker left unidentified
    stored = jobs.name_speakers_of(recorded, job, names, "olive")
    assert stored.status == "added" and stored.unidentified == [speakers[3]]
    assert queue.jobs(recorded)[0]["state"] == "done" and not list((recorded.folder / queue.WAITING).glob("*"))
    assert transcripts(recorded) == 1
    assert jobs.run_next(recorded, "test:1") is None


def test_a_job_left_running_by_a_stopped_server_is_queued_again_and_finishes_once(recorded):
    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    with recorded.transaction() as session:  # as a worker killed mid-job leaves it
        session.get(Job, job).state, session.get(Job, job).worker = "running", "gone:99"
    assert queue.recover(recorded) == 1
    assert jobs.run_next(recorded, "test:2") == job and queue.jobs(recorded)[0]["state"] == "naming"


def test_a_job_a_live_worker_on_this_machine_is_running_is_left_to_it(recorded):
    """A second server started on the same study (another port) does not take a job from the first's worker."""
    import os
    import socket

    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    with recorded.transaction() as session:
        session.get(Job, job).state, session.get(Job, job).worker = "running", f"{socket.gethostname()}:{os.getpid()}"
    assert queue.recover(recorded) == 0 and queue.jobs(recorded)[0]["state"] == "running"


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads a process's state in /proc (Linux)")
def test_a_job_whose_worker_s_pid_now_names_a_later_process_or_a_zombie_is_queued_again(recorded):
    """A server killed with its workers: their pids may be zombies not yet reaped, or be given to later processes."""
    import os
    import socket
    import subprocess
    from datetime import datetime, timezone

    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    with recorded.transaction() as session:  # this process started after the job did: it is not the job's worker
        found = session.get(Job, job)
        found.state, found.worker, found.started_at = "running", f"{socket.gethostname()}:{os.getpid()}", datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert queue.recover(recorded) == 1
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":  # ended, not yet waited for
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with recorded.transaction() as session:
        found = session.get(Job, job)
        found.state, found.worker, found.started_at = "running", f"{socket.gethostname()}:{zombie.pid}", None
    assert queue.recover(recorded) == 1
    zombie.wait()


def test_a_cancelled_job_stores_nothing(recorded, monkeypatch):
    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    real = jobs.hear

    def cancelled_midway(planned, options, progress=None):
        queue.cancel(recorded, job, "olive")
        monkeypatch.setattr(queue, "PROGRESS_EVERY", 0.0)
        return real(planned, options, progress)

    monkeypatch.setattr(jobs, "hear", cancelled_midway)
    jobs.run_next(recorded, "test:3")
    assert transcripts(recorded) == 0
    assert queue.jobs(recorded)[0]["state"] == "cancelled" and not (recorded.folder / "recordings" / "FG01.wav").exists()
    assert not (recorded.folder / queue.WAITING).exists() or not list((recorded.folder / queue.WAITING).glob("*"))
    with pytest.raises(ChorusError, match="cancelled"):
        queue.cancel(recorded, job, "olive")


def silent_wav(path, seconds: float = 3.0):
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path


def test_bad_recordings_are_refused_at_once_or_fail_with_their_reason_and_store_nothing(recorded):
    junk = recorded.folder / "recordings" / "FG02.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    with pytest.raises(ChorusError, match="FG02.wav: cannot be read as audio"):
        jobs.submit(recorded, "recordings/FG02.wav", "FG02", "olive")
    silent_wav(recorded.folder / "recordings" / "quiet.wav")
    job = jobs.submit(recorded, "recordings/quiet.wav", "FG02", "olive")
    jobs.run_next(recorded, "test:4")
    [failed] = queue.jobs(recorded)
    assert failed["id"] == job and failed["state"] == "failed" and failed["error"].startswith("recordings/quiet.wav: no speech found")
    assert not (recorded.folder / "recordings" / "quiet.wav").exists()
    assert transcripts(recorded) == 0
    with pytest.raises(ChorusError, match="no group 'FG09'"):
        jobs.submit(recorded, "recordings/FG01.wav", "FG09", "olive")


def test_a_job_can_be_heard_on_a_dask_cluster(recorded):
    job = jobs.submit(recorded, "recordings/FG01.wav", "FG01", "olive")
    with dask_cluster(1) as cluster:
        assert jobs.run_next(recorded, "test:5", cluster=cluster.scheduler_address) == job
    assert queue.jobs(recorded)[0]["state"] == "naming"
    assert len({t.speaker for t in jobs.heard_of(recorded, job).result.turns}) == 4
