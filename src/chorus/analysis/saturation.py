"""Code saturation across groups: did later groups still bring new codes?

Two views a methods section reports:

- :func:`saturation`: groups in the order they were held (by date, else by
  name), the codes each brought for the first time and the cumulative count,
  over all participants or per discipline (``by="discipline"``: each discipline's
  codes across the groups it spoke in).
- :func:`guest_saturation`: the base/run/threshold method of Guest, Namey &
  Chen (2020, PLoS ONE 15(5): e0232076). The *base* is the codes of the first
  ``base`` groups; a *run* is the next ``run`` groups; the new-information ratio
  is the codes first seen in the run divided by the codes in the base. Runs move
  forward one group at a time; saturation is reached at the first run whose
  ratio is at most ``threshold`` (5% in the paper), and the sample needed is the
  groups before that run.

Only groups with a transcript take part, and only participants' words count
(facilitators are left out, as everywhere).

>>> saturation(study)                                             # doctest: +SKIP
  group  new_codes  cumulative_codes        date  codes
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from chorus.analysis import frames
from chorus.analysis.segments import segments
from chorus.errors import ChorusError
from chorus.study.counting import Basis
from chorus.study.models import Transcript
from chorus.study.store import Study

COLUMNS = ["group", "new_codes", "cumulative_codes", "date", "codes"]


def _held(study: Study) -> pd.DataFrame:
    """The groups that have a transcript, in the order they were held."""
    with study.reading() as session:
        held = frames.groups(session)
        transcribed = set(session.scalars(select(Transcript.group_id)))
    return held[held["group_id"].isin(transcribed)][["group", "date"]]


def _curve(order: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    seen: set[str] = set()
    rows = []
    by_group = found.groupby("group")["code"].agg(set) if not found.empty else pd.Series(dtype=object)
    for group, when in order.itertuples(index=False):
        new = sorted(by_group.get(group, set()) - seen)
        seen |= set(new)
        rows.append({"group": group, "date": when, "new_codes": len(new), "cumulative_codes": len(seen), "codes": ", ".join(new)})
    return pd.DataFrame(rows, columns=COLUMNS)


def saturation(study: Study, by: str | None = None, basis: Basis | str | None = None) -> pd.DataFrame:
    """New and cumulative codes per group, in the order groups were held.

    Columns ``group, new_codes, cumulative_codes, date, codes`` (the new codes'
    names); with ``by`` (``"discipline"`` or another segment column such as
    ``care_team``) one curve per value, in a first column named after it, over
    the groups where that value's participants spoke. ``basis``: which coding
    counts (:mod:`chorus.study.counting`).
    """
    order = _held(study)
    found = segments(study, subcodes=False, basis=basis)
    if by is None:
        return _curve(order, found)
    if by not in found.columns:
        raise ChorusError(f"cannot split saturation {{by}} {by!r}; use discipline or care_team", arguments={"by": None})
    curves = []
    for value, mine in found.groupby(found[by].fillna("(none)")):
        spoken = order[order["group"].isin(set(mine["group"]))]
        curves.append(_curve(spoken, mine).assign(**{by: value}))
    if not curves:
        return pd.DataFrame(columns=[by, *COLUMNS])
    result = pd.concat(curves, ignore_index=True)
    return result[[by, *COLUMNS]]


def guest_saturation(
    study: Study, base: int = 4, run: int = 2, threshold: float = 0.05, by: str | None = None, basis: Basis | str | None = None,
) -> pd.DataFrame:
    """Guest, Namey & Chen's new-information ratio for each run, and where saturation is reached.

    One row per run (per value of ``by`` when given): ``base, run_start,
    run_groups, new_in_run, base_codes, ratio, saturated`` (the first run at or
    under ``threshold``) and ``groups_needed`` (the groups before that run, on
    its row).
    """
    return guest_runs(saturation(study, by, basis), base, run, threshold, by)


def guest_runs(curves: pd.DataFrame, base: int = 4, run: int = 2, threshold: float = 0.05, by: str | None = None) -> pd.DataFrame:
    """:func:`guest_saturation` from curves :func:`saturation` already gave (split ``by`` the same column)."""
    if base < 1 or run < 1 or not 0 <= threshold < 1:
        raise ChorusError(
            "{base} and {run} are numbers of groups (1 or more); {threshold} is a share such as 0.05",
            arguments={"base": None, "run": None, "threshold": None},
        )
    columns = ["base", "run_start", "run_groups", "new_in_run", "base_codes", "ratio", "saturated", "groups_needed"]
    parts = []
    for value, curve in (curves.groupby(by) if by else [(None, curves)]):
        rows = []
        counts = curve["new_codes"].tolist()
        names = curve["group"].tolist()
        if len(counts) < base + run:
            continue
        base_codes = sum(counts[:base])
        reached = False
        for start in range(base, len(counts) - run + 1):
            new = sum(counts[start:start + run])
            ratio = new / base_codes if base_codes else float("nan")
            first = not reached and ratio <= threshold
            reached = reached or first
            rows.append({
                "base": base, "run_start": names[start], "run_groups": ", ".join(names[start:start + run]),
                "new_in_run": new, "base_codes": base_codes, "ratio": ratio, "saturated": first,
                "groups_needed": start if first else None,
            })
        frame = pd.DataFrame(rows, columns=columns).astype({"groups_needed": "Int64"})
        parts.append(frame.assign(**{by: value})[[by, *columns]] if by else frame)
    if not parts:
        raise ChorusError(f"saturation needs at least base + run = {base + run} groups with coded words" + (f" for each {by}" if by else ""))
    return pd.concat(parts, ignore_index=True)
