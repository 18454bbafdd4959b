"""Backups that are proven: the study's store and files with a manifest of hashes, checked before a restore replaces anything.

A backup is a folder: the store, every other file of the study folder
(recordings, exports, the study file), and ``manifest.json`` with each file's
SHA-256 and size, the audit trail's entry count and head. The store is a
consistent snapshot of every committed transaction, taken while the web app
goes on serving: SQLite's online backup API, or for PostgreSQL ``pg_dump`` of
the study's schema in a snapshot whose audit chain is verified in the same
snapshot.

A restore checks the manifest against the files first. An SQLite store is then
checked in a scratch copy (``PRAGMA integrity_check`` and the hash chain) before
the study is touched. A PostgreSQL dump must list as an archive; it is restored
in one transaction beside the schema in place (renamed aside, never dropped),
its chain verified there, and undone if it is not sound. A damaged backup is
refused with the reason.

>>> backup(study, "/media/usb/pc-study-2026-11-30")                 # doctest: +SKIP
>>> restore("/media/usb/pc-study-2026-11-30", "pc-study")           # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from chorus.errors import ChorusError
from chorus.study import audit
from chorus.study.files import file_sha256
from chorus.study.store import CONFIG_FILE, Study, make_engine
from chorus.study.store import open as open_study

MANIFEST = "manifest.json"
#: The file a PostgreSQL store is dumped to (pg_dump's custom format).
PG_DUMP = "study.pgdump"
#: Left out of a backup: the store's own files (copied through the backup API), uploads waiting for a
#: confirmation, the key that signs web sessions (a restored study signs in afresh), and who has which page open
#: (``chorus.web.routes.live``: files that come and go as pages open and close, while the backup runs).
SKIPPED = (".uploads", ".chorus-web-secret", ".chorus-live")


def _files(folder: Path, store: str) -> Iterator[Path]:
    """The study's files a backup copies, relative to ``folder``: all but the store and what :data:`SKIPPED` names."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.is_symlink() or relative.parts[0] in SKIPPED:
            continue
        if path.name in (store, store + "-wal", store + "-shm", store + "-journal"):
            continue
        yield relative


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ChorusError(f"{name} is needed for a PostgreSQL store's backup and restore: apt-get install postgresql-client")
    return found


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True)
    if done.returncode:  # pg_restore may quote a damaged archive's bytes: not always UTF-8
        said = done.stderr.decode("utf-8", errors="replace").strip()
        raise ChorusError(f"{what}: {Path(command[0]).name} failed: {said[-800:]}")


def _libpq(url: Any) -> str:
    """A SQLAlchemy URL as the connection string pg_dump and pg_restore take (password and options kept)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _dump(study: Study, target: Path) -> tuple[audit.Verdict, str]:
    """The study's schema dumped to ``target`` in one snapshot, whose audit chain is verified in that snapshot; the verdict and schema."""
    pg_dump = _tool("pg_dump")
    with study.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
        schema = connection.execute(text("SELECT current_schema()")).scalar()
        verdict = audit.verify_session(Session(bind=connection))
        if not verdict.intact:
            raise ChorusError(f"the study's audit trail is broken ({verdict.breaks[0]}); chorus log --verify names every break")
        _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f'--schema="{schema}"', f"--snapshot={snapshot}",
              f"--file={target}", f"--dbname={_libpq(study.engine.url)}"], f"{target}: the dump of schema {schema}")
    return verdict, schema


def _store_of(study: Study) -> Path:
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
    postgres = study.dialect == "postgresql"
    store = None if postgres else _store_of(study)
    if store is not None:
        verdict = audit.verify(study)
        if not verdict.intact:
            raise ChorusError(f"the study's audit trail is broken ({verdict.breaks[0]}); chorus log --verify names every break")
    name = PG_DUMP if store is None else store.name
    files = list(_files(study.folder, name))
    dest.mkdir(parents=True, exist_ok=True)
    try:
        extra: dict[str, Any] = {}
        if store is None:
            copied, extra["schema"] = _dump(study, dest / PG_DUMP)
        else:
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
        listed = {str(r): {"sha256": file_sha256(dest / r), "bytes": (dest / r).stat().st_size} for r in [Path(name), *files]}
        if store is None:
            _listed_archive(dest / PG_DUMP)
        else:
            copied = _verified_copy(dest, store.name, listed)
        manifest = {
            "study": study.name, "made": datetime.now(timezone.utc).isoformat(timespec="seconds"), "store": name,
            "dialect": study.dialect, **extra, "files": listed, "audit": {"entries": copied.entries, "head": copied.head},
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


def _listed_archive(dump: Path) -> None:
    """Refuse a dump pg_restore cannot read as an archive."""
    _run([_tool("pg_restore"), "--list", str(dump)], f"{dump}: not a readable pg_dump archive")


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
    if manifest.get("dialect") == "postgresql":  # its chain can be walked only once restored: restore does it
        _listed_archive(src / manifest["store"])
    else:
        _sound(src, _verified_copy(src, manifest["store"], listed, expected["head"] or None), expected)
    return manifest


def _sound(src: Path, verdict: audit.Verdict, expected: dict[str, Any]) -> None:
    if not verdict.intact or verdict.entries != expected["entries"]:
        why = verdict.breaks[0] if verdict.breaks else f"{verdict.entries} entries, not the {expected['entries']} it was made with"
        raise ChorusError(f"{src}: the backup's audit trail is not sound: {why}")


def _restore_schema(src: Path, manifest: dict[str, Any], stamp: str) -> None:
    """The dump restored as its schema on the server the backup's study file names; the schema there kept aside, renamed.

    pg_restore runs in one transaction; once it is in, the chain is walked there,
    and a dump that is not sound is dropped and the schema put back.
    """
    config = json.loads((src / CONFIG_FILE).read_text(encoding="utf-8"))
    schema, aside = manifest["schema"], f"{manifest['schema']}_replaced_{stamp}"
    engine = make_engine(config["db"])
    try:
        with engine.begin() as connection:
            present = connection.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).scalar()
            if present:
                connection.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{aside}"'))

        def put_back() -> None:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                if present:
                    connection.execute(text(f'ALTER SCHEMA "{aside}" RENAME TO "{schema}"'))

        try:
            _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                  f"--dbname={_libpq(engine.url)}", str(src / manifest["store"])], f"{src / manifest['store']}: the restore")
            with Session(engine) as session:
                session.execute(text(f'SET search_path TO "{schema}"'))
                _sound(src, audit.verify_session(session, manifest["audit"]["head"] or None), manifest["audit"])
        except BaseException:
            put_back()
            raise
    finally:
        engine.dispose()


def restore(src: str | Path, folder: str | Path) -> dict[str, Any]:
    """Put the backup in ``src`` in place as the study in ``folder``, once :func:`check` proves it sound; the manifest.

    A study already in ``folder`` is kept beside it (``folder.replaced-TIME``), never overwritten; on
    PostgreSQL the schema in place likewise (``SCHEMA_replaced_TIME``), to drop once the restore is trusted.
    """
    src, folder = Path(src), Path(folder)
    manifest = check(src)
    stamp = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    staged = folder.with_name(f".{folder.name}.restoring")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    try:
        for relative in manifest["files"]:
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / relative, staged / relative)
        if manifest.get("dialect") == "postgresql":
            _restore_schema(src, manifest, stamp)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if folder.exists():
        folder.rename(folder.with_name(f"{folder.name}.replaced-{stamp}"))
    staged.rename(folder)
    return manifest
