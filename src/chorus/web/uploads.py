"""Uploaded files: kept under their base name only, and named as the user called them in every error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException, UploadFile

from chorus.errors import ChorusError


def uploaded(upload: UploadFile, folder: Path, allowed: tuple[str, ...]) -> Path:
    """The upload saved under its own base name in ``folder``; the name is never a path."""
    name = Path((upload.filename or "").replace("\\", "/")).name
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
