"""The ``chorus`` command: a study from roster and transcripts to themes by discipline.

Every command acts on the study in the current folder (or the one given with
``--study PATH``) and is a thin shell over the library: what it prints, Python
users get as a pandas DataFrame from the same function.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import chorus
from chorus import analysis, coding, ingest, interop, privacy, report
from chorus.analysis.frames import participants, turns
from chorus.assist import candidates as assist_candidates
from chorus.assist import llm
from chorus.assist import suggest as suggestions
from chorus.assist.candidates import candidate_codes
from chorus.audio import batch
from chorus.audio.batch import Heard
from chorus.audio.export import export_transcript
from chorus.audio.quality import evaluate_recording
from chorus.audio.speakers import Naming, read_mapping
from chorus.audio.store import Stored
from chorus.coding import codes, versions
from chorus.errors import ChorusError
from chorus.ingest.files import read_table
from chorus.study import audit
from chorus.web import users as web_users
from chorus.study.lookup import find_transcript
from chorus.study.store import Study

app = typer.Typer(
    help="Chorus: take a focus-group study from roster and transcripts to themes by discipline.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
roster_app = typer.Typer(help="The roster: participants and facilitators, with discipline and care team.", no_args_is_help=True)
groups_app = typer.Typer(help="The focus groups (sessions): dates and recordings.", no_args_is_help=True)
transcripts_app = typer.Typer(help="Transcripts: import, list, show and remove.", no_args_is_help=True)
codebook_app = typer.Typer(help="The codebook: import, add, describe, rename, move, merge and delete codes.", no_args_is_help=True)
memo_app = typer.Typer(help="Memos on codes, transcripts, codings or the study.", no_args_is_help=True)
app.add_typer(roster_app, name="roster")
app.add_typer(groups_app, name="groups")
app.add_typer(transcripts_app, name="transcripts")
app.add_typer(codebook_app, name="codebook")
app.add_typer(memo_app, name="memo")

console = Console()
errors = Console(stderr=True)
_state: dict[str, Path] = {"study": Path(".")}

StudyOption = Annotated[Optional[Path], typer.Option("--study", help="The study folder (default: the current folder or the nearest above it).")]
CoderOption = Annotated[str, typer.Option("--coder", help="Who is coding (default: your login name).")]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="Also save the table: .csv or .xlsx.")]
MapOption = Annotated[Optional[str], typer.Option("--map", help="Rename columns: 'Their name=id,Name=pseudonym'.")]


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "coder"


@app.callback()
def _main(study: StudyOption = None) -> None:
    if study is not None:
        _state["study"] = study


def _open() -> Study:
    return chorus.open(_state["study"])


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ChorusError(f"--map {text!r} should read 'their column=our column,...'")
    return {a.strip(): b.strip() for a, b in pairs}


def _show(
    frame: pd.DataFrame, title: str | None = None, out: Path | None = None, index: bool = False,
    limit: int = 200, saved: pd.DataFrame | None = None,
) -> None:
    """Print a DataFrame as a rich table and, with --out, save it (or the fuller ``saved`` table)."""
    shown = frame.reset_index() if index else frame
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in shown.columns:
        numeric = pd.api.types.is_numeric_dtype(shown[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in shown.head(limit).itertuples(index=False):
        table.add_row(*("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in row))
    console.print(table)
    if len(shown) > limit:
        console.print(f"... {len(shown) - limit} more rows (use --out to save them all)")
    if out is not None:
        report.save_table(saved if saved is not None else shown, out)
        console.print(f"saved {out}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors, transient=True
    )


# --- study -----------------------------------------------------------------------------


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The study folder to create.")],
    db: Annotated[Optional[str], typer.Option(help="A PostgreSQL URL for a team server (default: an SQLite file in the folder).")] = None,
    name: Annotated[Optional[str], typer.Option(help="The study's name (default: the folder's).")] = None,
) -> None:
    """Create a new study folder with an empty store."""
    study = chorus.init(folder, db=db, name=name)
    console.print(f"created study {study.name!r} in {folder} ({study.dialect})")
    study.close()


@app.command()
def status() -> None:
    """What the study holds: participants, groups, transcripts, codes, codings, coders."""
    with _open() as study:
        sample = analysis.sample(study)
        book = codes.codebook(study)
        console.print(f"[bold]{study.name}[/bold] ({study.dialect}, {study.folder})")
        _show(sample["participants"], "Participants by discipline and care team")
        _show(sample["groups"], "Groups")
        console.print(f"{len(book)} codes, {int(book['codings'].sum())} codings")


# --- roster and groups -------------------------------------------------------------------


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: id, pseudonym, discipline, care_team, group, role (+ any attributes).")],
    map: MapOption = None,  # noqa: A002 - the option's name
) -> None:
    """Add or update participants and facilitators from a roster table."""
    with _open() as study:
        summary = ingest.import_roster(study, file, _mapping(map))
    console.print(f"{summary.added} added, {summary.updated} updated")
    for warning in summary.warnings:
        errors.print(f"warning: {warning}")


@roster_app.command("list")
def roster_list(out: OutOption = None) -> None:
    """The roster with each person's discipline, care team, role, groups and attributes."""
    with _open() as study, study.reading() as session:
        frame = participants(session, facilitators=True).drop(columns="participant_id")
    _show(frame, "Roster", out)


@roster_app.command("edit")
def roster_edit(
    who: Annotated[str, typer.Argument(help="The person's roster id or pseudonym.")],
    pseudonym: Annotated[Optional[str], typer.Option(help="A new pseudonym (only before they speak in a transcript).")] = None,
    discipline: Annotated[Optional[str], typer.Option(help="Their discipline.")] = None,
    care_team: Annotated[Optional[str], typer.Option(help="Their care team ('' to clear).")] = None,
    role: Annotated[Optional[str], typer.Option(help="participant or facilitator.")] = None,
    groups: Annotated[Optional[str], typer.Option(help="The groups they were in, separated by ';' (replaces the list).")] = None,
) -> None:
    """Change one person on the roster; the audit trail keeps the change."""
    with _open() as study:
        ingest.edit_participant(study, who, pseudonym, discipline, care_team, role, groups.split(";") if groups is not None else None)
    console.print(f"updated {who}")


@groups_app.command("edit")
def groups_edit(
    name: Annotated[str, typer.Argument(help="The group.")],
    date: Annotated[Optional[str], typer.Option(help="Its date, YYYY-MM-DD ('' to clear).")] = None,
    recording: Annotated[Optional[str], typer.Option(help="Its recording's path ('' to clear).")] = None,
) -> None:
    """Change a group's date or recording; the audit trail keeps the change."""
    with _open() as study:
        ingest.edit_group(study, name, date, recording)
    console.print(f"updated {name}")


@groups_app.command("import")
def groups_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: group, date (YYYY-MM-DD), recording (+ any attributes).")],
    map: MapOption = None,  # noqa: A002
) -> None:
    """Add or update the groups' dates, recordings and attributes."""
    with _open() as study:
        summary = ingest.import_groups(study, file, _mapping(map))
    console.print(f"{summary.added} added, {summary.updated} updated")


# --- transcripts --------------------------------------------------------------------------


@transcripts_app.command("import")
def transcripts_import(
    files: Annotated[list[Path], typer.Argument(help="Transcript files: .txt, .md, .docx, .vtt, .srt.")],
    group: Annotated[Optional[str], typer.Option(help="The group they belong to (default: from each file's name).")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="The text encoding, if detection gets it wrong.")] = None,
) -> None:
    """Import transcripts, matching each speaker to the roster; all files or none."""
    with _open() as study, _progress() as progress:
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
    with _open() as study, study.reading() as session:
        table = turns(session)
    frame = table.groupby(["transcript", "group"]).agg(turns=("turn", "count"), words=("words", "sum")).reset_index() if not table.empty else table
    _show(frame, "Transcripts", out)


@transcripts_app.command("show")
def transcripts_show(name: Annotated[str, typer.Argument(help="Transcript (or group) name.")]) -> None:
    """A transcript's turns, numbered, with speaker, discipline and times."""
    with _open() as study, study.reading() as session:
        found = find_transcript(session, name).name
        table = turns(session)
    frame = table[table["transcript"] == found][["turn", "speaker", "discipline", "start_time", "text"]]
    _show(frame, found, limit=10_000)


@transcripts_app.command("remove")
def transcripts_remove(
    name: Annotated[str, typer.Argument(help="Transcript name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a transcript with its codings."""
    if not yes and not typer.confirm(f"Remove transcript {name!r} and all its codings?"):
        raise typer.Exit(1)
    with _open() as study:
        removed = ingest.remove_transcript(study, name)
    console.print(f"removed {name} and {removed} codings")


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
        lines = [t for t in heard.result.turns if t.speaker == speaker][:3]
        errors.print(f"\n{speaker} said:", markup=False)
        for turn in lines:
            errors.print(f"  [{turn.start:6.1f} s] {turn.text[:100]}", markup=False, highlight=False)
        answer = typer.prompt(f"Who is {speaker}? (roster id or pseudonym; empty: leave unidentified)", default="", show_default=False)
        if answer.strip():
            named[speaker] = Naming(answer.strip(), "named at the prompt")
    return named


@app.command()
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
    with _open() as study:
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
    with _open() as study:
        export_transcript(study, name, out)
    console.print(f"wrote {out}")


audio_app = typer.Typer(help="Recordings: how well transcription and diarization do against a reference.", no_args_is_help=True)
app.add_typer(audio_app, name="audio")


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
    _show(frame.round(3), f"Transcription of {recording.name}")


# --- codebook -----------------------------------------------------------------------------

Definition = Annotated[Optional[str], typer.Option(help="What the code means.")]
Colour = Annotated[Optional[str], typer.Option(help="Colour as #rrggbb.")]
Inclusion = Annotated[Optional[str], typer.Option(help="When to apply it.")]
Exclusion = Annotated[Optional[str], typer.Option(help="When not to apply it.")]
Example = Annotated[Optional[str], typer.Option(help="A typical quote.")]


def _fields(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


@codebook_app.command("import")
def codebook_import(
    file: Annotated[
        Path, typer.Argument(help="CSV or XLSX (code, parent, definition, inclusion, exclusion, example, colour) or a REFI-QDA .qdc codebook.")
    ],
    map: MapOption = None,  # noqa: A002
) -> None:
    """Add or update codes from a codebook table or a QDC file from MAXQDA, NVivo or ATLAS.ti."""
    with _open() as study:
        if file.suffix.lower() == ".qdc":
            report = interop.import_qdc(study, file)
            console.print(f"{report.codes} codes and {report.code_sets} code sets read from {file.name}")
            for skipped in report.skipped:
                errors.print(f"skipped: {skipped}", markup=False, highlight=False)
            return
        summary = ingest.import_codebook(study, file, _mapping(map))
    console.print(f"{summary.added} codes added, {summary.updated} updated")


@codebook_app.command("sets")
def codebook_sets(out: OutOption = None) -> None:
    """The code sets (MAXQDA code sets, ATLAS.ti code groups) and the codes in each."""
    with _open() as study:
        _show(codes.code_sets(study), "Code sets", out)


@codebook_app.command("export")
def codebook_export(file: Annotated[Path, typer.Argument(help="The .qdc file to write.")]) -> None:
    """Write the codebook as a REFI-QDA codebook (.qdc) for MAXQDA, NVivo, ATLAS.ti or QualCoder."""
    with _open() as study:
        count = interop.export_qdc(study, file)
    console.print(f"wrote {count} codes to {file}")


@codebook_app.command("add")
def codebook_add(
    name: Annotated[str, typer.Argument(help="The new code's name.")],
    parent: Annotated[Optional[str], typer.Option(help="The code to put it under (name or path).")] = None,
    definition: Definition = None, colour: Colour = None, inclusion: Inclusion = None,
    exclusion: Exclusion = None, example: Example = None,
) -> None:
    """Add a code to the codebook."""
    with _open() as study:
        path = codes.add(study, name, parent, **_fields(definition=definition, colour=colour, inclusion=inclusion, exclusion=exclusion, example=example))
    console.print(f"added {path}")


@codebook_app.command("describe")
def codebook_describe(
    code: Annotated[str, typer.Argument(help="The code (name or path).")],
    definition: Definition = None, colour: Colour = None, inclusion: Inclusion = None,
    exclusion: Exclusion = None, example: Example = None,
) -> None:
    """Change a code's definition, criteria, example or colour."""
    with _open() as study:
        codes.describe(study, code, **_fields(definition=definition, colour=colour, inclusion=inclusion, exclusion=exclusion, example=example))
    console.print(f"updated {code}")


@codebook_app.command("list")
def codebook_list(out: OutOption = None) -> None:
    """The codebook as a tree, with definitions and how often each code was applied."""
    with _open() as study:
        frame = codes.codebook(study)
    _show(frame[["path", "definition", "colour", "codings"]], "Codebook", out, saved=frame)


@codebook_app.command("rename")
def codebook_rename(code: str, new_name: str) -> None:
    """Rename a code; its codings and subcodes stay with it."""
    with _open() as study:
        codes.rename(study, code, new_name)
    console.print(f"renamed {code} to {new_name}")


@codebook_app.command("move")
def codebook_move(
    code: str,
    parent: Annotated[Optional[str], typer.Option(help="The new parent (leave out to move to the top).")] = None,
) -> None:
    """Move a code, with its subcodes and codings, under another code."""
    with _open() as study:
        codes.move(study, code, parent)
    console.print(f"moved {code} under {parent or 'the top'}")


@codebook_app.command("merge")
def codebook_merge(source: str, target: str) -> None:
    """Merge SOURCE into TARGET: its codings, memos and subcodes join TARGET."""
    with _open() as study:
        moved = codes.merge(study, source, target)
    console.print(f"merged {source} into {target} ({moved} codings moved)")


@codebook_app.command("delete")
def codebook_delete(
    code: str,
    discard_codings: Annotated[bool, typer.Option(help="Allow losing the codings of a top-level code.")] = False,
) -> None:
    """Delete a code; its subcodes and codings move up to its parent."""
    with _open() as study:
        discarded = codes.delete(study, code, discard_codings)
    console.print(f"deleted {code}" + (f" and {discarded} codings" if discarded else ""))


@codebook_app.command("snapshot")
def codebook_snapshot(label: Annotated[Optional[str], typer.Option(help="What this version is (e.g. 'after FG01-FG04').")] = None) -> None:
    """Keep the codebook as it is now as a numbered version, to cite and compare."""
    with _open() as study:
        number = versions.snapshot(study, label)
    console.print(f"codebook version {number} kept")


@codebook_app.command("versions")
def codebook_versions(out: OutOption = None) -> None:
    """The codebook's versions, and how many codings each coder made under each."""
    with _open() as study:
        _show(versions.versions(study), "Codebook versions", out)
        _show(versions.codings_by_version(study), "Codings made under each version")


@codebook_app.command("diff")
def codebook_diff(old: int, new: int, out: OutOption = None) -> None:
    """What changed from version OLD to version NEW: codes added, removed, renamed, moved, redefined."""
    with _open() as study:
        _show(versions.diff(study, old, new), f"Codebook version {old} -> {new}", out)


# --- coding -------------------------------------------------------------------------------


@app.command()
def autocode(
    code: Annotated[str, typer.Option("--code", help="The code to apply.")],
    pattern: Annotated[Optional[str], typer.Option(help="A regular expression, e.g. 'fund|budget|reimburs'.")] = None,
    keywords: Annotated[Optional[str], typer.Option(help="Comma-separated keywords (whole words).")] = None,
    scope: Annotated[str, typer.Option(help="What to code around each hit: match, sentence or turn.")] = "turn",
    transcript: Annotated[Optional[list[str]], typer.Option(help="Only these transcripts (repeat the option).")] = None,
    include_facilitators: Annotated[bool, typer.Option(help="Code facilitators' turns too.")] = False,
    case_sensitive: Annotated[bool, typer.Option(help="Match upper and lower case exactly.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show what would be coded; store nothing.")] = False,
    coder: CoderOption = "",
    out: OutOption = None,
) -> None:
    """Code every match of a pattern or keyword list, by match, sentence or turn."""
    with _open() as study, _progress() as progress:
        task = progress.add_task("autocoding", total=None)
        frame = coding.autocode(
            study, code, coder or _login(), pattern=pattern,
            keywords=keywords.split(",") if keywords else None, scope=scope, transcripts=transcript,
            include_facilitators=include_facilitators, ignore_case=not case_sensitive, dry_run=dry_run,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if dry_run:
        _show(frame, f"Would code {code}", out)
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no matches"
    console.print(f"{code}: {summary}")


@app.command("code")
def code_command(
    transcript: Annotated[str, typer.Argument(help="Transcript or group name, e.g. FG03.")],
    code: Annotated[str, typer.Option("--code", help="The code to apply (name or path).")],
    turn: Annotated[Optional[int], typer.Option(help="Code this whole turn (numbered from 1).")] = None,
    start: Annotated[Optional[int], typer.Option(help="Span start (character offset).")] = None,
    end: Annotated[Optional[int], typer.Option(help="Span end (character offset, exclusive).")] = None,
    coder: CoderOption = "",
) -> None:
    """Apply a code to a turn or a span of characters."""
    with _open() as study:
        coding_id = coding.apply_code(study, transcript, code, coder or _login(), turn=turn, start=start, end=end)
    console.print(f"coding #{coding_id}: {code} in {transcript}")


@app.command()
def uncode(
    transcript: Annotated[str, typer.Argument(help="Transcript or group name.")],
    code: Annotated[str, typer.Option("--code", help="The code to remove.")],
    turn: Annotated[Optional[int], typer.Option(help="Remove it from this turn.")] = None,
    start: Annotated[Optional[int], typer.Option(help="Span start.")] = None,
    end: Annotated[Optional[int], typer.Option(help="Span end.")] = None,
    coder: CoderOption = "",
) -> None:
    """Remove your codings of a code from a turn or span."""
    with _open() as study:
        removed = coding.remove_code(study, transcript, code, coder or _login(), turn=turn, start=start, end=end)
    console.print(f"removed {removed} coding(s)")


@memo_app.command("add")
def memo_add(
    text: Annotated[str, typer.Argument(help="The memo.")],
    code: Annotated[Optional[str], typer.Option(help="About this code.")] = None,
    transcript: Annotated[Optional[str], typer.Option(help="About this transcript.")] = None,
    coding_id: Annotated[Optional[int], typer.Option("--coding", help="About this coding (its number).")] = None,
    coder: CoderOption = "",
) -> None:
    """Write a memo."""
    with _open() as study:
        memo_id = coding.add_memo(study, text, coder or _login(), code=code, transcript=transcript, coding=coding_id)
    console.print(f"memo #{memo_id} saved")


@memo_app.command("list")
def memo_list(out: OutOption = None) -> None:
    """Every memo with what it is about."""
    with _open() as study:
        _show(coding.memos(study), "Memos", out)


# --- analysis -----------------------------------------------------------------------------


@app.command()
def segments(
    code: Annotated[Optional[list[str]], typer.Option(help="Segments of this code (and its subcodes); repeat for several.")] = None,
    discipline: Annotated[Optional[str], typer.Option(help="Only what this discipline said.")] = None,
    group: Annotated[Optional[str], typer.Option(help="Only this group.")] = None,
    coder: Annotated[Optional[str], typer.Option(help="Only this coder's codings.")] = None,
    transcript: Annotated[Optional[str], typer.Option(help="Only this transcript.")] = None,
    out: OutOption = None,
) -> None:
    """Retrieve coded segments with speaker, discipline, group and text."""
    with _open() as study:
        frame = analysis.segments(study, code=code, discipline=discipline, group=group, coder=coder, transcript=transcript)
    _show(frame[["coding_id", "code", "group", "turn", "speaker", "discipline", "coder", "text"]], f"{len(frame)} segments", out, saved=frame)


@app.command()
def query(
    expression: Annotated[str, typer.Argument(help="Codes with AND, OR, NOT and brackets, e.g. 'Funding AND NOT Collaboration'.")],
    out: OutOption = None,
) -> None:
    """Turns where a boolean combination of codes holds (codes co-occurring in a turn)."""
    with _open() as study:
        _show(analysis.query(study, expression), f"Turns matching {expression}", out)


@app.command()
def matrix(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    count: Annotated[str, typer.Option(help="Count segments, participants, groups, or share (of the value's participants).")] = "segments",
    subcodes: Annotated[bool, typer.Option(help="Include subcodes' codings in each code's row.")] = False,
    out: OutOption = None,
) -> None:
    """A code x attribute matrix (one row per code, one column per value)."""
    with _open() as study:
        frame = analysis.matrix(study, by=by, count=count, subcodes=subcodes)  # type: ignore[arg-type]
    _show(frame, f"Codes by {by}: {count}", out, index=True)


@app.command()
def talk(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    out: OutOption = None,
) -> None:
    """Talk share: words, turns and speakers per discipline (or another attribute)."""
    with _open() as study:
        _show(analysis.talk_share(study, by), f"Talk share by {by}", out)


@app.command()
def cooccurrence(out: OutOption = None) -> None:
    """Code co-occurrence: turns in which both codes were applied."""
    with _open() as study:
        _show(analysis.cooccurrence(study), "Code co-occurrence (turns)", out, index=True)


MinGroups = Annotated[int, typer.Option(help="A discipline raised a theme if it came up in at least this many of its groups...")]
MinShare = Annotated[float, typer.Option(help="...or was said by at least this share of its participants (0-1).")]
Combine = Annotated[str, typer.Option(help="'or': either condition is enough; 'and': both are needed.")]


@app.command()
def themes(
    min_groups: MinGroups = 2, min_share: MinShare = 0.10, combine: Combine = "or",
    quotes: Annotated[int, typer.Option(help="Quotes to show per theme.")] = 1,
    out: OutOption = None,
) -> None:
    """Themes with the disciplines that raised them, and the evidence."""
    rule = analysis.Rule(min_groups, min_share, combine)
    with _open() as study:
        found = analysis.themes(study, rule, quotes=max(quotes, 1))
    console.print(f"[dim]Rule: a discipline raised a theme when it was {rule}.[/dim]")
    for theme in found.itertuples():
        p = f", p {analysis.format_p(theme.p_value)} ({theme.test})" if theme.p_value is not None else ""
        console.print(f"[bold]{theme.label}[/bold]  [dim]{theme.segments} segments, {theme.participants} participants, {theme.groups} groups{p}[/dim]")
        for quote in theme.quotes[:quotes]:
            console.print(f"    “{quote['text']}” [dim]({quote['speaker']}, {quote['discipline']}, {quote['group']})[/dim]")
    if out is not None:
        report.save_table(report.themes_table(found), out)
        console.print(f"saved {out}")


@app.command("saturation")
def saturation_command(
    by: Annotated[Optional[str], typer.Option(help="One curve per discipline (or care_team).")] = None,
    base: Annotated[int, typer.Option(help="Guest et al.: groups in the base.")] = 4,
    run: Annotated[int, typer.Option(help="Guest et al.: groups in each run.")] = 2,
    threshold: Annotated[float, typer.Option(help="Guest et al.: new-information ratio that counts as saturated.")] = 0.05,
    out: OutOption = None,
) -> None:
    """Code saturation: new codes per group in the order held, and Guest, Namey & Chen's base/run/threshold."""
    with _open() as study:
        curve = analysis.saturation(study, by)
        _show(curve, "New codes per group, in the order held" + (f", by {by}" if by else ""), out)
        try:
            runs = analysis.guest_saturation(study, base, run, threshold, by)
        except ChorusError as exc:
            console.print(f"[dim]Guest, Namey & Chen: {exc.for_command_line()}[/dim]")
            return
    _show(runs.round(3), f"Guest, Namey & Chen (base {base}, run {run}, threshold {threshold:.0%})")


# --- assist: candidate codes and coding suggestions ------------------------------------
suggest_app = typer.Typer(help="AI-assisted coding, locally: candidate codes from the data, coding suggestions.", no_args_is_help=True)
app.add_typer(suggest_app, name="suggest")


YesOption = Annotated[bool, typer.Option("--yes", help="Agree to what the language model would be sent without being asked.")]


def _agree(yes: bool) -> Callable[[str], bool]:
    def confirm(disclosure: str) -> bool:
        console.print(disclosure)
        return yes or (sys.stdin.isatty() and typer.confirm("Send it?", default=False))

    return confirm


@suggest_app.command("llm")
def suggest_llm(
    url: Annotated[Optional[str], typer.Option(help="An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM).")] = None,
    model: Annotated[Optional[str], typer.Option(help="The model name the server expects.")] = None,
    key_variable: Annotated[Optional[str], typer.Option(help="The environment variable holding an API key (the key is never stored).")] = None,
    off: Annotated[bool, typer.Option(help="Turn the language model off again.")] = False,
) -> None:
    """Name the (local) language model used for candidate labels and theme summaries; off by default."""
    with _open() as study:
        if off:
            llm.forget(study)
            console.print("language model off")
            return
        if not url or not model:
            raise ChorusError("give --url and --model (or --off)")
        endpoint = llm.configure(study, url, model, key_variable)
    console.print(f"language model: {endpoint.model} at {endpoint.url} ({'this machine' if endpoint.local else 'another machine: ' + endpoint.host})")


@suggest_app.command("codes")
def suggest_codes(
    include_coded: Annotated[bool, typer.Option(help="Cluster every segment, not only the uncoded ones.")] = False,
    clusters: Annotated[Optional[int], typer.Option(help="How many candidates (default: about the square root of half the segments).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same candidates.")] = 0,
    llm_labels: Annotated[bool, typer.Option(help="Also ask the configured language model for a name for each (says what it sends first).")] = False,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """Candidate codes: clusters of similar segments with their distinctive words, sources and central quotes."""
    with _open() as study:
        with console.status("embedding and clustering segments"):
            frame = candidate_codes(study, include_coded=include_coded, k=clusters, seed=seed)
        if llm_labels:
            frame = llm.label_candidates(study, frame, _agree(yes))
    columns = ["candidate", *(["llm_label"] if "llm_label" in frame.columns else []), "label", "size", "disciplines", "groups"]
    _show(frame[columns], "Candidate codes (quotes and segments: --out)", out, saved=frame)
    console.print("make one a code: chorus suggest adopt CANDIDATES.csv --candidate N --name NAME [--segment ID ...]")


@suggest_app.command("adopt")
def suggest_adopt(
    candidates: Annotated[Path, typer.Argument(help="The table chorus suggest codes --out wrote.")],
    candidate: Annotated[int, typer.Option(help="The candidate's number.")],
    name: Annotated[str, typer.Option(help="The new code's name.")],
    segment: Annotated[Optional[list[str]], typer.Option(help="Only these of its segments (repeat; default: all of them).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="The code to put it under.")] = None,
    coder: CoderOption = "",
) -> None:
    """Make a candidate a code and code its segments (those you ticked)."""
    rows = [r for r in read_table(candidates) if str(r.values.get("candidate")) == str(candidate)]
    if not rows:
        raise ChorusError(f"{candidates}: no candidate {candidate}")
    members = segment or str(rows[0].values.get("segments", "")).split()
    with _open() as study:
        coded = assist_candidates.accept(study, members, name, coder or _login(), parent)
    console.print(f"code {name!r} created with {coded} codings")


@suggest_app.command("codings")
def suggest_codings(
    code: Annotated[Optional[str], typer.Option(help="The code (default: every code with enough examples).")] = None,
    threshold: Annotated[float, typer.Option(help="Lowest confidence to suggest (0-1).")] = suggestions.THRESHOLD,
    out: OutOption = None,
) -> None:
    """Suggest where a code applies, with a confidence and the coded example each resembles."""
    with _open() as study, console.status("learning from the codings"):
        frame = suggestions.suggest(study, code=code, threshold=threshold)
    _show(frame[["suggestion", "code", "confidence", "speaker", "text"]], "Suggestions (accept: chorus accept N; reject: chorus reject N)", out, saved=frame)


@suggest_app.command("summaries")
def suggest_summaries(
    code: Annotated[Optional[list[str]], typer.Option(help="Only these codes (repeat).")] = None,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """Theme summaries from each code's passages, by the configured language model (says what it sends first)."""
    with _open() as study:
        frame = llm.summaries(study, _agree(yes), codes=code)
    if frame.empty:
        console.print("nothing sent")
        return
    _show(frame, "Theme summaries (by the language model: check them against the passages)", out)


@app.command("accept")
def accept_command(numbers: Annotated[list[int], typer.Argument(help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Accept suggestions: each becomes a coding by you; the decision is recorded."""
    with _open() as study:
        done = suggestions.decide(study, numbers, "accept", coder or _login())
    console.print(f"accepted {done} suggestions")


@app.command("reject")
def reject_command(numbers: Annotated[list[int], typer.Argument(help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Reject suggestions; they are not proposed again, and the decision is recorded."""
    with _open() as study:
        done = suggestions.decide(study, numbers, "reject", coder or _login())
    console.print(f"rejected {done} suggestions")


# --- rigour: agreement between coders -------------------------------------------------
CodersOption = Annotated[list[str], typer.Option("--coders", help="The coders to compare: --coders ann ben (or ann,ben).")]
MoreCoders = Annotated[Optional[list[str]], typer.Argument(help="More coders, after --coders A.", show_default=False)]
UnitOption = Annotated[str, typer.Option(help="Unit of comparison: turn or sentence.")]
CodeFilter = Annotated[Optional[list[str]], typer.Option("--code", help="Only these codes (repeat the option; default: every code applied in the shared transcripts).")]


def _coders(given: list[str], more: list[str] | None = None) -> list[str]:
    return [name.strip() for item in [*given, *(more or [])] for name in item.split(",") if name.strip()]


@app.command("agreement")
def agreement_command(
    coders: CodersOption,
    more: MoreCoders = None,
    unit: UnitOption = "turn",
    code: CodeFilter = None,
    chance: Annotated[str, typer.Option(help="kappa's chance correction: cohen (Cohen/Fleiss) or brennan-prediger.")] = "cohen",
    segments: Annotated[Optional[float], typer.Option(help="Also compare coded segments as MAXQDA does: the overlap (0-1) that counts as agreeing.")] = None,
    disagreements: Annotated[Optional[Path], typer.Option(help="Save the disagreements with their text (.csv/.xlsx), with a 'decision' column to fill in.")] = None,
    out: OutOption = None,
) -> None:
    """Intercoder agreement of coders who coded the same transcripts: one row per code and one over all codes."""
    names = _coders(coders, more)
    with _open() as study:
        table = analysis.agreement(study, names, unit=unit, codes=code, chance=chance)  # type: ignore[arg-type]
        shown = table[["code", "units", "coded", "percent_agreement", "kappa", "alpha"]].round(3)
        _show(shown, f"Agreement of {', '.join(names)} by {unit} (all statistics: --out)", out, saved=table)
        if segments is not None:
            _show(analysis.segment_agreement(study, names, overlap=segments, codes=code).round(3), f"Segment agreement (overlap >= {segments:.0%})")
        if disagreements is not None:
            listed = analysis.disagreements(study, names, unit=unit, codes=code)  # type: ignore[arg-type]
            report.save_table(listed, disagreements)
            console.print(f"{len(listed)} disagreements saved to {disagreements}; fill in 'decision' (keep/drop), then: chorus consensus")


@app.command("consensus")
def consensus_command(
    coders: CodersOption,
    more: MoreCoders = None,
    decisions: Annotated[Optional[Path], typer.Option(help="The disagreements file with its 'decision' column filled in.")] = None,
    into: Annotated[str, typer.Option(help="The coder the consensus coding is stored under.")] = "consensus",
    unit: UnitOption = "turn",
    code: CodeFilter = None,
) -> None:
    """Write the consensus coding: what the coders agreed on, plus the disagreements decided 'keep'."""
    with _open() as study:
        summary = analysis.consensus(study, _coders(coders, more), into=into, unit=unit, decisions=decisions, codes=code)  # type: ignore[arg-type]
    console.print(
        f"consensus coder {into!r}: {summary['agreed']} agreed units, {summary['kept']} kept and "
        f"{summary['dropped']} dropped by decision, {summary['unresolved']} still unresolved"
    )


@app.command("log")
def log_command(
    entity: Annotated[Optional[str], typer.Option(help="Only this kind of record: participant, transcript, turn, code, coding, memo, ...")] = None,
    actor: Annotated[Optional[str], typer.Option(help="Only changes made by this person.")] = None,
    out: OutOption = None,
) -> None:
    """The audit trail: every change to the study, who made it, when, before and after."""
    with _open() as study:
        frame = audit.log(study, entity=entity, actor=actor)
    _show(frame[["id", "at", "actor", "action", "entity", "entity_id"]], "Audit trail (before/after: in --out)", out, saved=frame)


# --- privacy: de-identification --------------------------------------------------------
deid_app = typer.Typer(help="De-identification: find protected health information, review it, replace it with tags.", no_args_is_help=True)
app.add_typer(deid_app, name="deid")
ModelOption = Annotated[Optional[str], typer.Option(help="An installed spaCy pipeline (package or folder) instead of the packaged small English model.")]


@deid_app.command("find")
def deid_find(
    out: Annotated[Path, typer.Option("--out", help="The review table to write (.csv/.xlsx); it holds the protected text: keep it safe.")],
    transcript: Annotated[Optional[list[str]], typer.Option(help="Only these transcripts (repeat the option).")] = None,
    model: ModelOption = None,
) -> None:
    """Find names, dates, ages over 89, places, institutions, phone numbers, e-mails and record numbers, for review."""
    with _open() as study:
        findings = privacy.find(study, transcripts=transcript, model=model)
    report.save_table(findings, out)
    counts = findings.groupby("kind").size().rename("findings").reset_index() if not findings.empty else findings
    _show(counts, "Findings by kind (the text is only in the review file)")
    console.print(f"review each row of {out}: set 'decision' to accept or reject (and edit 'tag' if you like), then: chorus deid apply {out} --key FILE")


@deid_app.command("apply")
def deid_apply(
    review: Annotated[Path, typer.Argument(help="The reviewed table from chorus deid find.")],
    key: Annotated[Path, typer.Option(help="Where to write the originals (a new file outside the study folder).")],
    accept_all: Annotated[bool, typer.Option(help="Accept findings left without a decision (only after reading them all).")] = False,
) -> None:
    """Replace the accepted findings with their tags; codings follow the text; originals go to the key file."""
    with _open() as study:
        counts = privacy.apply(study, review, key, accept_all=accept_all)
    console.print(f"replaced {sum(counts.values())} findings ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); the key is {key}")


@deid_app.command("restore")
def deid_restore(key: Annotated[Path, typer.Option(help="The key file chorus deid apply wrote.")]) -> None:
    """Put the original words back from the key file."""
    with _open() as study:
        restored = privacy.restore(study, key)
    console.print(f"restored {restored} transcripts from {key}")


@deid_app.command("evaluate")
def deid_evaluate(
    labelled: Annotated[Path, typer.Argument(help="A labelled set: one utterance per line, protected text marked {{KIND:text}}.")],
    model: ModelOption = None,
) -> None:
    """Precision and recall of de-identification on a labelled set (tests/data/deid/labelled.txt is Chorus's)."""
    from chorus.privacy.evaluate import evaluate

    _show(evaluate(labelled, model).round(3), f"De-identification on {labelled.name}")


# --- the web app ---------------------------------------------------------------------------
users_app = typer.Typer(help="Accounts of the web app, with their role: owner, coder or viewer.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The account's name (their codings are under the coder of this name).")],
    role: Annotated[str, typer.Option(help="owner, coder or viewer.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input (for scripts).")] = False,
) -> None:
    """Create an account; there is no default password, so you give one now."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _open() as study:
        web_users.add_user(study, name, password, role)
    console.print(f"user {name!r} added as {role}")


@users_app.command("list")
def users_list(out: OutOption = None) -> None:
    """The accounts and their roles."""
    with _open() as study:
        _show(web_users.users(study), "Users", out)


@users_app.command("role")
def users_role(name: str, role: str) -> None:
    """Change what a user may do (owner, coder, viewer)."""
    with _open() as study:
        web_users.set_role(study, name, role)
    console.print(f"{name} is now {role}")


def _keys_folder(keys: Path | None, served: list[Path]) -> str | None:
    """The key folder as the server keeps it, refused inside anything it serves."""
    if keys is None:
        return None
    for folder in served:
        if keys.resolve().is_relative_to(folder.resolve()):
            raise ChorusError(f"--keys {keys} is inside {folder}; key files hold what de-identification removed: keep them outside every study")
    return str(keys.resolve())


@app.command()
def serve(
    studies: Annotated[Optional[list[Path]], typer.Argument(help="Study folders to serve together (default: this study).")] = None,
    home: Annotated[
        Optional[Path], typer.Option(help="A folder of studies, created in the browser: the first run prints a one-time setup link.")
    ] = None,
    db: Annotated[
        Optional[str], typer.Option(help="With --home: the server's PostgreSQL (postgresql://user@host/db) for studies created there.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[bool, typer.Option(help="Mark session cookies Secure (behind an HTTPS proxy).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Server processes answering requests (a team on a machine with more cores).")] = 1,
    keys: Annotated[
        Optional[Path], typer.Option(help="Folder outside every study for de-identification key files made in the browser.")
    ] = None,
    cluster: Annotated[
        Optional[str], typer.Option(help="Transcribe uploaded recordings on this Dask cluster (tcp://host:8786), as chorus transcribe does.")
    ] = None,
) -> None:
    """Start the web app on this study, on several with a page listing them, or on a home of studies made in the browser.

    Recordings uploaded in the browser are transcribed by as many background
    worker processes as --workers names, at lowered priority; jobs a stopped
    server left running are queued again at start.
    """
    import json
    import multiprocessing
    import os

    import uvicorn

    from chorus.study import jobs
    from chorus.web.app import SERVE_SETTINGS, create_home_server, create_server, job_worker
    from chorus.web.home import SETUP_MINUTES, Home

    processes = f", {workers} worker processes" if workers > 1 else ""
    options = {"host": host, "port": port, "log_level": "warning", "access_log": False}
    if home is not None:
        if studies:
            raise ChorusError("give either study folders or --home, not both")
        the_home = Home(home, db)
        settings = {"home": str(the_home.folder), "db": db, "secure_cookies": secure_cookies, "keys": _keys_folder(keys, [the_home.folder])}
        console.print(f"Chorus on http://{host}:{port} (studies in {the_home.folder}{processes}); stop with Ctrl-C")
        if not the_home.has_owner():
            link = f"http://{host}:{port}/setup?token={the_home.setup_token()}"
            console.print(f"First run: open this link once, within {SETUP_MINUTES} minutes, to create the owner:")
            console.print(link, soft_wrap=True, markup=False, highlight=False)
        app_now = create_home_server(the_home, secure_cookies=secure_cookies, keys=keys) if workers == 1 else None
        served = [the_home.study(slug) for slug, _ in the_home.studies()]
    else:
        if db is not None:
            raise ChorusError("--db names the server's database for studies created under --home; a study's own store is in its folder")
        opened = [chorus.open(folder) for folder in studies] if studies else [_open()]
        for study in opened:
            if web_users.users(study).empty:
                raise ChorusError(f"no accounts yet in {study.folder}; create one first: chorus users add NAME --role owner")
        settings = {"studies": [str(s.folder.resolve()) for s in opened], "secure_cookies": secure_cookies,
                    "keys": _keys_folder(keys, [s.folder for s in opened])}
        console.print(f"Chorus on http://{host}:{port} ({', '.join(s.name for s in opened)}{processes}); stop with Ctrl-C")
        app_now = create_server(opened, secure_cookies=secure_cookies, keys=keys) if workers == 1 else None
        served = opened
    settings["cluster"] = cluster
    requeued = sum(jobs.recover(study) for study in served)  # the studies this process opened already
    if requeued:
        console.print(f"{requeued} transcription job(s) left running when the server stopped: queued again")
    spawn = multiprocessing.get_context("spawn")
    job_workers = [spawn.Process(target=job_worker, args=(json.dumps(settings),), daemon=True) for _ in range(workers)]
    for worker in job_workers:
        worker.start()
    try:
        if app_now is not None:
            uvicorn.run(app_now, **options)
            return
        os.environ[SERVE_SETTINGS] = json.dumps(settings)
        uvicorn.run("chorus.web.app:server_from_environment", factory=True, workers=workers, **options)
    finally:
        for worker in job_workers:
            worker.terminate()
        for worker in job_workers:
            worker.join(timeout=10)


# --- exchange (REFI-QDA) -------------------------------------------------------------


@app.command("export")
def export_command(file: Annotated[Path, typer.Argument(help="The .qdpx project file to write.")]) -> None:
    """Write the study as a REFI-QDA project (.qdpx) that MAXQDA, NVivo, ATLAS.ti and QualCoder open."""
    with _open() as study, _progress() as progress:
        task = progress.add_task("exporting transcripts", total=None)
        summary = interop.export_qdpx(study, file, progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(
        f"wrote {file}: {summary.codes} codes, {summary.sources} transcripts, {summary.codings} codings, "
        f"{summary.cases} participants (cases), {summary.notes} memos"
    )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx) from MAXQDA, NVivo, ATLAS.ti, QualCoder or Chorus.")],
    variable: Annotated[
        Optional[list[str]],
        typer.Option(help="Which case variable is which roster column: 'Profession=discipline' (also care_team, role, id); 'NAME=' keeps it as an attribute. Repeatable."),
    ] = None,
    positions: Annotated[str, typer.Option(help="How the file counts positions: auto (by the tool that wrote it), codepoints or utf16.")] = "auto",
    sources: Annotated[Optional[Path], typer.Option(help="Folder holding sources the project links to outside the archive (default: the file's folder).")] = None,
) -> None:
    """Import a REFI-QDA project: codes, transcripts, codings, memos, participants (cases) and groups (sets); all or nothing."""
    if positions not in ("auto", "codepoints", "utf16"):
        raise ChorusError(f"--positions must be auto, codepoints or utf16, not {positions!r}")
    mapping = None
    if variable:
        mapping = {}
        for pair in variable:
            name, sep, target = pair.partition("=")
            if not sep:
                raise ChorusError(f"--variable {pair!r} should look like 'NAME=discipline'")
            mapping[name] = target.strip() or name
    with _open() as study:
        while True:
            try:
                with _progress() as progress:
                    task = progress.add_task(f"importing {file.name}", total=None)
                    report = interop.import_qdpx(
                        study, file, variables=mapping, positions=positions, sources_folder=sources,  # type: ignore[arg-type]
                        progress=lambda done, total: progress.update(task, completed=done, total=total),
                    )
                break
            except interop.NeedsDiscipline as question:
                if not sys.stdin.isatty():
                    raise
                errors.print(f"The cases have these variables: {', '.join(question.variables)}")
                answer = typer.prompt("Which one is the discipline? (empty: none)", default="", show_default=False)
                mapping = {answer: "discipline"} if answer else {}
    console.print(
        f"imported {file.name}: {report.codes} codes, {report.sources} transcripts, {report.codings} codings, "
        f"{report.cases} participants, {report.variables} variables, {report.notes} memos, {report.users} coders, "
        f"{report.code_sets} code sets"
    )
    for skipped in report.skipped:
        errors.print(f"skipped: {skipped}", markup=False, highlight=False)


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("findings.html"),
    min_groups: MinGroups = 2, min_share: MinShare = 0.10, combine: Combine = "or",
    agreement: Annotated[Optional[str], typer.Option(help="Coders whose agreement to report, e.g. 'ann,ben' (default: every pair with a transcript in common).")] = None,
) -> None:
    """Write the findings report (self-contained HTML) and all its tables as CSV and XLSX."""
    with _open() as study, console.status("writing the report"):
        coders = _coders([agreement]) if agreement else None
        written = report.build(study, out, analysis.Rule(min_groups, min_share, combine), coders)
    console.print(f"report: {written.html.resolve()}")
    console.print(f"tables: {written.tables_dir.resolve()} (CSV, and {written.workbook.name})")


def main() -> None:
    """Run the CLI; bad input ends with a one-line reason and exit status 2."""
    try:
        app()
    except ChorusError as exc:
        errors.print(f"error: {exc.for_command_line()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
