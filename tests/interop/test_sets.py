"""Code sets (MAXQDA code sets, ATLAS.ti code groups) and document sets through REFI-QDA codebooks and projects."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from chorus.coding.codes import code_sets
from chorus.interop import export_qdc, export_qdpx, import_qdc, import_qdpx
from tests.helpers import code_demo
from tests.interop.test_qdpx import validate
from tests.interop.tiny import g

NS = "urn:QDA-XML:codebook:1.0"
#: Nested codes, two sets sharing a code, descriptions on codes and sets: as ATLAS.ti 23 or MAXQDA 24 would write it.
CODEBOOK = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{NS}" origin="ATLAS.ti 23">
<Codes>
  <Code guid="{g('challenges')}" name="Challenges" isCodable="true" color="#D95F02">
    <Description>What stands in the way.</Description>
    <Code guid="{g('funding')}" name="Funding" isCodable="true" color="#E6AB02"><Description>Money for the service.</Description></Code>
    <Code guid="{g('opposition')}" name="Medical opposition" isCodable="true" color="#A6761D"/>
  </Code>
  <Code guid="{g('benefits')}" name="Benefits" isCodable="true" color="#2C7FB8">
    <Code guid="{g('early')}" name="Early integration" isCodable="true" color="#1B9E77"/>
  </Code>
</Codes>
<Sets>
  <Set guid="{g('for-managers')}" name="For the managers"><Description>What a budget meeting needs.</Description>
    <MemberCode guid="{g('funding')}"/><MemberCode guid="{g('early')}"/></Set>
  <Set guid="{g('stance')}" name="Stances"><MemberCode guid="{g('funding')}"/><MemberCode guid="{g('opposition')}"/></Set>
</Sets>
</CodeBook>
"""


def canonical(xml: bytes) -> bytes:
    """The codebook's elements and attributes in canonical form, without layout, the writer's name or colours' letter case."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    root.attrib.pop("origin", None)
    for element in root.iter():
        if "color" in element.attrib:
            element.set("color", element.get("color").lower())
    return etree.tostring(root, method="c14n")


def test_a_codebook_with_nested_codes_and_two_code_sets_round_trips_unchanged(study, tmp_path: Path):
    given = tmp_path / "atlas.qdc"
    given.write_text(CODEBOOK, encoding="utf-8")
    validate(given)
    report = import_qdc(study, given)
    assert (report.codes, report.code_sets, report.skipped) == (5, 2, [])
    sets = code_sets(study)
    assert sets.groupby("set")["code"].apply(list).to_dict() == {
        "For the managers": ["Challenges/Funding", "Benefits/Early integration"], "Stances": ["Challenges/Funding", "Challenges/Medical opposition"],
    }
    written = tmp_path / "chorus.qdc"
    export_qdc(study, written)
    validate(written)
    assert canonical(written.read_bytes()) == canonical(given.read_bytes())
    again = tmp_path / "again.qdc"
    import_qdc(study, written)  # importing it again changes nothing
    export_qdc(study, again)
    assert again.read_bytes() == written.read_bytes()


def test_code_sets_travel_in_a_project_and_each_set_keeps_its_guid(make_study, tmp_path: Path):
    first = code_demo(make_study("first"))
    (tmp_path / "sets.qdc").write_text(
        CODEBOOK.replace(g("funding"), "x").replace(g("early"), "y"), encoding="utf-8"
    )  # the same sets, their codes matched by path: Challenges/Funding is the demo's own
    import_qdc(first, tmp_path / "sets.qdc")
    a, b = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    export_qdpx(first, a)
    validate(a)
    second = make_study("second")
    report = import_qdpx(second, a)
    assert report.code_sets == 2 and report.skipped == []
    export_qdpx(second, b)

    def sets(path: Path) -> list[bytes]:
        with zipfile.ZipFile(path) as archive:
            root = etree.fromstring(archive.read("project.qde"))
        return [etree.tostring(s, method="c14n") for s in root.iter("{urn:QDA-XML:project:1.0}Set")]

    assert sets(a) == sets(b) and len(sets(a)) == 2 + 8  # two code sets, and the eight focus groups as sets of sources
    assert code_sets(first).equals(code_sets(second))


def test_what_a_set_holds_that_chorus_does_not_keep_is_reported(study, tmp_path: Path):
    from tests.interop import tiny

    xml = tiny.project_xml().replace(
        "</Project>",
        f'<Sets><Set guid="{g("odd")}" name="Odd set"><MemberCode targetGUID="{g("nowhere")}"/><MemberNote targetGUID="{g("note1")}"/></Set></Sets></Project>',
    )
    path = tiny.write(tmp_path, xml, name="odd.qdpx")
    report = import_qdpx(study, path, variables={"Profession": "discipline"})
    assert any("set 'Odd set': 1 member code(s) not in the codebook" in s for s in report.skipped)
    assert any("set 'Odd set': its 1 note(s) are kept as memos, but not as members of a set" in s for s in report.skipped)
