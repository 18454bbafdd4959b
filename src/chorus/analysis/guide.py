"""What was said to each question of the discussion guide: responses by question and discipline, codes by question.

Turns are under questions once :func:`chorus.assist.guide.align_guide` has put
them there (and the researcher has checked the uncertain ones).

>>> responses(study).head(2)                                  # doctest: +SKIP
  question                                wording  discipline  participants  turns  words
0       Q1  What does palliative care mean to ...         APP             8     13    512
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from chorus.analysis import frames
from chorus.analysis.dynamics import mostly_silent, question_dynamics
from chorus.analysis.matrix import turn_table
from chorus.errors import NotFound
from chorus.study.counting import Basis, counting
from chorus.study.models import GuideQuestion, TurnQuestion
from chorus.study.store import Study


def _questions(session: object) -> pd.DataFrame:
    return frames.rows_frame(session, select(  # type: ignore[arg-type]
        GuideQuestion.id.label("question_id"), GuideQuestion.key.label("question"), GuideQuestion.text.label("wording"), GuideQuestion.ordinal
    ).order_by(GuideQuestion.ordinal))


def responses(study: Study, by: str = "discipline", turns: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per question and value of ``by`` (discipline, care_team, group or a roster column): participants who answered, turns, words.

    Questions in the guide's order; a question no one answered has no rows.
    ``turns``: the study's turns (:func:`chorus.analysis.turn_table`) when the caller has read them already.
    """
    with study.reading() as session:
        turns = frames.turns(session, facilitators=False) if turns is None else turns[turns["role"] == "participant"]
        placed = frames.rows_frame(session, select(TurnQuestion.turn_id, TurnQuestion.question_id))
        questions = _questions(session)
        people, group_table = frames.participants(session), frames.groups(session)
    columns = ["question", "wording", by, "participants", "turns", "words"]
    if turns.empty or placed.empty:
        return pd.DataFrame(columns=columns)
    column, values = frames.attribute_of(people, group_table, by)
    answered = turns.merge(placed, on="turn_id").merge(questions, on="question_id")
    if column != "group":
        answered = answered.drop(columns=[c for c in frames.PARTICIPANT_COLUMNS if c == column]).merge(values, on="participant_id")
    table = answered.groupby(["ordinal", "question", "wording", column], dropna=False).agg(
        participants=("participant_id", "nunique"), turns=("turn_id", "count"), words=("words", "sum")
    ).reset_index().sort_values(["ordinal", column], ignore_index=True)
    return table.rename(columns={column: by})[columns]


def answered(found: pd.DataFrame, by: str = "discipline") -> pd.DataFrame:
    """:func:`responses` as a question x value grid of "participants (turns)", "-" where no one answered."""
    said = found.assign(said=found["participants"].astype(str) + " (" + found["turns"].astype(str) + ")")
    return said.pivot_table(index="question", columns=by, values="said", aggfunc="first", fill_value="-", sort=False)


def codes_by_question(study: Study, basis: Basis | str | None = None) -> pd.DataFrame:
    """Code x question: the participant turns coded with each code under each question (codes as rows, questions in guide order).

    ``basis``: which coding counts (:mod:`chorus.study.counting`).
    """
    with study.reading() as session:
        coded = frames.coded_turns(session, counting(session, basis), facilitators=False)
        placed = frames.rows_frame(session, select(TurnQuestion.turn_id, TurnQuestion.question_id))
        questions = _questions(session)
        code_table = frames.codes(session)
    if coded.empty or placed.empty:
        return pd.DataFrame(index=pd.Index([], name="code"))
    merged = coded.merge(placed, on="turn_id").merge(questions, on="question_id").merge(
        code_table[["code_id", "path"]].rename(columns={"path": "code"}), on="code_id")
    table = merged.pivot_table(index="code", columns="question", values="turn_id", aggfunc="count", fill_value=0)
    return table[[q for q in questions["question"] if q in table.columns]]


#: How many of a question's codes :func:`by_question` names, most coded first.
TOP_CODES = 3


def by_question(study: Study, basis: Basis | str | None = None) -> pd.DataFrame:
    """The discussion guide question by question: who answered, what was coded, and who stayed silent.

    One row per question of the guide, in its order: ``question``, ``wording``,
    ``groups`` (the groups whose members answered it), ``answered_by`` ("physician
    9 (15 turns); nurse 5 (6 turns)"; participants, then turns), ``codes`` (the
    :data:`TOP_CODES` codes on most of its participant turns, with those turns), and
    ``silences`` (the groups where half the members or more said nothing to it:
    :func:`chorus.analysis.dynamics.mostly_silent`). A question
    no one answered says so; the report and the manuscript print a section per
    question from this. Empty without a guide. ``basis``: which coding counts
    (:mod:`chorus.study.counting`).

    >>> by_question(study).loc[0, "answered_by"]                   # doctest: +SKIP
    'APP 8 (8 turns); nurse 10 (16 turns); physician 7 (7 turns); psychosocial clinician 10 (10 turns)'
    """
    with study.reading() as session:
        questions = _questions(session)
    columns = ["question", "wording", "groups", "answered_by", "codes", "silences"]
    if questions.empty:
        return pd.DataFrame(columns=columns)
    every = turn_table(study)
    said, codes, (talk, _) = responses(study, turns=every), codes_by_question(study, basis), question_dynamics(study, every)
    rows = []
    for question, wording in zip(questions["question"], questions["wording"]):
        mine = said[said["question"] == question]
        asked = talk[talk["question"] == question] if not talk.empty else talk
        top = codes[question].sort_values(ascending=False, kind="stable").head(TOP_CODES) if question in codes.columns else pd.Series(dtype=int)
        rows.append({
            "question": question, "wording": wording,
            "groups": len(asked),
            "answered_by": "; ".join(f"{r.discipline} {r.participants} ({r.turns} turn{'s' if r.turns != 1 else ''})"
                                     for r in mine.itertuples()) or "no one answered",
            "codes": "; ".join(f"{code} ({n})" for code, n in top.items() if n > 0),
            "silences": "; ".join(f"{r.group}: {r.silent} ({r.members - r.heard} of {r.members} members)" for r in asked.itertuples()
                                  if mostly_silent(r.members, r.members - r.heard)),
        })
    return pd.DataFrame(rows, columns=columns)


def answers(study: Study, question: str) -> pd.DataFrame:
    """A question's answers side by side across groups: every participant turn under it, group by group in the order held.

    Columns: ``group``, ``transcript``, ``turn``, ``speaker``, ``discipline``, ``text``.
    An unknown question is refused, naming the guide's; a question a group was not
    asked has no rows from it.

    >>> answers(study, "Q3").groupby("group").size()              # doctest: +SKIP
    """
    with study.reading() as session:
        questions = _questions(session)
        placed = frames.rows_frame(session, select(TurnQuestion.turn_id, TurnQuestion.question_id))
        order = frames.groups(session)["group"].tolist()
    if questions.empty:
        raise NotFound("there is no discussion guide yet: chorus guide import, then chorus guide align")
    if question not in set(questions["question"]):
        raise NotFound(f"the guide has no question {question!r}; it has {', '.join(questions['question'])}")
    wanted = questions.loc[questions["question"] == question, "question_id"].iloc[0]
    turns = turn_table(study)
    said = turns[turns["role"] == "participant"].merge(placed[placed["question_id"] == wanted], on="turn_id")
    rank = {group: i for i, group in enumerate(order)}
    said = said.assign(rank=said["group"].map(rank)).sort_values(["rank", "transcript", "turn"], ignore_index=True)
    return said[["group", "transcript", "turn", "speaker", "discipline", "text"]]
