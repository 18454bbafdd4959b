"""Edge states, swept: every command that reads and every page, on studies in the states a real study passes through.

A study is empty, or holds only a codebook, transcripts without turns, speakers the roster does not know,
codings without disciplines, one group, a guide with no facilitator, two coders and no consensus. On each,
every reading command of the ``chorus`` app (walked, so a command added later is swept too) ends with exit 0,
or with exit 2 and one line; every page and JSON route (walked from the route table) answers the owner 200 or
a 4xx with a message, never a 500 and never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import chorus
from chorus.cli import app
from chorus.coding import apply_code
from chorus.errors import ChorusError
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from chorus.ingest.guide import import_guide
from chorus.interop import import_qdpx
from chorus.study.models import Group, Transcript
from tests.helpers import DEMO

#: The reading commands and the arguments they are run with ({tmp}: a scratch folder). Each runs on every state.
READS: dict[str, list[str]] = {
    "status": [], "approach": [], "segments": [], "query": ["Funding OR Collaboration"], "matrix": [], "matrix --count share": [],
    "talk": [], "dynamics": [], "cooccurrence": [], "themes": [], "themes --units": [], "saturation": [], "saturation --by discipline": [],
    "agreement": ["--coders", "ann,ben"], "log": [], "log --verify": [], "export": ["{tmp}/study.qdpx"],
    "report": ["--out", "{tmp}/findings.html", "--docx", "{tmp}/findings.docx"], "roster list": [], "transcripts list": [],
    "transcripts show": ["FG01"], "transcripts export": ["FG01", "--out", "{tmp}/FG01.txt"], "codebook sets": [], "codebook export": ["{tmp}/c.qdc"],
    "codebook list": [], "codebook versions": [], "codebook diff": ["1", "2"], "memo list": [], "guide show": [], "guide show --codes": [],
    "guide answers": ["Q1"], "suggest queue": [], "stances matrix": ["--group", "FG01"], "stances summary": [], "users list": [],
}
#: Commands not swept, with why: they change the study, run a model for minutes, or serve.
NOT_SWEPT = {
    "init", "backup", "restore", "transcribe", "autocode", "code", "uncode", "accept", "reject", "consensus", "serve", "import",
    "roster import", "roster edit", "groups edit", "groups import", "transcripts import", "transcripts remove", "codebook import",
    "codebook add", "codebook describe", "codebook rename", "codebook move", "codebook merge", "codebook delete", "codebook snapshot",
    "codings import", "memo add", "guide import", "guide align", "guide move", "suggest llm", "suggest adopt", "stances propose",
    "deid apply", "deid restore", "suggest dismiss", "users add", "users role", "users deactivate", "users activate", "users unlock", "users reset-password",
    # models that take seconds to minutes on every state; their empty-study answers are tested where they live
    "audio evaluate", "suggest codes", "suggest codings", "suggest evaluate", "suggest summaries", "deid find", "deid evaluate", "search",
}


def commands() -> list[str]:
    """Every leaf command of the ``chorus`` app, as its words."""
    import typer.main

    def walk(command, words: tuple[str, ...]) -> list[str]:  # noqa: ANN001 - click's Command, as Typer vendors it
        if hasattr(command, "commands"):
            return [found for name, sub in command.commands.items() for found in walk(sub, (*words, name))]
        return [" ".join(words)]

    return walk(typer.main.get_command(app), ())


def _roster_and_groups(study) -> None:
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")


def empty(study, folder: Path) -> None:
    """A fresh ``chorus init``."""


def codebook_only(study, folder: Path) -> None:
    import_codebook(study, DEMO / "codebook.csv")


def transcripts_without_turns(study, folder: Path) -> None:
    """A transcript stored with no turns, as a peer's project whose source held no text leaves one."""
    _roster_and_groups(study)
    import_codebook(study, DEMO / "codebook.csv")
    with study.transaction() as session:
        group = session.scalar(select(Group).where(Group.name == "FG01"))
        session.add(Transcript(name="FG01", group_id=group.id, text="", sha256="0" * 64))


def unknown_speakers(study, folder: Path) -> None:
    """A peer's project whose transcript names speakers none of its cases are: they come in without a place on the roster."""
    from tests.interop import tiny

    text = tiny.TEXT.replace("Dr Ames", "Dr Cole").replace("Nurse Bell", "Nurse Dean")
    import_qdpx(study, tiny.write(folder, members={f"sources/{tiny.g('fg01')}.txt": text.encode("utf-8")}), variables={"Profession": "discipline"})


def codings_without_disciplines(study, folder: Path) -> None:
    """A peer's project whose cases say no discipline: two coders' codings, and nobody's discipline."""
    from tests.interop import tiny

    import_qdpx(study, tiny.write(folder), variables={"Profession": ""})


def one_group(study, folder: Path) -> None:
    _roster_and_groups(study)
    import_codebook(study, DEMO / "codebook.csv")
    import_transcripts(study, [DEMO / "transcripts" / "FG03.txt"])
    apply_code(study, "FG03", "Funding", "ann", turn=3)


def guide_without_facilitator(study, folder: Path) -> None:
    codings_without_disciplines(study, folder)
    (folder / "guide.csv").write_text("id,question\nQ1,What does palliative care mean to you?\nQ2,Who pays?\n", encoding="utf-8")
    import_guide(study, folder / "guide.csv")


def two_coders_no_consensus(study, folder: Path) -> None:
    _roster_and_groups(study)
    import_codebook(study, DEMO / "codebook.csv")
    import_transcripts(study, [DEMO / "transcripts" / "FG03.txt"])
    for turn, coder in ((3, "ann"), (3, "ben"), (5, "ben")):
        apply_code(study, "FG03", "Funding", coder, turn=turn)


STATES: list[Callable] = [empty, codebook_only, transcripts_without_turns, unknown_speakers, codings_without_disciplines, one_group,
                          guide_without_facilitator, two_coders_no_consensus]


def test_every_command_is_swept_or_said_why_not():
    swept = {words.split(" --")[0] for words in READS}
    unclassified = {c for c in commands() if c not in NOT_SWEPT and c not in swept}
    assert unclassified == set(), "a new command: add it to READS (with arguments) or to NOT_SWEPT (with why)"


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.__name__)
def test_every_reading_command_ends_with_exit_0_or_exit_2_and_one_line(state, tmp_path: Path):
    study = chorus.init(tmp_path / "study")
    state(study, tmp_path)
    runner = CliRunner()
    failures = []
    for words, arguments in READS.items():
        argv = ["--study", str(study.folder), *words.split(" "), *(a.replace("{tmp}", str(tmp_path)) for a in arguments)]
        result = runner.invoke(app, argv, catch_exceptions=True)
        if result.exception is None or isinstance(result.exception, SystemExit) and result.exit_code == 0:
            if result.exit_code != 0:
                failures.append(f"{words}: exit {result.exit_code}: {result.output[-300:]}")
            continue
        if isinstance(result.exception, ChorusError):  # chorus.cli.main prints it as one line and exits 2
            message = result.exception.for_command_line()
            if "\n" in message.strip() or "Traceback" in message:
                failures.append(f"{words}: not one line: {message!r}")
            continue
        failures.append(f"{words}: {type(result.exception).__name__}: {result.exception}")
    assert failures == [], f"{state.__name__}:\n" + "\n".join(failures)


#: GET routes that answer with a stream that stays open (server-sent events): read to its end, the sweep would never end.
#: tests/web/test_live.py reads the change stream itself, over a served app, on both stores.
STREAMS = {"/api/live"}


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.__name__)
def test_every_page_answers_the_owner_without_a_server_error(state, tmp_path: Path):
    from fastapi.testclient import TestClient

    from chorus.web import users
    from chorus.web.app import ROUTE_ROLES, create_app
    from tests.web.conftest import PASSWORD

    study = chorus.init(tmp_path / "study")
    state(study, tmp_path)
    users.add_user(study, "olive", PASSWORD, "owner")
    client = TestClient(create_app(study), follow_redirects=False, raise_server_exceptions=False)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/login", data={"name": "olive", "password": PASSWORD, "csrf": csrf}).status_code == 303
    filled = {"{name}": "FG01", "{coding_id}": "1", "{path:path}": "Funding", "{ordinal}": "1", "{job_id}": "1", "{key}": "Q1",
              "{fmt}": "csv", "{suggestion}": "1", "{decision}": "accept", "{group}": "FG01", "{candidate}": "1"}
    failures = []
    for path, method in sorted(ROUTE_ROLES):
        if method != "GET" or path in STREAMS:
            continue
        url = path
        for placeholder, value in filled.items():
            url = url.replace(placeholder, value)
        answer = client.get(url)
        if answer.status_code >= 500 or "Traceback" in answer.text:
            failures.append(f"GET {url}: {answer.status_code} {answer.text[:200]!r}")
        elif answer.status_code >= 400 and not answer.text.strip():
            failures.append(f"GET {url}: {answer.status_code} with no message")
    assert failures == [], f"{state.__name__}:\n" + "\n".join(failures)
