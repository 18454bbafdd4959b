"""A small hand-written REFI-QDA project, the way another tool might write it, to bend in tests."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

TEXT = "Dr Ames: We never had the funding for it, not once.\r\nNurse Bell: Grants ran out in spring \U0001f62c and nobody asked us.\r\n"


def g(name: str) -> str:
    """A fixed GUID for a short name, so tests can refer to objects."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tiny:{name}"))


def span(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def project_xml(origin: str = "QualCoder 3.5", profession: str = "Profession", selections: str | None = None, extra_sources: str = "") -> str:
    a = span(TEXT, "We never had the funding for it")
    b = span(TEXT, "Grants ran out in spring")
    selections = selections if selections is not None else f"""
  <PlainTextSelection guid="{g('sel1')}" startPosition="{a[0]}" endPosition="{a[1]}" creatingUser="{g('ann')}">
    <Coding guid="{g('cod1')}" creatingUser="{g('ann')}" creationDateTime="2024-03-01T10:00:00Z"><CodeRef targetGUID="{g('funding')}"/><NoteRef targetGUID="{g('note1')}"/></Coding>
  </PlainTextSelection>
  <PlainTextSelection guid="{g('sel2')}" startPosition="{b[0]}" endPosition="{b[1]}">
    <Coding guid="{g('cod2')}" creatingUser="{g('bo')}"><CodeRef targetGUID="{g('grants')}"/></Coding>
  </PlainTextSelection>"""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="tiny" origin="{origin}">
<Users><User guid="{g('ann')}" name="ann"/><User guid="{g('bo')}" name="bo"/></Users>
<CodeBook><Codes>
  <Code guid="{g('funding')}" name="Funding" isCodable="true" color="#c33"><Description>Talk of money for palliative care</Description>
    <Code guid="{g('grants')}" name="Grants" isCodable="true"/>
  </Code>
</Codes></CodeBook>
<Variables>
  <Variable guid="{g('v-prof')}" name="{profession}" typeOfVariable="Text"/>
  <Variable guid="{g('v-years')}" name="Years in oncology" typeOfVariable="Integer"/>
</Variables>
<Cases>
  <Case guid="{g('ames')}" name="Dr Ames"><VariableValue><VariableRef targetGUID="{g('v-prof')}"/><TextValue>physician</TextValue></VariableValue>
    <VariableValue><VariableRef targetGUID="{g('v-years')}"/><IntegerValue>12</IntegerValue></VariableValue></Case>
  <Case guid="{g('bell')}" name="Nurse Bell"><VariableValue><VariableRef targetGUID="{g('v-prof')}"/><TextValue>nurse</TextValue></VariableValue></Case>
</Cases>
<Sources>
 <TextSource guid="{g('fg01')}" name="FG01" plainTextPath="internal://{g('fg01')}.txt">{selections}
 </TextSource>{extra_sources}
</Sources>
<Notes><Note guid="{g('note1')}" name="why" creatingUser="{g('ann')}"><PlainTextContent>Funding came up before anyone asked.</PlainTextContent></Note></Notes>
</Project>
"""


def write(folder: Path, xml: str | None = None, members: dict[str, bytes] | None = None, name: str = "tiny.qdpx") -> Path:
    """The project as a .qdpx file in ``folder``; ``members`` adds or replaces archive files."""
    files = {"project.qde": (xml or project_xml()).encode("utf-8"), f"sources/{g('fg01')}.txt": TEXT.encode("utf-8")}
    files.update(members or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path
