"""Fixtures: a study on SQLite and on a real PostgreSQL, the demo files, store snapshots.

PostgreSQL tests use the server named by CHORUS_TEST_POSTGRES (``.ci/run`` starts
one), a database of their own each (see ``tests/stores.py``). Without it they skip,
naming what to install; under CI=true they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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


@contextmanager
def made_study(backend: str, folder: Path) -> Iterator[Study]:
    """An empty study in ``folder`` on ``backend`` (a new PostgreSQL database), closed and its database dropped after."""
    url = postgres_url() if backend == "postgresql" else None
    try:
        study = stores.fresh_study(folder, postgres=url)
    except ProgrammingError as refused:
        require("a PostgreSQL role that may create databases", f"ALTER ROLE ... CREATEDB ({str(refused).splitlines()[0]})")
    try:
        yield study
    finally:
        study.close()
        if url:
            stores.drop_database(url, make_url(study.url).database)


@pytest.fixture
def make_study(backend: str, tmp_path: Path) -> Iterator:
    """Make empty studies on the current backend (a new PostgreSQL database each)."""
    with ExitStack() as made:
        yield lambda name="study": made.enter_context(made_study(backend, tmp_path / name))


@pytest.fixture
def study(make_study) -> Study:
    """An empty study on the current backend."""
    return make_study()


@pytest.fixture
def demo(study: Study) -> Study:
    """The demo study without codings, on the current backend."""
    return load_demo(study)
