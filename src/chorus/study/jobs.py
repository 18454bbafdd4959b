"""Background work the server does for a person: a job table in the store and the loop that runs it.

A job has a kind (``transcribe``: :mod:`chorus.audio.jobs`; ``deidentify``:
:mod:`chorus.privacy.review`; ``evaluate``: :mod:`chorus.assist.jobs`; ``align``: :mod:`chorus.assist.guide`,
whose alignment enters the study in one transaction at its end), whose runner each stage registers with the worker.
A worker process of ``chorus serve`` claims the oldest queued job, runs it, and
the runner keeps its result beside the store (``<study>/.jobs``) until a person
finishes it (names the speakers, reviews the findings): only then does anything
enter the study, in one transaction. So nothing half-written enters it: a worker
killed mid-job leaves a ``running`` job that :func:`recover` queues again when
the server starts, and a cancelled or failed job leaves nothing (failed: with the
reason a person can act on).

States: ``queued``, ``running`` (``stage`` and ``fraction`` done), ``naming`` or
``review`` (waiting for a person), ``done``, ``failed``, ``cancelled``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from chorus.errors import ChorusError, NotFound
from chorus.study.models import Job, as_utc, utcnow
from chorus.study.store import Study, acting_as

#: Where results wait for a person, inside the study folder.
WAITING = ".jobs"
#: States in which a job waits for a person.
WAITING_STATES = ("naming", "review")
#: How often a running job writes its progress (seconds).
PROGRESS_EVERY = 0.5

Report = Callable[[str, float], None]  # stage, fraction done
#: A kind's runner: does the job's work, reporting progress; raises to fail it.
Runner = Callable[[Study, Job, Report], None]


class Cancelled(Exception):
    """The job was cancelled while it ran."""


class Superseded(Exception):
    """The job is another worker's now (this one's server stopped and the job was queued again)."""


def submit(study: Study, kind: str, by: str, name: str, recording: str = "", group: str = "") -> int:
    """Queue a job of ``kind`` for person ``by``; returns its id."""
    with acting_as(by), study.transaction() as session:
        job = Job(kind=kind, state="queued", fraction=0.0, recording=recording, group_name=group, name=name, created_by=by)
        session.add(job)
        session.flush()
        return job.id


def jobs(study: Study, kind: str | None = None) -> list[dict[str, Any]]:
    """Every job (of ``kind``), newest first: id, kind, state, stage, fraction, recording, group, name, who and when, error."""
    query = select(Job).order_by(Job.id.desc())
    if kind is not None:
        query = query.where(Job.kind == kind)
    with study.reading() as session:
        return [
            {
                "id": j.id, "kind": j.kind, "state": j.state, "stage": j.stage or "", "fraction": round(j.fraction or 0.0, 3),
                "recording": Path(j.recording).name, "group": j.group_name, "name": j.name, "by": j.created_by,
                "created_at": j.created_at.isoformat() if j.created_at else None, "error": j.error or "",
            }
            for j in session.scalars(query)
        ]


def job(study: Study, job_id: int, waiting_in: str | None = None) -> Job:
    """Job ``job_id`` (detached); with ``waiting_in``, refused unless it is in that state."""
    with study.reading() as session:
        found = _job(session, job_id)
        if waiting_in is not None and found.state != waiting_in:
            raise ChorusError(f"job {job_id} is {found.state}, not waiting for {'speaker names' if waiting_in == 'naming' else 'review'}")
        session.expunge(found)
        return found


def cancel(study: Study, job_id: int, by: str) -> None:
    """Stop a queued, running or waiting job; a running one stops at its next progress report; nothing of it stays."""
    with acting_as(by), study.transaction() as session:
        found = _job(session, job_id)
        if found.state not in ("queued", "running", *WAITING_STATES):
            raise ChorusError(f"job {job_id} is {found.state}; only queued, running or waiting jobs can be cancelled")
        found.state, found.finished_at = "cancelled", utcnow()
        upload = study.folder / found.recording if found.recording else None
    forget(study, job_id)
    if upload is not None:
        upload.unlink(missing_ok=True)  # uploaded for this job


def recover(study: Study) -> int:
    """Queue again the jobs left running by a server that stopped (Ctrl-C, kill -9); returns how many.

    A job whose worker is a live process on this machine is left to it: a second server started on the same
    study (another port, as behind a proxy) must not take away what the first is running.
    """
    with study.transaction() as session:
        stranded = [found for found in session.scalars(select(Job).where(Job.state == "running")) if not _alive_here(found.worker, found.started_at)]
        for found in stranded:
            found.state, found.stage, found.fraction, found.worker = "queued", "waiting (the server restarted)", 0.0, None
        return len(stranded)


def _alive_here(worker: str | None, since: datetime | None = None) -> bool:
    """Whether ``worker`` (``host:pid``, as :func:`work` names itself) is a process running now on this machine, and the
    same one that started the job at ``since``: not a zombie left by a killed server, nor a later process given its pid."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/stat").exists():  # Linux: the process's state and start time
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            booted = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        except (OSError, IndexError, StopIteration, ValueError):
            return False
        started = booted + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return fields[0] not in ("Z", "X") and (since is None or started <= as_utc(since).timestamp() + 1)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def run_next(study: Study, worker: str, runners: Mapping[str, Runner]) -> int | None:
    """Claim the oldest queued job of a kind in ``runners`` and run it; its id, or None when none waits."""
    with study.engine.begin() as connection:
        job_id = connection.execute(
            select(Job.id).where(Job.state == "queued", Job.kind.in_(list(runners))).order_by(Job.id).limit(1)
        ).scalar()
        if job_id is None:
            return None
        claimed = connection.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued")
            .values(state="running", worker=worker, started_at=utcnow(), stage="starting", fraction=0.0)
        ).rowcount
    if not claimed:  # another worker took it first
        return job_id
    found = job(study, job_id)
    last = [0.0]

    def report(stage: str, fraction: float) -> None:
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
        runners[found.kind](study, found, report)
    except Cancelled:
        forget(study, job_id)
    except Superseded:
        pass  # the job's new worker writes its result
    except Exception as exc:  # noqa: BLE001 - a job's failure is reported on its page, not raised in the worker
        reason = str(exc) if isinstance(exc, ChorusError) else f"{found.name} could not be done: {exc}"
        finish(study, job_id, found.created_by, "failed", error=reason.replace(str(study.folder) + "/", ""))
        forget(study, job_id)
        if found.recording:
            (study.folder / found.recording).unlink(missing_ok=True)  # uploaded for this job; nothing of it stays
    return job_id


def keep_result(study: Study, job_id: int, suffix: str, data: bytes, by: str, state: str, stage: str) -> None:
    """Keep a finished run's result beside the store and leave the job waiting in ``state`` for a person."""
    waiting = study.folder / WAITING
    waiting.mkdir(exist_ok=True)
    partial = waiting / f"{job_id}.{suffix}.{os.getpid()}.partial"
    partial.write_bytes(data)
    partial.replace(waiting / f"{job_id}.{suffix}")
    if not finish(study, job_id, by, state, stage=stage, fraction=1.0):
        forget(study, job_id)


def result(study: Study, job_id: int, suffix: str) -> bytes:
    """The result :func:`keep_result` kept; NotFound once it is gone (forgotten, or the folder beside the store removed)."""
    try:
        return (study.folder / WAITING / f"{job_id}.{suffix}").read_bytes()
    except FileNotFoundError:
        raise NotFound(f"job {job_id} keeps no {suffix} beside the store any more") from None


def finish(study: Study, job_id: int, by: str, state: str, **values: Any) -> bool:
    """Move the job to ``state``; False when it was cancelled meanwhile (it stays cancelled)."""
    with acting_as(by), study.transaction() as session:
        found = _job(session, job_id)
        if found.state == "cancelled":
            return False
        found.state = state
        for key, value in values.items():
            setattr(found, key, value)
        if state in ("done", "failed"):
            found.finished_at = utcnow()
        return True


def forget(study: Study, job_id: int) -> None:
    """Remove whatever the job kept beside the store."""
    waiting = study.folder / WAITING
    for leftover in waiting.glob(f"{job_id}.*") if waiting.is_dir() else []:
        leftover.unlink(missing_ok=True)


def work(studies: Callable[[], Iterable[Study]], stop: Callable[[], bool], runners: Mapping[str, Runner], idle: float = 1.0) -> None:
    """A worker process's loop: run queued jobs of every study ``studies()`` gives until ``stop()``.

    Runs at lowered priority, so the web pages stay quick while a job runs.
    """
    try:
        os.nice(10)
    except OSError:
        pass
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while not stop():
        ran = False
        for study in studies():
            ran = run_next(study, worker, runners) is not None or ran
        if not ran:
            time.sleep(idle)


def _job(session: Any, job_id: int) -> Job:
    found = session.get(Job, job_id)
    if found is None:
        raise NotFound(f"there is no job {job_id}")
    return found
