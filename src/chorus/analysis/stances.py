"""Micro-interlocutor analysis: who spoke to each question, with what stance, and whether a theme was shared or contested.

Onwuegbuzie, Dickinson, Leech and Zoran (2009) ask of every focus group not
only *what* was said but *by how many, and against whom*: did the group agree,
or did one member carry a view the others contested? Coders record a turn's
stance toward the view under discussion with the built-in code family
``Stance`` (:data:`STANCES`: agrees, dissents, adds, unclear), on the same turn
as the theme it takes a stance on. With the discussion guide aligned, Chorus
prints the method's matrix (participants x questions, a mark per stance) and,
per theme and group, whether the theme was *consensual* (raised by two or more
members, no dissent), *contested* (a dissenting turn on it) or *carried by one
voice* (one member raised it).

>>> interlocutor_matrix(study, "FG03")                         # doctest: +SKIP
>>> theme_stances(study).summary                                   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from chorus.analysis import frames
from chorus.analysis.matrix import turn_table
from chorus.coding.stances import FAMILY, STANCES, is_stance
from chorus.errors import ChorusError
from chorus.study.counting import Basis, counting
from chorus.study.lookup import find_group
from chorus.study.models import Code, GuideQuestion, TurnQuestion
from chorus.study.store import Study

MARKS = {name: mark for name, (mark, _) in STANCES.items()}
SPOKE, SILENT, NOT_ASKED = "•", "–", ""
#: What the matrix's marks mean, printed under it.
LEGEND = (", ".join(f"{mark} {name.lower()}" for name, mark in MARKS.items())
          + f", {SPOKE} spoke (no stance coded), {SILENT} silent, blank: the group was not asked the question")
VERDICTS = ["consensual", "contested", "one voice"]


def _stance_turns(session, coded: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001 - a Session, as frames take
    """Turn x stance name for every turn of ``coded`` (:func:`chorus.analysis.frames.coded_turns`) coded with a stance code."""
    family = session.scalar(select(Code).where(Code.name == FAMILY, Code.parent_id.is_(None)))
    if family is None:
        return pd.DataFrame(columns=["turn_id", "stance"])
    children = {c.id: c.name for c in family.children if c.name in STANCES}
    mine = coded[coded["code_id"].isin(children)]
    return pd.DataFrame({"turn_id": mine["turn_id"], "stance": mine["code_id"].map(children)}).drop_duplicates().reset_index(drop=True)


def interlocutor_matrix(study: Study, group: str, basis: Basis | str | None = None) -> pd.DataFrame:
    """The group's members x the guide's questions: the stance marks of each member's turns there, ``•`` for turns
    with no stance recorded, ``–`` for silence, and blank under a question the group was never asked.

    Rows are the group's members (``speaker (discipline)``) in roster order; columns
    the guide's questions in order. Needs the guide aligned (``chorus guide align``).
    ``basis``: which coding counts (:mod:`chorus.study.counting`).
    """
    with study.reading() as session:
        found = find_group(session, group)
        group_id, group_name = found.id, found.name
        placed = frames.rows_frame(session, select(TurnQuestion.turn_id, TurnQuestion.question_id))
        questions = frames.rows_frame(session, select(GuideQuestion.id.label("question_id"), GuideQuestion.key.label("question"))
                                      .order_by(GuideQuestion.ordinal))
        stances = _stance_turns(session, frames.coded_turns(session, counting(session, basis)))
        people = frames.participants(session)
        members = frames.members(session)
    turns = turn_table(study)
    if questions.empty or placed.empty:
        raise ChorusError("the matrix is by question of the discussion guide: chorus guide import, then chorus guide align")
    mine = people[people["participant_id"].isin(members.loc[members["group_id"] == group_id, "participant_id"])]  # roster order
    label = dict(zip(mine["participant_id"], mine["pseudonym"] + " (" + mine["discipline"].fillna("no discipline") + ")"))
    heard = turns[turns["group"] == group_name].merge(placed, on="turn_id").merge(questions, on="question_id")
    said = heard[heard["role"] == "participant"]
    marks = said.merge(stances, on="turn_id", how="left")
    marks["mark"] = marks["stance"].map(MARKS).fillna(SPOKE)
    order = {mark: i for i, mark in enumerate([*MARKS.values(), SPOKE])}
    cells = marks.groupby(["participant_id", "question"])["mark"].agg(
        lambda found: "".join(sorted(set(found) - ({SPOKE} if set(found) - {SPOKE} else set()), key=order.get)))
    table = pd.DataFrame(SILENT, index=pd.Index([label[p] for p in mine["participant_id"]], name="member"), columns=list(questions["question"]))
    for (person, question), mark in cells.items():
        if person in label:
            table.at[label[person], question] = mark
    table.loc[:, [q for q in table.columns if q not in set(heard["question"])]] = NOT_ASKED
    return table


@dataclass
class ThemeStances:
    """Per theme and group, how the theme was held; and per theme, in how many groups each way."""

    by_group: pd.DataFrame  # theme, group, voices, agreeing, dissenting, verdict
    summary: pd.DataFrame  # theme, consensual, contested, one voice, groups (that raised it)


def theme_stances(study: Study, basis: Basis | str | None = None) -> ThemeStances:
    """For each theme (every code outside the stance family) in each group that raised it: consensual, contested or one voice.

    *Contested*: some participant turn coded with the theme is also coded
    ``Stance/Dissents``. Otherwise *one voice* when a single member's turns carry
    the theme, else *consensual*. ``agreeing`` counts members whose turns on the
    theme are coded ``Stance/Agrees``. ``basis``: which coding counts
    (:mod:`chorus.study.counting`).
    """
    with study.reading() as session:
        coded = frames.coded_turns(session, counting(session, basis))
        turns = frames.turns(session, facilitators=False)
        code_table = frames.codes(session)
        stances = _stance_turns(session, coded)
    columns = ["theme", "group", "voices", "agreeing", "dissenting", "verdict"]
    stance_family = code_table.loc[code_table["path"].map(is_stance), "code_id"]
    themes = code_table[~code_table["code_id"].isin(stance_family)][["code_id", "path"]].rename(columns={"path": "theme"})
    on_theme = coded.merge(themes, on="code_id").merge(turns[["turn_id", "group", "participant_id"]], on="turn_id")
    if on_theme.empty:
        empty = pd.DataFrame(columns=columns)
        return ThemeStances(empty, pd.DataFrame(columns=["theme", *VERDICTS, "groups"]))
    on_theme = on_theme.merge(stances, on="turn_id", how="left")
    held = on_theme.groupby(["theme", "group"]).apply(
        lambda rows: pd.Series({
            "voices": rows["participant_id"].nunique(),
            "agreeing": rows.loc[rows["stance"] == "Agrees", "participant_id"].nunique(),
            "dissenting": rows.loc[rows["stance"] == "Dissents", "participant_id"].nunique(),
        }), include_groups=False,
    ).reset_index()
    held["verdict"] = [
        "contested" if dissenting else "one voice" if voices == 1 else "consensual"
        for voices, dissenting in zip(held["voices"], held["dissenting"])
    ]
    summary = held.pivot_table(index="theme", columns="verdict", values="group", aggfunc="count", fill_value=0)
    summary = summary.reindex(columns=VERDICTS, fill_value=0)
    summary["groups"] = summary.sum(axis=1)
    return ThemeStances(held[columns], summary.reset_index().rename_axis(columns=None))
