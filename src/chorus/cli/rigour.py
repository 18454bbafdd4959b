"""Rigour: agreement between coders, the consensus coding, the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus import analysis, report
from chorus.cli.common import OutOption, console, open_study, show
from chorus.errors import ChorusError
from chorus.study import audit

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

CodersOption = Annotated[list[str], typer.Option("--coders", help="The coders to compare: --coders ann ben (or ann,ben).")]
MoreCoders = Annotated[Optional[list[str]], typer.Argument(help="More coders, after --coders A.", show_default=False)]
UnitOption = Annotated[str, typer.Option(help="Unit of comparison: turn or sentence.")]
CodeFilter = Annotated[Optional[list[str]], typer.Option("--code", help="Only these codes (repeat the option; default: every code applied in the shared transcripts).")]


def coder_names(given: list[str], more: list[str] | None = None) -> list[str]:
    """The coders named by --coders and after it, each option also read as a comma-separated list."""
    return [name.strip() for item in [*given, *(more or [])] for name in item.split(",") if name.strip()]


@commands.command("agreement")
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
    names = coder_names(coders, more)
    with open_study() as study:
        table = analysis.agreement(study, names, unit=unit, codes=code, chance=chance)  # type: ignore[arg-type]
        shown = table[["code", "units", "coded", "percent_agreement", "kappa", "alpha"]].round(3)
        show(shown, f"Agreement of {', '.join(names)} by {unit} (all statistics: --out)", out, saved=table)
        if segments is not None:
            show(analysis.segment_agreement(study, names, overlap=segments, codes=code).round(3), f"Segment agreement (overlap >= {segments:.0%})")
        if disagreements is not None:
            listed = analysis.disagreements(study, names, unit=unit, codes=code)  # type: ignore[arg-type]
            report.save_table(listed, disagreements)
            console.print(f"{len(listed)} disagreements saved to {disagreements}; fill in 'decision' (keep, drop, or recode with the code in 'recode_to'), then: chorus consensus")


@commands.command("consensus")
def consensus_command(
    coders: CodersOption,
    more: MoreCoders = None,
    decisions: Annotated[Optional[Path], typer.Option(help="The disagreements file with its 'decision' column filled in: keep, drop, or recode (with the code in 'recode_to').")] = None,
    into: Annotated[str, typer.Option(help="The coder the consensus coding is stored under.")] = "consensus",
    unit: UnitOption = "turn",
    code: CodeFilter = None,
) -> None:
    """Write the consensus coding: what the coders agreed on, plus the disagreements decided 'keep'."""
    with open_study() as study:
        summary = analysis.consensus(study, coder_names(coders, more), into=into, unit=unit, decisions=decisions, codes=code)  # type: ignore[arg-type]
    console.print(
        f"consensus coder {into!r}: {summary['agreed']} agreed units, {summary['kept']} kept and "
        f"{summary['dropped']} dropped and {summary['recoded']} recoded by decision, {summary['unresolved']} still unresolved"
    )


@commands.command("log")
def log_command(
    entity: Annotated[Optional[str], typer.Option(help="Only this kind of record: participant, transcript, turn, code, coding, memo, ...")] = None,
    actor: Annotated[Optional[str], typer.Option(help="Only changes made by this person.")] = None,
    action: Annotated[Optional[str], typer.Option(help="Only this kind of change: insert, update or delete.")] = None,
    verify: Annotated[bool, typer.Option(help="Check the trail's hash chain and the store's rows against it: name each entry, and each row, altered, removed or added out of band.")] = False,
    head: Annotated[Optional[str], typer.Option(help="With --verify: a head noted earlier, which the trail must still hold.")] = None,
    out: OutOption = None,
) -> None:
    """The audit trail: every change to the study, who made it, when, before and after."""
    if verify:
        with open_study() as study:
            verdict = audit.verify(study, head, rows=True)
        for line in verdict.unchecked:
            console.print(f"not checked: {line}", markup=False, highlight=False)
        if not verdict.intact:
            for line in verdict.breaks[:20]:
                console.print(f"[red]{line}[/red]", markup=True, highlight=False)
            more = f" ({len(verdict.breaks) - 20} more)" if len(verdict.breaks) > 20 else ""
            raise ChorusError(f"the audit trail, or the store against it, is broken in {len(verdict.breaks)} place(s){more}; the first: {verdict.breaks[0]}")
        console.print(f"audit trail intact: {verdict.entries} entries chained, and the store's {verdict.rows} rows are what it says; its head is {verdict.head}")
        console.print("Note the head outside the study (a lab notebook); chorus log --verify --head HEAD later shows the trail up to it unchanged.")
        return
    with open_study() as study:
        frame = audit.log(study, entity=entity, actor=actor, action=action)
    show(frame[["id", "at", "actor", "action", "entity", "entity_id"]], "Audit trail (before/after: in --out)", out, saved=frame)


