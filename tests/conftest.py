"""Fixtures: a study on SQLite and on a real PostgreSQL, the demo files, store snapshots.

PostgreSQL tests use the server named by CHORUS_TEST_POSTGRES (``.ci/run`` starts
one). Without it they skip, naming what to install; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import chorus
from chorus.study.store import Study
from tests.helpers import load_demo, require

PG_ENV = "CHORUS_TEST_POSTGRES"


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        require("PostgreSQL", f"apt-get install postgresql, then set {PG_ENV}=postgresql://user:pass@127.0.0.1/db")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_study(backend: str, tmp_path: Path) -> Iterator:
    """Make empty studies on the current backend (a fresh PostgreSQL schema each)."""
    made: list[tuple[Study, str | None]] = []

    def make(name: str = "study") -> Study:
        if backend == "sqlite":
            study = chorus.init(tmp_path / name)
            made.append((study, None))
            return study
        url = postgres_url()
        schema = "t_" + uuid.uuid4().hex[:12]
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        separator = "&" if "?" in url else "?"
        study = chorus.init(tmp_path / name, db=f"{url}{separator}options=-csearch_path%3D{schema}")
        made.append((study, schema))
        return study

    yield make
    for study, schema in made:
        study.close()
        if schema:
            admin = create_engine(postgres_url().replace("postgresql://", "postgresql+psycopg://", 1))
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


@pytest.fixture
def study(make_study) -> Study:
    """An empty study on the current backend."""
    return make_study()


@pytest.fixture
def demo(study: Study) -> Study:
    """The demo study without codings, on the current backend."""
    return load_demo(study)
