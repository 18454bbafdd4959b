"""The study store: creating, opening, migrations, WAL mode, transactions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

import chorus
from chorus.errors import StudyError
from chorus.study.models import Coder, StudyInfo
from chorus.study.store import _head_revision


def test_init_creates_a_study_at_the_latest_revision(study):
    assert study.revision() == _head_revision()
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
