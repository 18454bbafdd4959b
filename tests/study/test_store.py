"""The study store: creating, opening, migrations, WAL mode, transactions."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

import chorus
from chorus.errors import ChorusError, StudyError
from chorus.study import store
from chorus.study.models import Coder, StudyInfo


def test_init_creates_a_study_at_the_latest_revision(study):
    from alembic.script import ScriptDirectory

    assert store.SCHEMA_REVISION == ScriptDirectory(str(store.MIGRATIONS)).get_current_head(), "a new migration: name it in SCHEMA_REVISION"
    assert study.revision() == store.SCHEMA_REVISION
    with study.reading() as session:
        assert session.scalar(select(StudyInfo.name)) == study.name
    config = json.loads((study.folder / "chorus.json").read_text())
    assert config["name"] == study.name


def test_sqlite_store_is_one_file_in_wal_mode(tmp_path: Path):
    study = chorus.init(tmp_path / "pc-study")
    assert (tmp_path / "pc-study" / "study.sqlite").is_file()
    with study.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    study.close()


def test_open_finds_the_study_from_a_subfolder(study):
    inner = study.folder / "notes" / "drafts"
    inner.mkdir(parents=True)
    reopened = chorus.open(inner)
    assert reopened.folder == study.folder.resolve()
    assert reopened.url == study.url
    reopened.close()


def test_a_study_cannot_be_created_twice(study):
    with pytest.raises(StudyError, match="already holds a study"):
        chorus.init(study.folder)


def test_open_without_a_study_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(StudyError, match="chorus init"):
        chorus.open(tmp_path)


def test_a_failed_transaction_stores_nothing(study):
    with pytest.raises(RuntimeError):
        with study.transaction() as session:
            session.add(Coder(name="ann"))
            session.flush()
            raise RuntimeError("interrupted")
    with study.reading() as session:
        assert session.scalars(select(Coder)).all() == []


def test_text_holding_a_nul_is_refused_on_every_store_and_nothing_is_stored(study):
    with pytest.raises(ChorusError, match=r"a NUL character \(\\x00\) is not text, and no study holds one: 'a\\x00b'"):
        with study.transaction() as session:
            session.add(Coder(name="ann"))
            session.add(Coder(name="a\x00b"))  # PostgreSQL cannot keep it; SQLite could, and is refused alike
    with study.reading() as session:
        assert session.scalars(select(Coder)).all() == []
        with pytest.raises(ChorusError, match="NUL"):  # a lookup by such a name, as a request's path can ask
            session.scalar(select(Coder).where(Coder.name == "a\x00b"))


def test_the_migrations_build_exactly_the_tables_the_models_describe(study):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from chorus.study.models import Base

    with study.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrading_from_0001_keeps_every_attribution(study):
    from alembic import command

    from chorus.study.store import _alembic_config
    from tests.helpers import code_demo

    code_demo(study)
    rows = "SELECT coding_id, turn_id, code_id, participant_id, transcript_id FROM coding_turn ORDER BY 1, 2"
    with study.engine.connect() as connection:
        before = connection.execute(text(rows)).all()
    assert before
    with study.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0001")
    with study.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM coding_turn")).scalar() == len(before)
    study.migrate()
    with study.engine.connect() as connection:
        assert connection.execute(text(rows)).all() == before


def test_bulk_inserts_store_values_exactly_as_the_orm_does(study):
    from datetime import datetime, timezone

    from chorus.study.models import Code, Coding
    from chorus.study.store import bulk_insert
    from tests.helpers import load_demo

    load_demo(study, transcripts=["FG01"])
    moment = datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    with study.transaction() as session:
        code = Code(name="Funding")
        coder = Coder(name="ann")
        session.add_all([code, coder])
        session.flush()
        session.add(Coding(id=1, transcript_id=1, code_id=code.id, coder_id=coder.id, start=0, end=5, created_at=moment))
        session.flush()
        columns = ("id", "transcript_id", "code_id", "coder_id", "start", "end", "created_at")
        bulk_insert(session, Coding.__table__, columns, [(2, 1, code.id, coder.id, 10, 15, moment)])
    with study.engine.connect() as connection:
        stored = connection.execute(text("SELECT created_at FROM coding ORDER BY id")).scalars().all()
    assert len(stored) == 2 and stored[0] == stored[1]


def _hold_the_write_lock(path: Path, seconds: float, holding: threading.Event) -> None:
    """Another program writing the store: SQLite's write lock taken and kept for ``seconds``."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    holding.set()
    time.sleep(seconds)
    connection.execute("ROLLBACK")
    connection.close()


def test_a_change_waits_for_another_writer_longer_than_sqlites_five_seconds(tmp_path: Path):
    # under 50 coders coding flat out on a busy machine a write waited past SQLite's default 5 s and the page answered 500
    study = chorus.init(tmp_path / "s")
    holding = threading.Event()
    other = threading.Thread(target=_hold_the_write_lock, args=(tmp_path / "s" / "study.sqlite", 5.5, holding))
    other.start()
    holding.wait()
    with study.transaction() as session:
        session.add(Coder(name="ann"))
    other.join()
    with study.reading() as session:
        assert session.scalars(select(Coder.name)).all() == ["ann"]
    study.close()


def test_writers_in_one_process_queue_and_one_kept_waiting_too_long_is_told_why(tmp_path: Path, monkeypatch):
    study = chorus.init(tmp_path / "s")
    monkeypatch.setattr(store, "WRITE_WAIT", 0.5)
    inside, leave = threading.Event(), threading.Event()

    def long_change() -> None:
        with study.transaction() as session:
            session.add(Coder(name="ann"))
            session.flush()
            inside.set()
            leave.wait()

    first = threading.Thread(target=long_change)
    first.start()
    inside.wait()
    with pytest.raises(StudyError, match=r"another change has held the study for over 0.5 s; try again"):
        with study.transaction() as session:
            session.add(Coder(name="ben"))
    leave.set()
    first.join()
    with study.transaction() as session:  # the queue is free again
        session.add(Coder(name="cy"))
    with study.reading() as session:
        assert sorted(session.scalars(select(Coder.name))) == ["ann", "cy"]
    study.close()


def test_a_lookup_never_writes_and_on_postgresql_runs_outside_a_transaction(study):
    """The session and role check of every web request reads one row: on PostgreSQL without a BEGIN and a ROLLBACK
    (two round trips of the dozen a coding request makes). Nothing would roll a change back there, so none is let in."""
    with study.looking_up() as session:
        session.add(Coder(name="lee"))
        with pytest.raises(StudyError, match="looking up"):
            session.flush()
    with study.reading() as session:
        assert session.scalar(select(Coder.id).where(Coder.name == "lee")) is None
    if study.dialect == "postgresql":  # each statement its own transaction, whose start now() gives
        for sessions, apart in [(study.looking_up, True), (study.reading, False)]:
            with sessions() as session:
                first = session.scalar(text("SELECT now()"))
                time.sleep(0.01)
                assert (session.scalar(text("SELECT now()")) > first) is apart
