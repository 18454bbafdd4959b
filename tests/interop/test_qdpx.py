"""REFI-QDA projects: sample files from real tools import with their numbers; exports validate; round trips hold."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from sqlalchemy import func, select

from chorus.coding import add_memo
from chorus.errors import ChorusError
from chorus.interop import NeedsDiscipline, export_qdc, export_qdpx, import_qdc, import_qdpx
from chorus.interop.qdaxml import schema_path
from chorus.study.models import Code, Coder, Coding, Group, Memo, Participant, Transcript, Turn
from tests.helpers import ROOT, code_demo, unchanged
from tests.interop import tiny
from tests.interop.content import content

NVIVO = ROOT / "tests" / "data" / "refi-qda" / "nvivo-12" / "oltas_teszt.qdpx"


def validate(path: Path) -> None:
    """The file's XML is valid under the shipped REFI-QDA schema."""
    if path.suffix == ".qdc":
        xmlschema.XMLSchema(schema_path("Codebook.xsd")).validate(path.read_text(encoding="utf-8"))
        return
    with zipfile.ZipFile(path) as archive:
        xmlschema.XMLSchema(schema_path("Project.xsd")).validate(archive.read("project.qde").decode("utf-8"))


def count(study, model) -> int:
    with study.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def xml_counts(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("project.qde").decode("utf-8")
    return {
        "codes": len(re.findall(r"<Code\s", xml)),
        "sources": len(re.findall(r"<TextSource\s", xml)),
        "codings": len(re.findall(r"<Coding\s", xml)),
        "cases": len(re.findall(r"<Case\s", xml)),
        "variables": len(re.findall(r"<Variable\s", xml)),
        "users": len(re.findall(r"<User\s", xml)),
    }


def test_the_nvivo_sample_imports_with_the_numbers_its_xml_holds(study):
    report = import_qdpx(study, NVIVO)
    held = xml_counts(NVIVO)
    assert held == {"codes": 152, "sources": 2, "codings": 330, "cases": 0, "variables": 0, "users": 3}
    assert (report.codes, report.sources, report.codings, report.cases, report.variables, report.users) == (
        held["codes"], held["sources"], held["codings"], held["cases"], held["variables"], held["users"],
    )
    assert report.skipped == []
    assert (count(study, Code), count(study, Transcript), count(study, Coding), count(study, Coder)) == (152, 2, 330, 3)
    with study.reading() as session:
        deepest = max(len(code_path_of(c)) for c in session.scalars(select(Code)))
    assert deepest >= 2


def code_path_of(code: Code) -> list[str]:
    trail = []
    while code is not None:
        trail.append(code.name)
        code = code.parent
    return trail


def test_nvivo_positions_count_utf16_units_and_land_on_the_same_words(study, tmp_path: Path):
    import_qdpx(study, NVIVO)
    with study.reading() as session:
        start, end, text = session.execute(
            select(Coding.start, Coding.end, Transcript.text).join(Transcript).order_by(Coding.start)
        ).first()
    exported = tmp_path / "back.qdpx"
    export_qdpx(study, exported)
    assert content(exported)["codings"] == content(NVIVO, utf16=True)["codings"]
    assert text[start:end].split()[0][0].isupper()  # a coded comment starts at its first word


def test_reading_nvivo_positions_as_code_points_would_shift_them(make_study):
    as_points, as_units = make_study("points"), make_study("units")
    import_qdpx(as_points, NVIVO, positions="codepoints")
    import_qdpx(as_units, NVIVO)
    with as_points.reading() as a, as_units.reading() as b:
        spans_a = sorted(a.execute(select(Coding.start, Coding.end)).all())
        spans_b = sorted(b.execute(select(Coding.start, Coding.end)).all())
    assert spans_a != spans_b


def _decorate(study) -> None:
    """The coded demo with memos on every kind of target and a recording on a timed group."""
    add_memo(study, "Money is the first thing they mention", "ann", code="Funding")
    add_memo(study, "A lively group; the APPs led", "ann", transcript="FG02")
    add_memo(study, "Overall: collaboration is the heart of it", "ann")
    with study.reading() as session:
        coding = session.scalars(select(Coding).order_by(Coding.id)).first().id
    add_memo(study, "Check this one with Ben", "ann", coding=coding)
    with study.transaction() as session:
        group = session.scalar(select(Group).join(Transcript).where(Transcript.name == "FG02"))
        group.recording_path = "/data/recordings/FG02.m4a"


def test_the_demo_study_round_trips_through_qdpx(make_study, tmp_path: Path):
    first = code_demo(make_study("first"))
    _decorate(first)
    a, b = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    summary = export_qdpx(first, a)
    validate(a)
    assert summary.codings == count(first, Coding)
    second = make_study("second")
    report = import_qdpx(second, a)
    assert report.skipped == []
    export_qdpx(second, b)
    validate(b)
    before, after = content(a), content(b)
    assert before == after
    assert len(before["cases"]) == count(first, Participant)
    assert before["sets"] and before["audio"]["/data/recordings/FG02.m4a"]
    assert len(before["notes"]) == 4
    with first.reading() as s1, second.reading() as s2:
        turns = select(Transcript.name, Turn.ordinal, Participant.pseudonym, Turn.start, Turn.end, Turn.start_time, Turn.end_time).join(Transcript).join(Participant)

        def in_ms(rows):  # QDA-XML keeps times in whole milliseconds
            return sorted((*r[:5], None if r[5] is None else round(r[5], 3), None if r[6] is None else round(r[6], 3)) for r in rows)

        assert in_ms(s1.execute(turns).all()) == in_ms(s2.execute(turns).all())
        people = select(Participant.key, Participant.pseudonym, Participant.discipline, Participant.care_team, Participant.role, Participant.attributes)
        assert sorted(map(tuple, s1.execute(people).all()), key=repr) == sorted(map(tuple, s2.execute(people).all()), key=repr)
        groups = select(Group.name, Group.date, Group.recording_path, Group.attributes).order_by(Group.name)
        assert list(map(tuple, s1.execute(groups).all())) == list(map(tuple, s2.execute(groups).all()))


def test_turns_travel_as_their_lines_and_as_selections_only_where_lines_cannot_carry_them(make_study, tmp_path: Path):
    """Other tools read each selection as a coding: only a turn over several lines is written as one."""
    first = code_demo(make_study("first"))
    with first.transaction() as session:
        fg01 = session.scalar(select(Transcript).where(Transcript.name == "FG01"))
        turn = session.scalar(select(Turn).where(Turn.transcript_id == fg01.id, Turn.ordinal == 2))
        gap = fg01.text.index(" ", turn.start)
        fg01.text = fg01.text[:gap] + "\n" + fg01.text[gap + 1 :]  # turn 2 now runs over two lines
        fg01_turns = len(fg01.turns)
    path = tmp_path / "lines.qdpx"
    export_qdpx(first, path)
    validate(path)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("project.qde").decode("utf-8")
    root = ElementTree.fromstring(xml)
    selections = root.iter("{urn:QDA-XML:project:1.0}PlainTextSelection")
    held = [len(s.findall("{urn:QDA-XML:project:1.0}Coding")) for s in selections]
    assert held.count(0) == fg01_turns  # FG01's turns only
    assert set(held) == {0, 1}  # every other selection is one coding, as NVivo writes them
    assert len(list(root.iter("{urn:QDA-XML:project:1.0}SelectionRef"))) == fg01_turns
    second = make_study("second")
    assert import_qdpx(second, path).skipped == []
    turns = select(Transcript.name, Turn.ordinal, Participant.pseudonym, Turn.start, Turn.end).join(Transcript).join(Participant).order_by(Transcript.name, Turn.ordinal)
    with first.reading() as s1, second.reading() as s2:
        assert s1.execute(turns).all() == s2.execute(turns).all()


def test_exports_are_stable(study, tmp_path: Path):
    code_demo(study)
    export_qdpx(study, tmp_path / "1.qdpx")
    export_qdpx(study, tmp_path / "2.qdpx")
    with zipfile.ZipFile(tmp_path / "1.qdpx") as one, zipfile.ZipFile(tmp_path / "2.qdpx") as two:
        assert one.read("project.qde") == two.read("project.qde")
    folder = tmp_path / "exports"
    folder.mkdir()
    for write, example in ((export_qdpx, "study.qdpx"), (export_qdc, "codebook.qdc")):  # a folder for a file: said before any work
        with pytest.raises(ChorusError, match=f"exports is a folder; name the file to write, e.g. .*exports/{example}"):
            write(study, folder)
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob("*.partial")), "nothing half written"


def test_the_nvivo_sample_round_trips(make_study, tmp_path: Path):
    first = make_study("first")
    import_qdpx(first, NVIVO)
    a, b = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    export_qdpx(first, a)
    validate(a)
    second = make_study("second")
    import_qdpx(second, a)
    export_qdpx(second, b)
    assert content(a) == content(b)
    original = content(NVIVO, utf16=True)
    assert content(a)["codes"] == original["codes"] and content(a)["users"] == original["users"]


def test_the_codebook_round_trips_through_qdc(make_study, tmp_path: Path):
    first = code_demo(make_study("first"))
    path = tmp_path / "codebook.qdc"
    assert export_qdc(first, path) == count(first, Code)
    validate(path)
    second = make_study("second")
    assert import_qdc(second, path).codes == count(first, Code)
    fields = select(Code.name, Code.colour, Code.definition, Code.inclusion, Code.exclusion, Code.example)
    with first.reading() as s1, second.reading() as s2:
        assert sorted(map(repr, s1.execute(fields).all())) == sorted(map(repr, s2.execute(fields).all()))


def test_cases_variables_and_notes_from_another_tool(study, tmp_path: Path):
    report = import_qdpx(study, tiny.write(tmp_path, tiny.project_xml(profession="Discipline")))
    assert (report.cases, report.variables, report.codings, report.notes, report.skipped) == (2, 2, 2, 1, [])
    with study.reading() as session:
        ames = session.scalar(select(Participant).where(Participant.pseudonym == "Dr Ames"))
        assert (ames.discipline, ames.attributes) == ("physician", {"Years in oncology": 12})
        speakers = session.execute(select(Participant.pseudonym).join(Turn, Turn.participant_id == Participant.id).order_by(Turn.ordinal)).scalars().all()
        assert speakers == ["Dr Ames", "Nurse Bell"]
        memo = session.scalar(select(Memo))
        assert memo.coding_id is not None and memo.coder.name == "ann"
        colour = session.scalar(select(Code.colour).where(Code.name == "Funding"))
        assert colour == "#cc3333"


def test_the_discipline_variable_is_asked_for_not_guessed(study, tmp_path: Path):
    path = tiny.write(tmp_path)
    with unchanged(study), pytest.raises(NeedsDiscipline, match="'Profession'"):
        import_qdpx(study, path)
    import_qdpx(study, path, variables={"Profession": "discipline"})
    with study.reading() as session:
        assert sorted(session.scalars(select(Participant.discipline).where(Participant.role == "participant"))) == ["nurse", "physician"]


def test_selections_that_do_not_fit_are_reported_not_fatal(study, tmp_path: Path):
    bad = f"""<PlainTextSelection guid="{tiny.g('x')}" startPosition="5000" endPosition="5010">
      <Coding guid="{tiny.g('y')}"><CodeRef targetGUID="{tiny.g('funding')}"/></Coding></PlainTextSelection>
      <PlainTextSelection guid="{tiny.g('z')}" startPosition="0" endPosition="8">
      <Coding guid="{tiny.g('w')}"><CodeRef targetGUID="{tiny.g('funding')}"/></Coding></PlainTextSelection>"""
    pdf = f"""<PDFSource guid="{tiny.g('pdf')}" name="Protocol.pdf" path="internal://protocol.pdf"/>
      <TextSource guid="{tiny.g('docx')}" name="Field notes" richTextPath="internal://notes.docx"/>"""
    report = import_qdpx(study, tiny.write(tmp_path, tiny.project_xml(selections=bad, extra_sources=pdf)), variables={"Profession": "discipline"})
    assert report.codings == 0
    assert any("5000" in s and "do not fit" in s for s in report.skipped)
    assert any("no one's words" in s for s in report.skipped)
    assert any("Protocol.pdf" in s for s in report.skipped) and any("Field notes" in s and ".docx" in s for s in report.skipped)


def test_a_transcript_of_the_same_name_from_elsewhere_stops_the_import(study, tmp_path: Path):
    import_qdpx(study, tiny.write(tmp_path), variables={"Profession": "discipline"})
    other = tiny.project_xml().replace(f'guid="{tiny.g("fg01")}"', f'guid="{tiny.g("another fg01")}"')
    with unchanged(study), pytest.raises(ChorusError, match="'FG01' is already in the study, and it is not this project's source"):
        import_qdpx(study, tiny.write(tmp_path, other, name="other.qdpx"), variables={"Profession": "discipline"})


def test_big_projects_parse_in_a_second_process_with_the_same_result(make_study, tmp_path: Path, monkeypatch):
    from chorus.interop import load

    first = code_demo(make_study("first"))
    _decorate(first)
    exported = tmp_path / "a.qdpx"
    export_qdpx(first, exported)
    here = make_study("here")
    import_qdpx(here, exported)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)  # every project counts as big
    elsewhere = make_study("elsewhere")
    report = import_qdpx(elsewhere, exported)
    assert report.skipped == [] and report.codings == count(first, Coding)
    export_qdpx(here, tmp_path / "here.qdpx")
    export_qdpx(elsewhere, tmp_path / "elsewhere.qdpx")
    assert content(tmp_path / "here.qdpx") == content(tmp_path / "elsewhere.qdpx")


def test_errors_found_in_the_second_process_leave_the_store_unchanged(study, tmp_path: Path, monkeypatch):
    from chorus.interop import load

    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)
    code_demo(study)
    broken = tiny.write(tmp_path, tiny.project_xml().replace("</Sources>", "</Source>"))
    with unchanged(study), pytest.raises(ChorusError, match=r"not well-formed XML at line \d+"):
        import_qdpx(study, broken, variables={"Profession": "discipline"})


def test_a_selection_value_holding_a_tab_is_refused(study, tmp_path: Path):
    forged = tiny.project_xml().replace(f'creatingUser="{tiny.g("ann")}">', f'creatingUser="{tiny.g("ann")}&#9;x">', 1)
    forged = forged.replace('creationDateTime="2024-03-01T10:00:00Z"', 'creationDateTime="2024-03-01&#10;S&#9;x&#9;0&#9;5"')
    with unchanged(study), pytest.raises(ChorusError, match="tab or a line break"):
        import_qdpx(study, tiny.write(tmp_path, forged), variables={"Profession": "discipline"})


def test_the_consensus_leaves_as_a_note_naming_its_user_and_comes_back_as_the_record_the_findings_follow(make_study, tmp_path: Path):
    """Every coder's codings leave (an exchange, not a finding); a note says which user holds the consensus, and Chorus reads it back."""
    from chorus import analysis
    from chorus.analysis.agreement import consensus, decide
    from chorus.coding import apply_code
    from chorus.study.counting import counting
    from tests.helpers import load_demo

    first = load_demo(make_study("first"), ["FG01"])
    for turn in (2, 4, 6):
        apply_code(first, "FG01", "Funding", "ann", turn=turn)
    for turn in (2, 4, 5):
        apply_code(first, "FG01", "Funding", "ben", turn=turn)
    decide(first, ["ann", "ben"], "FG01", 6, 0, "Funding", "keep")
    decide(first, ["ann", "ben"], "FG01", 5, 0, "Funding", "drop")
    consensus(first, ["ann", "ben"])
    path = tmp_path / "a.qdpx"
    export_qdpx(first, path)
    validate(path)
    with zipfile.ZipFile(path) as archive:
        project = archive.read("project.qde").decode("utf-8")
    assert project.count("<User ") == 3 and 'name="Consensus coding: consensus"' in project
    assert "are the consensus of ann and ben" in project

    second = make_study("second")
    report = import_qdpx(second, path)
    assert any("kept as the consensus of ann and ben" in line for line in report.made)
    assert count(second, Memo) == 0, "the consensus note is the record, not a memo"
    for basis in ("auto", "everyone", "ann"):
        assert analysis.matrix(second, count="segments", basis=basis).equals(analysis.matrix(first, count="segments", basis=basis)), basis
    with second.reading() as session:
        assert counting(session).followed[0].coders == ("ann", "ben")
    import_qdpx(second, path)  # a second import of the same project adds no second record
    with second.reading() as session:
        assert len(counting(session).followed) == 1
