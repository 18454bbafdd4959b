"""Tables kept per version of a study: derived once per version, again after any change, apart for a blind coder."""

from __future__ import annotations

import pandas as pd

from chorus.coding import codes
from chorus.study.kept import kept
from chorus.study.seeing import seeing_only


def test_a_table_is_derived_once_per_version_of_the_study(study):
    derived = []

    def derive() -> pd.DataFrame:
        derived.append(1)
        return pd.DataFrame({"n": [len(derived)]})

    first = kept(study, ("test", 1), derive)
    first.loc[0, "n"] = 99  # a caller's copy: what is kept does not change
    assert kept(study, ("test", 1), derive)["n"].tolist() == [1] and len(derived) == 1
    assert kept(study, ("test", 2), derive)["n"].tolist() == [2], "other arguments, another table"
    codes.add(study, "Hope")  # a change through Chorus: a new version
    assert kept(study, ("test", 1), derive)["n"].tolist() == [3]
    with seeing_only("ann"):  # a blind coder's reads are narrowed: kept apart from everyone's
        assert kept(study, ("test", 1), derive)["n"].tolist() == [4]
    assert kept(study, ("test", 1), derive)["n"].tolist() == [3] and len(derived) == 4


def test_tables_derived_together_are_kept_together_and_copied_each(study):
    derived = []

    def derive() -> tuple[pd.DataFrame, pd.DataFrame]:
        derived.append(1)
        return pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]})

    first, second = kept(study, ("pair",), derive)
    first.loc[0, "a"] = 99
    again = kept(study, ("pair",), derive)
    assert again[0]["a"].tolist() == [1] and again[1]["b"].tolist() == [2] and len(derived) == 1
