"""Opening, creating and writing to a study's store.

A study is a folder. It holds ``chorus.json`` (the study's name and where its
store is) and, by default, the store itself: one SQLite file, ``study.sqlite``, in
WAL mode. A team server keeps the store in PostgreSQL instead; the folder then
only points at it. Every write goes through :meth:`Study.transaction`, so an
import or edit is stored whole or not at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from chorus.errors import ChorusError, StudyError
from chorus.study import audit, seeing
from chorus.study.models import StudyInfo

CONFIG_FILE = "chorus.json"
SQLITE_FILE = "study.sqlite"
#: Seconds a change waits for SQLite's one writer before it gives up (SQLite's own default, 5 s,
#: ran out under 50 coders coding flat out while the machine was busy, and answered 500).
WRITE_WAIT = 60
MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration's revision. Every command opens the study and compares its revision with this one; naming it
#: here spares each command loading Alembic and the migration scripts (0.3 s) unless the store needs migrating.
#: A test checks it against the scripts, so a new migration without it fails there.
SCHEMA_REVISION = "0019"


def _normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI hook
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: big imports stay in memory, not on disk
    cursor.close()


def _read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("looking_up") and (session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)):
        raise StudyError("a change was made in a session for looking up (Study.looking_up); make it in Study.transaction")


def make_engine(url: str) -> Engine:
    """An engine for a store URL: SQLite gets WAL mode and enforced foreign keys."""
    try:
        parsed = make_url(_normalise_url(url))
    except ArgumentError as exc:
        raise StudyError(f"not a database URL: {url!r} ({exc})") from None
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = create_engine(parsed, connect_args={"timeout": WRITE_WAIT} if sqlite else {})
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "before_cursor_execute", _no_nul)
    return engine


def _no_nul(_connection: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _executemany: bool) -> None:
    """Refuse text holding a NUL character before the store sees it, on every store alike.

    PostgreSQL cannot keep one (a server error, where SQLite would store it); a
    name or a form field from a request can hold one, so it is the request's fault.
    The parameters come as a row (a dict or a tuple), rows, or one dict for many rows.
    """
    waiting = [parameters]
    while waiting:
        value = waiting.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ChorusError(f"a NUL character (\\x00) is not text, and no study holds one: {value[:40]!r}")
        elif isinstance(value, dict):
            waiting.extend(value.values())
        elif isinstance(value, (list, tuple)):
            waiting.extend(value)


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Primary keys for ``count`` new rows, so a bulk insert can link rows without reading them back.

    PostgreSQL takes them from the table's sequence (safe beside other writers);
    SQLite allows one writer at a time, so the ids after the largest are free
    until the transaction ends.
    """
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": count},
            )
        )
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows (tuples in ``columns`` order) through the driver's ``executemany``.

    For imports of a million codings, where building SQLAlchemy's parameters for
    every row costs more than the database's own work. It runs in the session's
    transaction, and values go through the column types' bind processors (SQLite
    stores date-times as text), so rows end up exactly as an ORM insert stores them.
    """
    connection = session.connection()
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f'INSERT INTO {table.name} ({", ".join(dialect.identifier_preparer.quote(c) for c in columns)}) '
        f'VALUES ({", ".join([marker] * len(columns))})'
    )
    convert = [(i, p) for i, p in enumerate(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns) if p is not None]
    if convert:
        done: dict[tuple[int, Any], Any] = {}  # imported values repeat (one time stamp for many codings)

        def processed(row: Sequence[Any]) -> list[Any]:
            record = list(row)
            for i, processor in convert:
                key = (i, record[i])
                if key not in done:
                    if len(done) > 10_000:
                        done.clear()
                    done[key] = processor(record[i])
                record[i] = done[key]
            return record

    given = rows if isinstance(rows, list) else list(rows)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, list(map(processed, given)) if convert else given)
    finally:
        cursor.close()
    audit.record_bulk(session, table, columns, given)


#: Who is acting in this context (a web request's user), over :attr:`Study.actor`.
ACTING: ContextVar[str | None] = ContextVar("chorus_acting", default=None)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Changes made inside are logged under ``name`` (per thread or task, unlike :attr:`Study.actor`)."""
    token = ACTING.set(name)
    try:
        yield
    finally:
        ACTING.reset(token)


#: Inside :func:`rehearsal`: what to read from a transaction before it is rolled back instead of committed.
REHEARSING: ContextVar[Callable[[Session], None] | None] = ContextVar("chorus_rehearsing", default=None)
T = TypeVar("T")


@contextmanager
def rehearsal(look: Callable[[Session], T]) -> Iterator[list[T]]:
    """Transactions inside run to the end and are then rolled back: a preview of what a change would store.

    Just before each rolls back, ``look`` reads its session (the change flushed,
    not committed); the list yielded collects what it read, one item per
    transaction. Nothing is stored, the audit trail included.

    >>> with rehearsal(lambda s: s.scalar(select(func.count(Code.id)))) as seen:   # doctest: +SKIP
    ...     import_codebook(study, "codebook.csv")
    >>> seen                                                                    # doctest: +SKIP
    [19]
    """
    seen: list[T] = []
    token = REHEARSING.set(lambda session: seen.append(look(session)))
    try:
        yield seen
    finally:
        REHEARSING.reset(token)


def _alembic_config(connection) -> Any:  # noqa: ANN001 - SQLAlchemy Connection; returns alembic's Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Study:
    """An open study: its folder, its store and a way to read and write it.

    Use :func:`chorus.open` or :func:`chorus.init` rather than the constructor.

    >>> study = chorus.open("pc-study")                     # doctest: +SKIP
    >>> with study.transaction() as session:                # doctest: +SKIP
    ...     session.add(Coder(name="ann"))
    """

    def __init__(self, folder: Path, url: str, name: str):
        self.folder = folder
        self.url = url
        self.name = name
        self.engine = make_engine(url)
        self.actor = audit.default_actor()  # who the audit log names for changes made through this object
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time: this process's writers (a web server's threads) queue on a lock
        # rather than each polling SQLite's, whose sleeps grow while the lock changes hands
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        # PostgreSQL at READ COMMITTED takes a new snapshot for each statement, in a transaction or not: a lone read
        # there runs outside one, without a BEGIN and a ROLLBACK round trip (SQLite reads in a transaction, as in reading)
        self._looker = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.engine.dialect.name == "postgresql" else self.engine
        audit.watch(self._sessions)
        event.listen(self._sessions, "before_flush", _read_only)
        event.listen(self._sessions, "do_orm_execute", seeing.only_seen)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, actor: str | None = None) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error.

        Its changes are logged in the audit trail under ``actor`` (by default
        the one set by :func:`acting_as`, else :attr:`actor`: ``CHORUS_USER`` or
        the login name).
        """
        with self._turn_to_write():
            session = self._sessions()
            session.info["actor"] = actor or ACTING.get() or self.actor
            try:
                yield session
                rehearsing = REHEARSING.get()
                if rehearsing is None:
                    session.commit()
                else:
                    session.flush()
                    rehearsing(session)
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """On SQLite, wait for this process's other writers to finish (at most :data:`WRITE_WAIT` seconds)."""
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=WRITE_WAIT):
            raise StudyError(f"{self.folder}: another change has held the study for over {WRITE_WAIT} s; try again when it is done")
        try:
            yield
        finally:
            self._writer.release()

    def reading(self) -> AbstractContextManager[Session]:
        """A session for queries; it never commits."""
        return self._read()

    def looking_up(self) -> AbstractContextManager[Session]:
        """A session for single statements that do not stream rows (no ``yield_per``), each read on its own.

        For what every request reads (the session and role check): on PostgreSQL
        it runs outside a transaction, two round trips fewer than :meth:`reading`
        and the same rows; an object added, changed or deleted in it is refused at
        flush, since nothing would roll it back.
        """
        return self._read(bind=self._looker, info={"looking_up": True})

    @contextmanager
    def _read(self, **options: Any) -> Iterator[Session]:
        session = self._sessions(**options)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def migrate(self) -> None:
        """Bring the store's tables up to this version of Chorus, in one transaction."""
        from alembic import command

        with self.engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")

    def revision(self) -> str | None:
        """The migration revision the store is at (None for an empty store)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.scalar(text("SELECT version_num FROM alembic_version"))

    def close(self) -> None:
        """Release the store's connections (and, for SQLite, fold the WAL back in)."""
        self.engine.dispose()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Study {self.name!r} at {self.folder} ({self.dialect})>"


def init(folder: str | Path, db: str | None = None, name: str | None = None) -> Study:
    """Create a study folder with an empty store and return it open.

    ``db`` is a database URL for a team server (``postgresql://user@host/db``); by
    default the store is ``study.sqlite`` inside the folder. The folder must not
    already hold a study.

    >>> study = chorus.init("pc-study")                     # doctest: +SKIP
    """
    folder = Path(folder)
    if (folder / CONFIG_FILE).exists():
        raise StudyError(f"{folder} already holds a study ({CONFIG_FILE} exists)")
    folder.mkdir(parents=True, exist_ok=True)
    url = db or f"sqlite:///{(folder / SQLITE_FILE).resolve()}"
    name = name or folder.resolve().name
    study = Study(folder, url, name)
    with study.engine.connect() as connection:
        if inspect(connection).get_table_names():
            study.close()
            raise StudyError(f"the database {db} is not empty; give Chorus an empty database")
    study.migrate()
    with study.transaction() as session:
        session.add(StudyInfo(id=1, name=name, settings={}))
    config = {"name": name, "db": db or SQLITE_FILE}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return study


def find_study_folder(start: str | Path) -> Path:
    """The study folder at ``start`` or the nearest folder above it that holds one."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise StudyError(
        f"no study at {start} or above it ({CONFIG_FILE} not found); "
        "create one with 'chorus init NAME' or point to one with --study PATH"
    )


def open(folder: str | Path = ".") -> Study:  # noqa: A001 - chorus.open reads naturally
    """Open the study in ``folder`` (or the nearest folder above it that holds one).

    >>> study = chorus.open("pc-study")                     # doctest: +SKIP
    """
    folder = find_study_folder(folder)
    path = folder / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        db, name = config["db"], config["name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StudyError(f"{path}: not a valid study file ({exc})") from None
    url = db if "://" in db else f"sqlite:///{(folder / db).resolve()}"
    if "://" not in db and not (folder / db).is_file():
        raise StudyError(f"{path}: the store {folder / db} is missing")
    study = Study(folder, url, name)
    if study.revision() != SCHEMA_REVISION:
        study.migrate()
    return study

