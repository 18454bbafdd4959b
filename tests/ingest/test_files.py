"""Reading researchers' files: encodings and tables."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from chorus.errors import InputError
from chorus.ingest.files import read_table, read_text

TEXT = "Zoë: Café staff said the naïve plan wouldn't work — “really”.\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_text_is_read_in_the_encoding_it_came_in(tmp_path: Path, encoding: str):
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT.encode(encoding))
    text, _ = read_text(path)
    assert text == TEXT


def test_windows_line_endings_become_newlines(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"a: one\r\nb: two\r\n")
    assert read_text(path)[0] == "a: one\nb: two\n"


def test_a_binary_file_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "recording.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="recording.txt.*binary"):
        read_text(path)


def test_text_holding_a_nul_is_refused_at_its_line_and_utf16_without_a_bom_is_named(tmp_path: Path):
    path = tmp_path / "FG02.txt"
    path.write_bytes("Fatima: Comfort, first.\n\nGwen: And the\x00 whole family.\n".encode("utf-8"))  # valid UTF-8, yet not text
    with pytest.raises(InputError, match=r"FG02.txt, line 3: holds a NUL character"):
        read_text(path)
    path.write_bytes("Fatima: Comfort, first.\n".encode("utf-16-le"))  # no byte-order mark: UTF-8 with a NUL after every letter
    with pytest.raises(InputError, match=r"line 1: .*\(save it as UTF-8\)"):
        read_text(path)
    assert read_text(path, encoding="utf-16-le")[0] == "Fatima: Comfort, first.\n"


def test_a_wrong_explicit_encoding_names_the_line(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes("line one\nZoë\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"t.txt, line 2: not valid utf-8"):
        read_text(path, encoding="utf-8")


def test_tables_from_csv_and_xlsx_agree(tmp_path: Path):
    rows = [["ID", "Pseudonym", "Care team"], ["P1", "Okafor", "Leukemia"], ["P2", "Lind", None]]
    (tmp_path / "r.csv").write_text("\n".join(",".join(c or "" for c in r) for r in rows) + "\n")
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "r.xlsx")
    from_csv = read_table(tmp_path / "r.csv", rename={"Pseudonym": "name"})
    from_xlsx = read_table(tmp_path / "r.xlsx", rename={"Pseudonym": "name"})
    assert [r.values for r in from_csv] == [r.values for r in from_xlsx]
    assert from_csv[0].values == {"id": "P1", "name": "Okafor", "care_team": "Leukemia"}
    assert from_csv[1].place == "line 3" and from_xlsx[1].place == "row 3"


def test_a_broken_workbook_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="roster.xlsx: not a readable .xlsx"):
        read_table(path)
