"""Fixtures: a study on SQLite and on a real PostgreSQL, the demo files, store snapshots.

PostgreSQL tests use the server named by CHORUS_TEST_POSTGRES (``.ci/run`` starts
one), a database of their own each (see ``tests/stores.py``). Without it they skip,
naming what to install; under CI=true they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, ProgrammingError

from chorus.study.store import Study
from tests import stores
from tests.helpers import load_demo, require

PG_ENV = stores.PG_ENV


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        require("PostgreSQL", f"apt-get install postgresql, then set {PG_ENV}=postgresql://user:pass@127.0.0.1/db")
    try:
        make_url(url)
    except ArgumentError:
        pytest.fail(f"{PG_ENV} is not a database URL, such as postgresql://user:pass@127.0.0.1/db: {url!r}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_study(backend: str, tmp_path: Path) -> Iterator:
    """Make empty studies on the current backend (a new PostgreSQL database each)."""
    made: list[Study] = []

    def make(name: str = "study") -> Study:
        url = postgres_url() if backend == "postgresql" else None
        try:
            study = stores.fresh_study(tmp_path / name, postgres=url)
        except ProgrammingError as refused:
            require("a PostgreSQL role that may create databases", f"ALTER ROLE ... CREATEDB ({str(refused).splitlines()[0]})")
        made.append(study)
        return study

    yield make
    for study in made:
        study.close()
        if study.dialect == "postgresql":
            stores.drop_database(postgres_url(), make_url(study.url).database)


@pytest.fixture
def study(make_study) -> Study:
    """An empty study on the current backend."""
    return make_study()


@pytest.fixture
def demo(study: Study) -> Study:
    """The demo study without codings, on the current backend."""
    return load_demo(study)
