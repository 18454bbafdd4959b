"""Transcribing recordings into a study, one or a whole folder, here or on a Dask cluster.

Each recording is one unit of work (decode, recognise, diarize, match voices)
and each result is stored in its own transaction as soon as it is back, so a
crash or Ctrl-C mid-folder loses only the recording in hand: running the same
command again skips every recording already stored from the same file (same
sha256) and goes on with the rest.

With ``cluster="tcp://host:8786"`` the work runs on a Dask distributed cluster,
one task per recording; the recordings and enrolment clips must be readable at
the same paths on the workers (a shared file system), and the results come back
to this process, which alone writes to the study. A lab with a Slurm GPU
cluster starts the workers with dask-jobqueue (see the docs: How-to, Transcribe).

>>> todo, done = plan(study, ["recordings/"])        # doctest: +SKIP
>>> stored = transcribe_recordings(study, todo)       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select

from chorus.audio.media import FORMATS, Recording, load_audio
from chorus.audio.speakers import Naming, enrolment_clips, match_voices, name_speakers
from chorus.audio.store import Stored, store_transcript
from chorus.audio.transcribe import DEFAULT_MODEL, MachineTranscript, transcribe_audio
from chorus.errors import ChorusError, InputError
from chorus.ingest.transcripts import group_for
from chorus.study.files import file_sha256
from chorus.study.models import Group, Membership, Participant, Transcript
from chorus.study.store import Study


@dataclass(frozen=True)
class Options:
    """How to transcribe: the same for every recording of a run, sent to the workers as is."""

    model: str = DEFAULT_MODEL
    device: str = "auto"
    diarizer: str = "resemblyzer"
    vad: bool = False
    prompt: str | None = None
    hotwords: str | None = None
    enrolment: str | None = None  # folder of one clip per participant


@dataclass(frozen=True)
class Job:
    """One recording to transcribe, for one group, with how many people might speak."""

    path: Path
    group: str
    name: str
    speakers: tuple[int, int]
    facilitator: str | None


@dataclass(frozen=True)
class Heard:
    """A worker's result: the recording, its speaker-attributed turns, and voices it matched."""

    job: Job
    recording: Recording
    result: MachineTranscript
    voices: dict[str, Naming] = field(default_factory=dict)


Progress = Callable[[Job, str, float], None]  # job, stage, fraction of that recording done


def recordings_in(paths: Iterable[str | Path]) -> list[Path]:
    """The recordings named, folders opened (not recursively), in name order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in FORMATS and p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise InputError("no such recording or folder", path=path)
    if not found:
        raise ChorusError(f"no recordings ({', '.join(FORMATS)}) in {', '.join(map(str, paths))}")
    return found


def plan(
    study: Study,
    paths: Iterable[str | Path],
    group: str | None = None,
    name: str | None = None,
    speakers: tuple[int, int] | None = None,
) -> tuple[list[Job], list[Job]]:
    """The jobs to run and the ones already stored from the same file (skipped on a re-run).

    Without ``group`` each recording's group comes from its file name, as for
    transcript files (``FG03.m4a``, ``FG03_nurses.wav``). Without ``speakers`` the
    number of speakers is the group's size on the roster, facilitators included.
    """
    files = recordings_in(paths)
    if name is not None and len(files) > 1:
        raise ChorusError("--name is for one recording; a folder's transcripts are named after their files")
    with study.reading() as session:
        groups = {g.name: g for g in session.scalars(select(Group))}
        if group is not None and group not in groups:
            raise InputError(f"no group {group!r} on the roster")
        sizes = dict(session.execute(select(Membership.group_id, func.count()).group_by(Membership.group_id)).all())
        facilitators: dict[int, list[str]] = {}
        for group_id, key in session.execute(
            select(Membership.group_id, Participant.key)
            .join(Participant, Participant.id == Membership.participant_id)
            .where(Participant.role == "facilitator")
        ):
            facilitators.setdefault(group_id, []).append(key)
        recorded = dict(session.execute(select(Transcript.name, Transcript.media)).all())
        todo, done = [], []
        for path in files:
            the_group = groups[group] if group is not None else group_for(path, groups)
            size = sizes.get(the_group.id, 0)
            count = speakers or ((size, size) if size else (1, 10))
            leads = facilitators.get(the_group.id, [])
            job = Job(path, the_group.name, name or path.stem, count, leads[0] if len(leads) == 1 else None)
            stored = (recorded.get(job.name) or {}).get("sha256")  # hash the file only when there is one to compare
            (done if stored and stored == file_sha256(path) else todo).append(job)
    return todo, done


def hear(job: Job, options: Options, progress: Progress | None = None) -> Heard:
    """Transcribe, diarize and match voices for one recording: the work of one task, no study needed."""
    step = progress or (lambda job, stage, fraction: None)
    step(job, "reading", 0.0)
    audio = load_audio(job.path)
    result = transcribe_audio(
        audio,
        model=options.model,
        device=options.device,
        min_speakers=job.speakers[0],
        max_speakers=job.speakers[1],
        diarizer=options.diarizer,
        vad=options.vad,
        prompt=options.prompt,
        hotwords=options.hotwords,
        on_progress=lambda stage, fraction: step(job, stage, fraction),
    )
    voices = match_voices(audio, result, enrolment_clips(options.enrolment)) if options.enrolment else {}
    step(job, "done", 1.0)
    return Heard(job, audio.recording, result, voices)


Ask = Callable[[Heard, dict[str, Naming]], dict[str, Naming]]


def keep(
    study: Study,
    heard: Heard,
    mapping: dict[str, Naming] | None = None,
    ask: Ask | None = None,
    replace_existing: bool = False,
) -> Stored:
    """Name the speakers of ``heard`` (mapping file, voices, questions, then ``ask``) and store it."""
    naming = name_speakers(heard.result, mapping, heard.voices, heard.job.facilitator)
    if ask is not None:
        naming = ask(heard, naming)
    return store_transcript(study, heard.recording, heard.result, heard.job.group, naming, heard.job.name, replace_existing)


def transcribe_recordings(
    study: Study,
    jobs: list[Job],
    options: Options = Options(),
    mappings: Callable[[Job], dict[str, Naming]] | None = None,
    ask: Ask | None = None,
    replace_existing: bool = False,
    cluster: str | None = None,
    progress: Progress | None = None,
    stored: Callable[[Stored], None] | None = None,
) -> list[Stored]:
    """Run ``jobs`` here (one after another) or on the Dask cluster at ``cluster``; store each as it finishes.

    ``mappings`` gives each job's speaker mapping (from a file); ``stored`` is told
    of each transcript as it lands. An error in one recording stops the run after
    the ones already stored, which stay.
    """
    mappings = mappings or (lambda job: {})
    results: list[Stored] = []

    def land(heard: Heard) -> None:
        outcome = keep(study, heard, mappings(heard.job), ask, replace_existing)
        results.append(outcome)
        if stored is not None:
            stored(outcome)

    if cluster is None:
        for job in jobs:
            land(hear(job, options, progress))
        return results
    from distributed import Client, as_completed

    # the workers share the filesystem, not this process's folder: recordings and enrolment clips go as absolute paths
    sent = replace(options, enrolment=str(Path(options.enrolment).resolve())) if options.enrolment else options
    with Client(cluster) as client:
        futures = {
            client.submit(hear, replace(job, path=job.path.resolve()), sent, key=f"chorus-transcribe-{job.name}-{i}", pure=False): job
            for i, job in enumerate(jobs)
        }
        for future in as_completed(futures):
            job = futures[future]
            try:
                heard = future.result()
            except ChorusError:
                for other in futures:
                    other.cancel()
                raise
            if progress is not None:
                progress(job, "done", 1.0)
            land(heard)
    return results

