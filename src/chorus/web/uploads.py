"""Uploaded files: kept under their base name only, named as the user called them in every error, within limits.

A study's recordings may be as large as its owner allows (:func:`set_recording_limit`;
4 GiB unless raised or lowered, up to :data:`MOST_RECORDING_MIB`).
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException, UploadFile

from chorus.errors import ChorusError
from chorus.study.models import StudyInfo
from chorus.study.store import Study
from chorus.web.pages import in_the_browser

#: Where checked uploads wait for their confirmation, inside the study folder; a day later they are gone.
WAITING = ".uploads"
_UPLOAD = re.compile(r"^[0-9a-f]{32}$")
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
        raise HTTPException(400, as_uploaded(in_the_browser(exc), folder)) from None


@contextmanager
def holding(study: Study) -> Iterator[tuple[str, Path]]:
    """A new folder where an upload waits between its check and its confirmation: ``(its token, the folder)``.

    The folder is removed if the check fails with an exception; uploads left
    waiting over a day are removed whenever a new one is held.
    """
    waiting = study.folder / WAITING
    for old in waiting.glob("*") if waiting.is_dir() else []:
        if time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_hex(16)
    folder = waiting / token
    folder.mkdir(parents=True)
    try:
        yield token, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def held(study: Study, token: str) -> Path:
    """The folder of an upload waiting for its confirmation, refused when it is not waiting (any more)."""
    if not _UPLOAD.match(token):
        raise HTTPException(400, "no such upload; upload the file again")
    folder = study.folder / WAITING / token
    if not folder.is_dir():
        raise HTTPException(400, "this upload is no longer waiting (stored already, or over a day old); upload the file again")
    return folder


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
