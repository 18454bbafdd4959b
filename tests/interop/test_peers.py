"""What other programs really write: files built here in each vendor's shape, and the ATLAS.ti test project as it is."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from chorus.interop import export_qdpx, import_qdpx
from chorus.study.models import CodeSet, Memo, Transcript, Turn
from tests.helpers import ROOT
from tests.interop import tiny
from tests.interop.test_qdpx import validate

ATLAS = ROOT / "tests" / "data" / "refi-qda" / "atlasti-8" / "TestProject.qdpx"


def _docx(*paragraphs: str) -> bytes:
    """A Word document holding these paragraphs, as NVivo keeps a source's words."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _nvivo_for_mac(folder: Path) -> Path:
    """NVivo for Mac 15's shape: each text source's .txt rendition is one newline, its words are in the .docx."""
    sources = "".join(
        f'<TextSource guid="{tiny.g(name)}" name="{name}" plainTextPath="internal://{tiny.g(name)}.txt" '
        f'richTextPath="internal://{tiny.g(name)}.docx"/>'
        for name in ("Interview 1", "Interview 2")
    )
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="mac" origin="NVivo 15.0 (Mac)">
<Users><User guid="{tiny.g('ann')}" name="ann"/></Users>
<CodeBook><Codes><Code guid="{tiny.g('funding')}" name="Funding" isCodable="true"/></Codes></CodeBook>
<Sources>{sources}</Sources>
</Project>"""
    members = {
        f"sources/{tiny.g('Interview 1')}.txt": b"\n",
        f"sources/{tiny.g('Interview 1')}.docx": _docx("Dr Ames: We never had the funding.", "Nurse Bell: Grants ran out."),
        f"sources/{tiny.g('Interview 2')}.txt": b"\n",
        f"sources/{tiny.g('Interview 2')}.docx": _docx("", " "),
    }
    return tiny.write(folder, xml, members, name="mac.qdpx")


def test_nvivo_for_mac_text_comes_from_the_docx_and_a_source_with_no_text_makes_no_transcript(study, tmp_path: Path):
    report = import_qdpx(study, _nvivo_for_mac(tmp_path))
    with study.reading() as session:
        transcripts = {t.name: t.text for t in session.scalars(select(Transcript))}
        turns = session.scalars(select(Turn.speaker_label).order_by(Turn.ordinal)).all()
    assert transcripts == {"Interview 1": "Dr Ames: We never had the funding.\nNurse Bell: Grants ran out."}
    assert len(turns) == 2
    assert report.sources == 1
    assert [line for line in report.made if "rendition" in line] == [
        f"source 'Interview 1': its plain-text rendition is empty; its text is taken from its .docx rendition "
        f"'internal://{tiny.g('Interview 1')}.docx' (a paragraph a line)"
    ]
    assert report.skipped == [
        "source 'Interview 2': neither its plain-text nor its rich-text rendition holds any text; no transcript is made of it"
    ]


def test_the_atlas_ti_project_keeps_note_titles_descriptions_and_the_empty_code_group(make_study, tmp_path: Path):
    study = make_study("atlas")
    report = import_qdpx(study, ATLAS)
    with study.reading() as session:
        memos = {m.title: (m.description, m.text) for m in session.scalars(select(Memo))}
        sets = {s.name: len(s.codes) for s in session.scalars(select(CodeSet))}
    assert memos["Research Plan"] == ("day to day log about this amazing project",
                                      "This is a great project by a dynamic team of researcher-developers. ")
    assert memos["My favorite Coke ad"][0] is None
    assert sets["<3"] == 0 and len(sets) == 5, sets
    assert "set '<3': it has no members; kept as an empty code set" in report.made
    for pdf in ("Passion for Nutrition.pdf", "Base de Granola"):
        assert sum(pdf in line for line in report.skipped) == 1, [line for line in report.skipped if pdf in line]
    assert len(report.skipped) == len(set(report.skipped)), "each thing skipped is said once"

    out = tmp_path / "again.qdpx"
    export_qdpx(study, out)
    validate(out)
    again = make_study("again")
    import_qdpx(again, out)
    with again.reading() as session:
        kept = {m.title: (m.description, m.text) for m in session.scalars(select(Memo))}
        empty = session.scalar(select(CodeSet).where(CodeSet.name == "<3"))
        assert empty is not None and empty.codes == []
    assert kept == memos


def _maxqda_articles(folder: Path) -> Path:
    """MAXQDA 24's shape for articles: untimed text with no 'Name:' turns, in two document sets, no cases."""
    articles = {name: f"{name} opens with a claim.\nIt argues for early palliative care.\nIt ends with a question." for name in ("A1", "A2", "B1")}
    sources = "".join(
        f'<TextSource guid="{tiny.g(name)}" name="{name}" plainTextPath="internal://{tiny.g(name)}.txt"/>' for name in articles
    )
    sets = "".join(
        f'<Set guid="{tiny.g(set_name)}" name="{set_name}">' + "".join(f'<MemberSource targetGUID="{tiny.g(m)}"/>' for m in members) + "</Set>"
        for set_name, members in (("Set A", ("A1", "A2")), ("Set B", ("B1",)))
    )
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="articles" origin="MAXQDA 24">
<Users><User guid="{tiny.g('ann')}" name="ann"/></Users>
<CodeBook><Codes><Code guid="{tiny.g('early')}" name="Early integration" isCodable="true"/></Codes></CodeBook>
<Sources>{sources}</Sources><Sets>{sets}</Sets>
</Project>"""
    return tiny.write(folder, xml, {f"sources/{tiny.g(n)}.txt": t.encode("utf-8") for n, t in articles.items()}, name="articles.qdpx")


def test_document_sets_and_speakerless_sources_are_said_and_chosen(make_study, tmp_path: Path):
    path = _maxqda_articles(tmp_path)
    study = make_study("lines")
    report = import_qdpx(study, path)
    with study.reading() as session:
        groups = {t.name: t.group.name for t in session.scalars(select(Transcript))}
        turns = session.scalars(select(Turn.speaker_label)).all()
    assert groups == {"A1": "Set A", "A2": "Set A", "B1": "Set B"}
    assert len(turns) == 9 and set(turns) == {"(unattributed)"}
    assert "set 'Set A': taken as the focus group of 2 transcript(s) (A1, A2); document_sets='ignore' leaves each source in a group of its own" in report.made
    assert "source 'A1': no speaker turns (no case's selections, no 'Name:' lines); cut into 3 unattributed turns, one per line " \
           "(speakerless='passage' keeps it as one passage)" in report.made

    other = make_study("passage")
    report = import_qdpx(other, path, speakerless="passage", document_sets="ignore")
    with other.reading() as session:
        groups = {t.name: t.group.name for t in session.scalars(select(Transcript))}
        passages = session.execute(select(Turn.start, Turn.end)).all()
    assert groups == {"A1": "A1", "A2": "A2", "B1": "B1"}
    assert len(passages) == 3 and all(end - start > 80 for start, end in passages)
    assert any(line.startswith("set 'Set A': a set of 2 source(s), not taken as a focus group") for line in report.made)


def test_a_second_import_of_the_project_adds_what_changed_by_guid(study, tmp_path: Path):
    from chorus.study.models import Code, Coding

    first = tiny.project_xml()
    import_qdpx(study, tiny.write(tmp_path, first), variables={"Profession": "discipline"})
    a = tiny.span(tiny.TEXT, "not once")
    grown = first.replace("</Codes>", f'<Code guid="{tiny.g("hope")}" name="Hope" isCodable="true"/></Codes>').replace(
        "</TextSource>",
        f'<PlainTextSelection guid="{tiny.g("sel3")}" startPosition="{a[0]}" endPosition="{a[1]}">'
        f'<Coding guid="{tiny.g("cod3")}" creatingUser="{tiny.g("ann")}"><CodeRef targetGUID="{tiny.g("hope")}"/></Coding></PlainTextSelection></TextSource>',
    )
    report = import_qdpx(study, tiny.write(tmp_path, grown, name="grown.qdpx"), variables={"Profession": "discipline"})
    with study.reading() as session:
        assert session.scalars(select(Transcript.name)).all() == ["FG01"]
        assert sorted(session.scalars(select(Code.name))) == ["Funding", "Grants", "Hope"]
        assert len(session.scalars(select(Coding.id)).all()) == 3
        assert len(session.scalars(select(Memo.id)).all()) == 1, "the note is not doubled"
    assert "source 'FG01': already in the study (the same GUID and text); 1 new coding(s) added, 2 already there" in report.made


def test_an_export_holds_only_what_the_study_has(make_study, tmp_path: Path):
    """A project of sources without groups or cases (NVivo's sample) comes back without a set per transcript, a
    group value on each source, or variables no one has; a focus-group study keeps its group sets and values."""
    import re
    import zipfile

    from tests.interop.test_qdpx import NVIVO

    def written(study, name: str) -> str:
        out = tmp_path / name
        export_qdpx(study, out)
        validate(out)
        with zipfile.ZipFile(out) as archive:
            return archive.read("project.qde").decode("utf-8")

    sources_only = make_study("nvivo")
    import_qdpx(sources_only, NVIVO)
    xml = written(sources_only, "nvivo.qdpx")
    assert "<Set " not in xml and "<VariableValue>" not in xml and "<Variables>" not in xml
    declared = re.findall(r'<Variable guid="([^"]+)"', xml)
    assert declared == []

    focus = make_study("focus")
    import_qdpx(focus, tiny.write(tmp_path), variables={"Profession": "discipline"})
    xml = written(focus, "focus.qdpx")
    declared = dict(re.findall(r'<Variable guid="([^"]+)" name="([^"]+)"', xml))
    used = set(re.findall(r'<VariableRef targetGUID="([^"]+)"', xml))
    assert set(declared) == used, f"variables no one has: {sorted(declared[g] for g in set(declared) - used)}"
    assert "group" in declared.values() and '<Set guid=' in xml, "a group with members is a focus group: its set and values stay"


def test_showing_a_transcript_without_turns_says_so(tmp_path: Path):
    """What an earlier import of NVivo for Mac's empty renditions left: a transcript of no turns, in a study of none."""
    import hashlib
    import os
    import subprocess
    import sys

    import chorus
    from chorus.study.models import Group

    study = chorus.init(tmp_path / "study")
    with study.transaction() as session:
        session.add(Transcript(name="Interview 1", group=Group(name="Interview 1", attributes={}), text="\n",
                               sha256=hashlib.sha256(b"\n").hexdigest()))
    study.close()
    run = subprocess.run([str(Path(sys.executable).parent / "chorus"), "--study", str(tmp_path / "study"), "transcripts", "show", "Interview 1"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0 and run.stdout.strip() == "Interview 1: no turns (its text has no speaker turns yet)", run.stdout + run.stderr


def test_the_command_line_says_what_the_import_made_and_takes_the_choices(tmp_path: Path):
    import os
    import subprocess
    import sys

    import chorus

    chorus.init(tmp_path / "study").close()
    path = _maxqda_articles(tmp_path)
    run = subprocess.run([str(Path(sys.executable).parent / "chorus"), "--study", str(tmp_path / "study"), "import", str(path),
                          "--speakerless", "passage", "--document-sets", "ignore"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "400"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "made: set 'Set A': a set of 2 source(s), not taken as a focus group (document_sets='ignore')" in run.stdout
    assert "made: source 'B1': no speaker turns (no case's selections, no 'Name:' lines); kept as one unattributed passage" in run.stdout
    again = subprocess.run([str(Path(sys.executable).parent / "chorus"), "--study", str(tmp_path / "study"), "import", str(path)],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "400"})
    assert again.returncode == 0 and "made: source 'A1': already in the study (the same GUID and text)" in again.stdout, again.stdout + again.stderr
