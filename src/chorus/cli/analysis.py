"""Analysis: segments, queries, matrices, talk share, group dynamics, co-occurrence, themes and saturation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from chorus import analysis, report
from chorus.cli.common import BasisOption, OutOption, console, open_study, say_basis, show
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
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Retrieve coded segments with speaker, discipline, group and text."""
    with open_study() as study:
        frame = analysis.segments(study, code=code, discipline=discipline, group=group, coder=coder, transcript=transcript, basis=basis)
        show(frame[["coding_id", "code", "group", "turn", "speaker", "discipline", "coder", "text"]], f"{len(frame)} segments", out, saved=frame)
        say_basis(study, basis)


@commands.command()
def query(
    expression: Annotated[str, typer.Argument(help="Codes with AND, OR, NOT and brackets, e.g. 'Funding AND NOT Collaboration'.")],
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Turns where a boolean combination of codes holds (codes co-occurring in a turn)."""
    with open_study() as study:
        show(analysis.query(study, expression, basis=basis), f"Turns matching {expression}", out)
        say_basis(study, basis)


@commands.command()
def matrix(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    count: Annotated[str, typer.Option(help="Count segments, participants, groups, or share (of the value's participants).")] = "segments",
    subcodes: Annotated[bool, typer.Option(help="Include subcodes' codings in each code's row.")] = False,
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """A code x attribute matrix (one row per code, one column per value)."""
    with open_study() as study:
        frame = analysis.matrix(study, by=by, count=count, subcodes=subcodes, basis=basis)  # type: ignore[arg-type]
        show(frame, f"Codes by {by}: {count}", out, index=True)
        say_basis(study, basis)


@commands.command()
def talk(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    out: OutOption = None,
) -> None:
    """Talk share: words, turns and speakers per discipline (or another attribute)."""
    with open_study() as study:
        show(analysis.talk_share(study, by), f"Talk share by {by}", out)


@commands.command()
def dynamics(
    group: Annotated[Optional[str], typer.Option(help="One group's speakers and who followed whom, not the study's groups.")] = None,
    network: Annotated[Optional[Path], typer.Option(help="With --group: draw who followed whom as a picture (SVG).")] = None,
    by_question: Annotated[bool, typer.Option(help="Per group and question of the discussion guide: who spoke, who was silent, Gini.")] = False,
    out: OutOption = None,
) -> None:
    """Group dynamics: who spoke how much in each group, dominance (Gini), silent members, and flags to act on.

    Gini 0: every participant spoke as much; toward 1: fewer voices said more of the words.
    """
    from chorus.analysis.dynamics import question_dynamics
    from chorus.report.charts import turn_taking

    if by_question:
        with open_study() as study:
            table, silences = question_dynamics(study)
        if table.empty:
            raise ChorusError("dynamics by question need the discussion guide aligned: chorus guide import, then chorus guide align")
        if group is not None:
            table, silences = table[table["group"] == group], [f for f in silences if f.startswith(f"{group},")]
        show(table.drop(columns="silent").assign(gini=table["gini"].map("{:.2f}".format), top_share=table["top_share"].map("{:.0%}".format)),
             "Talk under each question: members heard, words, Gini, the largest share", out, saved=table)
        console.print("\n".join(f"- {flag}" for flag in silences) if silences else "no question left half a group silent")
        return
    with open_study() as study:
        found = analysis.dynamics(study)
    if group is None:
        if network is not None:
            raise ChorusError("--network draws one group: give --group too")
        shown = found.groups.assign(facilitator_share=found.groups["facilitator_share"].map("{:.0%}".format),
                                    gini=found.groups["gini"].map("{:.2f}".format))
        shown.columns = ["group", "members", "heard", "silent", "words", "facilitators", "Gini", "70% by"]
        show(shown, "Group dynamics: members' words, facilitators' share, Gini, fewest saying 70%", out, saved=found.groups)
    else:
        if group not in set(found.groups["group"]):
            raise ChorusError(f"no transcribed group called {group!r}; groups heard: {', '.join(found.groups['group'])}")
        show(found.speakers[found.speakers["group"] == group].drop(columns="group"), f"Who spoke in {group}", out)
        show(found.follows[found.follows["group"] == group].drop(columns="group").head(15), f"Who spoke right after whom in {group}", None)
        if network is not None:
            network.write_text(turn_taking(found.speakers, found.follows, group), encoding="utf-8")
            console.print(f"wrote {network}")
    flags = [flag for flag in found.flags if group is None or flag.startswith(f"{group}:")]
    console.print("\n".join(f"- {flag}" for flag in flags) if flags else "no flags: no group was carried by a few voices, silent members or led talk")


@commands.command()
def cooccurrence(basis: BasisOption = "auto", out: OutOption = None) -> None:
    """Code co-occurrence: turns in which both codes were applied."""
    with open_study() as study:
        show(analysis.cooccurrence(study, basis=basis), "Code co-occurrence (turns)", out, index=True)
        say_basis(study, basis)


MinGroups = Annotated[int, typer.Option(help="A discipline raised a theme if it came up in at least this many of its groups...")]
MinShare = Annotated[float, typer.Option(help="...or was said by at least this share of its participants (0-1).")]
Combine = Annotated[str, typer.Option(help="'or': either condition is enough; 'and': both are needed.")]


@commands.command()
def themes(
    min_groups: MinGroups = 2, min_share: MinShare = 0.10, combine: Combine = "or",
    quotes: Annotated[int, typer.Option(help="Quotes to show per theme.")] = 1,
    units: Annotated[bool, typer.Option(help="Which disciplines raised each theme counting participants, groups or segments alone.")] = False,
    min_segments: Annotated[int, typer.Option(help="With --units: coded segments that count as raising a theme.")] = 3,
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Themes with the disciplines that raised them, and the evidence."""
    rule = analysis.Rule(min_groups, min_share, combine)
    with open_study() as study:
        found = analysis.themes(study, rule, quotes=max(quotes, 1), basis=basis)
        say_basis(study, basis)
    if units:
        compared = analysis.by_unit(found, rule, min_segments)
        changed = compared[compared["differs"]]
        if not changed.empty:
            show(changed.drop(columns=["rule", "differs"]), f"Themes whose disciplines change with the unit: {rule.min_share:.0%} of "
                 f"participants, {rule.min_groups} groups, {min_segments} segments", out, saved=compared)
        elif out is not None:
            report.save_table(compared, out)
        console.print(f"the unit of analysis changes which disciplines raised {len(changed)} of {len(compared)} themes"
                      + ("" if changed.empty else "; the others name the same disciplines by every unit"))
        return
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
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Code saturation: new codes per group in the order held, and Guest, Namey & Chen's base/run/threshold."""
    with open_study() as study:
        curve = analysis.saturation(study, by, basis)
        show(curve, "New codes per group, in the order held" + (f", by {by}" if by else ""), out)
        say_basis(study, basis)
        try:
            runs = analysis.guest_saturation(study, base, run, threshold, by, basis)
        except ChorusError as exc:
            console.print(f"[dim]Guest, Namey & Chen: {exc.for_command_line()}[/dim]")
            return
    show(runs.round(3), f"Guest, Namey & Chen (base {base}, run {run}, threshold {threshold:.0%})")




stances_app = typer.Typer(help="Micro-interlocutor analysis: stances (agrees, dissents, adds) by member and question, and themes held or contested.", no_args_is_help=True)


@stances_app.command("propose")
def stances_propose(
    transcript: Annotated[Optional[list[str]], typer.Option(help="Only this transcript; repeat for several (default: all).")] = None,
    out: OutOption = None,
) -> None:
    """Propose a stance for turns whose opening signals one ("I agree", "I'm not sure"); accept or reject them like suggestions."""
    from chorus.assist.stances import propose_stances

    with open_study() as study:
        found = propose_stances(study, transcript)
    show(found[["suggestion", "transcript", "turn", "speaker", "stance", "based_on"]],
         "Stance proposals (chorus accept N / chorus reject N)", out, saved=found)


@stances_app.command("matrix")
def stances_matrix(
    group: Annotated[str, typer.Option(help="The group (session), e.g. FG03.")],
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Members x guide questions: A agrees, D dissents, + adds, ? unclear, • spoke (no stance coded), – silent, blank: not asked."""
    from chorus.analysis.stances import LEGEND, interlocutor_matrix

    with open_study() as study:
        table = interlocutor_matrix(study, group, basis)
        show(table, f"Who spoke to each question in {group}, with what stance", out, index=True)
        console.print(LEGEND)
        say_basis(study, basis)


@stances_app.command("summary")
def stances_summary(
    by_group: Annotated[bool, typer.Option(help="One row per theme and group, with voices, agreeing and dissenting members.")] = False,
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """For each theme, in how many groups it was consensual, contested or carried by one voice."""
    from chorus.analysis.stances import theme_stances

    with open_study() as study:
        found = theme_stances(study, basis)
        say_basis(study, basis)
    if by_group:
        show(found.by_group, "Themes in each group: voices, stances, verdict", out)
        return
    show(found.summary, "Groups where each theme was consensual, contested or one voice", out, saved=found.by_group)
