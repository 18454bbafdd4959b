"""The codebook and coding: ``chorus codebook``, ``autocode``, ``code``, ``uncode``, ``memo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus import coding, ingest, interop
from chorus.cli.common import CoderOption, MapOption, OutOption, column_mapping, console, errors, login_name, open_study, progress_bar, show
from chorus.coding import codes, versions
from chorus.study.models import LARGEST_INTEGER

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

codebook_app = typer.Typer(help="The codebook: import, add, describe, rename, move, merge and delete codes.", no_args_is_help=True)
memo_app = typer.Typer(help="Memos on codes, transcripts, codings or the study.", no_args_is_help=True)
codings_app = typer.Typer(help="Codings made elsewhere: import them from a table.", no_args_is_help=True)


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
    with open_study() as study:
        if file.suffix.lower() == ".qdc":
            report = interop.import_qdc(study, file)
            console.print(f"{report.codes} codes and {report.code_sets} code sets read from {file.name}")
            for skipped in report.skipped:
                errors.print(f"skipped: {skipped}", markup=False, highlight=False)
            return
        summary = ingest.import_codebook(study, file, column_mapping(map))
    console.print(f"{summary.added} codes added, {summary.updated} updated")
    for warning in summary.warnings:
        errors.print(f"new: {warning}", markup=False, highlight=False)


@codebook_app.command("sets")
def codebook_sets(out: OutOption = None) -> None:
    """The code sets (MAXQDA code sets, ATLAS.ti code groups) and the codes in each."""
    with open_study() as study:
        show(codes.code_sets(study), "Code sets", out)


@codebook_app.command("export")
def codebook_export(file: Annotated[Path, typer.Argument(help="The .qdc file to write.")]) -> None:
    """Write the codebook as a REFI-QDA codebook (.qdc) for MAXQDA, NVivo, ATLAS.ti or QualCoder."""
    with open_study() as study:
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
    with open_study() as study:
        path = codes.add(study, name, parent, **_fields(definition=definition, colour=colour, inclusion=inclusion, exclusion=exclusion, example=example))
    console.print(f"added {path}")


@codebook_app.command("describe")
def codebook_describe(
    code: Annotated[str, typer.Argument(help="The code (name or path).")],
    definition: Definition = None, colour: Colour = None, inclusion: Inclusion = None,
    exclusion: Exclusion = None, example: Example = None,
) -> None:
    """Change a code's definition, criteria, example or colour."""
    with open_study() as study:
        codes.describe(study, code, **_fields(definition=definition, colour=colour, inclusion=inclusion, exclusion=exclusion, example=example))
    console.print(f"updated {code}")


@codebook_app.command("list")
def codebook_list(out: OutOption = None) -> None:
    """The codebook as a tree, with definitions and how often each code was applied."""
    with open_study() as study:
        frame = codes.codebook(study)
    show(frame[["path", "definition", "colour", "codings"]], "Codebook", out, saved=frame)


@codebook_app.command("rename")
def codebook_rename(code: str, new_name: str) -> None:
    """Rename a code; its codings and subcodes stay with it."""
    with open_study() as study:
        codes.rename(study, code, new_name)
    console.print(f"renamed {code} to {new_name}")


@codebook_app.command("move")
def codebook_move(
    code: str,
    parent: Annotated[Optional[str], typer.Option(help="The new parent (leave out to move to the top).")] = None,
) -> None:
    """Move a code, with its subcodes and codings, under another code."""
    with open_study() as study:
        codes.move(study, code, parent)
    console.print(f"moved {code} under {parent or 'the top'}")


@codebook_app.command("merge")
def codebook_merge(source: str, target: str) -> None:
    """Merge SOURCE into TARGET: its codings, memos and subcodes join TARGET."""
    with open_study() as study:
        moved = codes.merge(study, source, target)
    console.print(f"merged {source} into {target} ({moved} codings moved)")


@codebook_app.command("delete")
def codebook_delete(
    code: str,
    discard_codings: Annotated[bool, typer.Option(help="Allow losing the codings of a top-level code.")] = False,
) -> None:
    """Delete a code; its subcodes and codings move up to its parent."""
    with open_study() as study:
        discarded = codes.delete(study, code, discard_codings)
    console.print(f"deleted {code}" + (f" and {discarded} codings" if discarded else ""))


@codebook_app.command("snapshot")
def codebook_snapshot(label: Annotated[Optional[str], typer.Option(help="What this version is (e.g. 'after FG01-FG04').")] = None) -> None:
    """Keep the codebook as it is now as a numbered version, to cite and compare."""
    with open_study() as study:
        number = versions.snapshot(study, label)
    console.print(f"codebook version {number} kept")


@codebook_app.command("versions")
def codebook_versions(out: OutOption = None) -> None:
    """The codebook's versions, and how many codings each coder made under each."""
    with open_study() as study:
        show(versions.versions(study), "Codebook versions", out)
        show(versions.codings_by_version(study), "Codings made under each version")


@codebook_app.command("diff")
def codebook_diff(old: int, new: int, out: OutOption = None) -> None:
    """What changed from version OLD to version NEW: codes added, removed, renamed, moved, redefined."""
    with open_study() as study:
        show(versions.diff(study, old, new), f"Codebook version {old} -> {new}", out)


# --- coding -------------------------------------------------------------------------------


@commands.command()
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
    with open_study() as study, progress_bar() as progress:
        task = progress.add_task("autocoding", total=None)
        frame = coding.autocode(
            study, code, coder or login_name(), pattern=pattern,
            keywords=keywords.split(",") if keywords else None, scope=scope, transcripts=transcript,
            include_facilitators=include_facilitators, ignore_case=not case_sensitive, dry_run=dry_run,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if dry_run:
        show(frame.drop(columns=["before", "after"]), f"Would code {code}", out, saved=frame)
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no matches"
    console.print(f"{code}: {summary}")


@commands.command("code")
def code_command(
    transcript: Annotated[str, typer.Argument(help="Transcript or group name, e.g. FG03.")],
    code: Annotated[str, typer.Option("--code", help="The code to apply (name or path).")],
    turn: Annotated[Optional[int], typer.Option(min=1, max=LARGEST_INTEGER, help="Code this whole turn (numbered from 1).")] = None,
    start: Annotated[Optional[int], typer.Option(help="Span start (character offset).")] = None,
    end: Annotated[Optional[int], typer.Option(help="Span end (character offset, exclusive).")] = None,
    coder: CoderOption = "",
) -> None:
    """Apply a code to a turn or a span of characters."""
    with open_study() as study:
        coding_id = coding.apply_code(study, transcript, code, coder or login_name(), turn=turn, start=start, end=end)
    console.print(f"coding #{coding_id}: {code} in {transcript}")


@codings_app.command("import")
def codings_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: transcript, code, coder, and turn (from 1) or start and end.")],
) -> None:
    """Store codings from a table, all or none (a bad row is named with its file and line)."""
    with open_study() as study:
        count = coding.import_codings(study, file)
    console.print(f"{count} codings stored from {file}")


@commands.command()
def uncode(
    transcript: Annotated[str, typer.Argument(help="Transcript or group name.")],
    code: Annotated[str, typer.Option("--code", help="The code to remove.")],
    turn: Annotated[Optional[int], typer.Option(min=1, max=LARGEST_INTEGER, help="Remove it from this turn.")] = None,
    start: Annotated[Optional[int], typer.Option(help="Span start.")] = None,
    end: Annotated[Optional[int], typer.Option(help="Span end.")] = None,
    coder: CoderOption = "",
) -> None:
    """Remove your codings of a code from a turn or span."""
    with open_study() as study:
        removed = coding.remove_code(study, transcript, code, coder or login_name(), turn=turn, start=start, end=end)
    console.print(f"removed {removed} coding(s)")


@memo_app.command("add")
def memo_add(
    text: Annotated[str, typer.Argument(help="The memo.")],
    code: Annotated[Optional[str], typer.Option(help="About this code.")] = None,
    transcript: Annotated[Optional[str], typer.Option(help="About this transcript.")] = None,
    coding_id: Annotated[Optional[int], typer.Option("--coding", min=1, max=LARGEST_INTEGER, help="About this coding (its number).")] = None,
    coder: CoderOption = "",
) -> None:
    """Write a memo."""
    with open_study() as study:
        memo_id = coding.add_memo(study, text, coder or login_name(), code=code, transcript=transcript, coding=coding_id)
    console.print(f"memo #{memo_id} saved")


@memo_app.command("list")
def memo_list(out: OutOption = None) -> None:
    """Every memo with what it is about."""
    with open_study() as study:
        show(coding.memos(study), "Memos", out)


