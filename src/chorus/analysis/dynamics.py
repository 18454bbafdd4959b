"""Group dynamics: how much each member of a focus group spoke, whether a few voices carried it, who followed whom.

A focus group is not interviews in a row: a theme can come from the whole group
or from one persistent speaker, and a member who never spoke is not a member
who agreed (Onwuegbuzie, Dickinson, Leech and Zoran 2009). These tables let the
researcher see that before reading a theme's counts.

Dominance is measured with the Gini coefficient of words per participant in a
group, silent members counted as zero words: 0 when everyone spoke as much, and
toward 1 as fewer voices spoke more of the words (its largest value with n
members is (n - 1) / n, one member speaking every word).

>>> found = dynamics(study)                          # doctest: +SKIP
>>> found.flags[0]                                   # doctest: +SKIP
'FG05: 2 of 6 participants spoke 71% of the words (Gini 0.46)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from chorus.analysis import frames
from chorus.study.store import Study

#: What the flags call a few voices: this share of a group's words said by at most :data:`FEW` of its participants.
DOMINANT_SHARE = 0.7
FEW = 0.4
#: Facilitators saying more than this share of a group's words are flagged: the answers may be led.
FACILITATOR_SHARE = 0.4


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of ``values`` (words per participant): 0 for equal shares, larger as fewer hold more.

    >>> gini([10, 10, 10]), round(gini([0, 0, 30]), 3)
    (0.0, 0.667)
    """
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(((2 * np.arange(1, n + 1) - n - 1) @ x) / (n * total))


@dataclass
class Dynamics:
    """Who spoke how much in each group, each group's balance, who followed whom, and the flags to act on.

    ``speakers``: one row per group and person on its roster or heard in it (group,
    speaker, discipline, role, turns, words, share of the group's participant
    words; silent members with 0). ``groups``: one row per group (participants on
    the roster, heard, silent, participant words, facilitator share, Gini, and the
    fewest participants who together said 70% of the words). ``follows``: who
    spoke right after whom (group, speaker, next, times), facilitators included.
    ``flags``: one sentence per thing a researcher should look at.
    """

    speakers: pd.DataFrame
    groups: pd.DataFrame
    follows: pd.DataFrame
    flags: list[str]


def _fewest_for(shares: np.ndarray, part: float) -> int:
    """The fewest speakers whose shares add up to ``part`` of the words."""
    ordered = np.sort(shares)[::-1]
    return int(np.searchsorted(np.cumsum(ordered), part - 1e-9) + 1) if ordered.sum() > 0 else 0


def dynamics(study: Study, turns: pd.DataFrame | None = None) -> Dynamics:
    """Each transcribed group's talk by person, its balance and turn-taking, with flags (see :class:`Dynamics`).

    A group with no transcript yet is left out: its members are not silent, only not heard yet.
    ``turns``: the study's turns (:func:`chorus.analysis.turn_table`) when the caller has
    read them already, so that a page showing talk shares beside the dynamics reads the
    transcripts once.
    """
    with study.reading() as session:
        if turns is None:
            turns = frames.turns(session, facilitators=True)
        roster = frames.roster(session)
        order = frames.groups(session)["group"].tolist()
    heard = (
        turns.groupby(["group", "speaker", "discipline", "role"], dropna=False).agg(turns=("turn_id", "count"), words=("words", "sum")).reset_index()
        if not turns.empty else pd.DataFrame(columns=["group", "speaker", "discipline", "role", "turns", "words"])
    )
    keys = {key: object for key in ("group", "speaker", "discipline", "role")}  # a column of nobody's discipline reads as floats
    speakers = roster[roster["group"].isin(set(heard["group"]))].astype(keys).merge(heard.astype(keys), on=list(keys), how="outer")
    speakers[["turns", "words"]] = speakers[["turns", "words"]].fillna(0).astype(int)
    speakers["group"] = pd.Categorical(speakers["group"], categories=order + sorted(set(speakers["group"]) - set(order)), ordered=True)
    speakers = speakers.sort_values(["group", "role", "words"], ascending=[True, False, False], ignore_index=True)
    speaking = speakers["role"] == "participant"
    totals = speakers[speaking].groupby("group", observed=True)["words"].transform("sum")
    speakers["share"] = 0.0
    speakers.loc[speaking, "share"] = (speakers.loc[speaking, "words"] / totals.where(totals > 0)).fillna(0).round(4)
    speakers["group"] = speakers["group"].astype(str)

    by_group: dict[str, list[dict]] = {}
    for member in speakers.to_dict("records"):  # a few hundred people: plain records, not a frame per group
        by_group.setdefault(member["group"], []).append(member)
    rows, flags = [], []
    for group, members in by_group.items():
        people = [m for m in members if m["role"] == "participant"]
        led = sum(m["words"] for m in members if m["role"] != "participant")
        words = sum(m["words"] for m in people)
        silent = [m for m in people if m["turns"] == 0]
        shares = np.array([m["share"] for m in people])
        fewest = _fewest_for(shares, DOMINANT_SHARE)
        rows.append({
            "group": group, "participants": len(people), "heard": len(people) - len(silent), "silent": len(silent),
            "participant_words": words, "facilitator_share": round(led / (led + words), 4) if led + words else 0.0,
            "gini": round(gini([m["words"] for m in people]), 4), "fewest_for_70": fewest,
        })
        if len(people) >= 3 and fewest and fewest <= FEW * len(people):
            said = np.sort(shares)[::-1][:fewest].sum()
            flags.append(f"{group}: {fewest} of {len(people)} participants spoke {said:.0%} of the words (Gini {rows[-1]['gini']:.2f})")
        for person in silent:
            flags.append(f"{group}: {person['speaker']} ({person['discipline']}) is on the roster and never spoke")
        if rows[-1]["facilitator_share"] > FACILITATOR_SHARE:
            flags.append(f"{group}: the facilitators spoke {rows[-1]['facilitator_share']:.0%} of the words; the answers may be led")
    groups = pd.DataFrame(rows, columns=["group", "participants", "heard", "silent", "participant_words", "facilitator_share", "gini", "fewest_for_70"])
    return Dynamics(speakers, groups, _follows(turns), flags)


def _follows(turns: pd.DataFrame) -> pd.DataFrame:
    """Who spoke right after whom in each transcript, counted per group (a speaker's own next turn left out)."""
    columns = ["group", "speaker", "next", "times"]
    if turns.empty:
        return pd.DataFrame(columns=columns)
    ordered = turns.sort_values(["transcript", "turn"])
    transcript, speaker, group = (ordered[c].to_numpy() for c in ("transcript", "speaker", "group"))
    after = (transcript[1:] == transcript[:-1]) & (speaker[1:] != speaker[:-1])
    pairs = pd.DataFrame({"group": group[:-1][after], "speaker": speaker[:-1][after], "next": speaker[1:][after]})
    return pairs.groupby(["group", "speaker", "next"]).size().rename("times").reset_index().sort_values(
        ["group", "times", "speaker"], ascending=[True, False, True], ignore_index=True
    )[columns]


def mostly_silent(members: int, silent: int) -> bool:
    """Whether a group's silence under a question is worth a flag: half its members or more said nothing (of two or more)."""
    return members >= 2 and silent * 2 >= members


def question_dynamics(study: Study, turns: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Each group's talk under each question of the discussion guide, and the silences a researcher should look at.

    One row per group and question its members answered (guide order): members
    on the roster, ``heard`` (members who spoke to it), ``silent`` (who did not,
    ``name (discipline)``), participant words, the Gini coefficient of words over
    the members, and the largest one member's share. Flags name the questions
    where at least half of a group's members said nothing ("FG05, Q3: Ann (nurse)
    and Ben (nurse), 2 of 4 members, said nothing"). Empty without an aligned guide.
    ``turns``: the study's turns (:func:`chorus.analysis.turn_table`) when the caller has read them already.

    >>> table, flags = question_dynamics(study)                  # doctest: +SKIP
    """
    from chorus.study.models import GuideQuestion, TurnQuestion

    with study.reading() as session:
        turns = frames.turns(session, facilitators=False) if turns is None else turns[turns["role"] == "participant"]
        placed = frames.rows_frame(session, select(TurnQuestion.turn_id, GuideQuestion.key.label("question"), GuideQuestion.ordinal)
                                   .join(GuideQuestion, GuideQuestion.id == TurnQuestion.question_id))
        roster = frames.roster(session, facilitators=False)
        order = frames.groups(session)["group"].tolist()
    columns = ["group", "question", "members", "heard", "silent", "words", "gini", "top_share"]
    if turns.empty or placed.empty:
        return pd.DataFrame(columns=columns), []
    said = turns.merge(placed, on="turn_id")
    spoken: dict[tuple, dict[str, int]] = {}  # (group, ordinal, question) -> words by speaker, in the order answered
    for (group, ordinal, question, speaker), words in said.groupby(["group", "ordinal", "question", "speaker"], sort=False)["words"].sum().items():
        spoken.setdefault((group, ordinal, question), {})[speaker] = int(words)
    on_roster: dict[str, list[tuple[str, str]]] = {}
    for group, speaker, discipline in zip(roster["group"], roster["speaker"], roster["discipline"]):
        on_roster.setdefault(group, []).append((speaker, discipline))
    rows, flags = [], []
    for (group, ordinal, question), by_speaker in spoken.items():
        members = on_roster.get(group, [])
        words = np.array([by_speaker.get(speaker, 0) for speaker, _ in members], dtype=float)
        quiet = [f"{speaker} ({discipline})" for (speaker, discipline), n in zip(members, words) if n == 0]
        total = int(words.sum())
        rows.append({
            "group": group, "question": question, "ordinal": ordinal, "members": len(members), "heard": int((words > 0).sum()),
            "silent": ", ".join(quiet), "words": total,
            "gini": round(gini(words), 4), "top_share": round(float(words.max()) / total, 4) if total else 0.0,
        })
        if mostly_silent(len(members), len(quiet)):
            names = quiet[0] if len(quiet) == 1 else ", ".join(quiet[:-1]) + " and " + quiet[-1]
            flags.append(f"{group}, {question}: {names}, {len(quiet)} of {len(members)} members, said nothing")
    table = pd.DataFrame(rows)
    table["rank"] = table["group"].map({g: i for i, g in enumerate(order)})
    table = table.sort_values(["rank", "ordinal"], ignore_index=True)
    return table[columns], flags
