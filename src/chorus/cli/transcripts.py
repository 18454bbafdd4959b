"""Transcripts and recordings: ``chorus transcripts``, ``transcribe``, ``audio evaluate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chorus import ingest
from chorus.analysis.frames import turns
from chorus.audio import batch
from chorus.audio.batch import Heard
from chorus.audio.export import export_transcript
from chorus.audio.quality import evaluate_recording
from chorus.audio.speakers import Naming, read_mapping
from chorus.audio.store import Stored
from chorus.cli.common import OutOption, console, errors, open_study, progress_bar, show
from chorus.errors import ChorusError
from chorus.study.lookup import find_transcript

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

transcripts_app = typer.Typer(help="Transcripts: import, list, show and remove.", no_args_is_help=True)


@transcripts_app.command("import")
def transcripts_import(
    files: Annotated[list[Path], typer.Argument(help="Transcript files: .txt, .md, .docx, .vtt, .srt.")],
    group: Annotated[Optional[str], typer.Option(help="The group they belong to (default: from each file's name).")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="The text encoding, if detection gets it wrong.")] = None,
) -> None:
    """Import transcripts, matching each speaker to the roster; all files or none."""
    with open_study() as study, progress_bar() as progress:
        task = progress.add_task("importing transcripts", total=len(files))
        warnings = ingest.import_transcripts(
            study, files, group=group, encoding=encoding, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    console.print(f"imported {len(files)} transcript(s)")
    for warning in warnings:
        errors.print(f"warning: {warning}")


@transcripts_app.command("list")
def transcripts_list(out: OutOption = None) -> None:
    """Every transcript with its group, turns and words."""
    with open_study() as study, study.reading() as session:
        table = turns(session)
    frame = table.groupby(["transcript", "group"]).agg(turns=("turn", "count"), words=("words", "sum")).reset_index() if not table.empty else table
    show(frame, "Transcripts", out)


@transcripts_app.command("show")
def transcripts_show(name: Annotated[str, typer.Argument(help="Transcript (or group) name.")]) -> None:
    """A transcript's turns, numbered, with speaker, discipline and times."""
    with open_study() as study, study.reading() as session:
        found = find_transcript(session, name).name
        table = turns(session)
    if table.empty or not (table["transcript"] == found).any():  # a study with no turns at all has none of their columns
        console.print(f"{found}: no turns (its text has no speaker turns yet)")
        return
    frame = table[table["transcript"] == found][["turn", "speaker", "discipline", "start_time", "text"]]
    show(frame, found, limit=10_000)


@transcripts_app.command("remove")
def transcripts_remove(
    name: Annotated[str, typer.Argument(help="Transcript name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a transcript with its turns, codings and their memos, in one transaction the audit trail logs (as the web's Remove link)."""
    from chorus.ingest.transcripts import removal

    with open_study() as study:
        going = removal(study, name)
        if not yes and not typer.confirm(f"Remove {going}?"):
            raise typer.Exit(1)
        ingest.remove_transcript(study, name, confirmed=str(going))
    console.print(f"removed {going}", markup=False, highlight=False)


# --- recordings ----------------------------------------------------------------------------


def _ask_names(heard: Heard, named: dict[str, Naming]) -> dict[str, Naming]:
    """Ask who each speaker no one has named is, showing their first lines."""
    unnamed = [s for s in heard.result.speakers if s not in named]
    if not unnamed:
        return named
    errors.print(f"\n{heard.job.path.name} (group {heard.job.group}): {len(unnamed)} speaker(s) not yet named")
    for speaker, naming in named.items():
        errors.print(f"  {speaker} = {naming.participant} ({naming.how})", markup=False)
    for speaker in unnamed:
        lines = heard.result.worded(speaker)[:3]
        errors.print(f"\n{speaker} said:", markup=False)
        for turn in lines:
            errors.print(f"  [{turn.start:6.1f} s] {turn.said[:100]}", markup=False, highlight=False)
        answer = typer.prompt(f"Who is {speaker}? (roster id or pseudonym; empty: leave unidentified)", default="", show_default=False)
        if answer.strip():
            named[speaker] = Naming(answer.strip(), "named at the prompt")
    return named


@commands.command()
def transcribe(
    paths: Annotated[list[Path], typer.Argument(help="Recordings (wav, mp3, m4a, flac, ogg, mp4, mov...) or folders of them.")],
    group: Annotated[Optional[str], typer.Option(help="The group (session) recorded; default: from each file's name.")] = None,
    group_from_filename: Annotated[bool, typer.Option(help="Take each recording's group from its file name (FG03.m4a, FG03_nurses.wav); the default when --group is not given.")] = True,
    name: Annotated[Optional[str], typer.Option(help="The transcript's name (one recording; default: the file name).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the transcript: .vtt, .srt, .txt (MAXQDA time stamps) or .docx (one recording).")] = None,
    model: Annotated[str, typer.Option(help="Whisper model: 'tiny.en' (packaged) or a CTranslate2 model folder on this machine.")] = "tiny.en",
    device: Annotated[str, typer.Option(help="auto (a CUDA GPU when there is one), cpu or cuda.")] = "auto",
    diarizer: Annotated[str, typer.Option(help="Who spoke when: 'resemblyzer' (packaged), 'pyannote:/path/to/pipeline', or 'none' (one voice).")] = "resemblyzer",
    speakers: Annotated[Optional[int], typer.Option(help="How many people speak (default: the group's size on the roster).")] = None,
    min_speakers: Annotated[Optional[int], typer.Option(help="At least this many speakers (with --max-speakers, instead of --speakers).")] = None,
    max_speakers: Annotated[Optional[int], typer.Option(help="At most this many speakers.")] = None,
    mapping: Annotated[Optional[Path], typer.Option(help="CSV/XLSX naming speakers: columns speaker, participant (and group for a folder).")] = None,
    enrolment: Annotated[Optional[Path], typer.Option(help="Folder of short voice clips, one per participant, named by roster id or pseudonym (P07.wav).")] = None,
    ask: Annotated[bool, typer.Option(help="Ask who each unnamed speaker is, showing their first lines (when run in a terminal).")] = True,
    vad: Annotated[bool, typer.Option(help="Decode only what the voice detector marks as speech (slower on meetings; can help on long silences).")] = False,
    prompt: Annotated[Optional[str], typer.Option(help="Text in the style of the recording, to steer the recogniser.")] = None,
    hotwords: Annotated[Optional[str], typer.Option(help="Domain words to expect, e.g. 'palliative, oncology, APP, hospice'.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a transcript made from a different recording, keeping codings whose text is unchanged.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing.")] = False,
    cluster: Annotated[Optional[str], typer.Option(help="Run on a Dask cluster, e.g. tcp://host:8786 (the recordings must be at the same paths there).")] = None,
) -> None:
    """Transcribe recordings locally into the study: speaker turns named from the roster, with times.

    A folder is processed file by file with progress; run it again after a crash
    or Ctrl-C and it goes on where it stopped.
    """
    if speakers is not None and (min_speakers is not None or max_speakers is not None):
        raise ChorusError("give --speakers, or --min-speakers/--max-speakers, not both")
    bounds = (speakers, speakers) if speakers is not None else None
    if min_speakers is not None or max_speakers is not None:
        bounds = (min_speakers or 1, max_speakers or max(min_speakers or 1, 10))
        if bounds[0] > bounds[1]:
            raise ChorusError(f"--min-speakers {bounds[0]} is more than --max-speakers {bounds[1]}")
    if group is None and not group_from_filename:
        raise ChorusError("give --group, or let the group come from each file's name (--group-from-filename)")
    options = batch.Options(model, device, diarizer, vad, prompt, hotwords, str(enrolment) if enrolment else None)
    with open_study() as study:
        todo, done = batch.plan(study, paths, group=group, name=name, speakers=bounds)
        if out is not None and len(todo) + len(done) != 1:
            raise ChorusError("--out is for one recording; export others with chorus transcripts export")
        if done:
            console.print(f"{len(done)} recording(s) already transcribed from the same file: skipped ({', '.join(j.name for j in done[:5])}{'...' if len(done) > 5 else ''})")
        if replace and todo and not yes:
            if not typer.confirm(f"Replace existing transcripts among {len(todo)} recording(s)? Codings whose text changed are removed."):
                raise typer.Exit(1)
        interactive = ask and sys.stdin.isatty()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
            console=errors, transient=True,
        ) as progress:
            overall = progress.add_task(f"{len(todo)} recording(s)", total=len(todo) or 1)
            current = progress.add_task("", total=1.0, visible=False)

            def step(job: batch.Job, stage: str, fraction: float) -> None:
                progress.update(current, description=f"{job.path.name}: {stage}", completed=fraction, visible=True)

            def landed(stored: Stored) -> None:
                progress.advance(overall)
                extra = f", {len(stored.unidentified)} unidentified speaker(s): {', '.join(stored.unidentified)}" if stored.unidentified else ""
                kept = f", {stored.kept} codings kept, {len(stored.lost)} lost" if stored.status == "replaced" else ""
                progress.console.print(f"{stored.name}: {stored.status}, {stored.turns} turns{extra}{kept}", markup=False)
                for coding_id, code, coder in stored.lost:
                    progress.console.print(f"  coding #{coding_id} ({code}, {coder}): its text is gone, removed", markup=False)

            if interactive:
                progress.stop()  # prompts and a live bar do not mix
            batch.transcribe_recordings(
                study, todo, options,
                mappings=(lambda job: read_mapping(mapping, job.group)) if mapping else None,
                ask=_ask_names if interactive else None,
                replace_existing=replace,
                cluster=cluster,
                progress=None if interactive else step,
                stored=landed,
            )
        if out is not None:
            job = (todo + done)[0]
            export_transcript(study, job.name, out)
            console.print(f"wrote {out}")


@transcripts_app.command("export")
def transcripts_export(
    name: Annotated[str, typer.Argument(help="Transcript (or group) name.")],
    out: Annotated[Path, typer.Option("--out", help="The file: .vtt (<v Name> voice tags), .srt, .txt (MAXQDA time stamps) or .docx.")],
) -> None:
    """Write a transcript with speakers and times, for media players, MAXQDA or Word."""
    with open_study() as study:
        export_transcript(study, name, out)
    console.print(f"wrote {out}")


audio_app = typer.Typer(help="Recordings: how well transcription and diarization do against a reference.", no_args_is_help=True)


@audio_app.command("evaluate")
def audio_evaluate(
    recording: Annotated[Path, typer.Argument(help="The recording.")],
    reference: Annotated[list[Path], typer.Option(help="Reference: .stm, SegLST .json or a transcript (who said what: WER, cpWER; DER too when every turn is timed), .rttm (who spoke when: DER). Repeatable.")],
    model: Annotated[str, typer.Option(help="Whisper model: 'tiny.en' or a model folder.")] = "tiny.en",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    diarizer: Annotated[str, typer.Option(help="'resemblyzer' or 'pyannote:/path'.")] = "resemblyzer",
    speakers: Annotated[Optional[int], typer.Option(help="How many people speak (default: as many as in the reference).")] = None,
    collar: Annotated[float, typer.Option(help="Seconds around each reference boundary not scored for DER.")] = 0.25,
) -> None:
    """Transcribe a recording (nothing is stored) and score it: WER, cpWER and DER, with real-time factor."""
    frame = evaluate_recording(recording, reference, model, device, diarizer, speakers, collar)
    show(frame.round(3), f"Transcription of {recording.name}")


