"""The study itself, its roster and its groups: ``chorus init``, ``status``, ``roster``, ``groups``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import chorus
from chorus import analysis, ingest
from chorus.analysis.frames import participants
from chorus.cli.common import MapOption, OutOption, column_mapping, console, errors, open_study, progress_bar, show
from chorus.coding import codes

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

roster_app = typer.Typer(help="The roster: participants and facilitators, with discipline and care team.", no_args_is_help=True)
groups_app = typer.Typer(help="The focus groups (sessions): dates and recordings.", no_args_is_help=True)


@commands.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The study folder to create.")],
    db: Annotated[Optional[str], typer.Option(help="A PostgreSQL URL for a team server (default: an SQLite file in the folder).")] = None,
    name: Annotated[Optional[str], typer.Option(help="The study's name (default: the folder's).")] = None,
) -> None:
    """Create a new study folder with an empty store."""
    study = chorus.init(folder, db=db, name=name)
    console.print(f"created study {study.name!r} in {folder} ({study.dialect})")
    study.close()


@commands.command()
def status() -> None:
    """What the study holds: participants, groups, transcripts, codes, codings, coders."""
    with open_study() as study:
        sample = analysis.sample(study)
        book = codes.codebook(study)
        console.print(f"[bold]{study.name}[/bold] ({study.dialect}, {study.folder})")
        show(sample["participants"], "Participants by discipline and care team")
        show(sample["groups"], "Groups")
        console.print(f"{len(book)} codes, {int(book['codings'].sum())} codings")


@commands.command()
def approach(
    text: Annotated[Optional[str], typer.Argument(help="How the data were analysed, e.g. 'reflexive thematic analysis'.", show_default=False)] = None,
) -> None:
    """The analysis approach the methods report (default: inductive content analysis); give one to change it."""
    from chorus.study.settings import approach as said
    from chorus.study.settings import set_approach

    with open_study() as study:
        if text is not None:
            set_approach(study, text)
        console.print(f"the methods say the transcripts were analysed by {said(study)}")


@commands.command()
def backup(dest: Annotated[Path, typer.Argument(help="A new folder for the backup (on another disk).")]) -> None:
    """Copy the study (its store, while the web app serves, and its files) with a manifest of hashes, proven to restore."""
    from chorus.study import backup as backups

    with open_study() as study, progress_bar() as progress:
        task = progress.add_task("copying the study's files", total=None)
        manifest = backups.backup(study, dest, progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"backed up {study.name!r} to {dest}: {len(manifest['files'])} files, {manifest['audit']['entries']} audit entries, "
                  f"head {manifest['audit']['head']}; "
                  + ("its chain verified in the dump's snapshot" if manifest.get("dialect") == "postgresql" else "checked by opening a copy of it"),
                  soft_wrap=True)


@commands.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A folder chorus backup made.")],
    folder: Annotated[Path, typer.Argument(help="Where the study goes; a study there is kept beside it, renamed.")],
) -> None:
    """Put a backup back as a study, once its files, its store's integrity and its audit trail are proven sound."""
    from chorus.study import backup as backups

    manifest = backups.restore(src, folder)
    console.print(f"restored {manifest['study']!r} (backed up {manifest['made']}) into {folder}: files, store and audit trail checked",
                  soft_wrap=True)


# --- roster and groups -------------------------------------------------------------------


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: id, pseudonym, discipline, care_team, group, role (+ any attributes).")],
    map: MapOption = None,  # noqa: A002 - the option's name
) -> None:
    """Add or update participants and facilitators from a roster table."""
    with open_study() as study:
        summary = ingest.import_roster(study, file, column_mapping(map))
    console.print(f"{summary.added} added, {summary.updated} updated")
    for warning in summary.warnings:
        errors.print(f"warning: {warning}")


@roster_app.command("list")
def roster_list(out: OutOption = None) -> None:
    """The roster with each person's discipline, care team, role, groups and attributes."""
    with open_study() as study, study.reading() as session:
        frame = participants(session, facilitators=True).drop(columns="participant_id")
    show(frame, "Roster", out)


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
    with open_study() as study:
        ingest.edit_participant(study, who, pseudonym, discipline, care_team, role, groups.split(";") if groups is not None else None)
    console.print(f"updated {who}")


@groups_app.command("edit")
def groups_edit(
    name: Annotated[str, typer.Argument(help="The group.")],
    date: Annotated[Optional[str], typer.Option(help="Its date, YYYY-MM-DD ('' to clear).")] = None,
    recording: Annotated[Optional[str], typer.Option(help="Its recording's path ('' to clear).")] = None,
) -> None:
    """Change a group's date or recording; the audit trail keeps the change."""
    with open_study() as study:
        ingest.edit_group(study, name, date, recording)
    console.print(f"updated {name}")


@groups_app.command("import")
def groups_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: group, date (YYYY-MM-DD), recording (+ any attributes).")],
    map: MapOption = None,  # noqa: A002
) -> None:
    """Add or update the groups' dates, recordings and attributes."""
    with open_study() as study:
        summary = ingest.import_groups(study, file, column_mapping(map))
    console.print(f"{summary.added} added, {summary.updated} updated")


