"""Backups: made while coders code, proven before a restore replaces anything, refused when damaged."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

import chorus
from chorus.coding import apply_code, remove_coding
from chorus.errors import ChorusError
from chorus.study import audit
from chorus.study.backup import MANIFEST, PG_DUMP, backup, check, restore
from chorus.study.files import file_sha256
from chorus.study.models import Coding, Turn
from tests.helpers import load_demo


@pytest.fixture
def kept(tmp_path: Path):
    study = load_demo(chorus.init(tmp_path / "pc-study"), transcripts=["FG01", "FG03"])
    (study.folder / "recordings").mkdir()
    (study.folder / "recordings" / "FG01.wav").write_bytes(b"RIFF" + bytes(range(256)) * 40)
    apply_code(study, "FG01", "Funding", "ann", turn=2)
    return study


def codings(study) -> set[tuple]:
    with study.reading() as session:
        return set(session.execute(select(Coding.id, Coding.code_id, Coding.start, Coding.end)).all())


def test_a_backup_restores_to_the_same_study_with_its_trail_and_files(kept, tmp_path):
    manifest = backup(kept, tmp_path / "backup")
    assert {"study.sqlite", "chorus.json", "recordings/FG01.wav"} <= set(manifest["files"])
    assert manifest["audit"]["head"] == audit.verify(kept).head
    restore(tmp_path / "backup", tmp_path / "restored")
    restored = chorus.open(tmp_path / "restored")
    assert codings(restored) == codings(kept) and audit.verify(restored, manifest["audit"]["head"]).intact
    assert (tmp_path / "restored" / "recordings" / "FG01.wav").read_bytes() == (kept.folder / "recordings" / "FG01.wav").read_bytes()
    restore(tmp_path / "backup", tmp_path / "restored")  # again: the study there is kept beside it, not overwritten
    assert [p.name.startswith("restored.replaced-") for p in tmp_path.iterdir()].count(True) == 1
    with pytest.raises(ChorusError, match="not empty"):
        backup(kept, tmp_path / "backup")


def test_a_backup_taken_while_twenty_coders_code_holds_every_coding_acknowledged_before_it(kept, tmp_path):
    with kept.reading() as session:
        starts = list(session.scalars(select(Turn.start).order_by(Turn.start)))
    stop, failures = threading.Event(), []

    def coder(n: int) -> None:
        turn = 0
        while not stop.is_set() and turn < 30:  # each coder each turn once
            try:
                made = apply_code(kept, "FG01", "Collaboration", f"coder{n}", turn=2 + turn)
                if turn % 3 == 0:
                    remove_coding(kept, made)
            except Exception as exc:  # noqa: BLE001 - any failure is reported below
                failures.append(repr(exc))
            turn += 1

    coders = [threading.Thread(target=coder, args=(n,)) for n in range(20)]
    for thread in coders:
        thread.start()
    deadline = time.monotonic() + 60  # waits for the coders, never for ever: a stuck store fails here, named
    while len(codings(kept)) < 40:
        assert time.monotonic() < deadline and not failures, f"20 coders made {len(codings(kept))} codings in 60 s: {failures[:3]}"
        time.sleep(0.02)
    acknowledged = codings(kept)  # committed before the backup begins
    backup(kept, tmp_path / "backup")
    stop.set()
    for thread in coders:
        thread.join()
    assert not failures, failures[:3]
    restore(tmp_path / "backup", tmp_path / "copy")
    restored = chorus.open(tmp_path / "copy")
    kept_codings = codings(restored)
    removed_since = acknowledged - codings(kept)  # codings the coders removed after the backup
    assert acknowledged - removed_since <= kept_codings and len(starts) > 30
    assert audit.verify(restored).intact


def _rewrite_manifest(folder: Path) -> None:
    """Make the manifest agree with the files again, as a careful forger (or a copying tool) would."""
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"] = {r: {"sha256": file_sha256(folder / r), "bytes": (folder / r).stat().st_size} for r in manifest["files"] if (folder / r).exists()}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_a_damaged_backup_is_refused_with_the_reason_and_nothing_is_replaced(kept, tmp_path):
    made = tmp_path / "backup"
    backup(kept, made)
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("the study in place")

    recording = made / "recordings" / "FG01.wav"
    recording.write_bytes(recording.read_bytes()[:-1] + b"\0")
    with pytest.raises(ChorusError, match=r"FG01\.wav: changed since the backup was made"):
        restore(made, target)
    recording.unlink()
    with pytest.raises(ChorusError, match=r"FG01\.wav: missing from the backup"):
        check(made)
    _rewrite_manifest(made)  # only the recording is gone: the rest is sound
    check(made)

    connection = sqlite3.connect(made / "study.sqlite")  # the trail edited in the backup, triggers dropped
    connection.executescript("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 3;")
    connection.close()
    _rewrite_manifest(made)
    with pytest.raises(ChorusError, match=r"audit trail is not sound: entry #3 was altered"):
        restore(made, target)

    store = made / "study.sqlite"
    data = bytearray(store.read_bytes())
    data[4096 * 2: 4096 * 2 + 64] = b"\xff" * 64  # a damaged page
    store.write_bytes(bytes(data))
    _rewrite_manifest(made)
    with pytest.raises(ChorusError, match=r"study\.sqlite: (the store fails SQLite's integrity check|not a readable SQLite store)"):
        restore(made, target)
    (made / MANIFEST).unlink()
    with pytest.raises(ChorusError, match="no manifest.json"):
        restore(made, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"] and not (tmp_path / ".target.restoring").exists()


def test_a_backup_restores_the_study_on_either_store_keeping_what_it_replaces(demo, tmp_path):
    apply_code(demo, "FG01", "Funding", "ann", turn=2)
    manifest = backup(demo, tmp_path / "backup")
    assert manifest["store"] in manifest["files"] and manifest["audit"]["head"] == audit.verify(demo).head
    before = codings(demo)
    later = apply_code(demo, "FG01", "Collaboration", "ann", turn=3)  # after the backup: gone once it is restored
    demo.close()
    restore(tmp_path / "backup", demo.folder)
    restored = chorus.open(demo.folder)
    assert codings(restored) == before and audit.verify(restored, manifest["audit"]["head"]).intact
    restored.close()
    if demo.dialect == "postgresql":  # the schema it replaced is kept aside, with the coding made after the backup
        schema = manifest["schema"]
        with demo.engine.begin() as connection:
            aside = connection.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": f"{schema}_replaced_%"}).scalar()
            assert connection.execute(text(f'SELECT count(*) FROM "{aside}".coding WHERE id = :i'), {"i": later}).scalar() == 1

            dump = tmp_path / "backup" / PG_DUMP  # a damaged dump: refused, and the schema in place is put back as it was
            data = bytearray(dump.read_bytes())
            data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
            dump.write_bytes(bytes(data))
            _rewrite_manifest(tmp_path / "backup")
            connection.execute(text(f'DROP SCHEMA "{aside}" CASCADE'))
        with pytest.raises(ChorusError, match=r"study\.pgdump: (the restore: pg_restore failed|not a readable pg_dump archive)"):
            restore(tmp_path / "backup", demo.folder)
        with chorus.open(demo.folder) as put_back:
            assert codings(put_back) == before


def test_a_study_whose_trail_is_broken_is_not_backed_up(demo, tmp_path):
    apply_code(demo, "FG01", "Funding", "ann", turn=2)
    with demo.engine.begin() as connection:  # edited out of band, its guard lifted
        if demo.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    with pytest.raises(ChorusError, match=r"audit trail is broken \(entry #2 was altered"):
        backup(demo, tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
