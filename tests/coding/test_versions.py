"""Codebook versions: snapshots, what changed between two, and codings per version."""

from __future__ import annotations

import pytest

from chorus.coding import apply_code, codes
from chorus.coding.versions import codings_by_version, diff, snapshot, versions
from chorus.errors import ChorusError
from tests.helpers import load_demo


def test_a_diff_names_each_kind_of_change(study):
    load_demo(study, transcripts=["FG01"])
    apply_code(study, "FG01", "Funding", "ann", turn=2)
    assert snapshot(study, "first pass") == 1
    codes.rename(study, "Funding", "Money")
    codes.describe(study, "Collaboration", definition="Working as one team.")
    codes.move(study, "Communication", None)
    codes.add(study, "Hope")
    codes.delete(study, "Education and training")
    apply_code(study, "FG01", "Money", "ann", turn=3)
    apply_code(study, "FG01", "Hope", "ben", turn=3)
    assert snapshot(study) == 2
    changes = diff(study, 1, 2)
    found = {(r.change, r.code.split("/")[-1]) for r in changes.itertuples()}
    assert {("renamed", "Money"), ("redefined", "Collaboration"), ("moved", "Communication"), ("added", "Hope"), ("removed", "Education and training")} <= found
    renamed = changes[changes.change == "renamed"].iloc[0]
    assert renamed.before.endswith("Funding") and renamed.after.endswith("Money")
    assert list(versions(study).number) == [1, 2]
    made = codings_by_version(study)
    assert set(zip(made.version, made.coder, made.codings)) == {(0, "ann", 1), (1, "ann", 1), (1, "ben", 1)}
    assert diff(study, 2, 2).empty


def test_unknown_versions_and_empty_codebooks_are_explained(study):
    with pytest.raises(ChorusError, match="codebook is empty"):
        snapshot(study)
    load_demo(study, transcripts=["FG01"])
    snapshot(study)
    with pytest.raises(ChorusError, match="no codebook version 7 .versions: 1"):
        diff(study, 1, 7)
