"""What leaves and enters the study whole: the REFI-QDA project out and in, the findings report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus import analysis, interop, report
from chorus.cli.analysis import Combine, MinGroups, MinShare
from chorus.cli.common import BasisOption, console, errors, open_study, progress_bar
from chorus.cli.rigour import coder_names
from chorus.errors import ChorusError

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()


@commands.command("export")
def export_command(file: Annotated[Path, typer.Argument(help="The .qdpx project file to write.")]) -> None:
    """Write the study as a REFI-QDA project (.qdpx) that MAXQDA, NVivo, ATLAS.ti and QualCoder open."""
    with open_study() as study, progress_bar() as progress:
        task = progress.add_task("exporting transcripts", total=None)
        summary = interop.export_qdpx(study, file, progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(
        f"wrote {file}: {summary.codes} codes, {summary.sources} transcripts, {summary.codings} codings, "
        f"{summary.cases} participants (cases), {summary.notes} memos"
    )


@commands.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx) from MAXQDA, NVivo, ATLAS.ti, QualCoder or Chorus.")],
    variable: Annotated[
        Optional[list[str]],
        typer.Option(help="Which case variable is which roster column: 'Profession=discipline' (also care_team, role, id); 'NAME=' keeps it as an attribute. Repeatable."),
    ] = None,
    positions: Annotated[str, typer.Option(help="How the file counts positions: auto (by the tool that wrote it), codepoints or utf16.")] = "auto",
    sources: Annotated[Optional[Path], typer.Option(help="Folder holding sources the project links to outside the archive (default: the file's folder).")] = None,
    speakerless: Annotated[str, typer.Option(help="A source with no speaker turns (an article, notes): 'lines' cuts it into a turn per line, 'passage' keeps it whole; both unattributed.")] = "lines",
    document_sets: Annotated[str, typer.Option(help="A set of sources: 'groups' takes it as their focus group, 'ignore' leaves each source a group of its own.")] = "groups",
) -> None:
    """Import a REFI-QDA project: codes, transcripts, codings, memos, participants (cases) and groups (sets); all or nothing.

    Importing the same project again adds what it has that the study does not (sources and codings matched by GUID).
    """
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
    with open_study() as study:
        while True:
            try:
                with progress_bar() as progress:
                    task = progress.add_task(f"importing {file.name}", total=None)
                    report = interop.import_qdpx(
                        study, file, variables=mapping, positions=positions, sources_folder=sources,  # type: ignore[arg-type]
                        progress=lambda done, total: progress.update(task, completed=done, total=total),
                        speakerless=speakerless, document_sets=document_sets,  # type: ignore[arg-type]
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
    for made in report.made:
        console.print(f"made: {made}", markup=False, highlight=False)
    for skipped in report.skipped:
        errors.print(f"skipped: {skipped}", markup=False, highlight=False)


@commands.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("findings.html"),
    min_groups: MinGroups = 2, min_share: MinShare = 0.10, combine: Combine = "or",
    agreement: Annotated[Optional[str], typer.Option(help="Coders whose agreement to report, e.g. 'ann,ben' (default: every pair with a transcript in common).")] = None,
    docx: Annotated[Optional[Path], typer.Option(help="Also write the manuscript draft in Word: methods, Table 1, Table 2, figures, COREQ.")] = None,
    characteristics: Annotated[Optional[str], typer.Option(help="With --docx: roster columns Table 1 also describes, e.g. 'years_in_practice,gender'.")] = None,
    quotes: Annotated[int, typer.Option(help="With --docx: an appendix of up to this many quotes per theme and discipline.")] = 0,
    basis: BasisOption = "auto",
) -> None:
    """Write the findings report (self-contained HTML) and all its tables as CSV and XLSX (and, with --docx, the Word draft)."""
    rule = analysis.Rule(min_groups, min_share, combine)
    with open_study() as study, console.status("writing the report"):
        coders = coder_names([agreement]) if agreement else None
        written = report.build(study, out, rule, coders, basis)
        if docx is not None:
            wanted = [c.strip() for c in (characteristics or "").split(",") if c.strip()]
            report.manuscript(study, docx, rule, coders, characteristics=wanted, quotes=quotes, basis=basis)
    console.print(written.tables["coding_basis"]["line"].iloc[0], highlight=False)
    console.print(f"report: {written.html.resolve()}")
    console.print(f"tables: {written.tables_dir.resolve()} (CSV, and {written.workbook.name})")
    if docx is not None:
        console.print(f"manuscript: {docx.resolve()}")
