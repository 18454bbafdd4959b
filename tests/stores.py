"""The tests' stores, made once and copied: a study as a build leaves it is built once per test session and backend.

Making the demo study coded takes 2 s on SQLite and 4 s on PostgreSQL, and several
hundred tests start from it. The first test to ask for a build makes it for real and
keeps the result as a template (the study folder; on PostgreSQL also a template
database); later tests get a copy of it (a file copy; ``CREATE DATABASE ... TEMPLATE``,
50 ms). A copy is what the build would have left, row for row: only the times and
random identifiers of the first build recur. On PostgreSQL each test's study has a
database of its own, so the role in ``CHORUS_TEST_POSTGRES`` must be allowed to create
databases (``ALTER ROLE chorus CREATEDB``; ``.ci/services.sh`` does it).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

import chorus
from chorus.study.models import AuditEntry
from chorus.study.store import CONFIG_FILE, Study, _normalise_url

PG_ENV = "CHORUS_TEST_POSTGRES"
#: What a build was kept as: the kept study folder, and on PostgreSQL the template database.
_KEPT: dict[tuple[Hashable, ...], tuple[Path, str | None]] = {}
_FOLDER: list[Path] = []
_TEMPLATES: list[str] = []
#: Databases made here are named with this prefix, so that a store from elsewhere is never dropped or copied over.
PREFIX = "chorus_t_"


def _kept_folder() -> Path:
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="chorus-kept-")))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return _FOLDER[0]


def admin(url: str) -> Engine:
    """An engine on the server's test database that runs each statement on its own (CREATE DATABASE needs that)."""
    return create_engine(_normalise_url(url), isolation_level="AUTOCOMMIT")


def _database_url(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def new_database(url: str, template: str | None = None, name: str | None = None) -> str:
    """A new database ``name`` (by default a new name) on the server of ``url``, a copy of ``template`` if given; its URL."""
    name = name or PREFIX + uuid.uuid4().hex[:16]
    engine = admin(url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return _database_url(url, name)


def drop_database(url: str, database: str) -> None:
    """Drop one of the databases made here, whoever is still connected to it.

    A plain DROP first: it stops an autovacuum worker in the database itself. FORCE
    when a connection a test left open holds the database; FORCE fails while an
    autovacuum worker is there too (only a superuser may end one), so then again
    in a moment, when the worker has gone.
    """
    assert database.startswith(PREFIX), database
    engine = admin(url)
    try:
        for _ in range(40):
            with engine.connect() as connection:
                try:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
                    return
                except OperationalError:  # "being accessed by other users"
                    try:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                        return
                    except ProgrammingError:  # "must be a member of the role whose process is being terminated": autovacuum
                        time.sleep(0.25)
        raise RuntimeError(f"{database} is still in use after 10 s")
    finally:
        engine.dispose()


def _drop_templates(url: str) -> None:
    for name in _TEMPLATES:
        drop_database(url, name)


def _own_database(study: Study) -> str | None:
    """The name of ``study``'s database if it is one made here, else None (SQLite, or a store from elsewhere)."""
    if study.dialect != "postgresql":
        return None
    name = make_url(study.url).database or ""
    return name if name.startswith(PREFIX) else None


def _keep(study: Study, key: tuple[Hashable, ...]) -> None:
    """Keep ``study`` as it is now as the template for ``key``."""
    study.close()
    folder = _kept_folder() / uuid.uuid4().hex
    shutil.copytree(study.folder, folder, ignore=shutil.ignore_patterns(CONFIG_FILE, "*-shm"))
    template = None
    if study.dialect == "postgresql":
        template = make_url(new_database(os.environ[PG_ENV], _own_database(study))).database
        if not _TEMPLATES:
            atexit.register(_drop_templates, os.environ[PG_ENV])
        _TEMPLATES.append(template)
    _KEPT[key] = (folder, template)


def _put(folder: Path, study_folder: Path) -> None:
    """The kept folder's files into a study folder (its store, on SQLite, and whatever else the build wrote)."""
    for stale in ("study.sqlite-wal", "study.sqlite-shm"):
        (study_folder / stale).unlink(missing_ok=True)
    shutil.copytree(folder, study_folder, dirs_exist_ok=True)


def fresh_study(folder: Path, postgres: str | None = None) -> Study:
    """``chorus.init(folder)``, on SQLite or on a new database of the server at ``postgres``, copied once made."""
    key = ("init", "postgresql" if postgres else "sqlite", folder.name)
    if key in _KEPT:
        kept, template = _KEPT[key]
        folder.mkdir(parents=True)
        _put(kept, folder)
        config = {"name": folder.resolve().name, "db": new_database(postgres, template) if postgres else "study.sqlite"}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return chorus.open(folder)
    study = chorus.init(folder, db=new_database(postgres) if postgres else None)
    _keep(study, key)
    return study


def built(study: Study, build: Callable[..., Any], *args: Hashable) -> Study:
    """``build(study, *args)``: made for real the first time, a copy of that after (see the module's docstring).

    Only a study just made (nothing in its audit trail but its creation) gets a copy;
    a test that changed its study first gets the real build.
    """
    with study.reading() as session:
        fresh = session.scalar(select(func.count(AuditEntry.id))) == 1
    if not fresh or (study.dialect == "postgresql" and _own_database(study) is None):
        build(study, *args)
        return study
    key = (build.__module__, build.__qualname__, args, study.dialect, study.name)
    if key not in _KEPT:
        build(study, *args)
        _keep(study, key)
        return study
    folder, template = _KEPT[key]
    study.close()
    _put(folder, study.folder)
    if template:
        database = _own_database(study)
        drop_database(os.environ[PG_ENV], database)
        new_database(os.environ[PG_ENV], template, name=database)
    return study
