"""What changed since a page was drawn: the audit trail read forward, shaped for pages, narrowed for the reader."""

from __future__ import annotations

from chorus.coding import add_memo, apply_code, codes, remove_coding, rounds
from chorus.study import changes
from chorus.study.seeing import seeing_only
from chorus.study.store import acting_as
from tests.helpers import load_demo


def kinds(found: changes.Changes) -> list[str]:
    return [c["kind"] for c in found.changes]


def test_codings_codes_and_memos_come_in_the_trail_s_order_with_names_not_ids(study):
    load_demo(study, transcripts=["FG01"])
    drawn = changes.latest(study)
    first = apply_code(study, "FG01", "Funding", "ann", turn=2)
    apply_code(study, "FG01", "Funding", "ben", turn=3)
    remove_coding(study, first)
    add_memo(study, "funding again", "ann", code="Funding")
    codes.edit(study, "Collaboration", None, new_name="Working together")
    codes.edit(study, "Communication", None, colour="#112233")
    found = changes.since(study, drawn)
    assert kinds(found) == ["coding.added", "coding.added", "coding.removed", "memo.added", "code.renamed", "code.recoloured"]
    added = found.changes[0]
    assert (added["code"], added["coder"], added["transcript"], added["colour"]) == ("Challenges/Funding", "ann", "FG01", "#e6ab02")
    assert found.changes[4]["was"] == "Benefits/Collaboration" and found.changes[4]["code"] == "Benefits/Working together"
    assert found.changes[5]["colour"] == "#112233"
    assert found.last == changes.latest(study) and [c["id"] for c in found.changes] == sorted(c["id"] for c in found.changes)
    assert changes.since(study, found.last).changes == []


def test_a_merge_moves_codings_and_says_where_the_code_went(study):
    load_demo(study, transcripts=["FG01"])
    apply_code(study, "FG01", "Funding", "ann", turn=2)
    drawn = changes.latest(study)
    codes.merge(study, "Funding", "Collaboration")
    found = changes.since(study, drawn)
    assert kinds(found) == ["coding.moved", "code.merged"]
    assert found.changes[0]["was"] == "Challenges/Funding" and found.changes[0]["start"] is not None
    assert found.changes[1] == {**found.changes[1], "was": "Challenges/Funding", "code": "Benefits/Collaboration"}
    assert "merged into 'Benefits/Collaboration'" in changes.code_fate(study, "Funding")
    codes.add(study, "Passing")
    codes.delete(study, "Passing")
    assert "was removed by" in changes.code_fate(study, "Passing")
    codes.edit(study, "Communication", None, new_name="Talking")
    assert "renamed 'Talking'" in changes.code_fate(study, "Communication")
    assert changes.code_fate(study, "Never there") is None


def test_a_blind_coder_hears_only_their_own_codings_and_memos_and_a_viewer_no_memo(study):
    load_demo(study, transcripts=["FG01"])
    rounds.open_round(study, ["ann", "ben"], ["FG01"])
    drawn = changes.latest(study)
    for coder, turn in (("ann", 2), ("ben", 3)):
        with acting_as(coder):  # as the web app writes: under the coder's name, which the trail narrows by
            apply_code(study, "FG01", "Funding", coder, turn=turn)
    for coder in ("ben", "ann"):
        with acting_as(coder):
            add_memo(study, f"{coder}'s thought", coder, code="Funding")
    with seeing_only("ann"):
        mine = changes.since(study, drawn, role="coder")
    assert [(c["kind"], c.get("coder") or c.get("author")) for c in mine.changes] == [("coding.added", "ann"), ("memo.added", "ann")]
    assert "ben" not in str(mine.changes)
    everyone = changes.since(study, drawn, role="owner")
    assert kinds(everyone).count("coding.added") == 2 and kinds(everyone).count("memo.added") == 2
    assert "memo.added" not in kinds(changes.since(study, drawn, role="viewer"))


def test_a_round_opening_ends_the_batch_so_the_reader_is_asked_again(study):
    load_demo(study, transcripts=["FG01"])
    drawn = changes.latest(study)
    apply_code(study, "FG01", "Funding", "ben", turn=3)
    rounds.open_round(study, ["ann", "ben"], ["FG01"])
    with acting_as("ben"):
        apply_code(study, "FG01", "Funding", "ben", turn=4)
    found = changes.since(study, drawn)
    assert found.ask_again and kinds(found)[-1] == "round.changed" and kinds(found).count("coding.added") == 1
    with seeing_only("ann"):
        assert "coding.added" not in kinds(changes.since(study, found.last))


def test_past_the_replay_limit_the_page_is_told_to_load_again(study):
    load_demo(study, transcripts=["FG01"])
    drawn = changes.latest(study)
    for turn in range(2, 6):
        apply_code(study, "FG01", "Funding", "ann", turn=turn)
    found = changes.since(study, drawn, limit=3)
    assert found.too_many and found.changes == [] and found.last == changes.latest(study)
