"""Helpers shared by the tests: outside requirements, the demo study, store snapshots."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import event, inspect, text

from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from chorus.study.store import Study
from tests.stores import built

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "pc-study"
#: The demo's second pass by hand (examples/demo.sh imports it too): what its patterns cannot see.
DEMO_BY_HAND = DEMO / "coded-by-hand.csv"


def require(what: str, install: str) -> None:
    """Skip (or, under CI, fail) a test whose outside requirement is missing; at a module's top, the module's tests."""
    message = f"needs {what}: {install}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


def imported(module: str, install: str) -> ModuleType:
    """``module``, imported; when it is not installed, its tests skip naming ``install`` (under CI they fail, as nothing may skip there)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        require(module, install)
        raise


def load_demo(study: Study, transcripts: list[str] | None = None) -> Study:
    """The demo roster, groups, codebook and (some of) its transcripts."""
    return built(study, _load_demo, tuple(transcripts) if transcripts is not None else None)


def _load_demo(study: Study, transcripts: tuple[str, ...] | None) -> None:
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    import_codebook(study, DEMO / "codebook.csv")
    files = sorted((DEMO / "transcripts").iterdir())
    if transcripts is not None:
        files = [f for f in files if f.stem in transcripts]
    import_transcripts(study, files)


def snapshot(study: Study) -> object:
    """What the store holds: the SQLite file's bytes (as a hash), or every PostgreSQL row."""
    study.close()
    if study.dialect == "sqlite":
        path = Path(study.url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        return hashlib.sha256(data).hexdigest()
    rows = {}
    with study.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            rows[table] = sorted(map(repr, result.all()))
    study.close()
    return rows


@contextmanager
def unchanged(study: Study) -> Iterator[None]:
    """Around an operation that must fail: the store must be exactly as before."""
    before = snapshot(study)
    yield
    assert snapshot(study) == before, "a failed operation changed the store"


@contextmanager
def statements(study: Study) -> Iterator[list[str]]:
    """The SQL statements sent to the study's store while the block runs, in order: a request's round trips."""
    sent: list[str] = []

    def listener(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    event.listen(study.engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(study.engine, "before_cursor_execute", listener)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        require("Chromium", "apt-get install chromium")
    return path



def shooter(page, folder: Path) -> Callable[[str], None]:
    """A function that keeps a full-page screenshot of a Playwright ``page``, numbered in the order taken, in ``folder``."""
    count = [0]

    def shot(name: str) -> None:
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}-{name}.png"), full_page=True)

    return shot


def demo_rules() -> list[tuple[str, str]]:
    """The demo's autocoding rules (code, pattern), read from examples/demo.sh, their one home."""
    import re

    script = (ROOT / "examples" / "demo.sh").read_text()
    return re.findall(r"^code \"([^\"]+)\" '([^']+)'$", script, flags=re.MULTILINE)


def load_second_study(study: Study) -> Study:
    """The second labelled study (home monitoring after heart failure), coded by meaning, as examples/hf-study ships it."""
    from chorus.coding import import_codings

    folder = DEMO.parent / "hf-study"
    import_roster(study, folder / "roster.csv")
    import_groups(study, folder / "groups.csv")
    import_codebook(study, folder / "codebook.csv")
    import_transcripts(study, sorted((folder / "transcripts").iterdir()))
    import_codings(study, folder / "codings.csv")
    return study


def code_demo(study: Study) -> Study:
    """The demo study coded as ``make demo`` codes it: by pattern, then by hand what the patterns cannot see."""
    return built(study, _code_demo)


def _code_demo(study: Study) -> None:
    from chorus.coding import autocode, import_codings

    load_demo(study)
    for code, pattern in demo_rules():
        autocode(study, code, "autocoder", pattern=pattern, scope="sentence")
    import_codings(study, DEMO_BY_HAND)


def long_transcript(study: Study, folder: Path, name: str, turns: int, group: str = "FG01") -> str:
    """Import a transcript ``name`` of ``turns`` turns into ``group``, its roster members taking turns; returns the name.

    The size of a 90-minute focus group (600-900 turns) for tests that a cost does not grow with length;
    the facilitator says nothing, so every turn counts in analysis.
    """
    from sqlalchemy import select

    from chorus.study.models import Group, Membership, Participant

    with study.reading() as session:
        people = session.scalars(
            select(Participant.pseudonym).join(Membership).join(Group)
            .where(Group.name == group, Participant.role == "participant").order_by(Participant.pseudonym)
        ).all()
    lines = [f"{people[i % len(people)]}: Turn {i + 1} on funding, roles and early referral. It goes on a while." for i in range(turns)]
    path = folder / f"{name}.txt"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    import_transcripts(study, [path], group=group)
    return name
