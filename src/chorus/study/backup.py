"""Backups that are proven: the study's store and files with a manifest of hashes, checked before a restore replaces anything.

A backup is a folder: the store copied with SQLite's online backup API (a
consistent snapshot of every committed transaction, while the web app goes on
serving), every other file of the study folder (recordings, exports, the
study file), and ``manifest.json`` with each file's SHA-256 and size, the audit
trail's entry count and head. A restore checks, in a scratch copy and before
touching the study: the manifest against the files, ``PRAGMA integrity_check``,
and the audit trail's hash chain; a damaged backup is refused with the reason.

>>> backup(study, "/media/usb/pc-study-2026-11-30")                 # doctest: +SKIP
>>> restore("/media/usb/pc-study-2026-11-30", "pc-study")           # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chorus.errors import ChorusError
from chorus.study import audit
from chorus.study.files import file_sha256
from chorus.study.store import CONFIG_FILE, Study
from chorus.study.store import open as open_study

MANIFEST = "manifest.json"
#: Left out of a backup: the store's own files (copied through the backup API), uploads waiting for a
#: confirmation, and the key that signs web sessions (a restored study signs in afresh).
SKIPPED = (".uploads", ".chorus-web-secret")


def _files(folder: Path, store: Path) -> Iterator[Path]:
    """The study's files a backup copies, relative to ``folder``: all but the store and what :data:`SKIPPED` names."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.is_symlink() or relative.parts[0] in SKIPPED:
            continue
        if path.name in (store.name, store.name + "-wal", store.name + "-shm", store.name + "-journal"):
            continue
        yield relative


def _store_of(study: Study) -> Path:
    if study.dialect != "sqlite":
        raise ChorusError("chorus backup copies SQLite stores; for a PostgreSQL store use pg_dump (its own backups) for now")
    store = Path(study.url.removeprefix("sqlite:///"))
    if store.parent.resolve() != study.folder.resolve():
        raise ChorusError(f"the store {store} is outside the study folder; chorus backup copies studies that hold their store")
    return store


def backup(study: Study, dest: str | Path, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Copy ``study`` into the new folder ``dest`` with its manifest; the manifest.

    The trail is verified first: a study whose audit chain is broken is not backed up as if it were sound.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ChorusError(f"{dest}: not empty; a backup goes into a new folder")
    store = _store_of(study)
    verdict = audit.verify(study)
    if not verdict.intact:
        raise ChorusError(f"the study's audit trail is broken ({verdict.breaks[0]}); chorus log --verify names every break")
    files = list(_files(study.folder, store))
    dest.mkdir(parents=True, exist_ok=True)
    try:
        source, copy = sqlite3.connect(f"file:{store}?mode=ro", uri=True), sqlite3.connect(dest / store.name)
        try:
            source.backup(copy)  # in one step: a snapshot of every transaction committed before it began
        finally:
            source.close()
            copy.close()
        for done, relative in enumerate(files, start=1):
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(study.folder / relative, dest / relative)
            if progress:
                progress(done, len(files))
        listed = {str(r): {"sha256": file_sha256(dest / r), "bytes": (dest / r).stat().st_size} for r in [Path(store.name), *files]}
        copied = _verified_copy(dest, store.name, listed)
        manifest = {
            "study": study.name, "made": datetime.now(timezone.utc).isoformat(timespec="seconds"), "store": store.name,
            "files": listed, "audit": {"entries": copied.entries, "head": copied.head},
        }
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return manifest


def _verified_copy(folder: Path, store: str, listed: dict[str, Any], head: str | None = None) -> audit.Verdict:
    """The audit verdict of the study in ``folder`` (with ``head`` in its trail), its store's integrity checked first.

    Checked in a scratch copy: opening a study may migrate it.
    """
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "study"
        copy.mkdir()
        for relative in listed:
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / relative, copy / relative)
        connection = sqlite3.connect(copy / store)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise ChorusError(f"{folder / store}: not a readable SQLite store ({exc})") from None
        finally:
            connection.close()
        if result != [("ok",)]:
            raise ChorusError(f"{folder / store}: the store fails SQLite's integrity check: {'; '.join(str(r[0]) for r in result[:3])}")
        study = open_study(copy)
        try:
            return audit.verify(study, head)
        finally:
            study.close()


def check(src: str | Path) -> dict[str, Any]:
    """The manifest of the backup in ``src`` once every file, the store's integrity and the audit chain are proven sound."""
    src = Path(src)
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
        listed, expected = manifest["files"], manifest["audit"]
    except FileNotFoundError:
        raise ChorusError(f"{src}: no {MANIFEST}; not a backup chorus backup made") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ChorusError(f"{src / MANIFEST}: not a backup manifest ({exc})") from None
    for relative, kept in listed.items():
        path = src / relative
        if not path.is_file():
            raise ChorusError(f"{path}: missing from the backup")
        if path.stat().st_size != kept["bytes"] or file_sha256(path) != kept["sha256"]:
            raise ChorusError(f"{path}: changed since the backup was made (its SHA-256 differs from the manifest's)")
    if CONFIG_FILE not in listed:
        raise ChorusError(f"{src}: the backup has no {CONFIG_FILE}")
    verdict = _verified_copy(src, manifest["store"], listed, expected["head"] or None)
    if not verdict.intact or verdict.entries != expected["entries"]:
        why = verdict.breaks[0] if verdict.breaks else f"{verdict.entries} entries, not the {expected['entries']} it was made with"
        raise ChorusError(f"{src}: the backup's audit trail is not sound: {why}")
    return manifest


def restore(src: str | Path, folder: str | Path) -> dict[str, Any]:
    """Put the backup in ``src`` in place as the study in ``folder``, once :func:`check` proves it sound; the manifest.

    A study already in ``folder`` is kept beside it (``folder.replaced-TIME``), never overwritten.
    """
    src, folder = Path(src), Path(folder)
    manifest = check(src)
    staged = folder.with_name(f".{folder.name}.restoring")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    try:
        for relative in manifest["files"]:
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / relative, staged / relative)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if folder.exists():
        folder.rename(folder.with_name(f"{folder.name}.replaced-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"))
    staged.rename(folder)
    return manifest
