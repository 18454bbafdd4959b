"""The study's tables as pandas DataFrames, the shared ground of every analysis.

Counting unit: a coding is attributed to each turn it overlaps, so a coded
*segment* is the part of a coding one speaker said. A coding inside one turn (the
usual case) is one segment; a coding across two speakers' turns is one segment for
each. Facilitators' words are left out of analysis unless asked for.

Which codings count is the study's coding of record (:mod:`chorus.study.counting`):
analyses read codings only through :func:`coded` and :func:`attribution_counts`,
which apply it, so each passage is counted once and a consensus is followed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study.counting import Counting
from chorus.study.lookup import all_codes, code_path
from chorus.study.models import Coding, CodingTurn, Group, Membership, Participant, Transcript, Turn
from chorus.study.seeing import narrowed

PARTICIPANT_COLUMNS = ("discipline", "care_team", "role")


def participants(session: Session, facilitators: bool = False) -> pd.DataFrame:
    """One row per person: id, key, pseudonym, discipline, care team, role, attributes, groups."""
    query = select(
        Participant.id, Participant.key, Participant.pseudonym, Participant.discipline,
        Participant.care_team, Participant.role, Participant.attributes,
    ).order_by(Participant.key)
    if not facilitators:
        query = query.where(Participant.role == "participant")
    in_groups: dict[int, list[str]] = {}
    for person, group in session.execute(
        select(Membership.participant_id, Group.name).join(Group, Group.id == Membership.group_id).order_by(Group.name)
    ):
        in_groups.setdefault(person, []).append(group)
    rows = [
        {
            **(attributes or {}),
            "participant_id": id_,
            "key": key,
            "pseudonym": pseudonym,
            "discipline": discipline,
            "care_team": care_team,
            "role": role,
            "groups": ", ".join(in_groups.get(id_, [])),
        }
        for id_, key, pseudonym, discipline, care_team, role, attributes in session.execute(query)
    ]
    columns = ["participant_id", "key", "pseudonym", "discipline", "care_team", "role", "groups"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)  # its columns in the order the rows first name them: the first person's attributes first
    attributes = [c for c in frame.columns if c not in columns]
    return frame[[*columns[:-1], *attributes, "groups"]]


def groups(session: Session) -> pd.DataFrame:
    """One row per group (session): id, name, date, attributes, in the order they were held."""
    rows = [
        {**(g.attributes or {}), "group_id": g.id, "group": g.name, "date": g.date, "recording": g.recording_path}
        for g in session.scalars(select(Group))
    ]
    frame = pd.DataFrame(rows, columns=None if rows else ["group_id", "group", "date", "recording"])
    return order_groups(frame)


def order_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Groups in the order they were held: by date, then by name."""
    if frame.empty:
        return frame
    key = frame["date"].map(lambda d: (d is None or pd.isna(d), str(d) if d is not None else ""))
    return frame.assign(_key=key).sort_values(["_key", "group"]).drop(columns="_key").reset_index(drop=True)


def codes(session: Session) -> pd.DataFrame:
    """The codebook in tree order: code id, path, name, parent id, colour, depth, ancestors."""
    rows = []
    by_id = {}
    for code in all_codes(session):
        by_id[code.id] = code
        path = code_path(code)
        ancestors = []
        node = code.parent
        while node is not None:
            ancestors.append(node.id)
            node = node.parent
        rows.append(
            {
                "code_id": code.id,
                "path": path,
                "code": code.name,
                "parent_id": code.parent_id,
                "colour": code.colour,
                "depth": path.count("/"),
                "ancestors": ancestors,
            }
        )
    return pd.DataFrame(rows, columns=["code_id", "path", "code", "parent_id", "colour", "depth", "ancestors"])


def _numbers(session: Session, query: Select, columns: list[str]) -> pd.DataFrame:
    """A query of whole numbers as a DataFrame, read from the driver's cursor straight into NumPy.

    A Row object per row, or pandas reading the driver's tuples, costs more than the
    query itself at a million codings. ``query`` is run as it is: narrow it first.
    """
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        cursor.execute(str(compiled), [compiled.params[k] for k in compiled.positiontup] if compiled.positional else compiled.params)
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, len(columns))
    finally:
        cursor.close()
    return pd.DataFrame(rows, columns=columns)


def _counted(counting: Counting, *columns: Any) -> Select:
    """``columns`` of the coded segments ``counting`` counts (a join of coding_turn and coding), narrowed to what the reader sees."""
    query = select(*columns).select_from(CodingTurn).join(Coding, Coding.id == CodingTurn.coding_id)
    clause = counting.clause()
    return narrowed(query if clause is None else query.where(clause))


def coded(session: Session, counting: Counting, facilitators: bool = True) -> pd.DataFrame:
    """The coded segments the findings count: one row per coding and turn it overlaps.

    Columns ``coding_id, turn_id, code_id, participant_id, transcript_id, coder_id``.
    ``counting`` (:func:`chorus.study.counting.counting`) says whose codings count;
    where several coders count, a passage several of them gave the same code is
    kept once (:func:`once_per_passage`). This is the door every analysis reads
    codings through (:func:`attribution_counts` is its aggregate).
    """
    columns = ["coding_id", "turn_id", "code_id", "participant_id", "transcript_id", "coder_id"]
    query = _counted(counting, CodingTurn.coding_id, CodingTurn.turn_id, CodingTurn.code_id, CodingTurn.participant_id,
                     CodingTurn.transcript_id, Coding.coder_id)
    if not facilitators:
        query = query.join(Participant, Participant.id == CodingTurn.participant_id).where(Participant.role == "participant")
    frame = _numbers(session, query, columns)
    return frame if counting.single else frame[once_per_passage(frame)].reset_index(drop=True)


def coded_turns(session: Session, counting: Counting, facilitators: bool = True) -> pd.DataFrame:
    """Each (turn, code) pair the findings count, once: which codes were applied in which turns (``turn_id, code_id``).

    What co-occurrence, boolean queries, codes by question and stances ask of :func:`coded`.
    """
    return coded(session, counting, facilitators)[["turn_id", "code_id"]].drop_duplicates().reset_index(drop=True)


def once_per_passage(links: pd.DataFrame) -> np.ndarray:
    """Which of ``links`` (rows with ``code_id, turn_id, coder_id``) count when several coders coded the same passage.

    Per code and turn, one coder's segments stand for everyone's: the coder with
    the most segments there (so nothing one coder split is lost), then the first
    coder. Two coders who coded alike count as one.
    """
    if links.empty:
        return np.zeros(0, dtype=bool)
    keys = links[["code_id", "turn_id", "coder_id"]]
    sizes = keys.groupby(["code_id", "turn_id", "coder_id"], sort=False).size().rename("n").reset_index()
    sizes = sizes.sort_values(["code_id", "turn_id", "n", "coder_id"], ascending=[True, True, False, True])
    chosen = pd.MultiIndex.from_frame(sizes.drop_duplicates(["code_id", "turn_id"])[["code_id", "turn_id", "coder_id"]])
    return pd.MultiIndex.from_frame(keys).isin(chosen)


def attribution_counts(session: Session, counting: Counting, facilitators: bool = False) -> pd.DataFrame:
    """Segments the findings count per (code, participant, group), aggregated in the database.

    The one scan over the codings that matrices and themes need: at most codes x
    participants rows come back however many codings the study holds. Where one
    coder counts, the attribution index on ``coding_turn`` is read in order; where
    several do, each passage is counted once as :func:`once_per_passage` counts it
    (per code and turn, the most segments any one coder gave it).
    """
    where = [CodingTurn.code_id, CodingTurn.participant_id, CodingTurn.transcript_id]
    if counting.single:
        query = _counted(counting, *where, func.count()).group_by(*where)
    else:
        per = _counted(counting, *where, CodingTurn.turn_id, func.count().label("n")).group_by(*where, CodingTurn.turn_id, Coding.coder_id).subquery()
        best = select(per.c.code_id, per.c.participant_id, per.c.transcript_id, func.max(per.c.n).label("n")).group_by(
            per.c.code_id, per.c.turn_id, per.c.participant_id, per.c.transcript_id).subquery()
        query = select(best.c.code_id, best.c.participant_id, best.c.transcript_id, func.sum(best.c.n)).group_by(
            best.c.code_id, best.c.participant_id, best.c.transcript_id)
    counts = _numbers(session, query, ["code_id", "participant_id", "transcript_id", "segments"])
    placement = pd.DataFrame(session.execute(select(Transcript.id, Transcript.group_id)).all(), columns=["transcript_id", "group_id"])
    counts = counts.merge(placement, on="transcript_id").drop(columns="transcript_id")
    if not facilitators:
        speakers = session.scalars(select(Participant.id).where(Participant.role == "participant")).all()
        counts = counts[counts["participant_id"].isin(speakers)]
    if not placement["group_id"].is_unique:  # a group with several transcripts
        counts = counts.groupby(["code_id", "participant_id", "group_id"], as_index=False, sort=False)["segments"].sum()
    return counts[["code_id", "participant_id", "group_id", "segments"]].reset_index(drop=True)


def with_ancestors(counts: pd.DataFrame, code_table: pd.DataFrame) -> pd.DataFrame:
    """The counts repeated for every ancestor code, so a code's row includes its subcodes."""
    ancestors = code_table.set_index("code_id")["ancestors"]
    expanded = counts.assign(rollup=counts["code_id"].map(lambda c: [c, *ancestors.get(c, [])]))
    expanded = expanded.explode("rollup")
    return expanded.assign(code_id=expanded["rollup"].astype(int)).drop(columns="rollup")


def attribute_of(people: pd.DataFrame, group_table: pd.DataFrame, by: str) -> tuple[str, pd.DataFrame]:
    """The column to split by (a participant attribute or ``group``) and the table that holds it."""
    if by == "group":
        return "group", group_table[["group_id", "group"]]
    if by not in people.columns or by in ("participant_id", "groups"):
        known = sorted(set(people.columns) - {"participant_id", "groups", "key", "pseudonym"} | {"group"})
        raise ChorusError(f"cannot split by {by!r}; choose one of {', '.join(known)}")
    return by, people[["participant_id", by]]


def rows_frame(session: Session, query: Select) -> pd.DataFrame:
    """A query's rows as a DataFrame, read from the driver's cursor.

    A Row object per row costs more than the query at 20,000 rows, so the driver's
    tuples go to pandas as they are: for columns of numbers and text (the driver's
    own types are what the store holds), not for columns SQLAlchemy converts, such
    as date-times on SQLite.
    """
    result = session.connection().execute(narrowed(query))
    try:
        return pd.DataFrame(result.cursor.fetchall(), columns=list(result.keys()))
    finally:
        result.close()


def span_texts(session: Session, transcript_ids: pd.Series, starts: pd.Series, ends: pd.Series) -> list[str]:
    """The text of each span ``[start, end)`` of its transcript.

    Each transcript's text is read once and sliced here: asking the database for
    each span's substring reads the whole text again per row (a 90-minute group is
    ~100 KB), which made a study-wide table take seconds.
    """
    used = [int(t) for t in pd.unique(transcript_ids)]
    texts = dict(session.execute(select(Transcript.id, Transcript.text).where(Transcript.id.in_(used))).all()) if used else {}
    return [texts[t][a:b] for t, a, b in zip(transcript_ids.tolist(), starts.tolist(), ends.tolist())]


def turns(session: Session, facilitators: bool = True) -> pd.DataFrame:
    """Every turn with its transcript, group, speaker and the speaker's discipline and words.

    The turn table is read alone and its few transcripts and people joined here:
    the database's five-table join cost three times the read at a real study's size.
    """
    people = rows_frame(session, select(
        Participant.id.label("participant_id"), Participant.pseudonym.label("speaker"), Participant.discipline,
        Participant.care_team, Participant.role,
    ))
    if not facilitators:
        people = people[people["role"] == "participant"]
    frame = rows_frame(session, select(Turn.id.label("turn_id"), Turn.transcript_id, Turn.ordinal.label("turn"), Turn.participant_id,
                                       Turn.start, Turn.end, Turn.start_time, Turn.end_time))
    columns = ["turn_id", "transcript", "group", "turn", "speaker", "participant_id", "discipline", "care_team", "role",
               "start", "end", "start_time", "end_time"]
    if frame.empty:  # every column a reader picks, so that a study without turns gives empty tables, not a KeyError
        return pd.DataFrame(columns=[*columns, "text", "words"])
    transcripts = rows_frame(session, select(Transcript.id.label("transcript_id"), Transcript.name.label("transcript"),
                                             Group.name.label("group")).join(Group, Group.id == Transcript.group_id))
    frame = frame.merge(transcripts, on="transcript_id").merge(people, on="participant_id")
    frame = frame.sort_values(["transcript", "turn"], ignore_index=True)
    text = span_texts(session, frame["transcript_id"], frame["start"], frame["end"])
    return frame[columns].assign(text=text, words=[len(t.split()) for t in text])


def roster(session: Session, facilitators: bool = True) -> pd.DataFrame:
    """Who is on each group's roster: group, speaker (pseudonym), discipline, role."""
    query = (select(Group.name.label("group"), Participant.pseudonym.label("speaker"), Participant.discipline, Participant.role)
             .join(Membership, Membership.group_id == Group.id).join(Participant, Participant.id == Membership.participant_id))
    if not facilitators:
        query = query.where(Participant.role == "participant")
    return rows_frame(session, query)


def members(session: Session) -> pd.DataFrame:
    """Which participant was in which group."""
    return pd.DataFrame(
        session.execute(select(Membership.participant_id, Membership.group_id)).all(),
        columns=["participant_id", "group_id"],
    )
