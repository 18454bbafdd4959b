"""What a QDPX project says, as plain Python values, so two projects can be compared semantically.

Read with lxml (test files are trusted); independent of Chorus's importer, so a
round trip is checked against the XML itself rather than against Chorus's reading.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from lxml import etree

NS = {"q": "urn:QDA-XML:project:1.0"}


def _text_of(archive: zipfile.ZipFile, source: etree._Element) -> str | None:
    inline = source.find("q:PlainTextContent", NS)
    if inline is not None:
        return inline.text or ""
    path = source.get("plainTextPath")
    if not path or not path.startswith("internal://"):
        return None
    wanted = "sources/" + path[len("internal://"):]
    for name in archive.namelist():
        if name.casefold() == wanted.casefold():
            return archive.read(name).decode("utf-8-sig")
    return None


def _slice(text: str, start: int, end: int, utf16: bool) -> str:
    if not utf16:
        return text[start:end]
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * end].decode("utf-16-le")


def content(path: str | Path, utf16: bool = False) -> dict[str, Any]:
    """Codes, sources, codings (by their text), notes, cases, variables and sets of a project."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        users = {u.get("guid").lower(): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
        codes: dict[str, tuple[str, ...]] = {}

        def walk(element: etree._Element, trail: tuple[str, ...]) -> None:
            for code in element.iterfind("q:Code", NS):
                path_ = (*trail, code.get("name"))
                codes[code.get("guid").lower()] = path_
                walk(code, path_)

        for top in root.iterfind("q:CodeBook/q:Codes", NS):
            walk(top, ())
        descriptions = {
            codes[c.get("guid").lower()]: (c.findtext("q:Description", default="", namespaces=NS) or "")
            for c in root.iter("{%s}Code" % NS["q"])
        }
        variables = {v.get("guid").lower(): (v.get("name"), v.get("typeOfVariable")) for v in root.iterfind("q:Variables/q:Variable", NS)}

        def values(element: etree._Element) -> dict[str, str]:
            found = {}
            for value in element.iterfind("q:VariableValue", NS):
                name = variables[value.find("q:VariableRef", NS).get("targetGUID").lower()][0]
                found[name] = value[1].text if len(value) > 1 else None
            return found

        sources, codings, source_vars = {}, Counter(), {}
        note_targets: dict[str, list[str]] = {}
        for source in root.iterfind("q:Sources/q:TextSource", NS):
            name = source.get("name")
            text = _text_of(archive, source)
            sources[name] = text
            source_vars[name] = values(source)
            for ref in source.iterfind("q:NoteRef", NS):
                note_targets.setdefault(ref.get("targetGUID").lower(), []).append(f"source {name}")
            for selection in source.iterfind("q:PlainTextSelection", NS):
                said = _slice(text, int(selection.get("startPosition")), int(selection.get("endPosition")), utf16)
                for coding in selection.iterfind("q:Coding", NS):
                    code = codes[coding.find("q:CodeRef", NS).get("targetGUID").lower()]
                    user = users.get((coding.get("creatingUser") or "").lower())
                    codings[(name, said, code, user)] += 1
                    for ref in coding.iterfind("q:NoteRef", NS):
                        note_targets.setdefault(ref.get("targetGUID").lower(), []).append(f"coding {code} on {said!r}")
        for code in root.iter("{%s}Code" % NS["q"]):
            for ref in code.iterfind("q:NoteRef", NS):
                note_targets.setdefault(ref.get("targetGUID").lower(), []).append(f"code {codes[code.get('guid').lower()]}")
        for ref in root.iterfind("q:NoteRef", NS):
            note_targets.setdefault(ref.get("targetGUID").lower(), []).append("project")
        notes = Counter(
            (note.findtext("q:PlainTextContent", default="", namespaces=NS), tuple(sorted(note_targets.get(note.get("guid").lower(), []))))
            for note in root.iterfind("q:Notes/q:Note", NS)
        )
        cases = {case.get("name"): values(case) for case in root.iterfind("q:Cases/q:Case", NS)}
        guid_to_source = {s.get("guid").lower(): s.get("name") for s in root.iterfind("q:Sources/q:TextSource", NS)}
        sets = {
            s.get("name"): sorted(guid_to_source[m.get("targetGUID").lower()] for m in s.iterfind("q:MemberSource", NS))
            for s in root.iterfind("q:Sets/q:Set", NS)
        }
        audio = {
            a.get("path"): sorted((int(p.get("timeStamp")), int(p.get("position"))) for p in a.iter("{%s}SyncPoint" % NS["q"]))
            for a in root.iterfind("q:Sources/q:AudioSource", NS)
        }
    return {
        "codes": sorted(codes.values()),
        "descriptions": descriptions,
        "sources": sources,
        "source_variables": source_vars,
        "codings": codings,
        "users": sorted(users.values()),
        "notes": notes,
        "cases": cases,
        "variables": sorted(variables.values()),
        "sets": sets,
        "audio": audio,
    }
