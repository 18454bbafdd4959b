"""Reading researchers' files: text in whatever encoding it came in, tables from CSV or XLSX.

Both return what they read together with where each piece came from, so a later
error can name the file and the line or row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import charset_normalizer

from chorus.errors import InputError

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Text and the encoding it was read with: the one given, a BOM's, UTF-8, or a detected one.

    A file that is not text at all (binary, or no encoding fits) is refused with
    its name, rather than read as mojibake; so is text holding a NUL character,
    which no store keeps (UTF-16 without its byte-order mark reads as UTF-8 with a NUL after every letter).
    """
    text, used = _decoded(data, path, encoding)
    if "\x00" in text:
        raise InputError("holds a NUL character, which is not text: a binary file, or UTF-16 without its byte-order mark "
                         "(save it as UTF-8)", path=path, place=f"line {text.count(chr(10), 0, text.index(chr(0))) + 1}")
    return text, used


def _decoded(data: bytes, path: str | Path, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", path=path) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid {encoding} (byte {exc.start}); try another --encoding",
                path=path,
                place=f"line {_line_of(data, exc.start)}",
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"starts with a {name} byte-order mark but is not valid {name}",
                    path=path,
                    place=f"byte {exc.start}",
                ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise InputError("this is a binary file, not text", path=path)
    candidates = charset_normalizer.from_bytes(data)
    if not candidates:
        raise InputError("cannot tell this file's text encoding; save it as UTF-8 and try again", path=path)
    # Short texts fit several legacy code pages; Word on Western systems writes cp1252.
    western = [c for c in candidates if c.encoding == "cp1252"]
    chosen = western[0] if western else candidates.best()
    return str(chosen), chosen.encoding


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """The text of a file and the encoding used, with line endings made ``\\n``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=path) from None
    text, used = decode(data, path, encoding)
    return text.replace("\r\n", "\n").replace("\r", "\n"), used


@dataclass(frozen=True)
class Row:
    """One row of a table: its values by column name and where it stands in the file."""

    values: dict[str, Any]
    place: str


def _normalise_header(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_") if name is not None else ""


def read_table(
    path: str | Path, rename: dict[str, str] | None = None, encoding: str | None = None
) -> list[Row]:
    """Rows of a CSV or XLSX table, keyed by normalised header (``Care team`` -> ``care_team``).

    ``rename`` maps the file's column names to the ones Chorus expects
    (``{"Participant ID": "id"}``). Empty cells are left out of a row's values.
    A row with a filled cell past the header's last column is refused with its
    line or row: in a CSV that is nearly always a comma inside a cell that was
    not quoted, which would otherwise push the rest of the row into the wrong columns.
    """
    path = Path(path)
    rename = {_normalise_header(k): _normalise_header(v) for k, v in (rename or {}).items()}
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw, place = _xlsx_rows(path), "row"
    elif suffix in (".csv", ".tsv", ".txt"):
        raw, place = _csv_rows(path, encoding), "line"
    else:
        raise InputError("expected a .csv or .xlsx table", path=path)
    if not raw:
        raise InputError("the table is empty", path=path)
    header = [rename.get(h, h) for h in (_normalise_header(c) for c in raw[0])]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError(f"column {name!r} appears twice", path=path, place=f"{place} 1")
        seen.add(name)
    rows = []
    for number, cells in enumerate(raw[1:], start=2):
        extra = [c for c in cells[len(header):] if c not in (None, "") and not (isinstance(c, str) and not c.strip())]
        if extra:
            quote = " (a comma inside a cell? put that cell in double quotes)" if place == "line" else ""
            raise InputError(f"a filled cell past the header's {len(header)} columns ({str(extra[0])[:60]!r}){quote}",
                             path=path, place=f"{place} {number}")
        values = {}
        for name, cell in zip(header, cells):
            if isinstance(cell, str):
                cell = cell.strip()
            if name and cell not in (None, ""):
                values[name] = cell
        if values:
            rows.append(Row(values, f"{place} {number}"))
    return rows


def _csv_rows(path: Path, encoding: str | None) -> list[list[str]]:
    text, _ = read_text(path, encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise InputError(f"not a readable CSV table ({exc})", path=path) from None


def _xlsx_rows(path: Path) -> list[list[Any]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"not a readable .xlsx workbook ({exc})", path=path) from None
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
