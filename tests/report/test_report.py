"""The findings report: self-contained, complete, and faithful to the store; rendered in Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from chorus.analysis import themes
from chorus.report import build
from tests.conftest import made_study
from tests.helpers import chromium, code_demo


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The coded demo and its report, once per store for the module (8 s each): the tests only read them."""
    folder = tmp_path_factory.mktemp("report")
    with made_study(request.param, folder / "study") as study:
        coded = code_demo(study)
        yield coded, build(coded, folder / "out" / "findings.html")


def test_report_is_one_file_with_no_outside_resources(written):
    _, report = written
    html = report.html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    groups = report.tables["group_dynamics"]["group"].tolist()
    assert groups and html.count("<svg") == 3 + len(groups)  # talk share, the theme heatmap, the saturation curve, who followed whom per group


def test_report_states_each_theme_with_its_disciplines_and_quotes(written):
    coded, report = written
    html = report.html.read_text()
    for theme in themes(coded).itertuples():
        assert theme.label in html
        for quote in theme.quotes:
            assert quote["speaker"] in html
    assert "37</b>participants" in html


def test_every_table_is_written_as_csv_and_xlsx(written):
    _, report = written
    sheets = pd.read_excel(report.workbook, sheet_name=None)
    assert set(sheets) == set(report.tables)
    for name, frame in report.tables.items():
        assert len(pd.read_csv(report.tables_dir / f"{name}.csv")) == len(frame)
    matrix = pd.read_csv(report.tables_dir / "matrix_participants.csv")
    assert matrix.columns[0] == "code"
    for rigour in ("methods", "saturation", "agreement", "audit_summary", "codebook_versions", "deidentification", "suggestions"):
        assert rigour in report.tables
    candidates = report.tables["candidate_codes"]
    assert len(candidates) >= 5 and candidates["size"].sum() > 0  # the demo leaves text no pattern coded


def test_report_renders_in_chromium(written, tmp_path: Path):
    _, report = written
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000", f"--screenshot={shot}",
         report.html.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    assert shot.stat().st_size > 50_000  # a page with tables and charts, not a blank one
