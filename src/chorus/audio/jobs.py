"""Recordings transcribed in the background (jobs of kind ``transcribe``; the queue is :mod:`chorus.study.jobs`).

The web app submits a job for each uploaded recording; a worker process of
``chorus serve`` hears it with the same :func:`chorus.audio.batch.hear` as
``chorus transcribe`` and keeps what it heard beside the store until someone
names the speakers, when it is stored as the transcript in one transaction
(:func:`chorus.audio.batch.keep`), as the CLI's mapping file stores it.

>>> job = submit(study, "recordings/FG05.wav", "FG05", "olive")          # doctest: +SKIP
>>> run_next(study, "host:123")                                            # a worker's turn  # doctest: +SKIP
>>> name_speakers_of(study, job, {"S1": "P21", "S2": None}, "olive")       # doctest: +SKIP
"""

from __future__ import annotations

import pickle
import time
from dataclasses import replace
from pathlib import Path

from chorus.audio.batch import Heard, Options, hear, keep, plan
from chorus.audio.batch import Job as Planned
from chorus.audio.media import probe
from chorus.audio.speakers import Naming
from chorus.audio.store import Stored
from chorus.study import jobs as queue
from chorus.study.models import Job
from chorus.study.store import Study, acting_as

KIND = "transcribe"
HEARD = "heard"
#: The study's voice clips, one per participant named by roster id (``P07.wav``): matched to the voices heard.
ENROLMENT = "enrolment"


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
    return queue.submit(study, KIND, by, name or full.stem, recording=str(full.relative_to(study.folder)), group=group)


def run(study: Study, job: Job, report: queue.Report, options: Options = Options(), cluster: str | None = None) -> None:
    """The worker's part: hear the recording and keep what it heard until its speakers are named.

    With voice clips in the study's ``enrolment`` folder, the voices heard are
    matched to them, and the speaker page proposes those names. With ``cluster``
    (``tcp://host:8786``) the hearing runs on that Dask cluster, as ``chorus
    transcribe --cluster`` runs it (the recording at the same path there).
    """
    [planned], _ = plan(study, [study.folder / job.recording], group=job.group_name, name=job.name)
    clips = study.folder / ENROLMENT
    if options.enrolment is None and clips.is_dir() and any(clips.iterdir()):
        options = replace(options, enrolment=str(clips))
    if cluster is None:
        heard = hear(planned, options, lambda _job, stage, fraction: report(stage, fraction))
    else:
        heard = _on_cluster(cluster, planned, options, report)
    queue.keep_result(study, job.id, HEARD, pickle.dumps(heard), job.created_by, "naming", "waiting for speaker names")


def _on_cluster(cluster: str, planned: Planned, options: Options, report: queue.Report) -> Heard:
    """Hear one recording as a task on the Dask cluster, reporting (and so checking for cancellation) while it runs."""
    from distributed import Client

    with Client(cluster) as client:
        future = client.submit(hear, planned, options, key=f"chorus-job-{planned.name}-{time.time_ns()}", pure=False)
        try:
            while not future.done():
                report("heard on the Dask cluster", 0.0)
                time.sleep(0.5)
            return future.result()
        except BaseException:
            future.cancel()
            raise


def run_next(study: Study, worker: str, options: Options = Options(), cluster: str | None = None) -> int | None:
    """Run the oldest queued transcription (what a worker process does); its id, or None."""
    return queue.run_next(study, worker, {KIND: lambda s, j, r: run(s, j, r, options, cluster)})


def heard_of(study: Study, job_id: int) -> Heard:
    """What a job waiting for names heard: its speakers S1..Sn, their turns, and the voices matched."""
    queue.job(study, job_id, waiting_in="naming")
    return pickle.loads(queue.result(study, job_id, HEARD))


def name_speakers_of(study: Study, job_id: int, names: dict[str, str | None], by: str) -> Stored:
    """Store a heard recording as its transcript, speakers named by roster id (None: left unidentified)."""
    heard = heard_of(study, job_id)
    mapping = {speaker: Naming(who, f"named by {by}") for speaker, who in names.items() if who}
    with acting_as(by):
        stored = keep(study, heard, mapping)
    queue.finish(study, job_id, by, "done", stage="stored", fraction=1.0)
    queue.forget(study, job_id)
    return stored
