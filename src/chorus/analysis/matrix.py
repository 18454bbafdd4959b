"""Code x attribute matrices, talk share, code co-occurrence, and the study's sample tables.

>>> matrix(study, by="discipline", count="participants")      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select

from chorus.analysis import frames
from chorus.errors import ChorusError
from chorus.study.counting import Basis, counting
from chorus.study.kept import kept
from chorus.study.models import Group, Transcript, Turn
from chorus.study.store import Study

Count = Literal["segments", "participants", "groups", "share"]
COUNTS: tuple[str, ...] = ("segments", "participants", "groups", "share")


def count_table(
    counts: pd.DataFrame, people: pd.DataFrame, group_table: pd.DataFrame, by: str
) -> pd.DataFrame:
    """Segments, distinct participants and distinct groups per (code, attribute value)."""
    column, values = frames.attribute_of(people, group_table, by)
    key = "group_id" if column == "group" else "participant_id"
    joined = counts.merge(values, on=key, how="inner")
    joined[column] = joined[column].fillna("(none)").astype(str)
    return joined.groupby(["code_id", column], sort=False).agg(
        segments=("segments", "sum"),
        participants=("participant_id", "nunique"),
        groups=("group_id", "nunique"),
    ).reset_index().rename(columns={column: "value"})


def matrix(
    study: Study,
    by: str = "discipline",
    count: Count = "segments",
    subcodes: bool = False,
    facilitators: bool = False,
    basis: Basis | str | None = None,
) -> pd.DataFrame:
    """A code x attribute matrix: one row per code (index ``code``, its path), one column per value.

    ``count`` is ``segments`` (coded segments), ``participants`` (distinct people
    who said something coded so), ``groups`` (distinct groups) or ``share``
    (participants as a fraction of everyone with that value). ``by`` is any
    participant attribute (``discipline``, ``care_team``, a roster column) or
    ``group``. With ``subcodes`` a code's row includes its subcodes' codings.
    ``basis``: which coding counts (:mod:`chorus.study.counting`; by default the
    consensus where written, each passage once).
    """
    if count not in COUNTS:
        raise ChorusError(f"count {count!r} is not one of {', '.join(COUNTS)}")
    if count == "share" and by == "group":
        raise ChorusError("a share is of participants with an attribute value; split by a participant attribute")
    with study.reading() as session:
        code_table = frames.codes(session)
        people = frames.participants(session, facilitators)
        group_table = frames.groups(session)
        counts = frames.attribution_counts(session, counting(session, basis), facilitators)
    if subcodes:
        counts = frames.with_ancestors(counts, code_table)
    table = count_table(counts, people, group_table, by)
    measure = "participants" if count == "share" else count
    wide = table.pivot(index="code_id", columns="value", values=measure)
    if by == "group":
        order = list(group_table["group"])
    else:
        order = sorted(people[by].fillna("(none)").astype(str).unique()) if by in people else []
    order += sorted(set(wide.columns) - set(order))
    wide = wide.reindex(index=code_table["code_id"], columns=order).fillna(0).astype(int)
    if count == "share":
        sizes = people[by].fillna("(none)").astype(str).value_counts()
        wide = (wide / sizes.reindex(order).replace(0, pd.NA)).astype(float).fillna(0.0).round(4)
    wide.index = pd.Index(code_table["path"], name="code")
    wide.columns.name = by
    return wide


def turn_table(study: Study) -> pd.DataFrame:
    """Every turn of the study, facilitators' too: transcript, group, turn, speaker, discipline, role, text and words.

    Read once and handed to :func:`talk_shares`, :func:`chorus.analysis.dynamics` and
    the guide's tables where one page or report shows several; kept per version of the
    study (:func:`chorus.study.kept.kept`), so a page revisited does not read it again.
    """
    def read() -> pd.DataFrame:
        with study.reading() as session:
            return frames.turns(session, facilitators=True)

    return kept(study, ("turns",), read)


def talk_share(study: Study, by: str = "discipline") -> pd.DataFrame:
    """Words spoken, turns and speakers per attribute value, with each value's share of the words.

    >>> talk_share(study, "discipline")                        # doctest: +SKIP
    """
    return talk_shares(study, [by])[by]


def talk_shares(study: Study, by: Sequence[str], turns: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """:func:`talk_share` by each of several attributes, the turns read once (a page shows two).

    ``turns``: the study's turns (:func:`turn_table`) when the caller has read them already.
    """
    with study.reading() as session:
        turn_table = frames.turns(session, facilitators=False) if turns is None else turns[turns["role"] == "participant"]
        people = frames.participants(session)
        group_table = frames.groups(session)
    shares = {}
    for attribute in by:
        if turn_table.empty:
            shares[attribute] = pd.DataFrame(columns=[attribute, "speakers", "turns", "words", "share"])
            continue
        column, values = frames.attribute_of(people, group_table, attribute)
        spoken = turn_table
        if column != "group":
            spoken = turn_table.drop(columns=[c for c in ("discipline", "care_team", "role") if c == column]).merge(values, on="participant_id")
        table = spoken.groupby(column).agg(speakers=("participant_id", "nunique"), turns=("turn_id", "count"), words=("words", "sum"))
        table["share"] = (table["words"] / table["words"].sum()).round(4)
        shares[attribute] = table.reset_index()
    return shares


def cooccurrence(study: Study, facilitators: bool = False, basis: Basis | str | None = None) -> pd.DataFrame:
    """Code x code: the number of turns in which both codes were applied (the diagonal: each code's turns).

    ``basis``: which coding counts (:mod:`chorus.study.counting`).
    """
    with study.reading() as session:
        code_table = frames.codes(session)
        pairs = frames.coded_turns(session, counting(session, basis), facilitators)
    ids = code_table["code_id"].to_numpy()
    column = pd.Index(ids).get_indexer(pairs["code_id"].to_numpy())
    turn = pd.factorize(pairs["turn_id"].to_numpy())[0]
    coded = np.zeros((turn.max() + 1 if len(turn) else 0, len(ids)), dtype=np.int64)  # turn x code: 1 where the code was applied
    coded[turn[column >= 0], column[column >= 0]] = 1
    paths = code_table["path"].tolist()
    return pd.DataFrame(coded.T @ coded, index=pd.Index(paths, name="code"), columns=paths)


def sample(study: Study) -> dict[str, pd.DataFrame]:
    """The tables a methods section reports: participants by discipline and team, and the groups.

    ``participants``: discipline x care team counts with totals; ``groups``: one
    row per group with date, disciplines, care teams, participants, turns, words
    and, where the transcript has times, duration in minutes.
    """
    with study.reading() as session:
        people = frames.participants(session)
        group_table = frames.groups(session)
        membership = frames.members(session)
        # what the group table needs of each turn: its group, words and times (not its text or speaker)
        turn_table = frames.rows_frame(
            session,
            select(Turn.transcript_id, Group.name.label("group"), Turn.start, Turn.end, Turn.start_time, Turn.end_time)
            .join(Transcript, Transcript.id == Turn.transcript_id)
            .join(Group, Group.id == Transcript.group_id),
        )
        if not turn_table.empty:
            texts = frames.span_texts(session, turn_table["transcript_id"], turn_table["start"], turn_table["end"])
            turn_table["words"] = [len(t.split()) for t in texts]
    if people.empty:
        by_discipline = pd.DataFrame()
    else:
        by_discipline = pd.crosstab(
            people["discipline"].fillna("(none)"), people["care_team"].fillna("(none)"), margins=True, margins_name="total"
        )
        by_discipline.index.name, by_discipline.columns.name = "discipline", None
        by_discipline = by_discipline.reset_index()
    # per group in one pass over the turns (not one filter of the whole table per group)
    if turn_table.empty:
        spoken = pd.DataFrame(columns=["turns", "words", "first", "last"])
    else:
        timed = turn_table.assign(
            _first=turn_table[["start_time", "end_time"]].astype(float).min(axis=1),
            _last=turn_table[["start_time", "end_time"]].astype(float).max(axis=1),
        )
        spoken = timed.groupby("group").agg(turns=("start", "size"), words=("words", "sum"), first=("_first", "min"), last=("_last", "max"))
    placed = membership.merge(people, on="participant_id")
    rows = []
    for group in group_table.itertuples():
        present = placed[placed["group_id"] == group.group_id]
        said = spoken.loc[group.group] if group.group in spoken.index else None
        rows.append(
            {
                "group": group.group,
                "date": group.date,
                "disciplines": ", ".join(sorted(present["discipline"].dropna().unique())),
                "care_teams": ", ".join(sorted(present["care_team"].dropna().unique())),
                "participants": len(present),
                "turns": int(said["turns"]) if said is not None else 0,
                "words": int(said["words"]) if said is not None else 0,
                "minutes": round((said["last"] - said["first"]) / 60, 1) if said is not None and pd.notna(said["first"]) else None,
            }
        )
    return {"participants": by_discipline, "groups": pd.DataFrame(rows)}
