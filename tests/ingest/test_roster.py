"""Roster and groups import: participants, facilitators, attributes, and bad rosters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from chorus.errors import ChorusError, InputError
from chorus.ingest import RosterProblems, import_groups, import_roster, import_roster_and_groups, roster_problems
from chorus.study.models import Group, Participant, SpeakerAlias
from tests.helpers import DEMO, unchanged


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_roster_imports_every_person_with_attributes(study):
    summary = import_roster(study, DEMO / "roster.csv")
    assert summary.added == 39 and summary.updated == 0
    with study.reading() as session:
        people = session.scalars(select(Participant)).all()
        assert sum(p.role == "participant" for p in people) == 37
        reyes = session.scalar(select(Participant).where(Participant.pseudonym == "Reyes"))
        assert reyes.is_facilitator and [g.name for g in reyes.groups] == ["FG01", "FG02", "FG03", "FG04"]
        kavya = session.scalar(select(Participant).where(Participant.pseudonym == "Kavya"))
        assert kavya.discipline == "APP" and kavya.care_team == "Solid Tumor/Neuro-oncology"
        assert kavya.attributes["profession"] == "nurse practitioner"
        aliases = session.scalars(select(SpeakerAlias.alias)).all()
        assert "Moderator Reyes" in aliases


def test_columns_can_be_renamed(study, tmp_path: Path):
    path = write(tmp_path / "r.csv", "Participant ID,Name,Profession group,team,group\nX1,Okafor,physician,Leukemia,FG01\n")
    import_roster(study, path, rename={"Participant ID": "id", "Name": "pseudonym", "Profession group": "discipline", "team": "care_team"})
    with study.reading() as session:
        assert session.scalar(select(Participant.discipline)) == "physician"


def test_importing_again_updates_rather_than_duplicates(study, tmp_path: Path):
    import_roster(study, write(tmp_path / "a.csv", "id,pseudonym,discipline,group\nP1,Okafor,physician,FG01\n"))
    summary = import_roster(study, write(tmp_path / "b.csv", "id,pseudonym,discipline,group\nP1,Okafor,nurse,FG02\n"))
    assert (summary.added, summary.updated) == (0, 1)
    with study.reading() as session:
        person = session.scalar(select(Participant))
        assert person.discipline == "nurse" and [g.name for g in person.groups] == ["FG02"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,pseudonym,discipline\nP1,Okafor,physician\nP1,Lind,nurse\n", r"line 3: duplicate id 'P1' \(first on line 2\)"),
        ("id,pseudonym,discipline\nP1,Okafor,physician\nP2,Okafor,nurse\n", "line 3: duplicate pseudonym 'Okafor'"),
        ("id,pseudonym,discipline\nP1,Okafor,\n", "line 2: a participant needs a discipline"),
        ("id,pseudonym,discipline,role\nP1,Okafor,physician,observer\n", "line 2: role 'observer'"),
        ("pseudonym,discipline\nOkafor,physician\n", "line 2: no id given"),
    ],
)
def test_a_bad_roster_names_the_row_and_stores_nothing(study, tmp_path: Path, content: str, message: str):
    import_roster(study, DEMO / "roster.csv")
    path = write(tmp_path / "bad.csv", content)
    with unchanged(study), pytest.raises(InputError, match=message):
        import_roster(study, path)


def test_a_pseudonym_taken_by_someone_else_is_refused(study, tmp_path: Path):
    import_roster(study, DEMO / "roster.csv")
    path = write(tmp_path / "bad.csv", "id,pseudonym,discipline\nP99,Kavya,nurse\n")
    with unchanged(study), pytest.raises(InputError, match="'Kavya' already belongs to participant 'P11'"):
        import_roster(study, path)


def test_groups_get_dates_and_attributes(study):
    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    with study.reading() as session:
        group = session.scalar(select(Group).where(Group.name == "FG03"))
        assert group.date == date(2024, 2, 20)
        assert group.attributes["site"] == "Children's cancer centre"
        assert len(group.members) == 5


def test_a_bad_group_date_is_refused(study, tmp_path: Path):
    path = write(tmp_path / "g.csv", "group,date\nFG01,12/03/2024\n")
    with unchanged(study), pytest.raises(InputError, match="g.csv, line 2: date '12/03/2024' is not YYYY-MM-DD"):
        import_groups(study, path)


BAD_ROSTER = (
    "id,pseudonym,discipline,group\n"
    "P01,Adaeze,physician,FG01\n"
    "P02,Bernard,,FG01\n"  # line 3: no discipline
    "P01,Camila,nurse,FG01\n"  # line 4: id P01 again
    "P04,Dmitri,nurse,FG09\n"  # line 5: FG09 has no row in the groups table
)


def test_every_problem_is_listed_by_row_and_column_and_nothing_is_stored(study, tmp_path: Path):
    roster, groups = write(tmp_path / "roster.csv", BAD_ROSTER), write(tmp_path / "groups.csv", "group,date\nFG01,2024-02-06\nFG02,6 Feb\n")
    found = [(p.file, p.place, p.column) for p in roster_problems(study, roster, groups)]
    assert found == [
        ("roster.csv", "line 3", "discipline"), ("roster.csv", "line 4", "id"), ("groups.csv", "line 3", "date"), ("roster.csv", "line 5", "group"),
    ]
    with unchanged(study), pytest.raises(RosterProblems, match="4 problem") as refused:
        import_roster_and_groups(study, roster, groups)
    assert str(refused.value.problems[1]) == "roster.csv, line 4, column id: duplicate id 'P01' (first on line 2)"


def test_a_table_that_cannot_be_read_is_one_problem_naming_the_file(study, tmp_path: Path):
    broken = tmp_path / "roster.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    [problem] = roster_problems(study, broken)
    assert problem.file == "roster.xlsx" and "not a readable .xlsx workbook" in problem.message


def test_a_clean_roster_and_groups_are_stored_together(study):
    summary = import_roster_and_groups(study, DEMO / "roster.csv", DEMO / "groups.csv")
    assert summary.added == 39 + 8 and roster_problems(study, DEMO / "roster.csv", DEMO / "groups.csv") == []
    with study.reading() as session:
        assert session.scalar(select(Group).where(Group.name == "FG01")).date == date(2024, 2, 6)


def test_one_person_or_group_is_edited_in_place_and_audited(study):
    from chorus.ingest import edit_group, edit_participant, import_transcripts
    from chorus.study import audit

    import_roster(study, DEMO / "roster.csv")
    import_groups(study, DEMO / "groups.csv")
    edit_participant(study, "P02", discipline="APP", care_team="", groups=["FG01", "FG03"])
    edit_group(study, "FG01", date="2024-02-07")
    with study.reading() as session:
        bernard = session.scalar(select(Participant).where(Participant.key == "P02"))
        assert (bernard.discipline, bernard.care_team, sorted(g.name for g in bernard.groups)) == ("APP", None, ["FG01", "FG03"])
        assert session.scalar(select(Group.date).where(Group.name == "FG01")) == date(2024, 2, 7)
    assert {"participant", "focus_group"} <= set(audit.log(study).entity)
    edit_participant(study, "Bernard", pseudonym="Bertrand")
    import_transcripts(study, [DEMO / "transcripts" / "FG03.txt"])
    with unchanged(study):
        for change, message in [
            ({"pseudonym": "Adaeze"}, "already belongs"), ({"discipline": ""}, "needs a discipline"), ({"role": "boss"}, "neither"),
            ({"groups": ["FG99"]}, "no group 'FG99'"),
        ]:
            with pytest.raises(ChorusError, match=message):
                edit_participant(study, "P02", **change)
        with pytest.raises(ChorusError, match="speaks in a transcript"):
            edit_participant(study, "P11", pseudonym="Kay")
        with pytest.raises(InputError, match="not YYYY-MM-DD"):
            edit_group(study, "FG01", date="7 Feb")


def test_tables_imported_again_leave_their_rows_unchanged(study):
    assert import_groups(study, DEMO / "groups.csv").added == 8
    first = import_roster(study, DEMO / "roster.csv")
    again = import_roster(study, DEMO / "roster.csv")
    groups = import_groups(study, DEMO / "groups.csv")
    assert (first.added, again.added, again.updated, again.unchanged) == (39, 0, 0, 39)
    assert (groups.added, groups.updated, groups.unchanged) == (0, 0, 8)
    summary = import_roster_and_groups(study, None, DEMO / "groups.csv")  # a groups table alone
    assert summary.unchanged == 8
