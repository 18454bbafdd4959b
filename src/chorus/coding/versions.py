"""Codebook versions: snapshot the codebook, compare two versions, and date codings by version.

An inductive codebook changes as analysis goes on; a methods section says which
version the reported coding used. A snapshot keeps every code's path and
meaning; :func:`diff` says what was added, removed, renamed, moved or redefined
between two versions (codes are matched by their identity in the store, so a
rename is a rename, not a removal and an addition); :func:`codings_by_version`
counts the codings made under each version (from its snapshot to the next),
by their creation time.

>>> snapshot(study, "after the first two groups")           # doctest: +SKIP
1
>>> diff(study, 1, 2)                                        # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study.codebook import CODE_FIELDS
from chorus.study.kept import kept
from chorus.study.lookup import all_codes, code_path
from chorus.study.models import CodebookVersion, Coder, Coding
from chorus.study.store import Study

_COMPARED = ("path", *CODE_FIELDS)


def entries(session: Session) -> list[dict[str, Any]]:
    """The codebook as a version keeps it: each code's id, path, name and fields."""
    return [{"id": c.id, "path": code_path(c), "name": c.name, **{k: getattr(c, k) for k in CODE_FIELDS}} for c in all_codes(session)]


def snapshot(study: Study, label: str | None = None) -> int:
    """Store the codebook as it is now as the next version; returns its number."""
    with study.transaction() as session:
        codes = entries(session)
        if not codes:
            raise ChorusError("the codebook is empty; import or add codes before taking a version")
        number = (session.scalar(select(func.max(CodebookVersion.number))) or 0) + 1
        session.add(CodebookVersion(number=number, label=label, actor=session.info.get("actor") or study.actor, codes=codes))
        return number


def versions(study: Study) -> pd.DataFrame:
    """Every version: ``number, label, created_at, actor, codes``."""
    with study.reading() as session:
        rows = [
            {"number": v.number, "label": v.label or "", "created_at": v.created_at, "actor": v.actor, "codes": len(v.codes)}
            for v in session.scalars(select(CodebookVersion).order_by(CodebookVersion.number))
        ]
    return pd.DataFrame(rows, columns=["number", "label", "created_at", "actor", "codes"])


def _version(study: Study, number: int) -> list[dict[str, Any]]:
    with study.reading() as session:
        found = session.scalar(select(CodebookVersion).where(CodebookVersion.number == number))
        if found is None:
            known = ", ".join(str(n) for n in session.scalars(select(CodebookVersion.number).order_by(CodebookVersion.number)))
            raise ChorusError(f"there is no codebook version {number} (versions: {known or 'none kept yet'})")
        return list(found.codes)


def diff(study: Study, old: int, new: int) -> pd.DataFrame:
    """What changed from version ``old`` to ``new``: ``change, code, field, before, after``.

    ``change`` is ``added``, ``removed``, ``renamed``, ``moved`` or ``redefined``
    (any of colour, definition, inclusion, exclusion, example).
    """
    return changes(_version(study, old), _version(study, new))


def changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> pd.DataFrame:
    """What changed between two codebooks as :func:`entries` gives them, as :func:`diff` says it."""
    before = {c["id"]: c for c in old}
    after = {c["id"]: c for c in new}
    rows = []
    for key in sorted(after.keys() - before.keys(), key=lambda k: after[k]["path"]):
        rows.append({"change": "added", "code": after[key]["path"], "field": "", "before": "", "after": after[key]["path"]})
    for key in sorted(before.keys() - after.keys(), key=lambda k: before[k]["path"]):
        rows.append({"change": "removed", "code": before[key]["path"], "field": "", "before": before[key]["path"], "after": ""})
    for key in sorted(before.keys() & after.keys(), key=lambda k: after[k]["path"]):
        a, b = before[key], after[key]
        for field in _COMPARED:
            if (a.get(field) or "") == (b.get(field) or ""):
                continue
            if field == "path":
                change = "renamed" if a["name"] != b["name"] else "moved"
            else:
                change = "redefined"
            rows.append({"change": change, "code": b["path"], "field": field, "before": a.get(field) or "", "after": b.get(field) or ""})
    return pd.DataFrame(rows, columns=["change", "code", "field", "before", "after"])


def codings_by_version(study: Study) -> pd.DataFrame:
    """Codings made under each version, by coder: ``version, label, coder, codings``.

    A coding belongs to the last version snapshotted before it was made
    (``0``: before any version). Imported codings keep the time their tool gave them.
    Kept per version of the study (:func:`chorus.study.kept.kept`).
    """
    return kept(study, ("codings by version",), lambda: _codings_by_version(study))


def _codings_by_version(study: Study) -> pd.DataFrame:
    """:func:`codings_by_version` counted."""
    with study.reading() as session:
        marks = session.execute(select(CodebookVersion.number, CodebookVersion.label, CodebookVersion.created_at).order_by(CodebookVersion.number)).all()
        rows = session.execute(select(Coder.name, Coding.created_at).join(Coder, Coder.id == Coding.coder_id)).all()
    labels = {0: "(before any version)", **{n: label or "" for n, label, _ in marks}}
    frame = pd.DataFrame([tuple(row) for row in rows], columns=["coder", "created_at"])  # plain tuples: pandas is slow on Row objects
    if frame.empty:
        return pd.DataFrame(columns=["version", "label", "coder", "codings"])
    times = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")  # SQLite gives times back without their zone; they are UTC
    starts = pd.to_datetime(pd.Series([at for _, _, at in marks], dtype=object), utc=True)
    numbers = np.array([0] + [number for number, _, _ in marks])
    frame["version"] = numbers[np.searchsorted(starts.to_numpy(), times.to_numpy(), side="right")]  # the last version made at or before it
    counted = frame.groupby(["version", "coder"]).size().rename("codings").reset_index()
    counted.insert(1, "label", counted["version"].map(labels))
    return counted
