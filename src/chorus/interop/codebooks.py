"""Codebooks from any source, and what importing one would change before it is stored.

A codebook arrives as a table (CSV or XLSX, :func:`chorus.ingest.import_codebook`)
or as a REFI-QDA codebook from MAXQDA, NVivo or ATLAS.ti (QDC,
:func:`chorus.interop.import_qdc`). :func:`codebook_changes` runs the same import
and rolls it back, so the preview a researcher confirms is what the import stores.

>>> codebook_changes(study, "codebook.qdc")          # doctest: +SKIP
    change        code                field  before  after
0   added         Challenges/Funding
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chorus.coding import versions
from chorus.ingest import import_codebook
from chorus.interop.load import import_qdc
from chorus.study.store import Study, rehearsal

#: The files a codebook is read from.
CODEBOOK_FILES = (".csv", ".xlsx", ".qdc")


def import_codebook_file(study: Study, path: str | Path, rename: dict[str, str] | None = None) -> object:
    """Import a codebook table or QDC file, whichever ``path`` is; returns the importer's own summary."""
    path = Path(path)
    if path.suffix.lower() == ".qdc":
        return import_qdc(study, path)
    return import_codebook(study, path, rename)


def codebook_changes(study: Study, path: str | Path, rename: dict[str, str] | None = None, definitions: bool = False) -> pd.DataFrame:
    """What importing ``path`` would do to the codebook (``change, code, field, before, after``), storing nothing.

    Changes are named as :func:`chorus.coding.versions.diff` names them; a
    ``redefined`` row whose ``before`` is not empty overwrites what the study's
    codebook says (a clash to look at). A file that cannot be imported raises
    the error the import would. With ``definitions``, a ``definition`` column
    holds each code's definition after the import (what a preview shows beside a new code).
    """
    with study.reading() as session:
        before = versions.entries(session)
    with rehearsal(versions.entries) as seen:
        import_codebook_file(study, path, rename)
    found = versions.changes(before, seen[-1])
    if definitions:
        found["definition"] = found["code"].map({c["path"]: c.get("definition") or "" for c in seen[-1]}).fillna("")
    return found
