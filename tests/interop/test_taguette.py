"""Taguette 1.5.2, the open-source web QDA tool, as a real client of Chorus's codebooks and Chorus of its.

Taguette runs from its own venv (``benchmarks/peers``) as its multi-user
server; the test goes through its pages as a person does: the codebook upload,
the confirmation form, the codebook downloads. What Taguette does not keep is
asserted here as a fact, not skipped:

- it imports codebooks as CSV only (its upload page refuses Chorus's QDC), by
  a ``path``/``tag``/``name`` column and a ``description`` column;
- it has no code hierarchy: a code's path (``Benefits/Early integration``)
  becomes one tag's name; no colours;
- its confirmation form shows each description in a one-line text field, so a
  browser submits the description without the line breaks that separate the
  criteria (``Inclusion: ...``) from the definition;
- its QDC export writes each tag's name only, no description; Chorus reads
  those names as flat codes (a ``/`` in a name kept as ``∕``, and reported),
  while its CSV export, read by path, gives the tree back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from benchmarks.peers import PeerMissing
from chorus.coding import codes
from chorus.ingest import import_codebook
from chorus.interop import export_qdc, import_qdc
from chorus.report import save_table
from chorus.study.models import Code
from tests.helpers import DEMO, require

PASSWORD = "taguette test password"


class _Form(HTMLParser):
    """The fields a browser submits from the page's last form: inputs with a name, checkboxes only when checked."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.fields = []
        attributes = dict(attrs)
        if tag != "input" or not attributes.get("name") or "disabled" in attributes:
            return
        kind = attributes.get("type", "text")
        if kind == "checkbox" and "checked" not in attributes:
            return
        value = attributes.get("value") or ("on" if kind == "checkbox" else "")
        if kind == "text":
            value = value.replace("\r", "").replace("\n", "")  # what a browser does to a one-line field's value
        self.fields.append((attributes["name"], value))


def _submitted(page: str) -> list[tuple[str, str]]:
    form = _Form()
    form.feed(page)
    return form.fields


async def _through_taguette(base: str, project: int, qdc: Path, table: Path) -> dict[str, object]:
    import httpx

    from benchmarks.peers.taguette_server import sign_in

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await sign_in(client, "admin", PASSWORD)
        page = f"/project/{project}/import_codebook"
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', (await client.get(page)).text).group(1)
        refused = await client.post(page, data={"_xsrf": xsrf}, files={"file": (qdc.name, qdc.read_bytes(), "application/xml")})
        preview = await client.post(page, data={"_xsrf": xsrf}, files={"file": (table.name, table.read_bytes(), "text/csv")})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        created = await client.post(page, content=urlencode(_submitted(preview.text)), headers=form)
        return {
            "refused": (refused.status_code, refused.text),
            "preview": preview.status_code,
            "created": created.status_code,
            "qdc": (await client.get(f"/project/{project}/export/codebook.qdc")).text,
            "csv": (await client.get(f"/project/{project}/export/codebook.csv")).text,
        }


def test_the_demo_codebook_goes_to_taguette_and_back(make_study, tmp_path: Path):
    from benchmarks.peers.taguette_server import taguette_served

    chorus_study = make_study("chorus")
    import_codebook(chorus_study, DEMO / "codebook.csv")
    book = codes.codebook(chorus_study)
    table = save_table(book, tmp_path / "codebook.csv")  # what `chorus codebook list --out codebook.csv` writes
    qdc = tmp_path / "codebook.qdc"
    export_qdc(chorus_study, qdc)
    try:
        with taguette_served(tmp_path, [], PASSWORD, {}, {}) as taguette:
            got = asyncio.run(_through_taguette(taguette.base, taguette.project, qdc, table))
    except PeerMissing as missing:
        require(str(missing), "for the Taguette codebook test")

    status, refusal = got["refused"]
    assert status == 400 and "CSV" in refusal  # Taguette 1.5.2 has no QDC import
    assert (got["preview"], got["created"]) in {(200, 302), (200, 303)}
    expected = {row.path: row.description.replace("\n", "") for row in book.itertuples()}
    assert any("\n" in d for d in book["description"])  # the demo's criteria are on lines of their own
    kept = {row["tag"]: row["description"] for row in csv.DictReader(io.StringIO(got["csv"]))}
    assert kept == expected  # every code, its path as the tag's name, its description on one line

    names = re.findall(r'<Code [^>]*name="([^"]+)"', got["qdc"])
    assert sorted(names) == sorted(expected)
    assert "<Description" not in got["qdc"]  # Taguette's QDC holds names only

    back = make_study("back")
    report = import_qdc(back, _written(tmp_path / "taguette.qdc", got["qdc"]))
    assert report.codes == len(expected)
    assert {s.split(":")[0] for s in report.skipped} == {f"code {name!r}" for name in expected if "/" in name}
    with back.reading() as session:
        assert sorted(session.scalars(select(Code.name))) == sorted(name.replace("/", "\u2215") for name in expected)

    described = make_study("described")
    summary = import_codebook(described, _written(tmp_path / "taguette.csv", got["csv"]), {"tag": "code"})
    assert summary.added == len(expected)
    again = codes.codebook(described)
    assert dict(zip(again["path"], again["description"])) == expected  # the tree comes back from the tags' paths


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_study(tmp_path: Path):
    """Studies on SQLite, one folder each: the codebook exchange does not depend on the store."""
    import chorus

    return lambda name: chorus.init(tmp_path / name)
