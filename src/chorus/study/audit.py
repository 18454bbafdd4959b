"""The audit trail: every change to the study, with who made it, when, and the row before and after.

Reviewers ask whether every number can be traced. Chorus logs at the one place
all writes pass, the store's session, rather than in each command, so no
write path can forget:

- every ORM flush (inserts, updates, deletes of participants, groups,
  transcripts, turns, codes, codings, memos, coders, ...),
- ORM ``update()``/``delete()`` statements run through a session,
- bulk inserts (:func:`chorus.study.store.bulk_insert`: big imports), one entry
  per batch with its row count and id range.

The database itself refuses to change or delete an entry (triggers made by
migration 0005). Transcript text is logged as a hash and a length, so the log
never holds the words a de-identification removed.

>>> log(study, entity="coding").tail(3)                 # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Date, DateTime, Table, event, func, insert, inspect, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from chorus.errors import ChorusError
from chorus.study import seeing
from chorus.study.models import AuditEntry, Base, as_utc, utcnow

#: Tables whose changes are not logged: the log itself, coding_turn, which the
#: store derives from codings and turns (their own entries say what changed), and
#: the embedding cache, derived from transcript text, and web sessions (a last-seen time every minute; their
#: tokens are secrets): sign-ins and sign-outs are logged as ``sign_in`` rows, what ends a session with its cause.
UNLOGGED = frozenset({"audit_log", "coding_turn", "alembic_version", "embedding", "web_session"})
_TEXT_COLUMNS = {("transcript", "text")}  # logged as hash and length only
#: What an entry records: a row added, changed or removed.
ACTIONS = ("insert", "update", "delete")
_SECRET_COLUMNS = {("app_user", "password_hash"), ("app_user", "reset_digest")}  # logged as "(hidden)": a hash still invites guessing


def default_actor() -> str:
    """Who is changing the study: ``CHORUS_USER``, else the login name."""
    try:
        return os.environ.get("CHORUS_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _plain(table: str, column: str, value: Any) -> Any:
    if (table, column) in _SECRET_COLUMNS and value is not None:
        return "(hidden)"
    if (table, column) in _TEXT_COLUMNS and isinstance(value, str):
        return {"sha256": hashlib.sha256(value.encode("utf-8")).hexdigest(), "characters": len(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value, default=str))
    return value


def _row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(table, k, v) for k, v in values.items()}


def _entry(session: Session, action: str, table: str, entity_id: Any, before: dict | None, after: dict | None) -> dict[str, Any]:
    return {
        "at": utcnow(), "actor": session.info.get("actor") or default_actor(), "action": action, "entity": table,
        "entity_id": entity_id if isinstance(entity_id, int) else None, "before": before, "after": after,
    }


def _moment(at: datetime) -> str:
    """A time as the chain hashes it: UTC, to the microsecond (SQLite gives it back without its zone)."""
    return as_utc(at).astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def link(previous: str, entry: dict[str, Any]) -> str:
    """The chain value of ``entry`` (``at, actor, action, entity, entity_id, before, after``) after ``previous``."""
    content = [_moment(entry["at"]), entry["actor"], entry["action"], entry["entity"], entry["entity_id"], entry["before"], entry["after"]]
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode("utf-8")).hexdigest()


#: The chain value entries are linked after: the newest entry's written through Chorus, not one added out of band.
_HEAD = "SELECT chain FROM audit_log WHERE chain IS NOT NULL ORDER BY id DESC LIMIT 1"
#: Built once: every write adds entries, and a statement built anew is keyed for the compiled-statement cache anew.
_ADD_ENTRIES = insert(AuditEntry.__table__)


def _write(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    if not entries:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # one transaction at a time extends the chain (SQLite has one writer anyway):
        # every entry is written after this lock, held to the end of the transaction, so two writers never wait on each
        # other. The lock and the read travel in one message (a round trip fewer), each statement with its own snapshot,
        # so the read sees every entry committed before the lock was granted.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(f"LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE; {_HEAD}")
            cursor.nextset()
            found = cursor.fetchone()
        finally:
            cursor.close()
        previous = found[0] if found else ""
    else:
        previous = connection.exec_driver_sql(_HEAD).scalar() or ""
    rows = []
    for entry in entries:
        chain = link(previous, entry)
        rows.append({**entry, "previous": previous, "chain": chain})
        previous = chain
    connection.execute(_ADD_ENTRIES, rows)


@dataclass
class Verdict:
    """What :func:`verify` found: how many entries, the last chain value (the head), and every break, first first.

    With the rows checked (``rows=True``), ``rows`` is how many rows of the store were compared with the trail and
    each row that differs from what the trail says it became is a break too.
    """

    entries: int
    head: str
    breaks: list[str]
    rows: int | None = None
    unchecked: list[str] = field(default_factory=list)  # tables an older trail does not let the rows be checked in, and why

    @property
    def intact(self) -> bool:
        """Whether the chain holds from the first entry to the last (and, where checked, the rows are what it says)."""
        return not self.breaks


def head(study: Any) -> str:
    """The chain value of the trail's latest entry ("" before the first): a name for this version of the study.

    Every change made through Chorus adds an entry, so the head changes with it;
    what is derived from the study (candidate codes) can be kept while it holds.
    """
    with study.reading() as session:
        return session.scalar(select(AuditEntry.chain).order_by(AuditEntry.id.desc()).limit(1)) or ""


def verify(study: Any, head: str | None = None, rows: bool = False) -> Verdict:
    """Walk the audit trail and recompute its chain: each entry altered, removed or added out of band is named.

    An entry whose content no longer gives its hash was altered; one whose
    ``previous`` is not the chain of the entry before it follows a removal (or an
    insertion out of band); one without a hash was not written by Chorus. Anyone
    able to rewrite the whole database could recompute the chain from the start:
    a ``head`` noted elsewhere earlier (a lab notebook) must still be an entry's
    chain value, or the trail up to it was rewritten.

    With ``rows``, the trail also vouches for the data: every entry is replayed
    (an insert's row, an update's new values, a delete, and what the database's
    own cascades did after a delete), and each row of the store is compared with
    the state the trail gives it. A row changed, added or removed out of band
    (the sqlite3 shell, say) is named by table, id and field.

    >>> verify(study, rows=True).intact                          # doctest: +SKIP
    True
    """
    with study.reading() as session:
        return verify_session(session, head, rows)


def verify_session(session: Session, head: str | None = None, rows: bool = False) -> Verdict:
    """:func:`verify` on what ``session`` sees (a backup's snapshot, say) rather than on a fresh read."""
    breaks: list[str] = []
    before, before_id, count, seen = "", None, 0, head is None
    replay = _Replay() if rows else None
    entries = session.execute(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=5000))
    for (entry,) in entries:
        count += 1
        values = {"at": entry.at, "actor": entry.actor, "action": entry.action, "entity": entry.entity,
                  "entity_id": entry.entity_id, "before": entry.before, "after": entry.after}
        where = f"entry #{entry.id}"
        if entry.chain is None:
            breaks.append(f"{where} has no hash: it was added out of band, not through Chorus")
        elif link(entry.previous or "", values) != entry.chain:
            breaks.append(f"{where} was altered: its content no longer gives its hash")
        elif (entry.previous or "") != before:
            after = f"entry #{before_id}" if before_id is not None else "the start"
            breaks.append(f"{where} does not follow {after}: an entry between them was removed, or one was added out of band")
        if entry.chain is not None:  # the entries after one added out of band still follow the one before it
            before, before_id = entry.chain, entry.id
        seen = seen or entry.chain == head
        if replay is not None:
            replay.apply(entry.id, entry.action, entry.entity, entry.entity_id, entry.before, entry.after)
    if not seen:
        breaks.append(f"no entry has the head {head}: the trail up to it was rewritten (or it is another study's)")
    checked, unchecked = None, []
    if replay is not None:
        replay.settle()
        checked, differ = replay.compare(session)
        breaks += differ
        unchecked = [f"{table}: its rows cannot be checked; {why}" for table, why in sorted(replay.blind.items())]
    return Verdict(count, before, breaks, checked, unchecked)


#: Columns verifying the rows leaves out: a job's claim by a worker and its progress, which Chorus writes outside the
#: trail on purpose (:func:`chorus.study.jobs.run_next`), and a code's version, the edit counter the ORM raises
#: itself (entries written before 2026-12-07 did not log its rise).
UNTRAILED = {"job": frozenset({"state", "worker", "started_at", "stage", "fraction"}), "code": frozenset({"version"})}
_SHOWN = 60  # characters of a value a difference quotes


def _key_of(table: Table, values: dict[str, Any] | None) -> Any:
    """A row's key in the replay: its id, or its primary key's values (a membership), from an entry's row; None if absent."""
    names = [c.name for c in table.primary_key.columns]
    if not values or any(n not in values for n in names):
        return None
    return values[names[0]] if len(names) == 1 else tuple(values[n] for n in names)


def _quoted(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _same(column: Any, trailed: Any, stored: Any) -> bool:
    """Whether a value the trail gives equals the store's (both as the trail writes them: times as ISO text)."""
    if trailed == stored:
        return True
    if isinstance(column.type, DateTime) and isinstance(trailed, str) and isinstance(stored, str):
        try:  # the zone is written on one side and not the other (SQLite gives times back without it)
            return as_utc(datetime.fromisoformat(trailed)) == as_utc(datetime.fromisoformat(stored))
        except ValueError:
            return False
    return False


class _Replay:
    """What the trail says each row became: its entries applied in order, then the database's cascades.

    Kept per table as ``{key: (entry number, columns, values)}``: the entry that
    last wrote the row (a cascade acts only on rows written before the parent's
    deletion) and its values as the trail has them. A row inserted in bulk
    before bulk entries held their values is known to exist, not what it holds.
    """

    def __init__(self) -> None:
        self.rows: dict[str, dict[Any, tuple[int, tuple[str, ...], tuple[Any, ...]]]] = {}
        self.gone: dict[str, dict[Any, int]] = {}
        self.blind: dict[str, str] = {}  # a table whose rows the trail cannot name, and why

    def apply(self, number: int, action: str, entity: str, entity_id: int | None, before: dict | None, after: dict | None) -> None:
        """Apply entry ``number`` to the rows it names."""
        table = Base.metadata.tables.get(entity)
        if table is None or entity in UNLOGGED:
            return
        rows = self.rows.setdefault(entity, {})
        if action == "insert" and entity_id is None and after and "rows" in after and "id" in table.c:
            if "values" in after:
                columns = tuple(after["columns"])
                at = columns.index("id")
                for row in after["values"]:
                    rows[row[at]] = (number, columns, tuple(row))
            elif "first_id" in after:  # written before bulk entries held their rows: their values are not known
                for key in range(after["first_id"], after["last_id"] + 1):
                    rows[key] = (number, (), ())
            else:
                self.blind.setdefault(entity, f"entry #{number} inserted {after['rows']} rows without naming them")
            return
        key = entity_id if entity_id is not None else _key_of(table, after or before)
        if key is None or (action == "update" and after is None):  # an update statement on a table without ids says no after
            self.blind.setdefault(entity, f"entry #{number} changed a row without naming it or its new values")
            return
        if action == "delete":
            rows.pop(key, None)
            self.gone.setdefault(entity, {})[key] = number
            return
        known = rows.get(key)
        values = dict(zip(known[1], known[2])) if known is not None and action == "update" else dict(before or {})
        values.update(after or {})
        rows[key] = (number, tuple(values), tuple(values.values()))

    def settle(self) -> None:
        """What the database did after each delete: rows of a deleted parent removed (``CASCADE``) or unlinked (``SET NULL``)."""
        for table in Base.metadata.sorted_tables:  # parents first, so a cascade carries on down
            rows = self.rows.get(table.name)
            if not rows:
                continue
            for fk in table.foreign_keys:
                gone = self.gone.get(fk.column.table.name)
                if not gone or fk.ondelete not in ("CASCADE", "SET NULL") or len(fk.constraint.columns) != 1:
                    continue
                column = fk.parent.name
                for key, (number, columns, values) in list(rows.items()):
                    if column not in columns:
                        continue
                    at = columns.index(column)
                    deleted = gone.get(values[at])
                    if deleted is None or deleted < number:
                        continue
                    if fk.ondelete == "CASCADE":
                        del rows[key]
                        self.gone.setdefault(table.name, {})[key] = deleted
                    else:
                        rows[key] = (number, columns, values[:at] + (None,) + values[at + 1:])

    def compare(self, session: Session) -> tuple[int, list[str]]:
        """How many rows of the store were read, and each that differs from the trail: table, id (or key) and field."""
        differ: list[str] = []
        checked = 0
        for table in Base.metadata.sorted_tables:
            if table.name in UNLOGGED:
                continue
            if table.name in self.blind:
                continue
            expected = self.rows.get(table.name, {})
            left_out = UNTRAILED.get(table.name, frozenset())
            for row in session.execute(select(table).execution_options(yield_per=5000)).mappings():
                checked += 1
                key = _key_of(table, row)
                named = f"{table.name} #{key}" if not isinstance(key, tuple) else f"{table.name} {dict(zip(table.primary_key.columns.keys(), key))}"
                known = expected.pop(key, None)
                if known is None:
                    differ.append(f"{named} is in the store but in no entry of the trail: added out of band")
                    continue
                for column, value in zip(known[1], known[2]):
                    if column in left_out or column not in table.c:
                        continue
                    stored = _plain(table.name, column, row[column])
                    if not _same(table.c[column], value, stored):
                        differ.append(f"{named}: {column} is {_quoted(stored)} in the store, but the trail says {_quoted(value)}")
            differ += [f"{table.name} #{key}: in the trail, but not in the store: removed out of band" for key in expected]
        return checked, differ


def _stored(mapper: Any) -> list[Any]:
    """A mapper's attributes that are its table's columns: not a query's expression (``Transcript.length``), never stored."""
    return [attr for attr in mapper.column_attrs if attr.columns[0].table is mapper.local_table]


def _loaded(obj: Any) -> tuple[str, dict[str, Any]]:
    """An object's table and its column values as loaded (never triggering a load)."""
    state = inspect(obj)
    table = state.mapper.local_table.name
    values = {attr.key: state.dict[attr.key] for attr in _stored(state.mapper) if attr.key in state.dict}
    return table, values


def _after_flush(session: Session, _context: Any) -> None:
    entries = []
    for obj in session.new:
        table, values = _loaded(obj)
        if table not in UNLOGGED:
            entries.append(_entry(session, "insert", table, values.get("id"), None, _row(table, values)))
    for obj in session.dirty:
        state = inspect(obj)
        table = state.mapper.local_table.name
        if table in UNLOGGED or not session.is_modified(obj, include_collections=False):
            continue
        before, after = {}, {}
        for attr in _stored(state.mapper):
            history = state.attrs[attr.key].history
            if history.added or history.deleted:
                before[attr.key] = _plain(table, attr.key, history.deleted[0] if history.deleted else None)
                after[attr.key] = _plain(table, attr.key, history.added[0] if history.added else None)
        if after:
            if state.mapper.version_id_col is not None:  # raised by the flush itself, so its history shows no change
                key = state.mapper.get_property_by_column(state.mapper.version_id_col).key
                if isinstance(state.dict.get(key), int):
                    before[key], after[key] = state.dict[key] - 1, state.dict[key]
            if "id" not in state.mapper.local_table.c:  # a row known by its key (a turn's question): name it on both sides
                for column in state.mapper.local_table.primary_key.columns:
                    key = state.mapper.get_property_by_column(column).key
                    before.setdefault(key, state.dict.get(key))
                    after.setdefault(key, state.dict.get(key))
            entries.append(_entry(session, "update", table, state.dict.get("id"), before, after))
    for obj in session.deleted:
        table, values = _loaded(obj)
        if table not in UNLOGGED:
            entries.append(_entry(session, "delete", table, values.get("id"), _row(table, values), None))
    entries += _links(session)
    _write(session, entries)


def _links(session: Session) -> list[dict[str, Any]]:
    """Rows of association tables (membership) written through a many-to-many relationship."""
    seen: set[tuple[str, str, frozenset]] = set()
    entries = []
    for obj in [*session.new, *session.dirty]:
        state = inspect(obj)
        for prop in state.mapper.relationships:
            if prop.secondary is None or prop.viewonly or prop.key not in state.dict:
                continue
            history = state.attrs[prop.key].history
            for action, others in (("insert", history.added), ("delete", history.deleted)):
                for other in others:
                    row = {c.name: getattr(obj, state.mapper.get_property_by_column(local).key) for local, c in prop.synchronize_pairs}
                    other_mapper = inspect(other).mapper
                    row |= {c.name: getattr(other, other_mapper.get_property_by_column(remote).key) for remote, c in prop.secondary_synchronize_pairs}
                    key = (action, prop.secondary.name, frozenset(row.items()))
                    if key not in seen:
                        seen.add(key)
                        entries.append(_entry(session, action, prop.secondary.name, None, row if action == "delete" else None, row if action == "insert" else None))
    return entries


def _on_statement(state: ORMExecuteState) -> Any:
    """ORM update()/delete() statements: log each affected row before (and after) the change."""
    if not (state.is_update or state.is_delete):
        return None
    table = state.statement.table
    if not isinstance(table, Table) or table.name in UNLOGGED:
        return None
    session = state.session
    where = state.statement.whereclause
    query = select(table) if where is None else select(table).where(where)
    before = [dict(r) for r in session.connection().execute(query).mappings()]
    result = state.invoke_statement()
    key = table.c.get("id")
    if state.is_update and key is not None:
        ids = [r["id"] for r in before]
        after = {r["id"]: dict(r) for r in session.connection().execute(select(table).where(key.in_(ids))).mappings()} if ids else {}
        entries = [
            _entry(session, "update", table.name, r["id"], _row(table.name, r), _row(table.name, after.get(r["id"], {})))
            for r in before
        ]
    else:
        action = "update" if state.is_update else "delete"
        entries = [_entry(session, action, table.name, r.get("id"), _row(table.name, r), None) for r in before]
    _write(session, entries)
    return result


def record_bulk(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """One entry for a bulk insert: its row count, id range, and every row's values (``columns``, ``values``).

    The values are kept as any insert's are (transcript text as a hash), so the
    trail says what each row became and :func:`verify` can check the store against it.
    """
    if table.name in UNLOGGED or not rows:
        return
    after: dict[str, Any] = {"rows": len(rows)}
    if "id" in columns:
        key = list(columns).index("id")
        after.update(first_id=min(r[key] for r in rows), last_id=max(r[key] for r in rows))
    plain = [i for i, column in enumerate(columns)  # only columns whose values are not JSON as they are
             if (table.name, column) in _TEXT_COLUMNS | _SECRET_COLUMNS or isinstance(table.c[column].type, (Date, DateTime, JSON))]
    values: Sequence[Any] = rows
    if plain:
        done: dict[tuple[int, Any], Any] = {}  # imported values repeat (one time stamp for many codings)
        values = [list(row) for row in rows]
        for row in values:
            for i in plain:
                key = (i, row[i])
                if key not in done:
                    done[key] = _plain(table.name, columns[i], row[i])
                row[i] = done[key]
    after.update(columns=list(columns), values=values)
    _write(session, [_entry(session, "insert", table.name, None, None, after)])


def watch(sessions: sessionmaker[Session]) -> None:
    """Log every change made through sessions of this factory."""
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _on_statement)


def _trail(entity: str | None, entity_id: int | None, actor: str | None, action: str | None) -> list[Any]:
    """The conditions that pick entries of the trail, checked; a blind-round coder's view leaves out others' coding."""
    conditions: list[Any] = []
    if entity is not None:
        known = sorted(set(Base.metadata.tables) - UNLOGGED)
        if entity not in known:
            raise ChorusError(f"no such kind of record {entity!r}; the log covers: {', '.join(known)}")
        conditions.append(AuditEntry.entity == entity)
    if action is not None:
        if action not in ACTIONS:
            raise ChorusError(f"no such action {action!r}; the log has: {', '.join(ACTIONS)}")
        conditions.append(AuditEntry.action == action)
    if entity_id is not None:
        conditions.append(AuditEntry.entity_id == entity_id)
    if actor is not None:
        conditions.append(AuditEntry.actor == actor)
    blind = seeing.SEEING.get()
    if blind is not None:  # a coder in a blind round: others' coding is not theirs to see, even as a count
        conditions.append(or_(AuditEntry.entity.notin_(seeing.CODING_RECORDS), AuditEntry.actor == blind))
    return conditions


def log(
    study: Any, entity: str | None = None, entity_id: int | None = None, actor: str | None = None, action: str | None = None,
    newest: int | None = None, before: int | None = None,
) -> pd.DataFrame:
    """The audit trail, oldest first: ``id, at, actor, action, entity, entity_id, before, after`` (JSON text).

    Filtered by kind of record, record, person and action; ``newest=N`` keeps the
    N most recent entries of those (``before=ID``: of those older than entry ID),
    which a page of a long trail needs rather than all of it.

    >>> log(study, entity="coding", newest=3)                  # doctest: +SKIP
    """
    query = select(AuditEntry).where(*_trail(entity, entity_id, actor, action))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    query = query.order_by(AuditEntry.id.desc()).limit(newest) if newest is not None else query.order_by(AuditEntry.id)
    with study.reading() as session:
        rows = [
            {
                "id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
                "before": None if e.before is None else json.dumps(e.before, sort_keys=True, ensure_ascii=False),
                "after": None if e.after is None else json.dumps(e.after, sort_keys=True, ensure_ascii=False),
            }
            for e in session.scalars(query)
        ]
    if newest is not None:
        rows.reverse()
    return pd.DataFrame(rows, columns=["id", "at", "actor", "action", "entity", "entity_id", "before", "after"])


def size(study: Any, entity: str | None = None, actor: str | None = None, action: str | None = None) -> int:
    """How many entries of the trail :func:`log` with the same filters would give."""
    with study.reading() as session:
        return int(session.scalar(select(func.count(AuditEntry.id)).where(*_trail(entity, None, actor, action))) or 0)


def summary(study: Any) -> pd.DataFrame:
    """Changes counted by record kind, action and who made them, with the first and last time."""
    query = (
        select(AuditEntry.entity, AuditEntry.action, AuditEntry.actor, func.count(AuditEntry.id), func.min(AuditEntry.at), func.max(AuditEntry.at))
        .where(*_trail(None, None, None, None))
        .group_by(AuditEntry.entity, AuditEntry.action, AuditEntry.actor)
        .order_by(AuditEntry.entity, AuditEntry.action, AuditEntry.actor)
    )
    with study.reading() as session:
        rows = session.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["entity", "action", "actor", "changes", "first", "last"])