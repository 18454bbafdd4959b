"""Recordings transcribed in the background: a job table in the store and the worker processes that run it.

The web app submits a job for each uploaded recording; a worker process of
``chorus serve`` claims the oldest queued job, hears the recording (the same
:func:`chorus.audio.batch.hear` as ``chorus transcribe``), and keeps what it
heard beside the store until someone names the speakers, when it is stored as
the transcript in one transaction (:func:`chorus.audio.batch.keep`). So nothing
half-written enters the study: a worker killed mid-job leaves a ``running``
job that :func:`recover` queues again when the server starts, and a cancelled
or failed job leaves nothing, its recording included (failed: with its reason).

>>> job = submit(study, "recordings/FG05.wav", "FG05", "olive")     # doctest: +SKIP
>>> run_next(study, "host:123")                                        # a worker's loop  # doctest: +SKIP
>>> name_speakers_of(study, job, {"S1": "P21", "S2": None}, "olive")   # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from chorus.audio.batch import Heard, Job as Planned, Options, hear, keep, plan
from chorus.audio.media import probe
from chorus.audio.speakers import Naming
from chorus.audio.store import Stored
from chorus.errors import ChorusError
from chorus.study.models import Job, utcnow
from chorus.study.store import Study, acting_as

#: Where heard recordings wait for their speakers' names, inside the study folder.
WAITING = ".jobs"
STATES = ("queued", "running", "naming", "done", "failed", "cancelled")
#: How often a running job writes its progress (seconds).
PROGRESS_EVERY = 0.5


class Cancelled(Exception):
    """The job was cancelled while it ran."""


class Superseded(Exception):
    """The job is another worker's now (this one's server stopped and the job was queued again)."""


def submit(study: Study, recording: str | Path, group: str, by: str, name: str | None = None) -> int:
    """Queue a transcription of ``recording`` (a file in the study folder) for ``group``; returns the job's id.

    Checked first: the file must be a recording with a sound track (its header
    only; a truncated or silent one fails when heard, with the reason) and the
    group must be on the roster.
    """
    path = Path(recording)
    full = path if path.is_absolute() else study.folder / path
    probe(full)  # a file that is not a recording is refused now, not when its turn comes
    plan(study, [full], group=group, name=name)  # refuses an unknown group
    with acting_as(by), study.transaction() as session:
        job = Job(kind="transcribe", state="queued", fraction=0.0, recording=str(full.relative_to(study.folder)),
                  group_name=group, name=name or full.stem, created_by=by)
        session.add(job)
        session.flush()
        return job.id


def jobs(study: Study) -> list[dict[str, Any]]:
    """Every job, newest first: id, state, stage, fraction, recording, group, name, who and when, error."""
    with study.reading() as session:
        rows = session.scalars(select(Job).order_by(Job.id.desc())).all()
        return [
            {
                "id": j.id, "state": j.state, "stage": j.stage or "", "fraction": round(j.fraction or 0.0, 3),
                "recording": Path(j.recording).name, "group": j.group_name, "name": j.name, "by": j.created_by,
                "created_at": j.created_at.isoformat() if j.created_at else None, "error": j.error or "",
            }
            for j in rows
        ]


def cancel(study: Study, job_id: int, by: str) -> None:
    """Stop a queued or running job; a running one stops at its next progress report and stores nothing."""
    with acting_as(by), study.transaction() as session:
        job = _job(session, job_id)
        if job.state not in ("queued", "running", "naming"):
            raise ChorusError(f"job {job_id} is {job.state}; only queued, running or naming jobs can be cancelled")
        job.state, job.finished_at = "cancelled", utcnow()
        recording = study.folder / job.recording
    _forget(study, job_id)
    recording.unlink(missing_ok=True)


def recover(study: Study) -> int:
    """Queue again the jobs left running by a server that stopped (Ctrl-C, kill -9); returns how many."""
    with study.transaction() as session:
        stranded = session.scalars(select(Job).where(Job.state == "running")).all()
        for job in stranded:
            job.state, job.stage, job.fraction, job.worker = "queued", "waiting (the server restarted)", 0.0, None
        return len(stranded)


def run_next(study: Study, worker: str, options: Options = Options()) -> int | None:
    """Claim the oldest queued job and run it to ``naming`` (or ``failed``/``cancelled``); its id, or None when none waits."""
    with study.engine.begin() as connection:
        job_id = connection.execute(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1)).scalar()
        if job_id is None:
            return None
        claimed = connection.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued")
            .values(state="running", worker=worker, started_at=utcnow(), stage="starting", fraction=0.0)
        ).rowcount
    if not claimed:  # another worker took it first
        return job_id
    with study.reading() as session:
        job = _job(session, job_id)
        path, group, name, by = study.folder / job.recording, job.group_name, job.name, job.created_by
    last = [0.0]

    def progress(_: Planned, stage: str, fraction: float) -> None:
        if time.monotonic() - last[0] < PROGRESS_EVERY and fraction < 1.0:
            return
        last[0] = time.monotonic()
        with study.engine.begin() as connection:  # progress is not a change to the study: outside the audit trail
            state, owner = connection.execute(select(Job.state, Job.worker).where(Job.id == job_id)).one()
            if state == "cancelled":
                raise Cancelled
            if state != "running" or owner != worker:
                raise Superseded
            connection.execute(update(Job).where(Job.id == job_id).values(stage=stage, fraction=fraction))

    try:
        [planned], _ = plan(study, [path], group=group, name=name)
        heard = hear(planned, options, progress)
        waiting = study.folder / WAITING
        waiting.mkdir(exist_ok=True)
        partial = waiting / f"{job_id}.heard.{os.getpid()}.partial"
        partial.write_bytes(pickle.dumps(heard))
        partial.replace(waiting / f"{job_id}.heard")
        if not _finish(study, job_id, by, "naming", stage="waiting for speaker names", fraction=1.0):
            _forget(study, job_id)
    except Cancelled:
        _forget(study, job_id)
    except Superseded:
        pass  # the job's new worker writes its result
    except Exception as exc:  # noqa: BLE001 - a job's failure is reported on its page, not raised in the worker
        reason = str(exc) if isinstance(exc, ChorusError) else f"{Path(path).name} could not be transcribed: {exc}"
        _finish(study, job_id, by, "failed", error=reason.replace(str(study.folder) + "/", ""))
        path.unlink(missing_ok=True)  # uploaded for this job; nothing of it stays
    return job_id


def heard_of(study: Study, job_id: int) -> Heard:
    """What a job in ``naming`` heard: its speakers S1..Sn, their turns, and the voices matched."""
    with study.reading() as session:
        job = _job(session, job_id)
        if job.state != "naming":
            raise ChorusError(f"job {job_id} is {job.state}, not waiting for speaker names")
    return pickle.loads((study.folder / WAITING / f"{job_id}.heard").read_bytes())


def name_speakers_of(study: Study, job_id: int, names: dict[str, str | None], by: str) -> Stored:
    """Store a heard recording as its transcript, speakers named by roster id (None: left unidentified), as the CLI's mapping does."""
    heard = heard_of(study, job_id)
    mapping = {speaker: Naming(who, f"named by {by}") for speaker, who in names.items() if who}
    with acting_as(by):
        stored = keep(study, heard, mapping)
        _finish(study, job_id, by, "done", stage="stored", fraction=1.0)
    _forget(study, job_id)
    return stored


def work(studies: Callable[[], Iterable[Study]], stop: Callable[[], bool], options: Options = Options(), idle: float = 1.0) -> None:
    """A worker process's loop: run queued jobs of every study ``studies()`` gives until ``stop()``.

    Runs at lowered priority, so the web pages stay quick while a recording is heard.
    """
    try:
        os.nice(10)
    except OSError:
        pass
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while not stop():
        ran = False
        for study in studies():
            ran = run_next(study, worker, options) is not None or ran
        if not ran:
            time.sleep(idle)


def _job(session: Any, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise ChorusError(f"there is no job {job_id}")
    return job


def _finish(study: Study, job_id: int, by: str, state: str, **values: Any) -> bool:
    """Move the job to ``state``; False when it was cancelled meanwhile (it stays cancelled)."""
    with acting_as(by), study.transaction() as session:
        job = _job(session, job_id)
        if job.state == "cancelled":
            return False
        job.state = state
        for key, value in values.items():
            setattr(job, key, value)
        if state in ("done", "failed"):
            job.finished_at = utcnow()
        return True


def _forget(study: Study, job_id: int) -> None:
    for leftover in (study.folder / WAITING).glob(f"{job_id}.heard*") if (study.folder / WAITING).is_dir() else []:
        leftover.unlink(missing_ok=True)
