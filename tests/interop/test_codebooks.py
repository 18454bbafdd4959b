"""Codebook previews: what an import would change, read from the import itself rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus.coding import codes, versions
from chorus.errors import InputError
from chorus.interop import codebook_changes, export_qdc, import_codebook_file
from tests.helpers import load_demo
from tests.study.test_audit import table_rows


@pytest.fixture
def coded(study):
    load_demo(study, transcripts=["FG01"])
    return study


def test_a_preview_stores_nothing_and_says_what_the_import_then_does(coded, tmp_path: Path):
    table = tmp_path / "codebook.csv"
    table.write_text("code,parent,definition\nHope,,Looking forward\nFunding,Challenges,Money talk\nBenefits/Trust,,\n", encoding="utf-8")
    stored = table_rows(coded)
    preview = codebook_changes(coded, table)
    assert table_rows(coded) == stored, "a preview leaves every table as it was, the audit trail included"
    assert sorted(preview["change"]) == ["added", "added", "redefined"]
    assert set(preview.loc[preview["change"] == "added", "code"]) == {"Hope", "Benefits/Trust"}
    redefined = preview[preview["change"] == "redefined"].iloc[0]
    assert (redefined["code"], redefined["field"], redefined["after"]) == ("Challenges/Funding", "definition", "Money talk")
    assert redefined["before"], "the demo's definition is what the import would overwrite"

    with coded.reading() as session:
        before = versions.entries(session)
    import_codebook_file(coded, table)
    with coded.reading() as session:
        after = versions.entries(session)
    assert versions.changes(before, after).equals(preview)


def test_a_qdc_preview_and_a_broken_one(coded, tmp_path: Path):
    exported = tmp_path / "book.qdc"
    export_qdc(coded, exported)
    assert codebook_changes(coded, exported).empty, "the study's own codebook changes nothing"
    broken = tmp_path / "broken.qdc"
    broken.write_text("this is not XML", encoding="utf-8")
    count = len(codes.codebook(coded))
    with pytest.raises(InputError, match="broken.qdc"):
        codebook_changes(coded, broken)
    assert len(codes.codebook(coded)) == count
