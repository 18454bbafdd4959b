"""Codebook import: hierarchy, definitions, colours, bad codebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus.coding import codes
from chorus.errors import InputError
from chorus.ingest import import_codebook
from tests.helpers import DEMO, unchanged


def test_demo_codebook_has_the_seed_themes_in_a_hierarchy(study):
    summary = import_codebook(study, DEMO / "codebook.csv")
    assert summary.added == 12
    book = codes.codebook(study).set_index("path")
    for theme in ("Benefits/Early integration", "Benefits/Normalizing palliative care", "Benefits/Collaboration",
                  "Benefits/Communication", "Challenges/Funding", "Challenges/Medical opposition",
                  "Challenges/Unclear interdisciplinary roles"):
        assert theme in book.index
    assert book.at["Challenges/Funding", "colour"] == "#e6ab02"
    assert "grants" in book.at["Challenges/Funding", "inclusion"]


def test_parents_may_come_after_children_and_reimport_updates(study, tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("code,parent,definition\nFunding,Challenges,Money\nChallenges,,\n")
    assert import_codebook(study, path).added == 2
    path.write_text("code,parent,definition\nFunding,Challenges,Money for services\n")
    assert import_codebook(study, path).updated == 1
    book = codes.codebook(study).set_index("path")
    assert book.at["Challenges/Funding", "definition"] == "Money for services"


def test_a_code_named_by_its_path_goes_under_its_parent(study, tmp_path: Path):
    """Taguette's codebook tables name each tag by its path and have no parent column."""
    path = tmp_path / "tags.csv"
    path.write_text("tag,description\nChallenges/Funding,Money\nChallenges,Barriers\n")
    assert import_codebook(study, path, {"tag": "code"}).added == 2
    book = codes.codebook(study).set_index("path")
    assert (book.at["Challenges/Funding", "definition"], book.at["Challenges", "definition"]) == ("Money", "Barriers")


def test_a_parent_named_only_in_the_parent_column_becomes_a_code_of_its_own(study, tmp_path: Path):
    path = tmp_path / "book.csv"
    path.write_text("code,parent,definition\nSeen as hospice,Perceptions of the alert,Read as giving up\n"
                    "Seen as help,Perceptions of the alert,Read as support\nTrust/Earned,,\n")
    summary = import_codebook(study, path)
    assert summary.added == 5
    assert summary.warnings == ["book.csv, line 2: 'Perceptions of the alert' is named only as a parent; it is made a code of its own",
                                "book.csv, line 4: 'Trust' is named only as a parent; it is made a code of its own"]
    book = codes.codebook(study).set_index("path")
    assert {"Perceptions of the alert", "Perceptions of the alert/Seen as hospice", "Perceptions of the alert/Seen as help",
            "Trust", "Trust/Earned"} == set(book.index)
    assert book.at["Perceptions of the alert/Seen as help", "definition"] == "Read as support"
    again = import_codebook(study, path)
    assert (again.added, again.warnings) == (0, []), "imported again, the parent is a code of the study"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("code,parent,definition\nFunding,Challenges,Money, staffing or grants\n",
         r"line 2: a filled cell past the header's 3 columns \(' staffing or grants'\) \(a comma inside a cell\? put that cell in double quotes\)"),
        ("code,colour\nFunding,red\n", "line 2: colour 'red' is not of the form #rrggbb"),
        ("code,parent\nX,\nA/B,X\n", "line 3: code name 'A/B'"),
        ("parent\nX\n", "line 2: no code name given"),
    ],
)
def test_a_bad_codebook_names_the_row_and_stores_nothing(study, tmp_path: Path, content: str, message: str):
    import_codebook(study, DEMO / "codebook.csv")
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with unchanged(study), pytest.raises(InputError, match=message):
        import_codebook(study, path)
