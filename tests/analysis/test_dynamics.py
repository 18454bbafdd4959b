"""Group dynamics: words per member, the Gini coefficient, who followed whom, and the flags a researcher acts on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chorus.analysis import talk_shares, turn_table
from chorus.analysis.dynamics import dynamics, gini
from chorus.ingest import import_codebook, import_groups, import_roster, import_transcripts
from tests.helpers import DEMO


def reference_gini(values) -> float:
    """The textbook definition: the mean absolute difference over every pair, over twice the mean."""
    x = np.asarray(values, dtype=float)
    if x.sum() == 0:
        return 0.0
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def test_gini_matches_the_textbook_definition():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 6, 12):
        for _ in range(20):
            words = rng.integers(0, 400, size=n)
            assert gini(words) == pytest.approx(reference_gini(words), abs=1e-12)
    assert gini([]) == 0.0 and gini([0, 0, 0]) == 0.0 and gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 0, 100]) == pytest.approx(4 / 5), "one voice of five: (n - 1) / n"


def words(n: int, topic: str = "funding") -> str:
    return " ".join([topic] * n)


@pytest.fixture
def lopsided(study, tmp_path):
    """FG01 (five physicians on the roster) where Dmitri and Camila carry the talk, Elena never speaks and the facilitator leads."""
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    import_codebook(study, DEMO / "codebook.csv")
    said = [("Reyes", 40), ("Dmitri", 30), ("Camila", 30), ("Reyes", 40), ("Dmitri", 30), ("Adaeze", 10),
            ("Reyes", 40), ("Camila", 30), ("Dmitri", 30), ("Bernard", 5), ("Reyes", 40)]
    path = tmp_path / "FG01.txt"
    path.write_text("\n\n".join(f"{who}: {words(n)}" for who, n in said) + "\n", encoding="utf-8")
    import_transcripts(study, [path])
    return study


def test_who_spoke_how_much_with_the_silent_member_and_the_flags(lopsided):
    found = dynamics(lopsided)
    table = found.speakers.set_index("speaker")
    # each turn's words as spoken (the speaker's label is not part of what they said)
    assert table.loc[["Dmitri", "Camila", "Adaeze", "Bernard", "Elena", "Reyes"], "words"].tolist() == [90, 60, 10, 5, 0, 160]
    assert table.loc[["Dmitri", "Camila", "Adaeze", "Bernard", "Elena"], "turns"].tolist() == [3, 2, 1, 1, 0]
    assert table.loc["Dmitri", "share"] == pytest.approx(90 / 165, abs=1e-4) and table.loc["Reyes", "share"] == 0
    group = found.groups.set_index("group").loc["FG01"]
    assert (group["participants"], group["heard"], group["silent"], group["participant_words"]) == (5, 4, 1, 165)
    assert group["facilitator_share"] == pytest.approx(160 / 325, abs=1e-4)
    assert group["gini"] == pytest.approx(reference_gini([90, 60, 10, 5, 0]), abs=1e-4)
    assert group["fewest_for_70"] == 2
    assert found.flags == [
        f"FG01: 2 of 5 participants spoke {150 / 165:.0%} of the words (Gini {reference_gini([90, 60, 10, 5, 0]):.2f})",
        "FG01: Elena (physician) is on the roster and never spoke",
        f"FG01: the facilitators spoke {160 / 325:.0%} of the words; the answers may be led",
    ]
    # groups with no transcript yet are not silent, only not heard yet: left out
    assert found.groups["group"].tolist() == ["FG01"] and set(found.speakers["group"]) == {"FG01"}


def test_who_followed_whom_counts_each_change_of_speaker(lopsided):
    follows = dynamics(lopsided).follows
    pairs = {(r.speaker, r.next): r.times for r in follows[follows["group"] == "FG01"].itertuples()}
    assert pairs == {
        ("Reyes", "Dmitri"): 2, ("Dmitri", "Camila"): 1, ("Camila", "Reyes"): 1, ("Dmitri", "Adaeze"): 1, ("Adaeze", "Reyes"): 1,
        ("Reyes", "Camila"): 1, ("Camila", "Dmitri"): 1, ("Dmitri", "Bernard"): 1, ("Bernard", "Reyes"): 1,
    }


def test_turns_read_once_by_the_caller_give_the_same_tables(lopsided):
    """The Talk page and the report read the turns once for talk shares and dynamics: nothing may change by it."""
    turns = turn_table(lopsided)
    assert set(turns["role"]) == {"participant", "facilitator"}
    given, read = dynamics(lopsided, turns), dynamics(lopsided)
    for name in ("speakers", "groups", "follows"):
        pd.testing.assert_frame_equal(getattr(given, name), getattr(read, name))
    assert given.flags == read.flags
    pd.testing.assert_frame_equal(talk_shares(lopsided, ["discipline"], turns)["discipline"], talk_shares(lopsided, ["discipline"])["discipline"])


def test_a_study_with_nothing_heard_yet_gives_empty_tables(study):
    found = dynamics(study)
    assert found.speakers.empty and found.groups.empty and found.follows.empty and found.flags == []


def test_talk_under_each_question_names_the_members_who_said_nothing(study, tmp_path):
    from chorus.analysis.dynamics import question_dynamics
    from chorus.assist.guide import align_guide, set_question
    from chorus.ingest.guide import import_guide

    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    assert question_dynamics(study)[0].empty  # nothing aligned yet
    (tmp_path / "FG01.txt").write_text(
        "Reyes: What does palliative care mean to you?\n\nAdaeze: One two three four five six.\n\nBernard: One two.\n\n"
        "Camila: One two.\n\nReyes: Who pays for it?\n\nDmitri: Donations mostly, I think.\n", encoding="utf-8")
    import_transcripts(study, [tmp_path / "FG01.txt"], group="FG01")
    (tmp_path / "guide.csv").write_text("id,question\nQ1,What does palliative care mean to you?\nQ2,Who pays for it?\n", encoding="utf-8")
    import_guide(study, tmp_path / "guide.csv")
    align_guide(study)
    set_question(study, "FG01", 1, "Q1")
    set_question(study, "FG01", 5, "Q2")
    table, flags = question_dynamics(study)
    first, second = table.to_dict("records")
    assert (first["question"], first["members"], first["heard"], first["words"]) == ("Q1", 5, 3, 10)
    assert first["silent"] == "Dmitri (physician), Elena (physician)" and first["top_share"] == 0.6
    assert first["gini"] == pytest.approx(gini([6, 2, 2, 0, 0]), abs=1e-4)
    assert (second["question"], second["heard"], second["words"], second["top_share"]) == ("Q2", 1, 4, 1.0)
    assert flags == [  # two of five silent on Q1 is not yet half the group
        "FG01, Q2: Adaeze (physician), Bernard (physician), Camila (physician) and Elena (physician), 4 of 5 members, said nothing"]
