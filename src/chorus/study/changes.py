"""What changed in a study since a page was drawn: the audit trail read forward, shaped for pages, narrowed for the reader.

Every change made through Chorus adds entries to the audit trail
(:mod:`chorus.study.audit`), in one order for every process and both stores, with
increasing ids. A page remembers the id it was drawn at (:func:`latest`) and asks
for what came after (:func:`since`): codings added, moved and removed with their
coder's name; codes added, renamed, recoloured, moved, merged and removed; memos;
transcript edits; jobs; people. The web app's change stream
(:mod:`chorus.web.routes.live`) sends these to open pages.

Nothing a reader may not see is shaped: the entries are read through the audit
trail's own narrowing (a coder in an open blind round sees only their own coding
records, :data:`chorus.study.seeing.SEEING`), and memos go only to roles that read
them (:data:`MEMO_READERS`; a blind coder only their own).

>>> changed = since(study, 1200)                  # doctest: +SKIP
>>> [c["kind"] for c in changed.changes]          # doctest: +SKIP
['coding.added', 'code.renamed']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chorus.study import audit, seeing
from chorus.study.lookup import PATH_SEPARATOR, code_paths
from chorus.study.models import AuditEntry, Code, Coder, Coding, Transcript, Turn, as_utc

#: Entries past which a page is not caught up but told to load again (a laptop asleep through an import, say).
REPLAY_LIMIT = 2000
#: The roles that read memos (as ``chorus.web.users.ROLES`` ranks them: viewers read the analysis, not the analysts' notes).
MEMO_READERS = ("coder", "owner")
#: Records whose change may change what a reader is allowed to see: a batch ends after one, so the reader is asked again.
WHO_SEES = ("blind_round", "app_user")
_FALLBACK_COLOUR = "#999999"


@dataclass
class Changes:
    """What :func:`since` found: the changes shaped for pages, oldest first, and the id the reader is now caught up to.

    ``ask_again``: an entry changed who may see what (a blind round opened or closed, a person's role), so the reader's
    rights must be checked again before reading on. ``too_many``: more than the limit came after ``since``: load the page again.
    """

    changes: list[dict[str, Any]] = field(default_factory=list)
    last: int = 0
    ask_again: bool = False
    too_many: bool = False


def latest(study: Any) -> int:
    """The id of the audit trail's newest entry (0 before the first): where a page drawn now starts listening.

    One index lookup: a server process asks it a few times a second to learn whether anything changed.
    """
    with study.looking_up() as session:
        return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def since(study: Any, after: int, role: str = "owner", upto: int | None = None, limit: int = REPLAY_LIMIT) -> Changes:
    """The changes after entry ``after`` (up to entry ``upto``, where given), shaped for pages and narrowed for the reader.

    The reader is who :data:`chorus.study.seeing.SEEING` names (a coder in an open blind round: only their own
    coding records) with ``role`` (memos only for :data:`MEMO_READERS`). More than ``limit`` entries: none are
    shaped, ``too_many`` is set, and ``last`` is where the trail ends now.
    """
    conditions = [AuditEntry.id > after, *audit._trail(None, None, None, None)]  # the trail's one door for what a blind coder sees
    if upto is not None:
        conditions.append(AuditEntry.id <= upto)
    with study.looking_up() as session:
        entries = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.id).limit(limit + 1)).all()
        if len(entries) > limit:
            end = upto if upto is not None else int(session.scalar(select(func.max(AuditEntry.id))) or 0)
            return Changes([], end, too_many=True)
        found = Changes(last=upto if upto is not None else after)
        for at, entry in enumerate(entries):
            if entry.entity in WHO_SEES:
                entries, found.ask_again = entries[: at + 1], True
                break
        if entries and (found.ask_again or upto is None):
            found.last = entries[-1].id
        found.changes = _Shaper(session, role).shape(entries)
    return found


def code_fate(study: Any, name: str) -> str | None:
    """What became of the code ``name`` (a name or a path) that the codebook no longer has: merged, renamed or removed, by whom.

    A coder's menu may still offer a code an owner has since merged away; coding with it is refused with this
    sentence rather than a bare "no such code" (and the code is never made again). None when the trail knows no such code.
    """
    leaf = name.rsplit(PATH_SEPARATOR, 1)[-1].strip()
    with study.looking_up() as session:
        touched = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "code", AuditEntry.action.in_(("update", "delete")))
            .order_by(AuditEntry.id.desc()).limit(5000)
        )
        for entry in touched:
            was = (entry.before or {}).get("name")
            if was != leaf or (entry.action == "update" and (entry.after or {}).get("name") in (None, leaf)):
                continue
            when = as_utc(entry.at).strftime("%H:%M UTC on %d %b")
            if entry.action == "update":
                return f"the code {name!r} was renamed {entry.after['name']!r} by {entry.actor} at {when}; choose it by its new name"
            into = _merged_into(session, entry)
            if into is not None:
                return f"the code {name!r} was merged into {into!r} by {entry.actor} at {when}; code the words with {into!r}"
            return f"the code {name!r} was removed by {entry.actor} at {when}; choose another code"
    return None


def _merged_into(session: Session, removal: AuditEntry) -> str | None:
    """The path of the code that a removed code's codings, memos or subcodes went to just before it was removed, if any."""
    gone = removal.entity_id
    before = session.scalar(select(AuditEntry).where(AuditEntry.id < removal.id).order_by(AuditEntry.id.desc()).limit(1))
    if before is None or before.action != "update" or before.actor != removal.actor:
        return None
    column = "parent_id" if before.entity == "code" else "code_id"
    if before.entity not in ("code", "coding", "memo") or (before.before or {}).get(column) != gone:
        return None
    target = session.get(Code, (before.after or {}).get(column))
    return code_paths(session).get(target.id) if target is not None else None


class _Shaper:
    """Entries of the trail as pages take them: names rather than ids, one dictionary per change."""

    def __init__(self, session: Session, role: str):
        self.session, self.role = session, role
        self.blind = seeing.SEEING.get()
        self._codes: dict[int, str] | None = None
        self._colours: dict[int, str] = {}
        self._coders: dict[int, str] | None = None
        self._transcripts: dict[int, str] | None = None
        self.removed_codes: dict[int, str] = {}  # codes removed in this batch: their codings' removals still name them
        self.moved: dict[int, tuple[Any, ...]] = {}  # codings a merge moved: where they are (transcript, start, end)

    def code(self, code_id: Any) -> str:
        if self._codes is None:
            self._codes = code_paths(self.session)
            self._colours = {i: c or _FALLBACK_COLOUR for i, c in self.session.execute(select(Code.id, Code.colour))}
        return self._codes.get(code_id) or self.removed_codes.get(code_id) or "(a removed code)"

    def colour(self, code_id: Any) -> str:
        self.code(code_id)
        return self._colours.get(code_id, _FALLBACK_COLOUR)

    def coder(self, coder_id: Any) -> str:
        if self._coders is None:
            self._coders = dict(self.session.execute(select(Coder.id, Coder.name)).all())
        return self._coders.get(coder_id, "someone")

    def transcript(self, transcript_id: Any) -> str | None:
        if self._transcripts is None:
            self._transcripts = dict(self.session.execute(select(Transcript.id, Transcript.name)).all())
        return self._transcripts.get(transcript_id)

    def shape(self, entries: list[AuditEntry]) -> list[dict[str, Any]]:
        moved = []
        for entry in entries:  # first what later entries name: codes removed in this batch, codings moved by a merge
            if entry.entity == "code" and entry.action == "delete" and entry.before:
                parent = entry.before.get("parent_id")
                name = entry.before.get("name", "")
                self.removed_codes[entry.entity_id] = self.code(parent) + PATH_SEPARATOR + name if parent else name
            elif entry.entity == "coding" and entry.action == "update" and "code_id" in (entry.after or {}):
                moved.append(entry.entity_id)
        self.moved = {}
        for at in range(0, len(moved), 5000):
            chunk = moved[at : at + 5000]
            query = select(Coding.id, Coding.transcript_id, Coding.start, Coding.end).where(Coding.id.in_(chunk))
            self.moved.update({row[0]: row[1:] for row in self.session.execute(query)})
        shaped = []
        for entry in entries:
            change = self.one(entry)
            if change is not None:
                shaped.append({"id": entry.id, "at": as_utc(entry.at).isoformat(), "actor": entry.actor, **change})
        return shaped

    def one(self, entry: AuditEntry) -> dict[str, Any] | None:
        before, after = entry.before or {}, entry.after or {}
        row = {**before, **after}
        kind = entry.entity
        if kind == "coding":
            if entry.entity_id is None:  # a bulk import: too many to draw one by one
                return {"kind": "codings.imported", "rows": after.get("rows", 0)}
            return self.coding(entry, before, after, row)
        if kind == "code":
            return self.code_change(entry, before, after, row)
        if kind == "memo":
            return self.memo(entry, row)
        if kind in ("transcript", "turn"):
            transcript_id = row.get("transcript_id") if kind == "turn" else entry.entity_id
            if kind == "turn" and transcript_id is None and entry.entity_id is not None:
                transcript_id = self.session.scalar(select(Turn.transcript_id).where(Turn.id == entry.entity_id))
            name = row.get("name") if kind == "transcript" else None
            name = name or self.transcript(transcript_id)
            verb = {"insert": "added", "update": "edited", "delete": "removed"}[entry.action]
            return {"kind": f"transcript.{verb}", "transcript": name} if name else None
        if kind == "job":
            return {"kind": "job.changed", "job": entry.entity_id, "state": row.get("state"), "name": row.get("name")}
        if kind == "app_user":
            return {"kind": "people.changed", "person": row.get("name")}
        if kind == "blind_round":
            return {"kind": "round.changed"}
        return None

    def coding(self, entry: AuditEntry, before: dict, after: dict, row: dict) -> dict[str, Any] | None:
        where = {"coding": entry.entity_id, "transcript": self.transcript(row.get("transcript_id")), "start": row.get("start"), "end": row.get("end")}
        if entry.action == "insert":
            return {"kind": "coding.added", **where, "code": self.code(row.get("code_id")), "colour": self.colour(row.get("code_id")),
                    "coder": self.coder(row.get("coder_id"))}
        if entry.action == "delete":
            return {"kind": "coding.removed", **where, "code": self.code(row.get("code_id")), "coder": self.coder(row.get("coder_id"))}
        if "code_id" in after:  # a merge moved it to another code (an update names only the fields it changed)
            transcript_id, start, end = self.moved.get(entry.entity_id, (None, None, None))
            return {"kind": "coding.moved", "coding": entry.entity_id, "transcript": self.transcript(transcript_id), "start": start, "end": end,
                    "code": self.code(after["code_id"]), "colour": self.colour(after["code_id"]), "was": self.code(before.get("code_id"))}
        return None

    def code_change(self, entry: AuditEntry, before: dict, after: dict, row: dict) -> dict[str, Any] | None:
        if entry.action == "insert":
            return {"kind": "code.added", "code": self.code(entry.entity_id), "colour": row.get("colour") or _FALLBACK_COLOUR}
        if entry.action == "delete":
            was = self.removed_codes.get(entry.entity_id) or before.get("name", "")
            into = _merged_into(self.session, entry)
            return {"kind": "code.merged", "was": was, "code": into} if into else {"kind": "code.removed", "was": was}
        path = self.code(entry.entity_id)
        if "name" in after:
            old = path.rsplit(PATH_SEPARATOR, 1)
            return {"kind": "code.renamed", "code": path, "was": PATH_SEPARATOR.join([*old[:-1], before.get("name") or ""]), "version": after.get("version")}
        if "colour" in after:
            return {"kind": "code.recoloured", "code": path, "colour": after["colour"] or _FALLBACK_COLOUR, "version": after.get("version")}
        if "parent_id" in after or "position" in after:
            parent = before.get("parent_id") if "parent_id" in after else None
            was = self.code(parent) + PATH_SEPARATOR + path.rsplit(PATH_SEPARATOR, 1)[-1] if parent else path.rsplit(PATH_SEPARATOR, 1)[-1]
            return {"kind": "code.moved", "code": path, "was": was if "parent_id" in after else path, "version": after.get("version")}
        if set(after) - {"version"}:
            return {"kind": "code.described", "code": path, "version": after.get("version")}
        return None

    def memo(self, entry: AuditEntry, row: dict) -> dict[str, Any] | None:
        if self.role not in MEMO_READERS:
            return None
        author = self.coder(row.get("coder_id")) if "coder_id" in row else None
        if self.blind is not None and (author or entry.actor) != self.blind:  # a blind coder's own notes only
            return None
        verb = {"insert": "added", "update": "changed", "delete": "removed"}[entry.action]
        return {"kind": f"memo.{verb}", "memo": entry.entity_id, "author": author, "title": row.get("title"), "text": row.get("text")}
