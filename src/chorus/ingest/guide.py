"""The discussion guide: the questions the facilitators set out to ask, in order, with their probes and sections.

A guide is a table (CSV or XLSX: ``id``, ``question``, optional ``probes``
(several separated by ``;`` or ``|``), optional ``section``) or a Word document
whose numbered paragraphs are the questions ("1. What does palliative care mean
to you?", "Q2) ..."), the paragraphs under a question starting with "Probe" or a
dash its probes, and its headings the sections.

Importing again updates the questions by id and adds new ones; a question that
turns are aligned to is never dropped silently (the import is refused naming it).

>>> import_guide(study, "guide.csv")                         # doctest: +SKIP
9
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from chorus.errors import InputError
from chorus.ingest.files import Row, read_table
from chorus.study.models import GuideQuestion, TurnQuestion
from chorus.study.store import Study

_NUMBERED = re.compile(r"^\s*(Q?\d+[a-z]?)\s*[.):]\s+(\S.*)$", re.IGNORECASE)
_PROBE = re.compile(r"^\s*(?:probes?\s*[:.-]|[-\u2013\u2022*])\s*(\S.*)$", re.IGNORECASE)


def _from_docx(path: Path) -> list[Row]:
    """The questions of a Word guide as table rows (id, question, probes, section)."""
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several kinds for a file that is not a document
        raise InputError(f"not a readable Word document ({exc})", path=path) from None
    rows: list[Row] = []
    section = ""
    for number, paragraph in enumerate(document.paragraphs, start=1):
        text = paragraph.text.strip()
        if not text:
            continue
        numbered, probe = _NUMBERED.match(text), _PROBE.match(text)
        if paragraph.style is not None and paragraph.style.name.lower().startswith(("heading", "title")):
            section = text
        elif numbered:
            rows.append(Row({"id": numbered.group(1), "question": numbered.group(2), "section": section}, f"paragraph {number}"))
        elif probe and rows:
            values = rows[-1].values
            values["probes"] = "; ".join(p for p in (values.get("probes", ""), probe.group(1)) if p)
    if not rows:
        raise InputError("no numbered questions found (write them as '1. What does ...?')", path=path)
    return rows


def read_guide(path: str | Path, rename: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The guide's questions in order (key, text, probes, section), checked: every id once, every question worded."""
    path = Path(path)
    rows = _from_docx(path) if path.suffix.lower() == ".docx" else read_table(path, rename)
    if rows and not any("question" in r.values for r in rows):
        raise InputError("no 'question' column (expected id, question, probes, section)", path=path, place="line 1")
    questions: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for row in rows:
        key, text = str(row.values.get("id", "")).strip(), str(row.values.get("question", "")).strip()
        if not key:
            raise InputError("a question without an id", path=path, place=row.place)
        if not text:
            raise InputError(f"question {key!r} has no wording", path=path, place=row.place)
        if key in seen:
            raise InputError(f"question id {key!r} appears twice (first at {seen[key]})", path=path, place=row.place)
        seen[key] = row.place
        probes = "; ".join(p.strip() for p in re.split(r"[;|]", str(row.values.get("probes", ""))) if p.strip())
        questions.append({"key": key, "text": text, "probes": probes, "section": str(row.values.get("section", "")).strip()})
    if not questions:
        raise InputError("the guide has no questions", path=path)
    return questions


def import_guide(study: Study, path: str | Path, rename: dict[str, str] | None = None) -> int:
    """Store the discussion guide in ``path`` (see the module), in one transaction; how many questions it has."""
    questions = read_guide(path, rename)
    with study.transaction() as session:
        stored = {q.key: q for q in session.scalars(select(GuideQuestion))}
        dropped = set(stored) - {q["key"] for q in questions}
        used = session.scalars(
            select(GuideQuestion.key).join(TurnQuestion, TurnQuestion.question_id == GuideQuestion.id).where(GuideQuestion.key.in_(dropped)).distinct()
        ).all()
        if used:
            raise InputError(f"question(s) {', '.join(sorted(used))} are not in this guide but turns are aligned to them; "
                             "keep them in the guide, or realign first", path=path)
        for key in dropped:
            session.delete(stored[key])
        for ordinal, question in enumerate(questions, start=1):
            found = stored.get(question["key"]) or GuideQuestion(key=question["key"])
            found.ordinal, found.text, found.probes, found.section = ordinal, question["text"], question["probes"], question["section"]
            session.add(found)
    return len(questions)
