"""Analysis: segments, queries, matrices, talk share, co-occurrence, themes and saturation."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from chorus import analysis, report
from chorus.cli.common import OutOption, console, open_study, show
from chorus.errors import ChorusError

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()


@commands.command()
def segments(
    code: Annotated[Optional[list[str]], typer.Option(help="Segments of this code (and its subcodes); repeat for several.")] = None,
    discipline: Annotated[Optional[str], typer.Option(help="Only what this discipline said.")] = None,
    group: Annotated[Optional[str], typer.Option(help="Only this group.")] = None,
    coder: Annotated[Optional[str], typer.Option(help="Only this coder's codings.")] = None,
    transcript: Annotated[Optional[str], typer.Option(help="Only this transcript.")] = None,
    out: OutOption = None,
) -> None:
    """Retrieve coded segments with speaker, discipline, group and text."""
    with open_study() as study:
        frame = analysis.segments(study, code=code, discipline=discipline, group=group, coder=coder, transcript=transcript)
    show(frame[["coding_id", "code", "group", "turn", "speaker", "discipline", "coder", "text"]], f"{len(frame)} segments", out, saved=frame)


@commands.command()
def query(
    expression: Annotated[str, typer.Argument(help="Codes with AND, OR, NOT and brackets, e.g. 'Funding AND NOT Collaboration'.")],
    out: OutOption = None,
) -> None:
    """Turns where a boolean combination of codes holds (codes co-occurring in a turn)."""
    with open_study() as study:
        show(analysis.query(study, expression), f"Turns matching {expression}", out)


@commands.command()
def matrix(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    count: Annotated[str, typer.Option(help="Count segments, participants, groups, or share (of the value's participants).")] = "segments",
    subcodes: Annotated[bool, typer.Option(help="Include subcodes' codings in each code's row.")] = False,
    out: OutOption = None,
) -> None:
    """A code x attribute matrix (one row per code, one column per value)."""
    with open_study() as study:
        frame = analysis.matrix(study, by=by, count=count, subcodes=subcodes)  # type: ignore[arg-type]
    show(frame, f"Codes by {by}: {count}", out, index=True)


@commands.command()
def talk(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    out: OutOption = None,
) -> None:
    """Talk share: words, turns and speakers per discipline (or another attribute)."""
    with open_study() as study:
        show(analysis.talk_share(study, by), f"Talk share by {by}", out)


@commands.command()
def cooccurrence(out: OutOption = None) -> None:
    """Code co-occurrence: turns in which both codes were applied."""
    with open_study() as study:
        show(analysis.cooccurrence(study), "Code co-occurrence (turns)", out, index=True)


MinGroups = Annotated[int, typer.Option(help="A discipline raised a theme if it came up in at least this many of its groups...")]
MinShare = Annotated[float, typer.Option(help="...or was said by at least this share of its participants (0-1).")]
Combine = Annotated[str, typer.Option(help="'or': either condition is enough; 'and': both are needed.")]


@commands.command()
def themes(
    min_groups: MinGroups = 2, min_share: MinShare = 0.10, combine: Combine = "or",
    quotes: Annotated[int, typer.Option(help="Quotes to show per theme.")] = 1,
    out: OutOption = None,
) -> None:
    """Themes with the disciplines that raised them, and the evidence."""
    rule = analysis.Rule(min_groups, min_share, combine)
    with open_study() as study:
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


@commands.command("saturation")
def saturation_command(
    by: Annotated[Optional[str], typer.Option(help="One curve per discipline (or care_team).")] = None,
    base: Annotated[int, typer.Option(help="Guest et al.: groups in the base.")] = 4,
    run: Annotated[int, typer.Option(help="Guest et al.: groups in each run.")] = 2,
    threshold: Annotated[float, typer.Option(help="Guest et al.: new-information ratio that counts as saturated.")] = 0.05,
    out: OutOption = None,
) -> None:
    """Code saturation: new codes per group in the order held, and Guest, Namey & Chen's base/run/threshold."""
    with open_study() as study:
        curve = analysis.saturation(study, by)
        show(curve, "New codes per group, in the order held" + (f", by {by}" if by else ""), out)
        try:
            runs = analysis.guest_saturation(study, base, run, threshold, by)
        except ChorusError as exc:
            console.print(f"[dim]Guest, Namey & Chen: {exc.for_command_line()}[/dim]")
            return
    show(runs.round(3), f"Guest, Namey & Chen (base {base}, run {run}, threshold {threshold:.0%})")


