"""How well de-identification finds protected information, measured on a labelled set.

The set is plain text, one utterance per line, protected information marked
``{{KIND:text}}`` (``tests/data/deid/labelled.txt`` is the one Chorus ships).
A marked span counts as found when findings cover at least half of it, whatever
kind they give it (it would be replaced either way); a finding is correct when it
overlaps a marked span.

    chorus deid evaluate tests/data/deid/labelled.txt
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from chorus.errors import InputError
from chorus.ingest.files import read_text
from chorus.privacy.deidentify import load_model, scan

_MARK = re.compile(r"\{\{([A-Z]+):([^}]+)\}\}")
GROUPS = {
    "names": ("PERSON",), "dates": ("DATE",), "ages over 89": ("AGE",), "phones, e-mails, record numbers": ("PHONE", "EMAIL", "RECORD"),
    "places and institutions": ("PLACE", "HOSPITAL", "INSTITUTION"),
}


def read_labelled(path: str | Path) -> tuple[str, list[tuple[int, int]], list[tuple[int, int, str]]]:
    """The set's text (marks removed), its lines as spans, and the marked spans with their kinds."""
    content, _ = read_text(path)
    text, lines, gold = [], [], []
    position = 0
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        line, cursor = [], 0
        start = position
        for mark in _MARK.finditer(raw):
            line.append(raw[cursor:mark.start()])
            at = start + sum(map(len, line))
            kind, words = mark.group(1), mark.group(2)
            if kind not in {k for kinds in GROUPS.values() for k in kinds}:
                raise InputError(f"unknown kind {kind!r}", path=path, place=f"line {number}")
            gold.append((at, at + len(words), kind))
            line.append(words)
            cursor = mark.end()
        line.append(raw[cursor:])
        said = "".join(line)
        text.append(said + "\n")
        lines.append((start, start + len(said)))
        position += len(said) + 1
    return "".join(text), lines, gold


def evaluate(path: str | Path, model: str | None = None) -> pd.DataFrame:
    """Precision and recall by group of kinds, and overall: ``group, marked, found, recall, findings, precision``."""
    text, lines, gold = read_labelled(path)
    found = scan({"set": text}, {"set": lines}, load_model(model))["set"]
    rows = []
    for group, kinds in [*GROUPS.items(), ("all", tuple(k for ks in GROUPS.values() for k in ks))]:
        marked = [g for g in gold if g[2] in kinds]
        hit = sum(1 for a, b, _ in marked if sum(max(0, min(b, s.end) - max(a, s.start)) for s in found) * 2 >= b - a)
        mine = [s for s in found if s.kind in kinds]
        right = sum(1 for s in mine if any(min(b, s.end) > max(a, s.start) for a, b, _ in gold))
        rows.append({
            "group": group, "marked": len(marked), "found": hit, "recall": hit / len(marked) if marked else float("nan"),
            "findings": len(mine), "precision": right / len(mine) if mine else float("nan"),
        })
    return pd.DataFrame(rows)
