"""Uploaded files: kept under their base name only, named as the user called them in every error, within limits.

A study's recordings may be as large as its owner allows (:func:`set_recording_limit`;
4 GiB unless raised or lowered, up to :data:`MOST_RECORDING_MIB`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException, UploadFile

from chorus.errors import ChorusError
from chorus.study.models import StudyInfo
from chorus.study.store import Study

#: A recording upload's limit unless the study's owner sets another (MiB), and the most it may be.
DEFAULT_RECORDING_MIB, MOST_RECORDING_MIB = 4096, 65536


def base_name(upload: UploadFile) -> str:
    """The uploaded file's own name, never a path (a browser on Windows may send ``C:\\...``)."""
    return Path((upload.filename or "").replace("\\", "/")).name


def uploaded(upload: UploadFile, folder: Path, allowed: tuple[str, ...]) -> Path:
    """The upload saved under its own base name in ``folder``; the name is never a path."""
    name = base_name(upload)
    if not name or name.startswith(".") or Path(name).suffix.lower() not in allowed:
        raise HTTPException(400, f"{name or 'the file'}: expected one of {', '.join(allowed)}")
    path = folder / name
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    return path


def as_uploaded(text: str, folder: str) -> str:
    """``text`` naming the uploaded files as the user called them, not the temporary folder they sat in."""
    return text.replace(folder + "/", "")


@contextmanager
def naming_uploads(folder: str) -> Iterator[None]:
    """Turn a :class:`ChorusError` about files in ``folder`` into a 400 that names them as uploaded."""
    try:
        yield
    except ChorusError as exc:
        raise HTTPException(400, as_uploaded(str(exc), folder)) from None


def recording_limit(study: Study) -> int:
    """How large one upload of recordings to the study may be (MiB)."""
    with study.reading() as session:
        info = session.get(StudyInfo, 1)
        return int((info.settings or {}).get("recording_limit_mib", DEFAULT_RECORDING_MIB)) if info else DEFAULT_RECORDING_MIB


def set_recording_limit(study: Study, mib: int) -> None:
    """Let uploads of recordings to the study be up to ``mib`` MiB (a long group filmed in high quality needs more)."""
    if not 1 <= mib <= MOST_RECORDING_MIB:
        raise ChorusError(f"a recording limit is 1 to {MOST_RECORDING_MIB} MiB")
    with study.transaction() as session:
        info = session.get(StudyInfo, 1)
        info.settings = {**(info.settings or {}), "recording_limit_mib": mib}
